"""Reminders, one direction: poller -> rules -> planner -> queue -> delivery.

- ``poller``: which lines are due for a provider look (leased claims), the look, the next one;
- ``bot.reminders`` (the rules): pure, clock-free: which thresholds a balance crosses;
- ``planner``: the rules' answer -> alerts for each reader, after quiet hours, collapsed;
- ``queue``: every alert stored before it can be sent, waiting ones in due order;
- ``delivery``: send within each platform's pace, record each outcome before the next;
- ``events``: news flowing backwards (a chat moved or left, a user blocked the bot, a
  target gone, a line removed, quiet hours changed), one handler each;
- ``runner``: the loop that runs a pass when something falls due.

No stage imports another (import-linter keeps it so): each names what it needs of the next
with a small protocol, and ``bot.app`` hands the real ones in.
"""
