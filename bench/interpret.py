"""The interpretation under the table, from this run's numbers."""

from __future__ import annotations

from bench.common import Config, Results


def text(results: Results, config: Config) -> list[str]:
    return []
