-- What the compute API needs to show and schedule servers.
ALTER TABLE flavors
  ADD COLUMN ephemeral_gb integer NOT NULL DEFAULT 0,
  ADD COLUMN swap_mb integer NOT NULL DEFAULT 0,
  ADD COLUMN is_public boolean NOT NULL DEFAULT true,
  ADD COLUMN description text;
ALTER TABLE servers
  ADD COLUMN image_ref text NOT NULL DEFAULT '',
  ADD COLUMN availability_zone text NOT NULL DEFAULT 'nova',
  ADD COLUMN launched_at timestamptz;
ALTER TABLE compute_hosts
  ADD COLUMN memory_mb bigint NOT NULL DEFAULT 0,
  ADD COLUMN vcpus integer NOT NULL DEFAULT 0;
