-- What Nova's views show and Shareplane did not keep: the availability zone a
-- server was pinned to at create (microversion 2.96), and the host each
-- instance-action event ran on (its host / hostId, 2.62).
ALTER TABLE servers ADD COLUMN pinned_availability_zone text;
ALTER TABLE instance_action_events ADD COLUMN host text;
