-- Initial schema. Every mutable row carries `version` for compare-and-set.
CREATE TABLE flavors (
  id text PRIMARY KEY,
  name text NOT NULL UNIQUE,
  vcpus integer NOT NULL CHECK (vcpus > 0),
  ram_mb integer NOT NULL CHECK (ram_mb > 0),
  disk_gb integer NOT NULL DEFAULT 0 CHECK (disk_gb >= 0),
  extra_specs jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  version bigint NOT NULL DEFAULT 1
);

CREATE TABLE compute_hosts (
  hostname text PRIMARY KEY,
  storage_ip text NOT NULL,
  agent_endpoint text NOT NULL,
  traits text[] NOT NULL DEFAULT '{}',
  libvirt_version text NOT NULL DEFAULT '',
  hypervisor_type text NOT NULL DEFAULT '',
  hypervisor_version text NOT NULL DEFAULT '',
  disabled boolean NOT NULL DEFAULT false,
  last_heartbeat timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  version bigint NOT NULL DEFAULT 1
);

CREATE TABLE servers (
  uuid uuid PRIMARY KEY,
  name text NOT NULL,
  project_id text NOT NULL,
  user_id text NOT NULL,
  flavor_id text NOT NULL REFERENCES flavors (id),
  host text REFERENCES compute_hosts (hostname),
  vm_state text NOT NULL CHECK (vm_state IN
    ('building', 'active', 'stopped', 'error', 'deleted')),
  task_state text,
  power_state integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  version bigint NOT NULL DEFAULT 1
);
CREATE INDEX servers_project_idx ON servers (project_id) WHERE deleted_at IS NULL;
CREATE INDEX servers_host_idx ON servers (host);

CREATE TABLE share_mappings (
  uuid uuid PRIMARY KEY,
  server_uuid uuid NOT NULL REFERENCES servers (uuid),
  share_id uuid NOT NULL,
  tag text NOT NULL CHECK (tag ~ '^[A-Za-z0-9-]{1,36}$'),
  status text NOT NULL CHECK (status IN
    ('attaching', 'inactive', 'active', 'detaching', 'error')),
  share_proto text NOT NULL,
  export_location text NOT NULL,
  access_id text,
  error_message text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  version bigint NOT NULL DEFAULT 1,
  CONSTRAINT share_mappings_server_share_key UNIQUE (server_uuid, share_id),
  CONSTRAINT share_mappings_server_tag_key UNIQUE (server_uuid, tag)
);
CREATE INDEX share_mappings_share_idx ON share_mappings (share_id);

CREATE TABLE instance_actions (
  id bigserial PRIMARY KEY,
  request_id text NOT NULL,
  server_uuid uuid NOT NULL REFERENCES servers (uuid),
  action text NOT NULL,
  project_id text NOT NULL,
  user_id text NOT NULL,
  message text,
  start_time timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (server_uuid, request_id)
);

CREATE TABLE instance_action_events (
  id bigserial PRIMARY KEY,
  action_id bigint NOT NULL REFERENCES instance_actions (id) ON DELETE CASCADE,
  event text NOT NULL,
  start_time timestamptz NOT NULL DEFAULT now(),
  finish_time timestamptz,
  result text,
  details text
);
CREATE INDEX instance_action_events_action_idx ON instance_action_events (action_id);

-- Transactional outbox: rows written with the state change they carry out,
-- published to RabbitMQ by the relay, then marked sent.
CREATE TABLE outbox (
  id bigserial PRIMARY KEY,
  routing_key text NOT NULL,
  payload bytea NOT NULL,
  request_id text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz
);
CREATE INDEX outbox_unsent_idx ON outbox (id) WHERE sent_at IS NULL;
