"""The one error tree every provider adapter raises (providers.md section 7.7).

Adapters map HTTP statuses, provider error codes and transport failures onto these
classes where the failure enters (``raise X from exc``); nothing else leaves an adapter.
Messages never contain credentials, activation codes or full ICCIDs.
"""

from __future__ import annotations


class ProviderError(Exception):
    """Base of every provider failure; ``provider`` names the adapter that raised it."""

    def __init__(self, provider: str, detail: str = "") -> None:
        super().__init__(f"{provider}: {detail}" if detail else provider)
        self.provider = provider
        self.detail = detail


class AuthError(ProviderError):
    """Credentials rejected (401/403, Airalo 89, eSIM Access 0001xx/1010xx)."""


class RateLimited(ProviderError):
    """The provider asked us to slow down; ``retry_after`` is in seconds when known."""

    def __init__(self, provider: str, detail: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(provider, detail)
        self.retry_after = retry_after


class NotFound(ProviderError):
    """The provider does not know this eSIM, plan or order."""


class ClaimRejected(ProviderError):
    """The eSIM exists but the activation/matching code given for /link does not match."""


class EsimTerminal(ProviderError):
    """The eSIM was recycled, cancelled or revoked and can never be used again."""


class TopUpNotAllowed(ProviderError):
    """This eSIM cannot be topped up (no compatible plans, or the provider refuses)."""


class PlanUnavailable(ProviderError):
    """The chosen plan is gone or sold out."""


class ProviderCreditExhausted(ProviderError):
    """Our reseller account has no credit left; the operator must act, not the user."""


class NotReady(ProviderError):
    """The eSIM or order is still being provisioned; try again later."""


class Validation(ProviderError):
    """The provider rejected our request's fields (422)."""


class Unavailable(ProviderError):
    """The provider is down, timed out or answered with something we cannot read.

    ``retry_after`` (seconds) is set when the provider said when to come back (503 +
    Retry-After); it is keyword-only so older ``Unavailable(provider, detail)`` calls work.
    """

    def __init__(self, provider: str, detail: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(provider, detail)
        self.retry_after = retry_after


class OrderPending(ProviderError):
    """An order's outcome is not known yet (timeout after sending); it was not retried."""


class WebhookRejected(ProviderError):
    """A webhook delivery we must not trust or cannot read: bad/missing signature, malformed
    or oversized body. The web server answers it with 4xx and evaluates nothing."""
