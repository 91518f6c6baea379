"""A real PostgreSQL server for the tests, on 127.0.0.1 in a temporary folder (issue 16).

The system's PostgreSQL is used when ``pg_ctl`` is on PATH (Debian: ``postgresql``); otherwise
the ``pgserver`` wheel pinned in ``uv.lock`` (it bundles the binaries). PostgreSQL refuses to
run as root, so as root the server runs as the ``postgres`` user (``runuser``). Never skipped:
if neither can start, the tests that need it fail and say why.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from tests.e2e.processes import free_port


class Server:
    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    def database(self) -> str:
        """A new empty database; its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return urlunsplit(urlsplit(self.admin_url)._replace(path=f"/{name}"))  # keeps ?host=<socket dir>


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextmanager
def system_server(*, fsync: bool = False) -> Iterator[Server]:
    bindir = Path(os.path.realpath(shutil.which("pg_ctl") or "")).parent
    root = Path(tempfile.mkdtemp(prefix="esim-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    data, port = root / "data", free_port()
    subprocess.run(
        _as_postgres([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "bot", "--no-sync"]),
        check=True,
        capture_output=True,
        timeout=120,
    )
    # fsync off in tests (speed; nothing here outlives the run), on for the benchmarks
    fsync_on = "on" if fsync else "off"
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync={fsync_on} -c max_connections=200"
    subprocess.run(
        _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]),
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        yield Server(f"postgresql://bot@127.0.0.1:{port}/postgres")
    finally:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]), capture_output=True, timeout=60
        )
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def wheel_server(*, fsync: bool = False) -> Iterator[Server]:
    import pgserver

    root = tempfile.mkdtemp(prefix="esim-pgserver-")
    server = pgserver.get_server(root, cleanup_mode="stop")  # type: ignore[attr-defined]
    try:
        yield Server(server.get_uri())
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def server(*, fsync: bool = False) -> contextlib.AbstractContextManager[Server]:
    return system_server(fsync=fsync) if shutil.which("pg_ctl") else wheel_server(fsync=fsync)
