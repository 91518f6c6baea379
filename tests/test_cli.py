"""``python -m bot``'s sub-commands: every form the README, Procfile, Makefile and tests use
still parses, and each command has its ``--help``."""

from __future__ import annotations

import pytest

from bot.__main__ import _args
from tests.conftest import clean_env, run_bot

FORMS = [
    ([], {"mode": "run", "db": None, "jsonl": False, "start": None}),
    (["--db", "b.json"], {"mode": "run", "db": "b.json"}),
    (["run", "--db", "b.json"], {"mode": "run", "db": "b.json"}),
    (["console"], {"mode": "console", "db": None, "jsonl": False}),
    (["console", "--jsonl", "--db", "b.json", "--start", "2026-01-01T08:00:00Z"], {"jsonl": True, "db": "b.json"}),
    (["--db", "b.json", "console", "--jsonl"], {"mode": "console", "db": "b.json", "jsonl": True}),
    (["migrate", "--db", "b.json", "--to", "postgresql://x/y"], {"mode": "migrate", "db": "b.json", "to": "postgresql://x/y"}),
    (["migrate"], {"mode": "migrate", "db": None, "to": None}),
]


@pytest.mark.parametrize(("argv", "expected"), FORMS, ids=[" ".join(a) or "(none)" for a, _e in FORMS])
def test_every_form_in_use_parses(argv: list[str], expected: dict[str, object]) -> None:
    got = vars(_args(argv))
    assert {k: got[k] for k in expected} == expected


@pytest.mark.parametrize("command", [[], ["run"], ["console"], ["migrate"]])
def test_each_command_has_its_help(command: list[str]) -> None:
    result = run_bot([*command, "--help"], env=clean_env())
    assert result.returncode == 0 and "usage: python -m bot" in result.stdout
    assert ("--to URL" in result.stdout) == (command == ["migrate"])


def test_an_unknown_command_is_refused() -> None:
    result = run_bot(["serve"], env=clean_env())
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_migrate_without_a_target_says_how() -> None:
    result = run_bot(["migrate"], env=clean_env())
    assert result.returncode == 2 and "--to postgresql://" in result.stderr
