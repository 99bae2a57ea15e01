-- One row per notification emitted, keyed by event, subject and request, so
-- a workflow step repeated after a crash does not notify twice. Rows older
-- than a day are purged by the outbox relay.
CREATE TABLE notification_keys (
  key text PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now()
);
