"""Logging that never leaks: secrets and full ICCIDs are masked in every record."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

_ICCID = re.compile(r"(?<!\d)(89)\d{12,16}(\d{4})(?!\d)")  # 18-22 digits
_BOT_TOKEN = re.compile(r"\d{5,20}:[A-Za-z0-9_-]{30,}")


class RedactingFilter(logging.Filter):
    """Replaces configured secrets, bot tokens and ICCIDs in the final message text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        text = _BOT_TOKEN.sub("***", text)
        return _ICCID.sub(r"\1…\2", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = self.redact(message), None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def setup(level: str, secrets: Iterable[str]) -> None:
    """Log to stderr (stdout belongs to the console), redacted, quiet HTTP clients."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "telegram", "nio", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
