"""The crash-point harness in ``make test``: a few hundred of the embedded store's write,
fsync, rename and removal steps, each a crash followed by a start and the checks of
``tests/store_crashes.py`` (``make chaos`` runs every step, on three seeds)."""

from __future__ import annotations

from pathlib import Path

from tests.store_crashes import run

POINTS = 300


async def test_a_crash_at_any_write_point_leaves_files_that_load_and_hold_every_acknowledged_unit(tmp_path: Path) -> None:
    report = await run(tmp_path, story="units", seed=1, limit=POINTS)
    assert report.points == POINTS and report.compactions >= 3
    assert set(report.kinds) == {"write", "fsync", "rename", "remove"}, report.kinds
    assert report.problems == []


async def test_a_crash_at_any_step_of_the_upgrade_from_version_1_finishes_it_next_time(tmp_path: Path) -> None:
    report = await run(tmp_path, story="upgrade")
    assert report.points >= 10 and {"write", "rename", "remove"} <= set(report.kinds)
    assert report.problems == []
