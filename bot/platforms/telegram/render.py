"""Pure translation between Telegram and the core: Update -> Incoming, Reply -> API calls.

Nothing here talks to the network, so every rule is unit-tested with objects built by
``Update.de_json``. Replies go out as plain text (no ``parse_mode``): a label like
``*mom_2*`` or ``<Li>`` can never break the markup, and a mention is a ``text_mention``
entity rather than escaped HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import (
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
    User,
    WebAppInfo,
)
from telegram.constants import KeyboardButtonStyle

from bot.messages import MAX_TEXT, Address, Choice, ChoiceKind, Incoming, Picture, Reply, UserId, clean_text, parse_command
from bot.names import PlatformName

PLATFORM = PlatformName.TELEGRAM
MAX_MESSAGE = 4096  # Telegram's limit for one message text, in characters
CAPTION_LIMIT = 1024  # and for a photo's caption
GROUP_TYPES = (Chat.GROUP, Chat.SUPERGROUP)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def platform_user(user: str) -> str:
    """``telegram:42`` or ``42`` -> ``42`` (the core sometimes keeps the platform prefix)."""
    parsed = UserId.parse(user)
    return parsed.local if parsed.platform == PLATFORM else user


def is_private_chat(chat: str) -> bool:
    """Telegram gives users positive ids and groups, supergroups and channels negative ones."""
    return not chat.startswith("-")


def anonymous_admin(message: Message) -> bool:
    """A group admin posting as the group itself ("Remain anonymous") is an admin."""
    return message.sender_chat is not None and message.sender_chat.id == message.chat.id


def _addressed(text: str, bot_username: str | None) -> tuple[str, tuple[str, ...]] | bool | None:
    """Whether a message is for us: a command (not None), not a command (None), or another
    bot's command (False). Only a filter: the router parses what gets through."""
    parsed = parse_command(text, bot_username=bot_username)
    if parsed is None and bot_username and parse_command(text) is not None:
        return False
    return parsed


def incoming_from_update(update: Update, *, bot_username: str | None, at: datetime) -> Incoming | None:
    """A new text message for the bot as an Incoming, else None: edited messages, channel
    posts, service messages, photos without text, family chatter in groups and commands
    for another bot (``/balance@OtherBot``) are not for us. ``is_admin`` is final for
    private chats and anonymous admins; for other group senders the platform asks Telegram."""
    message = update.message
    if message is None or message.text is None or message.from_user is None:
        return None
    chat = message.chat
    if chat.type not in (Chat.PRIVATE, *GROUP_TYPES):
        return None
    text = clean_text(message.text[: MAX_TEXT * 2])
    is_group = chat.type in GROUP_TYPES
    parsed = _addressed(text, bot_username)
    if parsed is False or (is_group and parsed is None):
        return None
    anonymous = is_group and anonymous_admin(message)
    name = (message.sender_chat.title or "") if anonymous and message.sender_chat else message.from_user.full_name
    return Incoming(  # the router parses the command (bot.router.parse); here only what is not for us is left out
        address=Address(PLATFORM, str(chat.id), str(message.from_user.id)),
        text=message.text,
        at=at,
        language=message.from_user.language_code,
        is_group=is_group,
        is_admin=not is_group or anonymous,
        display_name=name[:64],
        extra={"message_id": str(message.message_id)},
        bot_id=bot_username or "",
        chat_title=(chat.title or "") if is_group else "",
    )


def incoming_from_press(query: CallbackQuery, command: str, *, bot_username: str | None, at: datetime) -> Incoming | None:
    """A pressed button as the same Incoming as typing its command, from the presser."""
    message = query.message
    if message is None or not isinstance(message, Message):
        return None  # a button on an inline-mode or too old message: no chat to answer in
    chat = message.chat
    if chat.type not in (Chat.PRIVATE, *GROUP_TYPES):
        return None
    parsed = _addressed(command, bot_username)
    if not isinstance(parsed, tuple):
        return None
    is_group = chat.type in GROUP_TYPES
    return Incoming(
        address=Address(PLATFORM, str(chat.id), str(query.from_user.id)),
        text=command,
        at=at,
        language=query.from_user.language_code,
        is_group=is_group,
        is_admin=not is_group,
        display_name=query.from_user.full_name[:64],
        extra={"message_id": str(message.message_id), "pressed": "1"},
        bot_id=bot_username or "",
        chat_title=(chat.title or "") if is_group else "",
    )


def split_text(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Cut a long text into messages at line breaks (hard cuts only for one huge line)."""
    text = text or "…"
    chunks: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > 0 else limit
        chunks.append(text[:cut])
        text = text[cut:].lstrip("\n")
    chunks.append(text)
    return chunks


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Outgoing:
    """Everything ``Bot.send_message`` needs for one reply, split into ≤ 4096-character parts:
    the mention and the quote go with the first part, the buttons with the last."""

    chat_id: int | str
    parts: tuple[str, ...]
    entities: tuple[MessageEntity, ...] = ()
    keyboard: InlineKeyboardMarkup | None = None
    silent: bool = False
    quote: int | None = None
    photo: Picture | None = None

    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        """The Bot API calls that send it: a picture goes as a photo with the text as its
        caption (and the buttons) when the text fits a caption, else first, on its own."""
        texts = self.send_kwargs()
        if self.photo is None:
            return [("send_message", kwargs) for kwargs in texts]
        photo: dict[str, Any] = {
            "chat_id": self.chat_id,
            "disable_notification": self.silent,
            "photo": InputFile(self.photo.png, filename=self.photo.name),
        }
        if self.quote is not None:
            photo["reply_parameters"] = ReplyParameters(self.quote, allow_sending_without_reply=True)
        if len(self.parts) == 1 and len(self.parts[0]) <= CAPTION_LIMIT and not self.entities:
            photo["caption"] = self.parts[0]
            if self.keyboard is not None:
                photo["reply_markup"] = self.keyboard
            return [("send_photo", photo)]
        return [("send_photo", photo), *(("send_message", kwargs) for kwargs in texts)]

    def send_kwargs(self) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = []
        for i, part in enumerate(self.parts):
            kwargs: dict[str, Any] = {
                "chat_id": self.chat_id,
                "text": part,
                "disable_notification": self.silent,
                "link_preview_options": NO_PREVIEW,
            }
            if i == 0 and self.entities:
                kwargs["entities"] = list(self.entities)
            if i == 0 and self.quote is not None:
                kwargs["reply_parameters"] = ReplyParameters(self.quote, allow_sending_without_reply=True)
            if i == len(self.parts) - 1 and self.keyboard is not None:
                kwargs["reply_markup"] = self.keyboard
            calls.append(kwargs)
        return calls

    def edit_kwargs(self, message_id: int) -> dict[str, Any]:
        """Turn the pressed message into the first part (its old keyboard goes away)."""
        kwargs: dict[str, Any] = {
            "chat_id": self.chat_id,
            "message_id": message_id,
            "text": self.parts[0],
            "link_preview_options": NO_PREVIEW,
            "reply_markup": None,
        }
        if self.entities:
            kwargs["entities"] = list(self.entities)
        if len(self.parts) == 1 and self.keyboard is not None:
            kwargs["reply_markup"] = self.keyboard
        return kwargs


def render(
    reply: Reply,
    chat_id: int | str,
    *,
    button_data: Callable[[str], str],
    quote: int | None = None,
    mention_name: str | None = None,
    app_url: str | None = None,
) -> Outgoing:
    """A Reply as Telegram parameters. ``button_data`` turns a choice's command into
    callback data of at most 64 bytes; ``mention_name`` is the mentioned user's name if known;
    ``app_url`` (private chats, when the home screen is served) opens ``APP`` choices as a Mini App."""
    text, entities = _mention(reply, mention_name)
    keyboard = _keyboard(reply.choices, button_data, app_url) if reply.choices else None
    return Outgoing(
        chat_id=chat_id,
        parts=tuple(split_text(text)),
        entities=entities,
        keyboard=keyboard,
        silent=reply.silent,
        quote=quote,
        photo=reply.picture,
    )


def _mention(reply: Reply, name: str | None) -> tuple[str, tuple[MessageEntity, ...]]:
    """The text with the mentioned user's name first, linked to them (a numeric id only)."""
    user_id = platform_user(reply.mention) if reply.mention else ""
    if not user_id.isdigit():
        return reply.text, ()
    shown = (name or "👤")[:64]
    user = User(int(user_id), shown, is_bot=False)
    return f"{shown}\n{reply.text}", (MessageEntity(MessageEntity.TEXT_MENTION, 0, _utf16_len(shown), user=user),)


def _keyboard(choices: Sequence[Choice], button_data: Callable[[str], str], app_url: str | None) -> InlineKeyboardMarkup:
    """One button a row, at most 50; a label of at most 64 characters."""
    rows = [
        [
            InlineKeyboardButton(c.label[:64] or "…", web_app=WebAppInfo(app_url))
            if c.kind == ChoiceKind.APP and app_url
            else InlineKeyboardButton(c.label[:64] or "…", callback_data=button_data(c.command), style=button_style(c, choices))
        ]
        for c in choices[:50]
    ]
    return InlineKeyboardMarkup(rows)


def button_style(choice: Choice, beside: Sequence[Choice]) -> str | None:
    """Paying is green and its Cancel red; removing is red, so its Cancel keeps the app's colour
    (two red buttons would not say which one is safe). Apps older than February 2026 ignore it."""
    if choice.kind == ChoiceKind.PAY:
        return KeyboardButtonStyle.SUCCESS
    if choice.kind == ChoiceKind.DESTROY:
        return KeyboardButtonStyle.DANGER
    if choice.kind == ChoiceKind.CANCEL and not any(c.kind == ChoiceKind.DESTROY for c in beside):
        return KeyboardButtonStyle.DANGER
    return None
