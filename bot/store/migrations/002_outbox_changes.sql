-- Version 2: the leader learns what the other workers stored by an incremental read. Every
-- write of an outbox row stamps it with its transaction's id; a reader keeps the oldest
-- transaction its last read could not see (pg_snapshot_xmin) and next reads only the rows
-- stamped since, through this index, instead of every waiting alert.
ALTER TABLE outbox ADD COLUMN changed xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX outbox_changed ON outbox (changed);
