"""eSIM provider adapters. Nothing here imports the bot, handlers or chat platforms."""
