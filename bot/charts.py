"""Usage charts: what a ``ChartSpec`` says, drawn as a PNG with matplotlib's Agg backend.

The spec is plain data already in the reader's language (title, legend, tick labels), so this
module knows nothing of translations or the store. matplotlib is imported on the first chart,
not at start-up, and the picture is drawn in a worker thread (``render``), never on the event
loop. Equal specs (the same line, samples, marks and language) are drawn once: an LRU cache.

Chinese glyphs come from Noto Sans CJK SC, the font the ``mplfonts`` package ships; it also
covers Latin, so one font draws all three languages (``font_path`` says where it is).
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CACHE_SIZE = 64  # pictures kept: a family asking again sees the cached one
FONT_FILE = "NotoSansCJKsc-Regular.otf"
SIZE_INCHES, DPI = (8.0, 4.5), 100  # 800x450 px: sharp on a phone, small to send
_setup_lock = threading.Lock()
_font_name: str | None = None


@dataclass(frozen=True)
class ChartSpec:
    """Everything the picture shows. Times are epoch seconds, amounts bytes; labels are final text.

    ``points`` are (time, data left), oldest first, at least two; ``runs_out`` draws the
    forecast as a dashed line from the last point to zero; ``expires_at`` and ``topups`` are
    vertical marks; ``legend`` names the series in the order data, forecast, expiry, top-up.
    """

    title: str
    y_label: str
    legend: tuple[str, str, str, str]
    points: tuple[tuple[float, float], ...]
    x_range: tuple[float, float]
    x_ticks: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, str], ...]
    runs_out: float | None = None
    expires_at: float | None = None
    topups: tuple[float, ...] = ()


def font_path() -> Path:
    """The CJK font file (from the ``mplfonts`` package, found without importing it)."""
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or spec.origin is None:
        raise RuntimeError("the mplfonts package (Noto Sans CJK) is not installed")
    return Path(spec.origin).parent / "fonts" / FONT_FILE


def _setup() -> str:
    """Load matplotlib's Agg backend and register the CJK font once; returns the font's name."""
    global _font_name
    with _setup_lock:
        if _font_name is None:
            import matplotlib

            matplotlib.use("Agg")
            from matplotlib import font_manager

            path = str(font_path())
            font_manager.fontManager.addfont(path)
            _font_name = font_manager.FontProperties(fname=path).get_name()
        return _font_name


@lru_cache(maxsize=CACHE_SIZE)
def draw(spec: ChartSpec) -> bytes:
    """The chart as PNG bytes (blocking: call ``render`` from async code)."""
    family = _setup()
    from matplotlib.figure import Figure

    fig = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    font = {"family": [family, "DejaVu Sans"]}
    xs, ys = [p[0] for p in spec.points], [p[1] for p in spec.points]
    left, forecast, expiry, topup = spec.legend
    ax.plot(xs, ys, color="#1f77b4", linewidth=2, marker="o", markersize=3, label=left)
    ax.fill_between(xs, ys, color="#1f77b4", alpha=0.12)
    if spec.runs_out is not None:
        ax.plot([xs[-1], spec.runs_out], [ys[-1], 0], color="#ff7f0e", linestyle="--", linewidth=2, label=forecast)
    if spec.expires_at is not None:
        ax.axvline(spec.expires_at, color="#d62728", linestyle=":", linewidth=2, label=expiry)
    for i, at in enumerate(spec.topups):
        ax.axvline(at, color="#2ca02c", linewidth=1.5, alpha=0.8, label=topup if i == 0 else None)
    ax.set_xlim(*spec.x_range)
    ax.set_ylim(0, max(y for y, _ in spec.y_ticks) if spec.y_ticks else max(ys) * 1.1 or 1)
    ax.set_xticks([x for x, _ in spec.x_ticks], [label for _, label in spec.x_ticks], fontdict=font)
    ax.set_yticks([y for y, _ in spec.y_ticks], [label for _, label in spec.y_ticks], fontdict=font)
    ax.set_title(spec.title, fontdict={**font, "fontsize": 14})
    ax.set_ylabel(spec.y_label, fontdict=font)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", prop={"family": font["family"]})
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


async def render(spec: ChartSpec) -> bytes:
    """The chart as PNG bytes, drawn in a worker thread (or taken from the cache)."""
    return await asyncio.to_thread(draw, spec)
