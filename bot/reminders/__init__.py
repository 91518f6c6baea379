"""Reminders, the whole domain in one folder, in the order an alert travels.

1. ``loop``: sleeps until something falls due, then runs one pass (the start-up catch-up too);
2. ``poller``: which lines are due for a provider look (leased claims), the look, the next one;
3. ``rules``: pure, clock-free: which thresholds a balance crosses (``ladder``: the points
   before, on and after expiry or a prepaid number's keep-alive deadline, which ``deadlines``
   reads for it; ``forecast``: when data runs out at the recent pace, a pure call commands
   make too);
4. ``planner``: the rules' answer -> one alert for each reader, after quiet hours and
   snoozes (``timing``);
5. ``queue``: every alert stored before it can be sent, waiting ones in due order (the
   repeats of an alert that repeats until Done among them; ``notes``: the note to a family
   that someone gets no private reminders);
6. ``delivery``: send within each platform's pace (``pacer``), record each outcome before
   the next; the words and buttons come from ``text`` in the reader's language;
7. ``events``: news flowing backwards (a chat moved or left, a user blocked the bot, a
   target gone, a line removed, quiet hours changed), one handler each.

``watcher`` is the way in from outside: commands (``/balance``, a link, a top-up, a
snooze) and provider webhooks tell it, in their own unit, and it wakes the loop. No stage
imports another (import-linter keeps it so): each names what it needs of the next with a
small protocol, and ``bot.app`` builds them all and hands the real ones in.
"""
