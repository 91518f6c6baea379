"""Names shared by the platforms, the records and the core: the chat platforms."""

from __future__ import annotations

import enum


class PlatformName(enum.StrEnum):
    """The chat platforms (a household id is ``<platform>:<chat>``)."""

    CONSOLE = "console"
    TELEGRAM = "telegram"
    MATRIX = "matrix"


PREFIXES: dict[str, str] = {PlatformName.MATRIX: "!"}  # the command prefix each platform's users type; "/" elsewhere
