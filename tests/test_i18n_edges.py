"""Every message rendered with the values that break composition, in all three languages
(issue 15, item 5; the rules are in locales/GLOSSARY.md).

Each message is rendered the way the bot renders it (``Translator`` and its Babel helpers fill
the values) for several scenarios: counts 0, 1, 2, 5, 21 and 100; an empty list, one item and
three; a name with spaces and a label of the longest allowed length; no expiry, expiry today,
a stale balance; prices with and without decimals. Every rendering must have no doubled
punctuation, no "0 seconds", no English inside nb or zh (outside names and command syntax), no
trailing, leading or doubled spaces, and the right plural form.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from babel.messages.pofile import read_po

from bot.app import LOCALES
from bot.i18n import SUPPORTED, Catalogs, Translator
from handlers.parsing import MAX_LABEL
from providers.base import GB, MB

CATALOGS = Catalogs.load(LOCALES)
NOW = datetime(2026, 3, 31, 11, 0, tzinfo=UTC)
COUNTS = (0, 1, 2, 5, 21, 100)


def _messages() -> tuple[list[str], set[str]]:
    with (LOCALES / "en" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    ids, plural = [], set()
    for m in catalog:
        if m.id:
            key = m.id[0] if isinstance(m.id, (tuple, list)) else m.id
            ids.append(key)
            if isinstance(m.id, (tuple, list)):
                plural.add(key)
    return ids, plural


IDS, PLURAL = _messages()

LONG_LABEL = "Grandma Li's second iPad"[:MAX_LABEL]
NEUTRAL_NAMES = ("mom", "Anna", "Li Wei", LONG_LABEL, "Li's phone", "xyz?!", "E-7Q2K9", "Europe/Oslo")


def scenarios(t: Translator) -> Iterator[dict[str, str]]:
    """Placeholder values as the handlers produce them, a few combinations per scenario."""
    p = "/"
    lists = ([], ["Telenor"], ["Telenor", "Ice", "OneCall"])
    moneys = (t.money(Decimal("149"), "NOK"), t.money(Decimal("8.5"), "USD"), t.money(Decimal("0"), "NOK"))
    datas = (t.data(0), t.data(MB), t.data(5 * GB), t.data(int(2.5 * GB)), t.data(3 * 10**9))
    relatives = (
        t.relative(NOW + timedelta(seconds=20), NOW),
        t.relative(NOW + timedelta(days=1), NOW),
        t.relative(NOW - timedelta(hours=3), NOW),
        t.relative(NOW - timedelta(seconds=5), NOW),
        t.relative(NOW + timedelta(days=21, hours=2), NOW),
    )
    reasons = (t("provider.unavailable", provider=t.provider("airalo")), t("provider.rate_limited", provider=t.provider("demo")))
    for i, (label, items, money, data, relative) in enumerate(
        zip(
            ("mom", LONG_LABEL, "Li's phone", "mom", "Li Wei"),
            (*lists, lists[2], lists[0]),
            (*moneys, moneys[0], moneys[1]),
            datas,
            relatives,
            strict=True,
        )
    ):
        listed = t.list(items)
        yield {
            "prefix": p if i % 2 == 0 else "!",
            "label": label,
            "labels": listed,
            "operators": listed,
            "providers": t.list(["demo", "airalo", "esimgo"][: len(items)]),
            "commands": listed,
            "supported": listed,
            "expiry": listed,
            "data": data,
            "left": data,
            "total": t.data(10 * GB),
            "n": str(COUNTS[i]),
            "provider": t.provider("manual", operator="onecall") if i == 1 else t.provider("esimaccess"),
            "operator": t.operator("nicemobil"),
            "value": "xyz?!",
            "date": t.date(NOW + timedelta(days=i * 40)),
            "relative": relative,
            "age": relatives[2],
            "when": t.date_time(NOW),
            "now": t.date_time(NOW),
            "time": t.time(NOW),
            "start": t.clock("22:00"),
            "end": t.clock("08:00"),
            "price": money,
            "cap": money,
            "spent": money,
            "currency": "USD",
            "percent": t.percent(0.05),
            "days": t.plural("plan.days", COUNTS[i]),
            "reason": reasons[i % 2],
            "plan": t("plan.label", data=data, days=t.plural("plan.days", 7), price=money),
            "owner": "Li Wei" if i % 2 else t("owner.self"),
            "status": t("status.active"),
            "iccid": "89…0012",
            "command": f"{p}renew {label}",
            "renew": f"{p}renew {label}",
            "rule": t("auto.rule_low", plan=t.data(GB), percent=t.percent(0.2)),
            "day": str(1 + i * 9),
            "help": f"{p}help",
            "balance": f"{p}balance",
            "remind": f"{p}remind",
            "confirm": f"{p}confirm",
            "howto": f"{p}howto onecall",
            "used": f"{p}left",
            "ref": "E-7Q2K9",
            "language": t("lang.name_" + t.lang),
            "current": t("lang.name_zh"),
            "tz": "Europe/Oslo",
            "target": t("remind.target_group"),
            "state": t("remind.on"),
            "quiet": t("remind.quiet_off") if i % 2 else t("remind.quiet_range", start=t.clock("22:00"), end=t.clock("08:00")),
            "scope": t("remind.scope_line", label=label),
            "sims": f"{p}link 8947000000000000012 DEMO12",
            "name": "Li Wei" if i % 2 else "Anna",
            "max": str(MAX_LABEL),
            "limit": "4096",
            "until": t.date_time(NOW + timedelta(days=1)),
            "code": "K7PQ2XWM",
            "join": f"{p}family join K7PQ2XWM",
            "suggestion": f"{p}renew",
            "values": listed,
            "all": f"{p}balance " + t("balance.all_keyword"),
            "title": t("line.title_group", label=label, owner="Li Wei") if i % 2 else t("line.title", label=label),
            "invite": f"{p}family invite",
            "leave": f"{p}family leave",
            "platform": t("platform.matrix"),
            "chat": "-1002000000401" if i % 2 else "42",
            "group": "https://t.me/EsimTestBot?startgroup=join_K7PQ2XWM",
            "private": "https://t.me/EsimTestBot?start=join_K7PQ2XWM",
            "link": "https://matrix.to/#/@esim:example.org",
            "minutes": "10",
            "gap": t("auto.gap_day") if i % 2 else t.plural("auto.gap_hours", 12),
            "month": t.plural("auto.month_count", 1 + i),
            "amount": data,
            "count": "8",
            "most": "10",
            "every": t.plural("remind.hours", 1 + 3 * i),
            "times": str(i + 1),
            "names": t.list(items or ["Anna"]),
            "chats": "\n".join(
                f"• {c}"
                for c in (
                    t("family.chat_group", platform=t("platform.telegram")),
                    t("family.chat_private", platform=t("platform.matrix")),
                )[: 1 + i % 2]
            ),
        }


def render(t: Translator, msgid: str, values: dict[str, str]) -> str:
    if msgid in PLURAL:
        return t.plural(msgid, int(values["n"]), **{k: v for k, v in values.items() if k != "n"})
    return t(msgid, **values)


def renderings() -> Iterator[tuple[str, str, str, str]]:
    for lang in SUPPORTED:
        t = CATALOGS.translator(lang)
        for values in scenarios(t):
            for msgid in IDS:
                if values["n"] == "0" and (msgid.startswith("time.") or msgid in WAITS):
                    continue  # never asked for zero: below a minute is said in words (tested below)
                yield lang, msgid, values["n"], render(t, msgid, values)


WAITS = {"link.too_many_attempts"}  # a wait in minutes: always at least one
ALL = list(renderings())

DOUBLED = re.compile(r"[.。!！?？,，:：;；][)）]?\s*[.。,，:：;；]|[.。][)）][.。]| [.,:;)]| [!?](?![a-z])|[(（] ")
ZERO_TIME = re.compile(
    r"\b(in|om) 0 |\b0 \w+ ago\b|\bfor 0 \w+ siden|\b0 ?(seconds?|sekunder)\b"
    r"|\b0 ?(秒|天后|小时后|分钟后|天前|小时前|分钟前)"
)
COMMAND = re.compile(r"[/!][a-z]+\b")
# Words that are English and never Norwegian: their presence in nb means a sentence leaked.
ENGLISH = re.compile(
    r"\b(the|your|you|with|please|left|days?|hours?|expires?|expired|only|has|been|this|that|"
    r"there|here|and|of|is|are|was|not|data left|top up|line|lines|reminders?)\b",
    re.IGNORECASE,
)
# Latin words a zh message may contain: names, units, codes and command syntax.
ZH_LATIN_OK = {
    "esim",
    "sim",
    "iccid",
    "gb",
    "mb",
    "nok",
    "usd",
    "eur",
    "app",
    "qr",
    "kbit",
    "s",
    "sms",
    "min",
    "side",
    "mine",
    "sider",
    "element",
    "matrix_e2ee",
    "provider",
    "matching",
    "code",
    "kr",
    "airalo",
    "access",
    "go",
    "telenor",
    "telia",
    "ice",
    "lyse",
    "talkmore",
    "onecall",
    "mycall",
    "nicemobil",
    "chilimobil",
    "happybytes",
    "minside",
    "no",
    "kontant",
    "autopåfyll",
    "data",
    "rollover",
    "status",
    "utland",
    "start",
    "stopp",
    "fortsett",
    "link",
    "manual",
    "expiry",
    "quiet",
    "tz",
    "to",
    "me",
    "off",
    "cap",
    "zh",
    "nb",
    "en",
    "h",
    "d",
    "english",
    "norsk",
    "bokmål",
    "asia",
    "shanghai",
    "europe",
    "oslo",
    "ipad",
    "li",
    "wei",
    "xyz",
    "e",
    "demo",
    "esimaccess",
    "esimgo",
    "telegram",
    "matrix",
    "invite",
    "join",
    "leave",  # platform names and /family syntax
    "other",  # typed as it is: /link manual other
}


@pytest.mark.parametrize(("lang", "msgid", "n", "text"), ALL, ids=[f"{a[0]}-{a[1]}-{a[2]}" for a in ALL])
def test_rendering_follows_the_rules(lang: str, msgid: str, n: str, text: str) -> None:
    assert not DOUBLED.search(text), f"doubled or misplaced punctuation: {DOUBLED.search(text)}"
    assert not ZERO_TIME.search(text), "a zero amount of time"
    assert "  " not in text and all(line == line.strip() for line in text.split("\n")), "stray spaces"
    bare = COMMAND.sub(" ", re.sub(r"https://\S+", " ", text))  # a link is not words to translate
    for name in NEUTRAL_NAMES:
        bare = bare.replace(name, " ")
    if lang == "nb":
        assert not ENGLISH.search(bare), f"English in nb: {ENGLISH.search(bare)}"
    if lang == "zh":
        words = {
            w.casefold()
            for w in re.findall(r"[A-Za-zåæø_'’”0-9]*[A-Za-z][A-Za-zåæø_0-9]*", bare)
            if not any(c.isdigit() for c in w)
        }  # sizes and durations in examples: 5GB, 3d, 12h
        assert words <= ZH_LATIN_OK, f"Latin words in zh: {sorted(words - ZH_LATIN_OK)}"
        assert not re.search(r"[\u4e00-\u9fff], ", text), "a list joined with ', ' instead of '、'"
        assert not re.search(r" [，。：；！？、）”]|[，。：；！？、（“] ", text), "a space next to full-width punctuation"


PLURAL_WORDS = {
    "en": (r"day|hour|minute|line|text|digit", r"days|hours|minutes|lines|texts|digits"),
    "nb": (r"dag|time|minutt|linje", r"dager|timer|minutter|linjer|sifre"),
}


@pytest.mark.parametrize("lang", ["en", "nb"])
@pytest.mark.parametrize("msgid", sorted(PLURAL))
def test_plural_forms_agree_with_the_count(lang: str, msgid: str) -> None:
    singular, plural = PLURAL_WORDS[lang]
    t = CATALOGS.translator(lang)
    values = next(scenarios(t))
    for n in COUNTS:
        text = render(t, msgid, {**values, "n": str(n)})
        if n == 1:
            assert not re.search(rf"\b1 ({plural})\b", text), text
        else:
            assert not re.search(rf"\b{n} ({singular})\b", text), text
    if lang == "en":  # Norwegian has invariable nouns ("1 SMS", "2 SMS"); English has none here
        assert render(t, msgid, {**values, "n": "1"}) != render(t, msgid, {**values, "n": "2"}).replace("2", "1"), (
            f"{msgid} has the same words for 1 and 2"
        )


def test_relative_times_never_say_zero() -> None:
    for lang in SUPPORTED:
        t = CATALOGS.translator(lang)
        for seconds in (0, 1, 59, -1, -59):
            said = t.relative(NOW + timedelta(seconds=seconds), NOW)
            assert "0" not in said and said == t("time.soon" if seconds >= 0 else "time.just_now"), said
        assert t.relative(NOW + timedelta(seconds=60), NOW) == t.plural("time.in_minutes", 1)
        assert t.relative(NOW + timedelta(hours=23, minutes=59), NOW) == t.plural("time.in_hours", 23)


def test_there_are_enough_renderings_to_mean_something() -> None:
    assert len(ALL) >= 3 * 5 * 190


def test_zh_spacing_never_changes_what_the_user_typed() -> None:
    t = CATALOGS.translator("zh")
    assert t("alert.renew", command="/renew 小李的iPad") == "充值请发送 /renew 小李的iPad"
    assert t("line.title", label="小李的iPad") == "📶 小李的iPad"
    assert t("link.done", label="mom", iccid="89…0012") == "✅ 已添加 mom（89…0012）"
    assert t.plural("lines.header", 2) == "共 2 张卡："
