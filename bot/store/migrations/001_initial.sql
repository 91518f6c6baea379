-- Version 1 of the PostgreSQL schema: the records of bot/records.py as JSON documents, with
-- the columns the queries, the claims and the indexes need beside them.
CREATE TABLE households (id text PRIMARY KEY, doc jsonb NOT NULL);
CREATE TABLE users (id text PRIMARY KEY, language text, hint text);
CREATE TABLE lines (
    id text PRIMARY KEY, household_id text NOT NULL, ref text NOT NULL,
    created_at timestamptz NOT NULL, label text NOT NULL, doc jsonb NOT NULL);
CREATE INDEX lines_household ON lines (household_id);
CREATE INDEX lines_ref ON lines (ref);
CREATE TABLE link_failures (user_id text PRIMARY KEY, at jsonb NOT NULL);
CREATE TABLE pending (token text PRIMARY KEY, household_id text NOT NULL, doc jsonb NOT NULL);
CREATE INDEX pending_household ON pending (household_id);
CREATE TABLE orders (
    client_ref text PRIMARY KEY, household_id text NOT NULL, created_at timestamptz NOT NULL, doc jsonb NOT NULL);
CREATE INDEX orders_household ON orders (household_id);
CREATE TABLE samples (line_id text PRIMARY KEY, doc jsonb NOT NULL);
CREATE TABLE alerts (line_id text PRIMARY KEY, doc jsonb NOT NULL);
-- A claimed row comes due again when its lease runs out: "ready" is the later of the two.
CREATE TABLE schedule (
    line_id text PRIMARY KEY, due_at timestamptz NOT NULL, owner text, lease_until timestamptz,
    ready timestamptz GENERATED ALWAYS AS (greatest(due_at, lease_until)) STORED);
CREATE INDEX schedule_ready ON schedule (ready, line_id);
CREATE SEQUENCE outbox_finished;
CREATE TABLE outbox (
    id text PRIMARY KEY, state text NOT NULL, not_before timestamptz NOT NULL, created_at timestamptz NOT NULL,
    household_id text NOT NULL, line_id text NOT NULL, owner text, lease_until timestamptz,
    finished bigint, doc jsonb NOT NULL,
    ready timestamptz GENERATED ALWAYS AS (greatest(not_before, lease_until)) STORED);
CREATE INDEX outbox_ready ON outbox (ready, created_at, id) WHERE state = 'pending';
CREATE INDEX outbox_finished_order ON outbox (finished) WHERE finished IS NOT NULL;
-- Other parts' small state (providers' order books, the demo's day 0), keyed "<namespace>/<key>".
CREATE TABLE state (key text PRIMARY KEY, value jsonb NOT NULL);
