"""Command handlers: each takes (Incoming, Context) and returns the Reply to send."""
