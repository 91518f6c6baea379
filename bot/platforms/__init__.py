"""Chat platforms: each translates between its protocol and Incoming/Reply."""
