"""A real Synapse homeserver for the tests: config, keys, start, readiness, registration, stop.

Synapse 1.163.2 runs from its own venv (``make e2e-matrix-deps``) with SQLite, bound to
127.0.0.1 on a free port, as shared/harness.md section 2 describes. It is stopped by PID.
"""

from __future__ import annotations

import hashlib
import hmac
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.e2e.processes import refuse_if_answering, stop_process, wait_for

ROOT = Path(__file__).resolve().parents[3]
VENV = ROOT / ".cache" / "synapse-venv"
SECRET = "test-shared-secret"
SERVER = "localhost"
STOP_TIMEOUT = 15  # seconds for SIGTERM, then again for SIGKILL

_LIMIT = "{per_second: 10000, burst_count: 10000}"  # test-only: rate limits out of the way
CONFIG = """\
server_name: "localhost"
pid_file: @DIR@/homeserver.pid
public_baseurl: "http://127.0.0.1:@PORT@/"
listeners:
  - {port: @PORT@, bind_addresses: ['127.0.0.1'], type: http, tls: false, x_forwarded: false,
     resources: [{names: [client, media], compress: false}]}
database: {name: sqlite3, args: {database: @DIR@/homeserver.db}}
media_store_path: @DIR@/media_store
signing_key_path: @DIR@/localhost.signing.key
registration_shared_secret: "@SECRET@"
enable_registration: false
report_stats: false
macaroon_secret_key: "test-macaroon-secret"
form_secret: "test-form-secret"
trusted_key_servers: []
suppress_key_server_warning: true
presence: {enabled: false}
bcrypt_rounds: 4
rc_message: @L@
rc_registration: @L@
rc_login: {address: @L@, account: @L@, failed_attempts: @L@}
rc_joins: {local: @L@, remote: @L@}
rc_joins_per_room: @L@
rc_invites: {per_room: @L@, per_user: @L@, per_issuer: @L@}
rc_room_creation: @L@
rc_key_requests: @L@
rc_admin_redaction: @L@
rc_3pid_validation: @L@
rc_delayed_event_mgmt: @L@
"""


def homeserver_yaml(dir: Path, port: int) -> str:
    return CONFIG.replace("@DIR@", str(dir)).replace("@PORT@", str(port)).replace("@SECRET@", SECRET).replace("@L@", _LIMIT)


@dataclass
class Synapse:
    dir: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None
    passwords: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def python(self) -> Path:
        return VENV / "bin" / "python"

    def log_text(self) -> str:
        return (self.dir / "synapse.log").read_text(errors="replace")

    def configure(self) -> None:
        if not self.python.exists():
            raise AssertionError(
                f"Synapse is not installed in {VENV}: run `make e2e-matrix-deps` "
                "(the Matrix end-to-end tests need a real homeserver)"
            )
        (self.dir / "homeserver.yaml").write_text(homeserver_yaml(self.dir, self.port))
        subprocess.run(
            [str(self.python), "-m", "synapse.app.homeserver", "-c", "homeserver.yaml", "--generate-keys"],
            cwd=self.dir,
            check=True,
            timeout=120,
            capture_output=True,
        )

    def start(self) -> None:
        refuse_if_answering(self.port)
        with (self.dir / "synapse.log").open("ab") as out:
            self.proc = subprocess.Popen(
                [str(self.python), "-m", "synapse.app.homeserver", "-c", "homeserver.yaml"],
                cwd=self.dir,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        wait_for(self._healthy, "Synapse to answer /health", deadline=60)

    def _healthy(self) -> bool | None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"Synapse exited with {self.proc.returncode}:\n{self.log_text()[-3000:]}")
        try:
            return httpx.get(f"{self.base}/health", timeout=1).text == "OK" or None
        except httpx.HTTPError:
            return None

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, STOP_TIMEOUT)
            self.proc = None

    def register(self, user: str, password: str, *, admin: bool = False) -> str:
        """Register ``user`` with the shared secret (the admin API); returns the full user id."""
        url = f"{self.base}/_synapse/admin/v1/register"
        nonce = httpx.get(url, timeout=10).json()["nonce"]
        mac = hmac.new(SECRET.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce.encode(), user.encode(), password.encode(), b"admin" if admin else b"notadmin"]))
        resp = httpx.post(
            url, timeout=30, json={"nonce": nonce, "username": user, "password": password, "admin": admin, "mac": mac.hexdigest()}
        )
        resp.raise_for_status()
        user_id = str(resp.json()["user_id"])
        self.passwords[user_id] = password
        return user_id
