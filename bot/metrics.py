"""Counters and gauges rendered in the Prometheus text format (no client library needed)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

HELP = {
    "esimbot_commands_total": "Commands handled, by command and outcome",
    "esimbot_provider_calls_total": "Provider calls, by provider and outcome",
    "esimbot_alerts_sent_total": "Reminder alerts delivered, by platform",
    "esimbot_alerts_dropped_total": "Reminder alerts given up without sending, by platform and reason",
    "esimbot_outbox_backlog": "Alerts waiting in the outbox",
    "esimbot_auto_orders_total": "Automatic renewal decisions and orders, by outcome and reason",
    "esimbot_webhooks_total": "Provider webhook requests, by provider and outcome",
}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Metrics:
    """``inc`` counters with labels; ``gauge`` registers a callable read at render time."""

    def __init__(self) -> None:
        self._counters: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)
        self._gauges: dict[str, Callable[[], float]] = {}

    def inc(self, name: str, amount: float = 1, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        series = self._counters[name]
        series[key] = series.get(key, 0) + amount

    def gauge(self, name: str, read: Callable[[], float]) -> None:
        self._gauges[name] = read

    def value(self, name: str, **labels: str) -> float:
        return self._counters.get(name, {}).get(tuple(sorted(labels.items())), 0)

    def render(self) -> str:
        out: list[str] = []
        for name in sorted(self._counters):
            out += [f"# HELP {name} {HELP.get(name, name)}", f"# TYPE {name} counter"]
            for labels, value in sorted(self._counters[name].items()):
                tags = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
                out.append(f"{name}{{{tags}}} {value:g}" if tags else f"{name} {value:g}")
        for name in sorted(self._gauges):
            out += [f"# HELP {name} {HELP.get(name, name)}", f"# TYPE {name} gauge", f"{name} {self._gauges[name]():g}"]
        return "\n".join(out) + "\n"
