-- Access rules Shareplane asked Manila for, recorded before the grant is
-- requested and removed once the rule is revoked, so the reconciler can find
-- rules that carry our lock but serve no attachment (a crash between grant
-- and mapping removal, a mapping deleted by hand). The project and user of
-- the mapping that asked are kept to call Manila on their behalf.
CREATE TABLE access_grants (
  share_id uuid NOT NULL,
  access_type text NOT NULL,
  access_to text NOT NULL,
  project_id text NOT NULL,
  user_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (share_id, access_type, access_to)
);
