"""Where a value starts among a command's words.

A chat splits "/left Li's iPad 2,5 GB" into words; a line's name and a value the bot printed
("2,5 GB", "31. des. 2026", "kl. 22.00–08.00") may each be several of them. These helpers
find the value's words (a line's name is known, a value is what reads as one), so the error
for a value that still does not read quotes it whole and names the right problem.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from bot import readback
from bot.context import Context
from bot.errors import NotLinked, UsageError
from bot.records import Line
from handlers import parsing

T = TypeVar("T")
MAX_VALUE_WORDS = 4  # "31. des. 2026", "1 234 567,89 kr": the most words one value takes


async def line_and_amount(ctx: Context, args: Sequence[str]) -> tuple[Line, tuple[str, ...]]:
    """``/left``: the line named by leading words and the amount after it (at least one word): the longest
    name whose rest reads as an amount ("kid" 2 GB, when "kid 2" is a line too), else the longest name."""
    found: tuple[Line, tuple[str, ...]] | None = None
    for n in range(len(args) - 1, 0, -1):
        try:
            line = await ctx.find_line(" ".join(args[:n]))
        except NotLinked:
            continue
        if _reads(" ".join(args[n:])):
            return line, tuple(args[n:])
        found = found or (line, tuple(args[n:]))
    if found is not None:
        return found
    if _reads(" ".join(args)):
        raise UsageError("left.usage", prefix=ctx.prefix)  # an amount without a name
    await ctx.find_line(" ".join(args[: _value_start(args)]))  # raises: no such line (or none at all)
    raise AssertionError("unreachable")  # pragma: no cover


def _value_start(args: Sequence[str]) -> int:
    """Where the value seems to start when no line matched: the longest tail that reads as a
    data amount or a percent, else the first word that starts with a digit, else the last word."""
    for n in range(1, len(args)):
        if _reads(" ".join(args[n:])):
            return n
    starts = [i for i, word in enumerate(args) if i and parsing.normalize(word)[:1].isdigit()]
    return starts[0] if starts else len(args) - 1


def _reads(text: str) -> bool:
    try:
        readback.percent(text, "en") if readback.clean(text).endswith("%") else readback.size(text, "en")
    except ValueError:
        return False
    return True


def amount_left(text: str, lang: str, total: int | None) -> int:
    """``2,5 GB``, ``0 MB`` or ``20 %`` (of the plan) -> bytes left."""
    if not readback.clean(text).endswith("%"):
        return parsing.parse_size(text, lang, allow_zero=True)
    try:
        share = readback.percent(text, lang)
    except ValueError:
        share = None
    if share is None or not total or not 0 <= share <= 100:
        raise UsageError("left.bad_percent", value=parsing.quoted(text))
    return math.ceil(total * share / 100)  # shown again as the same whole percent


def label_size_date(args: Sequence[str], lang: str, tz: str, today: date) -> tuple[tuple[str, ...], int, datetime]:
    """``<label words> <size> <date>`` (``/link manual``): the shortest date and size at the end
    that read, so a name that ends in a number keeps it ("kid 2 10 GB 31.12.2026")."""
    for k in range(1, min(MAX_VALUE_WORDS, len(args) - 2) + 1):
        when = _try(parsing.parse_date, " ".join(args[-k:]), tz, today)
        if when is None:
            continue
        for m in range(1, min(MAX_VALUE_WORDS, len(args) - k - 1) + 1):
            total = _try(parsing.parse_size, " ".join(args[-k - m : -k]), lang)
            if total is not None:
                return tuple(args[: -k - m]), total, when
    raise _first_error(args, lang, tz, today)


def _first_error(args: Sequence[str], lang: str, tz: str, today: date) -> UsageError:
    """What to say when the words do not split: the date's error, else the size's, each quoting
    the words that seem to be that value; the usage when both read but no name is left."""
    k = _date_words(args)
    try:
        parsing.parse_date(" ".join(args[-k:]), tz, today)
    except UsageError as exc:
        return exc
    before = args[:-k]
    if any(_try(parsing.parse_size, " ".join(before[-m:]), lang) for m in (1, 2) if m <= len(before)):
        return UsageError("link.manual_usage")
    words = before[-2:] if len(before) >= 3 and not any(c.isdigit() for c in before[-1]) else before[-1:]
    try:
        parsing.parse_size(" ".join(words), lang)  # "10 GiB"
    except UsageError as exc:
        return exc
    return UsageError("link.manual_usage")


def _date_words(args: Sequence[str]) -> int:
    """How many words at the end seem to be the date: from a month name's day number, else one."""
    for k in range(min(3, len(args) - 2), 1, -1):
        words = [readback.clean(w).rstrip(".") for w in args[-k:]]
        if words[0].isdigit() and any(w.isalpha() for w in words[1:]):
            return k
    return 1


def _try(parse: Callable[..., T], *args: Any) -> T | None:
    try:
        return parse(*args)
    except UsageError:
        return None
