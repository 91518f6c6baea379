"""Test-only helpers for the reminder rules (the product never needs them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.records import AlertState, ThresholdKey


def with_announced(state: AlertState, keys: Sequence[str]) -> AlertState:
    """``state`` with ``keys`` counted as announced, in order, without duplicates."""
    return replace(state, announced=tuple(dict.fromkeys((*state.announced, *map(ThresholdKey, keys)))))
