"""BotError: the errors handlers raise; the router turns each into a localized sentence.

Each error carries a message id from ``locales/`` and its placeholders, so the text is
rendered in the reader's language at the boundary, never here.
"""

from __future__ import annotations

from typing import Any

from providers import errors as perr


class BotError(Exception):
    """A failure the user should read about: ``msgid`` + ``params`` for the catalog."""

    msgid = "error.generic"

    def __init__(self, msgid: str | None = None, /, **params: Any) -> None:
        self.msgid = msgid or type(self).msgid
        self.params = params
        super().__init__(self.msgid)


class OneOf(tuple[str, ...]):
    """A placeholder's choices when the reader must pick one: listed with "or" (``a, b or c``)."""

    __slots__ = ()


class UsageError(BotError):
    """The command's arguments are wrong; the message says how to write it."""

    msgid = "error.usage"


class NotAllowed(BotError):
    """The actor lacks the role this action needs."""

    msgid = "error.not_allowed"


class NotLinked(BotError):
    """No line with that label in this household (the message lists the labels)."""

    msgid = "error.unknown_label"


class RateLimitedUser(BotError):
    """Too many failed attempts; the message says when to try again."""

    msgid = "link.too_many_attempts"


class ConfigError(Exception):
    """Bad configuration: ``problems`` lists every bad or missing variable at once."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


class StoreError(Exception):
    """The data cannot be used at start (locked by another process, unreadable, corrupt,
    foreign): the message names the file and what to do; the bot exits non-zero."""


class StoreWriteError(StoreError):
    """A unit of work could not be made durable while running (disk full, read-only file
    system, permission lost). Nothing of it was kept; reads and later units still work."""


PROVIDER_MESSAGES: tuple[tuple[type[perr.ProviderError], str], ...] = (
    (perr.ClaimRejected, "link.wrong_code"),
    (perr.AuthError, "provider.auth"),
    (perr.RateLimited, "provider.rate_limited"),
    (perr.NotFound, "provider.not_found"),
    (perr.EsimTerminal, "provider.terminal"),
    (perr.TopUpNotAllowed, "provider.topup_not_allowed"),
    (perr.PlanUnavailable, "provider.plan_unavailable"),
    (perr.ProviderCreditExhausted, "provider.credit_exhausted"),
    (perr.NotReady, "provider.not_ready"),
    (perr.Validation, "provider.validation"),
    (perr.OrderPending, "provider.order_pending"),
    (perr.Unavailable, "provider.unavailable"),
    # a class without its own sentence: what its family says (providers/errors.py)
    (perr.TryLater, "provider.unavailable"),
    (perr.OutcomeUnknown, "provider.order_pending"),
    (perr.Refused, "provider.validation"),
    (perr.OurBug, "provider.validation"),
    (perr.OperatorMustAct, "provider.auth"),
)


def provider_message(exc: perr.ProviderError) -> str:
    for cls, msgid in PROVIDER_MESSAGES:
        if isinstance(exc, cls):
            return msgid
    return "provider.unavailable"
