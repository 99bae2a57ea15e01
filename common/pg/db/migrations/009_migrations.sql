-- Servers that move with their shares (BEYOND.md section 4): cold
-- migration, resize and evacuation. A move in flight holds two hosts: the
-- server's host and its migration_host (the destination until the move
-- finishes, then the source until it is confirmed or reverted), the latter
-- with migration_flavor_id's room. Every query that asks which mappings use
-- a host's access rule looks at both.
ALTER TABLE servers DROP CONSTRAINT servers_vm_state_check;
ALTER TABLE servers ADD CONSTRAINT servers_vm_state_check CHECK (vm_state IN
  ('building', 'active', 'stopped', 'error', 'deleted', 'shelved',
   'shelved_offloaded', 'resized'));
ALTER TABLE servers
  ADD COLUMN migration_host text REFERENCES compute_hosts (hostname),
  ADD COLUMN migration_flavor_id text;
CREATE INDEX servers_migration_host_idx ON servers (migration_host)
  WHERE migration_host IS NOT NULL;

-- Nova's migration records, as os-migrations shows them.
CREATE TABLE migrations (
  id bigserial PRIMARY KEY,
  uuid uuid NOT NULL UNIQUE,
  server_uuid uuid NOT NULL,
  migration_type text NOT NULL CHECK (migration_type IN
    ('migration', 'resize', 'evacuation')),
  source_compute text NOT NULL,
  dest_compute text NOT NULL,
  old_flavor_id text NOT NULL,
  new_flavor_id text NOT NULL,
  status text NOT NULL,
  -- An evacuation asked at 2.95 or later leaves the server stopped.
  stop_after boolean NOT NULL DEFAULT false,
  project_id text NOT NULL,
  user_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX migrations_server_idx ON migrations (server_uuid, id);
CREATE INDEX migrations_confirming_idx ON migrations (updated_at)
  WHERE status = 'confirming';

-- An operator's mark that a host is down (os-services forced_down), for
-- evacuating it before its heartbeat runs out.
ALTER TABLE compute_hosts ADD COLUMN forced_down boolean NOT NULL DEFAULT false;
