"""Numbered SQL migrations of the PostgreSQL schema (``NNN_name.sql``), applied in order."""
