"""When a line's data runs out at its recent pace: a pure function of its samples."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.records import Sample
from providers.base import EsimBalance

FORECAST_SAMPLES = 24  # the recent pace: about a day of hourly looks


def runs_out(balance: EsimBalance, samples: Sequence[Sample]) -> datetime | None:
    """The forecast for ``balance`` from the line's kept samples (None for unlimited data)."""
    if balance.data_unlimited:
        return None
    return forecast(samples[-FORECAST_SAMPLES:])


def forecast(samples: Sequence[Sample]) -> datetime | None:
    """When data runs out at the recent pace: from the current cycle's samples (remaining
    never rising), None with fewer than two samples or no usage."""
    cycle: list[Sample] = []
    for sample in reversed(samples):
        if sample.remaining is None:
            break
        if cycle and sample.remaining < cycle[-1].remaining:  # type: ignore[operator]
            break  # data was added after this sample: an older cycle
        cycle.append(sample)
    if len(cycle) < 2:
        return None
    last, first = cycle[0], cycle[-1]
    left, start = last.remaining or 0, first.remaining or 0
    used = start - left
    seconds = (last.as_of - first.as_of).total_seconds()
    if used <= 0 or seconds <= 0:
        return None
    runs_out: datetime = last.as_of + timedelta(seconds=left * seconds / used)
    return runs_out
