"""Renewal that runs itself (issue 25): automatic top-ups and renewal cycles per line.

- ``records``: the stored shapes, an ``AutoRule`` and a ``Decision`` (vocabulary);
- ``rules``: pure: which trigger a balance or the calendar fires, and the guard-rails
  (price drift, plan gone, at most one order a day, a monthly count, the cap);
- ``decide``: an ``Observer`` beside the reminder planner: in the same unit of work as the
  balance that fired it, a trigger becomes one durable decision and one open confirmation
  whose token is derived from the trigger, so a replay finds it instead of making another;
- ``orderer``: when the notice time is over, places the order through the money guard
  (``OrderBook.reserve``'s compare-and-set) and the provider's exactly-once order flow;
- ``text``: the notice, receipt, stop and failure in the reader's language, with buttons.
"""
