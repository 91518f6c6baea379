"""The one error tree every provider adapter raises (providers.md section 7.7).

Adapters map HTTP statuses, provider error codes and transport failures onto these
classes where the failure enters (``raise X from exc``); nothing else leaves an adapter.
Callers catch a *family* (the second level), which says what to do::

    ProviderError
    ├── TryLater              nothing changed at the provider; the same call may work later
    │   ├── Unavailable       down, a 5xx, no answer to a read (retry_after when told)
    │   │   └── Unreadable    a 2xx answer we cannot read
    │   ├── RateLimited       429: slow down (retry_after)
    │   └── NotReady          still being provisioned
    ├── OutcomeUnknown        a write may or may not have been applied: reconcile, never resend
    │   └── OrderPending
    ├── UserMustFix           the user's input does not fit: say what to change
    │   ├── NotFound          no such eSIM, plan or order here
    │   ├── ClaimRejected     the activation code does not match the eSIM
    │   └── PlanUnavailable   this plan is gone or sold out: pick another
    ├── Refused               the provider said no for good: stop and tell the user
    │   ├── EsimTerminal      recycled, cancelled or revoked
    │   └── TopUpNotAllowed   nothing can be bought for this eSIM
    ├── OperatorMustAct       our account, not the user: tell the user "not now", log for the operator
    │   ├── AuthError         credentials or IP allowlist rejected
    │   │   └── TokenRejected a bearer token refused (401): renew it once
    │   └── ProviderCreditExhausted  the reseller balance is empty
    ├── OurBug                the provider says our request is malformed: log it, apologise
    │   └── Validation
    └── WebhookRejected       a webhook we must not trust or cannot read: answer 4xx, evaluate nothing

Messages never contain credentials, activation codes or full ICCIDs.
"""

from __future__ import annotations


class ProviderError(Exception):
    """Base of every provider failure; ``provider`` names the adapter that raised it."""

    def __init__(self, provider: str, detail: str = "") -> None:
        super().__init__(f"{provider}: {detail}" if detail else provider)
        self.provider = provider
        self.detail = detail


# --- families --------------------------------------------------------------------------------


class TryLater(ProviderError):
    """Transient: nothing was changed. Reads are retried by the HTTP layer; a caller that still
    gets this says "try again later" and keeps what it had. ``retry_after`` is seconds when known."""

    def __init__(self, provider: str, detail: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(provider, detail)
        self.retry_after = retry_after


class OutcomeUnknown(ProviderError):
    """A write left and its answer did not come back readable: it may have been applied.
    Reconcile (look the order up by our reference); never send it again."""


class UserMustFix(ProviderError):
    """The user's request does not fit this provider: tell them what to change."""


class Refused(ProviderError):
    """A final no from the provider: stop, tell the user, do not retry."""


class OperatorMustAct(ProviderError):
    """Our reseller account is the problem: tell the user it is not possible now, log loudly."""


class OurBug(ProviderError):
    """The provider says our request is malformed: a bug of ours. Log it; apologise to the user."""


# --- leaves ------------------------------------------------------------------------------------


class Unavailable(TryLater):
    """The provider is down, timed out on a read or answered 5xx (503 may carry ``retry_after``)."""


class Unreadable(Unavailable):
    """A 2xx answer we cannot read. For a write the order may have gone through, so the HTTP
    layer and the order flow turn it into ``OrderPending`` (reconcile, never resend)."""


class RateLimited(TryLater):
    """The provider asked us to slow down (429); ``retry_after`` is in seconds when known."""


class NotReady(TryLater):
    """The eSIM or order is still being provisioned; try again later."""


class OrderPending(OutcomeUnknown):
    """An order's outcome is not known yet (no answer, a 5xx or an unreadable answer to it)."""


class NotFound(UserMustFix):
    """The provider does not know this eSIM, plan or order."""


class ClaimRejected(UserMustFix):
    """The eSIM exists but the activation/matching code given for /link does not match."""


class PlanUnavailable(UserMustFix):
    """The chosen plan is gone or sold out: another plan may work."""


class EsimTerminal(Refused):
    """The eSIM was recycled, cancelled or revoked and can never be used again."""


class TopUpNotAllowed(Refused):
    """This eSIM cannot be topped up (no compatible plans, or the provider refuses)."""


class AuthError(OperatorMustAct):
    """Credentials rejected (401/403, Airalo 89, eSIM Access 0001xx/1010xx)."""


class TokenRejected(AuthError):
    """HTTP 401 on a bearer token (Airalo): the adapter renews the token once and retries;
    a second rejection means the credentials themselves are wrong."""


class ProviderCreditExhausted(OperatorMustAct):
    """Our reseller account has no credit left (Airalo 11, eSIM Access 200007)."""


class Validation(OurBug):
    """The provider rejected our request's fields (400/422, Airalo 14/43, eSIM Access 0001xx)."""


class WebhookRejected(ProviderError):
    """A webhook delivery we must not trust or cannot read: bad/missing signature, malformed
    or oversized body. The web server answers it with 4xx and evaluates nothing."""
