"""Telegram through python-telegram-bot: ``platform`` (TelegramPlatform: updates in, replies and
alerts out), ``render`` (Reply -> Bot API calls), ``send`` (the calls and their errors),
``state`` (button tokens and admin lists), ``menu`` (command menus), ``webhook``."""
