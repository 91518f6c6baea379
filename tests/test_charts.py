"""The usage chart (issue 17, item 1): what it shows, in the reader's language, drawn with a font
that has the Chinese glyphs (no tofu), cached, and never loaded at start-up."""

from __future__ import annotations

import subprocess
import sys
import warnings
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

from bot import charts
from bot.app import LOCALES
from bot.i18n import Catalogs
from bot.records import Line, Sample
from handlers.usage import chart_spec, data_ticks, day_ticks
from providers.base import GB, MB, EsimBalance, Status

CATALOGS = Catalogs.load(LOCALES)
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
LINE = Line(
    id="l1",
    household_id="console:c1",
    label="妈妈",
    owner="console:u1",
    owner_name="",
    provider="demo",
    ref="8947000000000000020",
    created_at=NOW - timedelta(days=30),
)
HANZI = "剩余流量妈妈的到期日充值按当前用量预测"


def samples(hours: int, start_left: int = 5 * GB, per_hour: int = 5 * MB) -> list[Sample]:
    return [Sample(NOW - timedelta(hours=hours - i), start_left - i * per_hour) for i in range(hours)]


def spec_for(lang: str, points: list[Sample], **kw: object) -> charts.ChartSpec:
    ctx = SimpleNamespace(t=CATALOGS.translator(lang), now=NOW)
    balance = EsimBalance(
        provider="demo",
        iccid=LINE.ref,
        status=Status.ACTIVE,
        data_total_bytes=10 * GB,
        data_remaining_bytes=points[-1].remaining,
        expires_at=NOW + timedelta(days=5),
        as_of=NOW,
    )
    return chart_spec(
        ctx,  # type: ignore[arg-type]
        LINE,
        points,
        kw.get("balance", balance),  # type: ignore[arg-type]
        kw.get("runs_out", NOW + timedelta(days=3)),  # type: ignore[arg-type]
        kw.get("topups", [NOW - timedelta(days=3)]),  # type: ignore[arg-type]
    )


def test_the_font_has_the_chinese_glyphs_and_the_default_font_does_not() -> None:
    cjk = FT2Font(str(charts.font_path())).get_charmap()
    assert all(ord(c) in cjk for c in HANZI + "æøåÆØÅ"), "Noto Sans CJK covers zh, nb and en"
    dejavu = FT2Font(font_manager.findfont("DejaVu Sans")).get_charmap()
    assert not any(ord(c) in dejavu for c in HANZI), "without the CJK font these would be tofu"


@pytest.mark.parametrize("lang", ["zh", "nb", "en"])
def test_drawing_needs_no_missing_glyph(lang: str) -> None:
    spec = spec_for(lang, samples(720))
    charts.draw.cache_clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = charts.draw(spec)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert missing == [], missing
    assert png.startswith(b"\x89PNG") and int.from_bytes(png[16:20], "big") == 800


def test_a_font_without_hanzi_would_show_tofu() -> None:
    """The negative control of the test above: matplotlib does warn when a glyph is missing."""
    from matplotlib.figure import Figure

    fig = Figure()
    fig.text(0.5, 0.5, "妈妈", family="DejaVu Sans")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(__import__("io").BytesIO(), format="png")
    assert any("missing from font" in str(w.message) for w in caught)


def test_the_spec_is_in_the_readers_language() -> None:
    zh, en = spec_for("zh", samples(120)), spec_for("en", samples(120))
    assert zh.title == "妈妈的剩余流量" and en.title == "妈妈 – data left"
    assert zh.legend[0] == "剩余流量" and en.legend[1] == "Forecast at the current pace"
    assert all("月" in label for _, label in zh.x_ticks) and all(" Mar" in label for _, label in en.x_ticks)
    assert en.y_ticks[0] == (0.0, "0 GB")  # one unit on the axis (review S12) and en.y_ticks[-1] == (5.0 * GB, "5 GB")
    assert zh.runs_out == (NOW + timedelta(days=3)).timestamp()
    assert zh.expires_at == (NOW + timedelta(days=5)).timestamp(), "the expiry is within the picture"
    assert zh.topups == ((NOW - timedelta(days=3)).timestamp(),) and zh.x_range[0] < zh.topups[0]


def test_marks_outside_the_picture_are_left_out() -> None:
    far = spec_for("en", samples(48), runs_out=NOW + timedelta(days=90), topups=[NOW - timedelta(days=40)])
    assert far.x_range[1] <= (NOW + timedelta(days=15)).timestamp(), "the picture looks two weeks ahead at most"
    assert far.topups == () and far.expires_at is not None


def test_ticks_are_round_and_cover_the_data() -> None:
    assert data_ticks(409 * MB) == [0, 100 * MB, 200 * MB, 300 * MB, 400 * MB, 500 * MB]
    assert data_ticks(5 * GB)[-1] >= 5 * GB and len(data_ticks(5 * GB)) <= 6
    assert data_ticks(5 * GB) == [0, GB, 2 * GB, 3 * GB, 4 * GB, 5 * GB]
    assert data_ticks(0)[-1] == MB and len(data_ticks(0)) == 6
    days = day_ticks(NOW - timedelta(days=30), NOW)
    assert 5 <= len(days) <= 8 and all(d.hour == 0 for d in days)


def test_equal_specs_are_drawn_once() -> None:
    spec = spec_for("nb", samples(100))
    charts.draw.cache_clear()
    first = charts.draw(spec)
    assert charts.draw(spec) is first
    assert charts.draw.cache_info().hits == 1


def test_start_up_does_not_load_matplotlib() -> None:
    code = "import sys, bot.app, handlers.registry; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
