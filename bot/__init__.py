"""The eSIM balance & renewal bot: core, platforms and composition root."""
