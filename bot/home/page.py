"""The home screen's HTML, rendered on the server in the reader's language (no inline script or style).

Every text comes from the catalogs through the reader's ``Translator``; every value is
escaped. The page is small (well under 100 KB for ten lines) and needs only its own CSS and
JS, served from ``static/``; charts are PNGs from ``bot.charts`` loaded on demand.
"""

from __future__ import annotations

from html import escape

from bot.home.api import Card, Overview
from bot.i18n import Translator


def _head(t: Translator, title: str, csrf: str = "") -> str:
    meta = f'<meta name="csrf" content="{escape(csrf)}">' if csrf else ""
    return (
        f'<!doctype html><html lang="{t.lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="color-scheme" content="light dark">{meta}<title>{escape(title)}</title>'
        '<link rel="stylesheet" href="static/page.css"><script src="static/page.js" defer></script></head>'
    )


def signin(t: Translator, message: str) -> str:
    """The page without a session: inside Telegram the script signs in with ``initData``;
    elsewhere it says how to get a link."""
    return (
        f'{_head(t, t("home.title"))}<body><main class="signin"><h1>{escape(t("home.title"))}</h1>'
        f'<p id="signin-message" data-wait="{escape(t("home.signing_in"))}">{escape(message)}</p></main></body></html>'
    )


def home(view: Overview, csrf: str) -> str:
    t = view.t
    cards = "".join(_card(t, c) for c in view.cards) or f'<p class="empty">{escape(t("lines.none", prefix="/"))}</p>'
    return (
        f"{_head(t, view.title, csrf)}<body>"
        f"<header><h1>{escape(view.title)}</h1>"
        f'<button type="button" data-cmd="/balance">{escape(t("home.refresh"))}</button></header>'
        f'<main><section class="cards" aria-label="{escape(t("home.lines"))}">{cards}</section>'
        f"{_settings(view)}</main>"
        f'<div id="dialog" role="dialog" aria-modal="true" aria-label="{escape(t("home.answer"))}" hidden>'
        f'<div id="replies" aria-live="polite"></div>'
        f'<button type="button" id="close">{escape(t("home.close"))}</button></div>'
        f'<p id="failed" hidden>{escape(t("home.failed"))}</p></body></html>'
    )


def _card(t: Translator, c: Card) -> str:
    label = escape(c.label)
    meter = (
        f'<progress max="100" value="{c.percent}" aria-label="{escape(t("home.data_left"))}">{c.percent}%</progress>'
        if c.percent is not None
        else ""
    )
    who = " · ".join(escape(x) for x in (c.owner, c.provider) if x)
    rules = "".join(f"<li>{escape(r)}</li>" for r in c.rules)
    buttons = (
        [
            f'<button type="button" class="pay" data-cmd="/renew {label}">{escape(t("button.topup"))}</button>',
            f'<button type="button" data-cmd="/auto {label}">{escape(t("home.auto"))}</button>',
        ]
        if c.may_manage
        else []
    )
    buttons.append(f'<button type="button" data-chart="{label}">{escape(t("button.chart"))}</button>')
    return (
        f'<article class="card {c.level}" data-line="{label}"><h2>{label}</h2><p class="who">{who}</p>'
        f'{meter}<p class="figure">{escape(c.figure)}</p>'
        f'<p class="expiry">{escape(c.expiry)}</p><p class="status">{escape(c.status)}</p>'
        f'<p class="asof">{escape(c.as_of)}</p>{f"<ul>{rules}</ul>" if rules else ""}'
        f'<div class="actions">{"".join(buttons)}</div>'
        f'<img class="chart" hidden alt="{escape(t("usage.title", label=c.label))}"></article>'
    )


def _field(name: str, label: str, value: str, *, lines: list[tuple[str, str]] | None = None, all_label: str = "") -> str:
    """One setting: a labelled input (and which line it is for, each option carrying that line's
    current value), sent as ``/remind [line] <name> <value>``."""
    picker = ""
    if lines is not None:
        options = "".join(f'<option value="{escape(x)}" data-value="{escape(v)}">{escape(x)}</option>' for x, v in lines)
        first = f'<option value="" data-value="{escape(value)}">{escape(all_label)}</option>'
        picker = f'<select name="line" aria-label="{escape(all_label)}">{first}{options}</select>'
    return f'<label>{escape(label)}<input name="value" value="{escape(value)}" autocomplete="off"></label>{picker}'


def _settings(view: Overview) -> str:
    t = view.t
    save = f'<button type="submit">{escape(t("home.save"))}</button>'
    scope = t("home.all_lines")
    data, expiry = [(x, d) for x, d, _e in view.lines], [(x, e) for x, _d, e in view.lines]
    forms = [
        ("/remind", "data", _field("data", t("home.data_reminders"), view.data, lines=data, all_label=scope)),
        ("/remind", "expiry", _field("expiry", t("home.expiry_reminders"), view.expiry, lines=expiry, all_label=scope)),
    ]
    if view.admin:
        forms += [
            ("/remind", "quiet", _field("quiet", t("home.quiet"), view.quiet)),
            ("/remind", "tz", _field("tz", t("home.timezone"), view.timezone)),
            ("/cap", "", _field("cap", t("home.cap"), view.cap)),
        ]
    body = "".join(f'<form data-cmd="{cmd}" data-key="{key}">{inner}{save}</form>' for cmd, key, inner in forms)
    return f'<section class="settings"><h2>{escape(t("home.settings"))}</h2>{body}</section>'
