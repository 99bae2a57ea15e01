-- Outbox rows for a topic exchange (notifications) rather than a task queue.
ALTER TABLE outbox ADD COLUMN exchange text NOT NULL DEFAULT '';
