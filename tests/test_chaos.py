"""The chaos run in ``make test``: 50 SIGKILLs in a busy week (see ``tests/chaos.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos import acknowledgement, chaos

KILLS = 50


def test_kills_at_random_moments_lose_nothing_and_repeat_little(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = chaos(tmp_path, kills=KILLS)
    with capsys.disabled():
        print("\nchaos: " + "\nchaos: ".join(report.lines()))
    assert report.kills == KILLS and report.expected >= 40
    assert report.torn_tails > 0 and report.in_compaction > 0, "no kill hit a torn append or a compaction"
    assert not report.missing, f"reminders lost: {dict(report.missing)}"
    assert sum(report.repeats.values()) <= report.kills, f"more than one repeat a kill: {dict(report.repeats)}"
    assert max(report.repeats.values(), default=0) <= 1, f"a burst of repeats: {dict(report.repeats)}"
    assert not report.strangers, f"alerts the same week without a crash never sent: {dict(report.strangers)}"
    assert report.after_unlink == [], report.after_unlink
    assert report.lines_differ == [], f"acknowledged links or unlinks lost in {report.lines_differ}"
    assert report.inconsistent == [], report.inconsistent
    assert report.tracebacks == 0
    reference, crashed = report.auto_orders
    assert reference >= 1 and crashed == reference, f"automatic orders: {reference} without a crash, {crashed} with kills"


def test_a_kill_between_done_and_its_commit_repeats_at_most_one_reminder(tmp_path: Path) -> None:
    assert acknowledgement(tmp_path, seed=2) <= 1
