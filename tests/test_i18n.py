"""Catalogs, language negotiation and Babel formatting (issue 3, Build item 7)."""

from __future__ import annotations

import ast
import functools
import re
import string
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.app import LOCALES
from bot.config import KNOWN_PROVIDERS
from bot.i18n import SUPPORTED, Catalogs, negotiate, normalize_language
from handlers.howto import VERIFIED
from handlers.remind import TARGETS
from providers.base import GB, MB, Status
from tests.conftest import DEMO, Bot, fixed_part

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = Catalogs.load(LOCALES)
NBSP = "\u00a0"


def _load(lang: str) -> Catalog:
    with (LOCALES / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


PO = {lang: _load(lang) for lang in SUPPORTED}


def _forms(message: object) -> list[str]:
    s = message.string  # type: ignore[attr-defined]
    return list(s) if isinstance(s, (tuple, list)) else [s]


def _ids(lang: str) -> dict[str, object]:
    out = {}
    for m in PO[lang]:
        if not m.id:
            continue
        key = m.id[0] if isinstance(m.id, (tuple, list)) else m.id
        out[key] = m
    return out


IDS = {lang: _ids(lang) for lang in SUPPORTED}
EN_IDS = sorted(IDS["en"])


def placeholders(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None}


# --- the catalogs --------------------------------------------------------------------


def test_there_are_messages() -> None:
    assert len(EN_IDS) > 150


@pytest.mark.parametrize("lang", SUPPORTED)
def test_same_ids_in_every_catalog(lang: str) -> None:
    missing = sorted(set(IDS["en"]) - set(IDS[lang]))
    extra = sorted(set(IDS[lang]) - set(IDS["en"]))
    assert missing == [], f"{lang} lacks {missing}"
    assert extra == [], f"{lang} has ids English does not: {extra}"


@pytest.mark.parametrize("lang", SUPPORTED)
def test_no_empty_or_fuzzy_translations(lang: str) -> None:
    empty = [k for k, m in IDS[lang].items() if any(not f.strip() for f in _forms(m))]
    fuzzy = [k for k, m in IDS[lang].items() if m.fuzzy]  # type: ignore[attr-defined]
    assert empty == [] and fuzzy == [], (empty, fuzzy)


@pytest.mark.parametrize("lang", SUPPORTED)
def test_plural_forms_match_the_language(lang: str) -> None:
    expected = {"en": 2, "nb": 2, "zh": 1}[lang]
    assert PO[lang].num_plurals == expected
    for key, m in IDS[lang].items():
        if isinstance(m.id, (tuple, list)):  # type: ignore[attr-defined]
            assert len(_forms(m)) == expected, key
            assert m.id[1] == key + "_plural", key  # type: ignore[attr-defined]
        else:
            assert not isinstance(IDS["en"][key].id, (tuple, list)), f"{key} is plural in en only"  # type: ignore[attr-defined]


@pytest.mark.parametrize("lang", ["nb", "zh"])
def test_same_placeholders(lang: str) -> None:
    wrong = []
    for key, en in IDS["en"].items():
        want = set().union(*(placeholders(f) for f in _forms(en)))
        for form in _forms(IDS[lang][key]):
            have = placeholders(form)
            # a plural's singular form may say "one" instead of {n}; nothing may be invented
            plural = isinstance(en.id, (tuple, list))  # type: ignore[attr-defined]
            ok = have <= want and (have | {"n"}) >= want if plural else have == want
            if not ok:
                wrong.append((key, sorted(want), sorted(have)))
    assert wrong == []


@pytest.mark.parametrize("lang", SUPPORTED)
def test_every_message_renders(lang: str) -> None:
    """No stray braces: each message formats with its own placeholders filled."""
    t = CATALOGS.translator(lang)
    for key, m in IDS[lang].items():
        names = set().union(*(placeholders(f) for f in _forms(m)))
        values = {n: "X" for n in names}
        if isinstance(m.id, (tuple, list)):  # type: ignore[attr-defined]
            for n in (0, 1, 2, 5):
                rendered = t.plural(key, n, **{k: v for k, v in values.items() if k != "n"})
                assert rendered.strip() and not re.search(r"\{[a-z_]+\}", rendered), key
        else:
            rendered = t(key, **values)
            assert rendered.strip() and not re.search(r"\{[a-z_]+\}", rendered), key


@pytest.mark.parametrize("lang", ["nb", "zh"])
def test_translations_are_not_just_english(lang: str) -> None:
    same = [k for k, m in IDS[lang].items() if _forms(m) == _forms(IDS["en"][k])]
    # names of things (Demo, Airalo, Talkmore's SMS keywords ...) may stay; sentences may not
    assert len(same) <= len(IDS["en"]) // 8, same


# --- message ids used in the code -----------------------------------------------------

MSGID = re.compile(r"^[a-z]+\.[a-z0-9_]+$")
PREFIXES = {k.split(".")[0] for k in IDS["en"]}
CALLS = {"t", "plural", "BotError", "UsageError", "NotAllowed", "NotLinked", "RateLimitedUser", "Notice"}
ERRORS = {"BotError", "UsageError", "NotAllowed", "NotLinked", "RateLimitedUser"}


def _sources() -> list[Path]:
    return sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")])


@functools.cache
def _trees() -> tuple[tuple[Path, ast.Module], ...]:
    return tuple((path, ast.parse(path.read_text(encoding="utf-8"))) for path in _sources())


def _literal_ids() -> dict[str, list[str]]:
    """Every string literal shaped like a message id with a catalog prefix -> where it is."""
    found: dict[str, list[str]] = {}
    for path, tree in _trees():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and MSGID.match(node.value)
                and node.value.split(".")[0] in PREFIXES
                and not node.value.endswith("_")
            ):  # "_": a family
                found.setdefault(node.value, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def _calls() -> list[tuple[str, str, set[str] | None, str]]:
    """(callee, literal id, keyword names or None when **kwargs, where) of every catalog call."""
    out = []
    for path, tree in _trees():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            first = node.args[0]
            if name not in CALLS or not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue
            kws = None if any(k.arg is None for k in node.keywords) else {k.arg for k in node.keywords if k.arg}
            out.append((name, first.value, kws, f"{path.relative_to(ROOT)}:{node.lineno}"))
    return out


def test_the_scan_finds_calls() -> None:
    assert len(_calls()) > 100
    assert "link.wrong_code" in _literal_ids()


def test_every_literal_message_id_exists() -> None:
    missing = {k: v for k, v in _literal_ids().items() if k not in IDS["en"]}
    assert missing == {}


def test_every_called_message_id_exists() -> None:
    missing = [(msgid, where) for _name, msgid, _kw, where in _calls() if msgid not in IDS["en"]]
    assert missing == []


def test_every_call_fills_the_placeholders() -> None:
    """A placeholder the code does not pass is a KeyError at run time (an apology)."""
    bad = []
    for name, msgid, kws, where in _calls():
        if kws is None or msgid not in IDS["en"]:
            continue
        m = IDS["en"][msgid]
        need = set().union(*(placeholders(f) for f in _forms(m)))
        have = set(kws) | ({"n"} if name == "plural" else set()) | ({"prefix"} if name in ERRORS else set())
        if name in ERRORS and msgid.startswith("provider."):
            have.add("provider")
        if need - have:
            bad.append((where, msgid, sorted(need - have)))
    assert bad == []


FAMILIES = {
    "provider": [*KNOWN_PROVIDERS, "manual"],
    "status": [s.value.lower() for s in Status],
    "howto": list(VERIFIED),
    "remind.target": sorted(set(TARGETS.values())),
    "lang.name": list(SUPPORTED),
    "family.invite": ["telegram", "matrix"],  # the invite's links (bot.links.invite_links)
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_families_built_at_run_time_exist(family: str) -> None:
    sep = "." if family in ("provider", "status", "howto") else "_"
    missing = [f"{family}{sep}{v}" for v in FAMILIES[family] if f"{family}{sep}{v}" not in IDS["en"]]
    assert missing == []


def test_families_are_still_built_that_way() -> None:
    """If the code stops building these ids with f-strings, the family list above is stale."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in _sources())
    for pattern in ('f"provider.{', 'f"status.{', 'f"howto.{', 'f"remind.target_{', "lang.name_", 'f"family.invite_{'):
        assert pattern in text, pattern


# --- negotiation ----------------------------------------------------------------------

ALIASES = [
    ("no", "nb"),
    ("nb", "nb"),
    ("nn", "nb"),
    ("nb-NO", "nb"),
    ("nb_NO", "nb"),
    ("NO", "nb"),
    ("nn-NO", "nb"),
    ("zh", "zh"),
    ("zh-hans", "zh"),
    ("zh-Hans", "zh"),
    ("zh-CN", "zh"),
    ("zh-Hant", "zh"),
    ("zh-TW", "zh"),
    ("zh_Hans_CN", "zh"),
    ("ZH-HK", "zh"),
    ("en", "en"),
    ("en-US", "en"),
    ("en_GB", "en"),
    (" en ", "en"),
    ("de", None),
    ("fr-NO", None),
    ("", None),
    (None, None),
    ("xx", None),
    ("-", None),
    ("english", None),
]


@pytest.mark.parametrize(("code", "lang"), ALIASES)
def test_language_aliases(code: str | None, lang: str | None) -> None:
    assert normalize_language(code) == lang


def test_negotiation_chain() -> None:
    assert negotiate("zh", "nb", "en", default="en") == "zh"  # user first
    assert negotiate(None, "nb", "zh", default="en") == "nb"  # then the household
    assert negotiate(None, None, "zh-TW", default="en") == "zh"  # then the platform hint
    assert negotiate(None, None, None, default="nb") == "nb"  # then the default
    assert negotiate("de", "xx", "fr", default="zh") == "zh"  # unsupported ones are skipped
    assert negotiate(None, None, None, default="de") == "en"  # a bad default falls back to en


async def test_negotiation_in_the_bot(bot: Bot) -> None:
    admin = {"chat": "fam", "group": True, "admin": True}
    lines_none = {lang: fixed_part("lines.none", lang) for lang in SUPPORTED}
    # default
    assert lines_none["en"] in await bot.text("/lines", chat="fam", user="a", group=True)
    # platform hint beats the default
    assert lines_none["zh"] in await bot.text("/lines", user="a", lang="zh-Hant", chat="fam", group=True)
    # household beats the hint
    await bot.text("/lang nb", user="a", **admin)
    assert lines_none["nb"] in await bot.text("/lines", user="a", lang="zh", chat="fam", group=True)
    # user's own choice (made in private) beats the household
    await bot.text("/lang zh", user="a", chat="a")
    assert lines_none["zh"] in await bot.text("/lines", user="a", lang="en", chat="fam", group=True)
    # another member still reads the household's language
    assert lines_none["nb"] in await bot.text("/lines", user="b", lang="en", chat="fam", group=True)


async def test_default_language_setting() -> None:
    from tests.conftest import make_bot

    bot = make_bot(default_language="nb")
    assert fixed_part("lines.none", "nb") in await bot.text("/lines")
    assert fixed_part("lines.none", "en") in await bot.text("/lines", lang="en-GB")


async def test_lang_without_argument_shows_the_current_and_the_choices(bot: Bot) -> None:
    for lang in SUPPORTED:
        text = await bot.text("/lang", lang=lang)
        assert all(f"/lang {code}" in text for code in SUPPORTED), text
        assert CATALOGS.translator(lang)("lang.name_" + lang) in text


# --- Babel formatting -----------------------------------------------------------------

SIZES = [  # bytes, en, nb, zh; rounded down so the bot never over-promises
    (0, "0 MB", "0 MB", "0 MB"),
    (int(1.5 * MB), "1 MB", "1 MB", "1 MB"),
    (1023 * MB, "1,023 MB", f"1{NBSP}023 MB", "1,023 MB"),
    (GB, "1 GB", "1 GB", "1 GB"),
    (int(1.99 * GB), "1.9 GB", "1,9 GB", "1.9 GB"),
    (2 * GB, "2 GB", "2 GB", "2 GB"),
    (int(7.5 * GB), "7.5 GB", "7,5 GB", "7.5 GB"),
    (10 * GB - 1, "9.9 GB", "9,9 GB", "9.9 GB"),
    (1500 * GB, "1,500 GB", f"1{NBSP}500 GB", "1,500 GB"),
]


@pytest.mark.parametrize(("n", "en", "nb", "zh"), SIZES)
def test_data_sizes(n: int, en: str, nb: str, zh: str) -> None:
    for lang, want in (("en", en), ("nb", nb), ("zh", zh)):
        assert CATALOGS.translator(lang).data(n).replace("\u202f", NBSP) == want.replace("\u202f", NBSP), lang


NOW = datetime(2026, 1, 10, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("lang", "date", "in3", "ago3", "in5h", "money"),
    [
        ("en", "13 Jan 2026", "in 3 days", "3 days ago", "in 5 hours", "NOK\xa049.00"),
        ("nb", "13. jan. 2026", "om 3 dager", "for 3 dager siden", "om 5 timer", f"49,00{NBSP}kr"),
        ("zh", "2026年1月13日", "3 天后", "3 天前", "5 小时后", "49.00 挪威克朗"),
    ],
)
def test_dates_relative_times_and_money(lang: str, date: str, in3: str, ago3: str, in5h: str, money: str) -> None:
    t = CATALOGS.translator(lang)
    assert t.date(NOW + timedelta(days=3)) == date
    assert t.relative(NOW + timedelta(days=3), NOW) == in3
    assert t.relative(NOW - timedelta(days=3), NOW) == ago3
    assert t.relative(NOW + timedelta(hours=5), NOW) == in5h
    assert t.money(Decimal("49"), "NOK") == money


def test_month_names_are_localized() -> None:
    may = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)
    assert "May" in CATALOGS.translator("en").date(may)
    assert "mai" in CATALOGS.translator("nb").date(may)
    assert "5月" in CATALOGS.translator("zh").date(may)
    assert "des." in CATALOGS.translator("nb").date(datetime(2026, 12, 1, 12, tzinfo=UTC))


def test_dates_are_in_the_households_time_zone() -> None:
    late = datetime(2026, 1, 1, 23, 30, tzinfo=UTC)  # already Jan 2 in Oslo and Shanghai
    assert CATALOGS.translator("en", "Europe/Oslo").date(late) == "2 Jan 2026"
    assert CATALOGS.translator("en", "Asia/Shanghai").time(late) == "07:30"
    assert CATALOGS.translator("nb", "Europe/Oslo").time(late) == "kl. 00.30"


def test_plurals() -> None:
    en, nb, zh = (CATALOGS.translator(x) for x in ("en", "nb", "zh"))
    assert en.plural("plan.days", 1) == "1 day" and en.plural("plan.days", 7) == "7 days"
    assert nb.plural("plan.days", 1) != nb.plural("plan.days", 7).replace("7", "1")
    assert "7" in zh.plural("plan.days", 7)


async def test_every_reply_of_a_session_is_in_one_language(bot: Bot) -> None:
    """The catalog travels with the reader: two users at once, each in their own language."""
    a = await bot.text(f"/link {DEMO['DEMO12']} DEMO12 dad", chat="a", user="a", lang="zh")
    b = await bot.text(f"/link {DEMO['DEMO20']} DEMO20 mom", chat="b", user="b", lang="nb")
    c = await bot.text("/balance", chat="a", user="a", lang="zh")
    assert "天后" in a and "天后" in c and "om " in b
    assert "døgn" not in a + c and "天" not in b


async def test_household_time_zone_changes_what_is_shown(bot: Bot) -> None:
    await bot.text(f"/link {DEMO['DEMO12']} DEMO12 dad")
    assert "09:00" in await bot.text("/balance")  # 08:00Z in Oslo
    saved = await bot.text("/remind tz Asia/Shanghai")
    assert "Asia/Shanghai" in saved
    assert "16:00" in await bot.text("/balance")  # the same moment in Shanghai
