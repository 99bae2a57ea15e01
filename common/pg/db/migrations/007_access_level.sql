-- Read-only attachments (BEYOND.md section 3): the level the attachment
-- asked for. The host's Manila rule carries the highest level in use.
ALTER TABLE share_mappings
  ADD COLUMN access_level text NOT NULL DEFAULT 'rw'
    CHECK (access_level IN ('rw', 'ro'));
