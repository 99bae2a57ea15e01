-- Shelved servers (BEYOND.md section 4): Nova's shelved and
-- shelved_offloaded vm_states (the latter off any host).
ALTER TABLE servers DROP CONSTRAINT servers_vm_state_check;
ALTER TABLE servers ADD CONSTRAINT servers_vm_state_check CHECK (vm_state IN
  ('building', 'active', 'stopped', 'error', 'deleted', 'shelved',
   'shelved_offloaded'));
