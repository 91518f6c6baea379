"""Matrix through matrix-nio: ``platform`` (MatrixPlatform: room events in, replies and alerts
out), ``render`` (Reply -> event content), ``send``, ``rooms`` (invites, members, power
levels), ``session`` (login and its store), ``crypto`` and ``xsign`` (end-to-end encryption)."""
