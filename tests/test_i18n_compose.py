"""Composed messages in their real compositions (issue 31, item 5; review 2026-12).

The catalog tests render each message alone; the review's worst finds were seams: "før kl.
kl. 21.15", "你好，你好！", "— tracked by hand — tracked by hand", "3 天和1 天", "happybytes og
other". Here a whole session runs through the real router in every language (every place a
message is joined with another or given another message as a value: greetings, lists, the
balance card, the overview, reminder settings, family, refusals, buttons) plus every kind of
alert, and each text is checked for doubled words and punctuation, glossary terms, the zh
spacing rule at every seam (Babel's lists included), untranslated keys, English inside nb and
zh, and "or" where the reader must choose one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.app import LOCALES
from bot.i18n import SUPPORTED, Catalogs
from bot.records import Alert, AlertKind
from bot.reminders import text as alerts
from tests.conftest import DEMO, START_AT, make_bot
from tests.test_i18n_edges import COMMAND, DOUBLED, ENGLISH, IDS, ZH_LATIN_OK

CATALOGS = Catalogs.load(LOCALES)
PEOPLE = {
    "en": ("mum", "dad", "gran", "home", "kid", "Anna", "Li", "23:00-07:00"),
    "nb": ("mamma", "pappa", "bestemor", "hjemme", "barn", "Kari", "Lina", "23.00-07.00"),
    "zh": ("妈妈", "爸爸", "奶奶", "家里", "孩子", "王芳", "小李", "23:00-07:00"),
}
# Words the glossary or the review rules out, per language (review 2026-12: E2, E5, N6-N8, Z5, Z6, Z11, Z13)
FORBIDDEN = {
    "en": r"\bmom\b|\bWrite\b|\bBalance\b|[a-z]'[a-z]|\bsaldo\b",
    "nb": r"\bStilletid\b|\bdataen\b|eSIM-kortet|\bkobler\b|tilkoblede|\bkl\. kl\.|\bsaldoen? (?:på|for) data",
    "zh": r"机主|本聊天|群聊|已过期|余额(?:流量)?\s*\d+\s*[GM]B|你好，你好",
}
DOUBLED_WORD = re.compile(r"(?i)(?<![\w/@.])([^\W\d_]{2,}\.?)[\s,，、:：]+\1(?!\w)")
REPEATED_PHRASE = re.compile(r"(?i)\b([^\W\d_]+ [^\W\d_]+ [^\W\d_]+)\b.*\b\1\b")
ZH_SEAM = re.compile(r"[\u4e00-\u9fff][A-Za-z0-9/<\[]|[A-Za-z0-9%>\]][\u4e00-\u9fff]")
ZH_DATE_SEAM = re.compile(r"[年月日号]\d|\d[年月日号]")
INVITE = re.compile(r"\b[A-HJ-NP-Z2-9]{8}\b")
KEY = re.compile(r"\b[a-z]+\.[a-z_]+\b")


async def session(lang: str) -> list[str]:
    """Every reply (and button label) of one conversation that walks through the compositions."""
    mum, dad, gran, home, kid, admin, member, quiet = PEOPLE[lang]
    bot, said = make_bot(start=START_AT), []
    me = {"chat": "me", "user": "u1", "lang": lang, "name": admin}

    async def say(text: str, **who: object) -> list[str]:
        out = []
        for reply in await bot.send(text, **{**me, **who}):  # type: ignore[arg-type]
            out.append(reply.text)
            said.extend([reply.text, *(c.label for c in reply.choices)])
        return out

    await say("/start")
    await say("/start", chat="anon", user="u9", name="")
    for text in ("/help", "/help renw", "/help frobnicate", "/renw", "/frobnicate", "/lang", "/lang xx"):
        await say(text)
    for sim, label in (("DEMO12", mum), ("DEMO20", dad), ("DEMO53", gran)):
        await say(f"/link {DEMO[sim]} {sim} {label}")
    for text in (
        f"/link manual telenor {home} 10 31.01.2026",
        "/link manual foo x 5 31.01.2026",
        f"/link {DEMO['DEMO46']} DEMO46 provider=nosuch",
        "/lines",
        "/balance",
        "/balance all",
        f"/balance {home}",
        "/remind",
        "/remind data 20%,5%",
        "/remind expiry 3d,1d",
        f"/remind quiet {quiet}",
        f"/remind {dad}",
        f"/remind {dad} to me",
        f"/renew {home}",
        f"/usage {dad}",
        "/cap",
        "/cap 300 NOK",
        "/cap",
        "/howto",
        "/howto telenor",
        "/howto ice",
        "/howto nokia",
        f"/left {home} 2GB",
    ):
        await say(text)
    bot.advance(timedelta(hours=12))
    await say(f"/usage {dad}")
    for command in (f"/unlink {dad}", f"/renew {mum}"):
        [ask] = await bot.send(command, **me)  # type: ignore[arg-type]
        step = [c.command for c in ask.choices]
        if step[0].startswith("/buy"):
            [ask] = await bot.send(step[0], **me)  # type: ignore[arg-type]
            step = [c.command for c in ask.choices]
        await say(step[-1])  # Cancel
    group = {"chat": "family", "group": True}
    admin_in = {**group, "user": "u1", "admin": True}
    await say(f"/link {DEMO['DEMO38']} DEMO38 {kid}", **group, user="u2", name=member)
    await say(f"/renew {kid}", **group, user="u3", name="Tom")
    await say("/family", **admin_in)
    [invite] = await say("/family invite", **admin_in)
    code = INVITE.search(invite)
    assert code, invite
    await say(f"/family join {code.group()}", chat="grandma", user="u5")
    await say("/family", chat="grandma", user="u5")
    await say("/balance", chat="grandma", user="u5")
    return said + list(alert_texts(lang))


def alert_texts(lang: str) -> Iterator[str]:
    """Every kind of alert, for a line with an API and one tracked by hand, with its buttons."""
    t, now = CATALOGS.translator(lang), START_AT
    for provider in ("demo", "manual"):
        for kind, threshold in (
            (AlertKind.DATA, 20),
            (AlertKind.DATA_BYTES, 500),
            (AlertKind.EXPIRY, 24),
            (AlertKind.DEPLETED, None),
            (AlertKind.EXPIRED, None),
        ):
            expires = now + (timedelta(days=-1) if kind == AlertKind.EXPIRED else timedelta(hours=30))
            alert = Alert(
                kind=kind,
                label=PEOPLE[lang][0],
                provider=provider,
                threshold=threshold,
                remaining=0 if kind == AlertKind.DEPLETED else 200 * 1024**2,
                total=5 * 1024**3,
                expires_at=expires,
                runs_out_at=now + timedelta(hours=20),
                operator="telenor" if provider == "manual" else None,
            )
            yield alerts.render(alert, t, now, "/")
            yield from (c.label for c in alerts.buttons(alert, "l1", t, "/"))


SESSIONS: dict[str, list[str]] = {}


async def texts_of(lang: str) -> list[str]:
    if lang not in SESSIONS:  # one session per language for the whole module
        SESSIONS[lang] = await session(lang)
    return SESSIONS[lang]


@pytest.fixture(params=SUPPORTED)
async def said(request: pytest.FixtureRequest) -> tuple[str, list[str]]:
    return request.param, await texts_of(request.param)


def _bare(lang: str, text: str) -> str:
    """The text without commands, the names people chose and the typed examples."""
    bare = INVITE.sub(" ", COMMAND.sub(" ", text))  # a random invite code may be all letters
    for name in (*PEOPLE[lang], "Tom", "Europe/Oslo", "foo", "nosuch", "xx", "frobnicate", "renw", "nokia"):
        bare = bare.replace(name, " ")
    return bare


async def test_there_is_something_to_check(said: tuple[str, list[str]]) -> None:
    assert len(said[1]) > 80


async def test_no_doubled_words_or_punctuation(said: tuple[str, list[str]]) -> None:
    _lang, texts = said
    for text in texts:
        assert not DOUBLED_WORD.search(text), (DOUBLED_WORD.search(text), text)
        assert not DOUBLED.search(text), (DOUBLED.search(text), text)
        for line in text.split("\n"):
            assert not REPEATED_PHRASE.search(line), (REPEATED_PHRASE.search(line), line)
        assert "  " not in text and all(x == x.strip() for x in text.split("\n")), repr(text)


async def test_glossary_terms(said: tuple[str, list[str]]) -> None:
    lang, texts = said
    for text in texts:
        assert not re.search(FORBIDDEN[lang], text), (re.search(FORBIDDEN[lang], text), text)


async def test_no_untranslated_key(said: tuple[str, list[str]]) -> None:
    _lang, texts = said
    for text in texts:
        prefixes = {i.split(".")[0] for i in IDS}
        assert not [
            k for k in KEY.findall(text) if k in IDS or (k.split(".")[0] in prefixes and not k.endswith((".no", ".com")))
        ], text


async def test_no_english_inside_nb_and_zh(said: tuple[str, list[str]]) -> None:
    lang, texts = said
    for text in texts:
        bare = _bare(lang, text)
        if lang == "nb":
            assert not ENGLISH.search(bare), (ENGLISH.search(bare), text)
        if lang == "zh":
            words = {
                w.casefold()
                for w in re.findall(r"[A-Za-zåæø_’]*[A-Za-z][A-Za-zåæø_0-9]*", bare)
                if not any(c.isdigit() for c in w)
            }
            assert words <= ZH_LATIN_OK, (sorted(words - ZH_LATIN_OK), text)


async def test_the_zh_spacing_rule_at_every_seam() -> None:
    for text in await texts_of("zh"):
        for seam in ZH_SEAM.finditer(text):
            assert ZH_DATE_SEAM.fullmatch(seam.group()), (seam.group(), text)
        assert not re.search(r" [，。：；！？、）”]|[，。：；！？、（“] ", text), text


async def test_choices_are_or_lists(said: tuple[str, list[str]]) -> None:
    lang, texts = said
    word = {"en": " or ", "nb": " eller ", "zh": " 或 "}[lang]
    operators = next(t for t in texts if "happybytes" in t)
    assert f"happybytes{word}other" in operators, operators
    providers = next(t for t in texts if "nosuch" in t)  # only the demo provider runs here
    assert "demo" in providers, providers
    assert CATALOGS.translator(lang).list(["demo", "airalo", "esimgo"], style="or").endswith(f"airalo{word}esimgo")
