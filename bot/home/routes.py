"""The home screen's HTTP routes on the bot's web server: the page, sign-in, actions, charts.

Every answer carries a Content-Security-Policy that allows only the page's own files; every
change (a POST) needs the session cookie and its CSRF token; sign-in and actions are rate
limited; a refusal is a sentence in the reader's language, never a trace.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from bot.home import page
from bot.home.api import HomeData
from bot.home.auth import SESSION_TTL, Keys, RateLimit, Visitor, telegram_visitor
from bot.i18n import Catalogs, Translator, negotiate

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
COOKIE = "esimbot_home"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'self' https://web.telegram.org"
)
TYPES = {"page.css": "text/css", "page.js": "text/javascript"}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Routes(Protocol):
    def add_route(self, method: str, path: str, handler: Handler) -> None: ...


class HomeRoutes:
    def __init__(
        self,
        *,
        keys: Keys,
        data: HomeData,
        catalogs: Catalogs,
        base_path: str,
        secure: bool,
        telegram_token: str | None,
        now: Callable[[], datetime],
        default_language: str = "en",
    ) -> None:
        self._keys, self._data, self._catalogs = keys, data, catalogs
        self._base, self._secure, self._token, self._now = base_path, secure, telegram_token, now
        self._default = default_language
        self._signins = RateLimit(20, timedelta(minutes=1), now)
        self._actions = RateLimit(30, timedelta(minutes=1), now)
        self._static = {name: (STATIC / name).read_bytes() for name in TYPES}

    def register(self, web_server: Routes) -> None:
        b = self._base
        web_server.add_route("GET", b, self.page)
        web_server.add_route("GET", f"{b}login", self.login)
        web_server.add_route("POST", f"{b}api/telegram", self.telegram)
        web_server.add_route("POST", f"{b}api/do", self.do)
        web_server.add_route("GET", f"{b}api/chart", self.chart)
        web_server.add_route("GET", f"{b}static/{{name}}", self.static)

    # -- helpers ---------------------------------------------------------------------------
    def _t(self, request: web.Request) -> Translator:
        wanted = [part.split(";")[0].strip() for part in request.headers.get("Accept-Language", "").split(",")]
        return self._catalogs.translator(negotiate(request.query.get("lang"), *wanted[:5], default=self._default))

    def _visitor(self, request: web.Request) -> Visitor | None:
        token = request.cookies.get(COOKIE)
        return self._keys.open(token) if token else None

    def _html(self, body: str, status: int = 200) -> web.Response:
        return _guarded(web.Response(text=body, status=status, content_type="text/html", charset="utf-8"))

    def _json(self, body: dict[str, Any], status: int = 200) -> web.Response:
        return _guarded(web.json_response(body, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False)))

    def _signed_in(self, response: web.Response, visitor: Visitor, *, framed: bool) -> web.Response:
        # inside Telegram's web client the page is framed: its cookie must be SameSite=None (and Secure)
        same_site = "None" if framed and self._secure else "Lax"
        response.set_cookie(
            COOKIE,
            self._keys.seal(visitor),
            max_age=int(SESSION_TTL.total_seconds()),
            path=self._base,
            httponly=True,
            secure=self._secure,
            samesite=same_site,
        )
        return response

    # -- routes ----------------------------------------------------------------------------
    async def page(self, request: web.Request) -> web.Response:
        visitor = self._visitor(request)
        if visitor is None:
            t = self._t(request)
            return self._html(page.signin(t, t("home.signin_needed", command="/dashboard")))
        view = await self._data.overview(visitor, request.query.get("lang"))
        return self._html(page.home(view, self._keys.csrf(visitor)))

    async def login(self, request: web.Request) -> web.Response:
        t = self._t(request)
        if not self._signins.allow(request.remote or "?"):
            return self._html(page.signin(t, t("home.rate_limited")), status=429)
        visitor = await self._keys.redeem(request.query.get("t", "")[:2000])
        if visitor is None:
            return self._html(page.signin(t, t("home.link_invalid", command="/dashboard")), status=403)
        response = self._html("", status=303)
        response.headers["Location"] = self._base
        return self._signed_in(response, visitor, framed=False)

    async def telegram(self, request: web.Request) -> web.Response:
        t = self._t(request)
        if not self._signins.allow(request.remote or "?"):
            return self._json({"error": t("home.rate_limited")}, status=429)
        body = await _body(request)
        found = telegram_visitor(str(body.get("initData", "")), self._token, self._now()) if self._token else None
        if found is None:
            return self._json({"error": t("home.link_invalid", command="/dashboard")}, status=403)
        return self._signed_in(self._json({"ok": True}), self._keys.session(found), framed=True)

    async def do(self, request: web.Request) -> web.Response:
        visitor = self._check(request)
        if isinstance(visitor, web.Response):
            return visitor  # refused
        body = await _body(request)
        replies = await self._data.act(visitor, str(body.get("command", "")))
        if replies is None:
            return self._json({"error": self._t(request)("home.failed")}, status=400)
        shown = [
            {"text": r.text, "choices": [{"label": c.label, "command": c.command, "kind": str(c.kind)} for c in r.choices]}
            for r in replies
        ]
        return self._json({"replies": shown})

    def _check(self, request: web.Request) -> Visitor | web.Response:
        """The visitor of a change (a session, its CSRF token, within the rate limit), or the refusal."""
        t = self._t(request)
        visitor = self._visitor(request)
        given = request.headers.get("X-CSRF-Token", "")
        if visitor is None or not hmac.compare_digest(given.encode(), self._keys.csrf(visitor).encode()):
            return self._json({"error": t("home.signin_needed", command="/dashboard")}, status=403)
        if not self._actions.allow(f"{visitor.platform}:{visitor.user}"):
            return self._json({"error": t("home.rate_limited")}, status=429)
        return visitor

    async def chart(self, request: web.Request) -> web.Response:
        visitor = self._visitor(request)
        if visitor is None or not self._actions.allow(f"{visitor.platform}:{visitor.user}"):
            return _guarded(web.Response(status=403))
        replies = await self._data.act(visitor, f"/usage {request.query.get('line', '')[:64]}")
        picture = next((r.picture for r in replies or [] if r.picture is not None), None)
        if picture is None:
            return _guarded(web.Response(status=404))
        return _guarded(web.Response(body=picture.png, content_type="image/png"))

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self._static:
            return _guarded(web.Response(status=404))
        response = web.Response(body=self._static[name], content_type=TYPES[name], charset="utf-8")
        response.headers["Cache-Control"] = "max-age=300"
        return _guarded(response, no_store=False)


async def _body(request: web.Request) -> dict[str, Any]:
    """A JSON object, or nothing: only JSON is read (a cross-site form cannot send it without CORS)."""
    if request.content_type != "application/json":
        return {}
    try:
        found = await request.json()
    except (ValueError, UnicodeDecodeError):
        return {}
    return found if isinstance(found, dict) else {}


def _guarded(response: web.Response, *, no_store: bool = True) -> web.Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if no_store:
        response.headers["Cache-Control"] = "no-store"
    return response
