"""The damage fuzzer in ``make test``: seeded flips, cuts, duplicates and swaps of bytes and
records in the snapshot and the journal (``tests/store_damage.py``; ``make chaos`` runs more)."""

from __future__ import annotations

from pathlib import Path

from tests.store_damage import fuzz

CASES = 600


def test_every_damaged_start_refuses_clearly_or_loses_nothing_acknowledged(tmp_path: Path) -> None:
    report = fuzz(tmp_path, CASES)
    assert report.problems == []
    assert report.refused > CASES // 2 and report.started > 0  # both outcomes were reached
