"""The benchmarks run once at a tiny size, so they cannot rot (no timing is asserted)."""

from __future__ import annotations

from pathlib import Path

from bench.__main__ import SECTIONS, main


def test_every_benchmark_runs_and_writes_its_table(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    assert main(["--tiny", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    for key, (title, _run) in SECTIONS.items():
        assert f"## {key}. {title}" in text
    assert "| benchmark | min | median | max |" in text
