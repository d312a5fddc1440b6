
CREATE TABLE pw AS SELECT
  '{"layers": [{"type": "SAGEConv", "prefix": "c", "in_channels": 2, "out_channels": 2, "aggr": "sum", "root_weight": false}]}'::jsonb AS spec,
  st('{"c.lin_l.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}, '
     '"c.lin_l.bias": {"dtype": "F32", "shape": [2], "data_offsets": [16, 24]}}',
     f32le('{1,0,0,1,0,0}')) AS weights;
GRANT SELECT ON pw TO PUBLIC;

CREATE ROLE regress_gnn_alice;
CREATE ROLE regress_gnn_bob;

CREATE TABLE pn (id bigint, features real[], hidden real[]);
CREATE TABLE pe (src bigint, dst bigint);
INSERT INTO pn VALUES (1, '{1,2}', '{0,0}'), (2, '{3,4}', '{0,0}'), (3, '{5,6}', '{0,0}');
INSERT INTO pe VALUES (1, 2), (2, 3), (1, 3), (3, 1);

-- alice creates a model: she owns it
SET ROLE regress_gnn_alice;
SELECT gnn_create_model('alice_model', spec, weights) FROM pw;
RESET ROLE;
SELECT name, owner FROM gnn_models WHERE owner = 'regress_gnn_alice'::regrole;

-- the catalog table itself is not for users
SET ROLE regress_gnn_bob;
SELECT try($$SELECT * FROM gnn_model_catalog$$);
SELECT try($$UPDATE gnn_model_catalog SET owner = 'regress_gnn_bob'$$);
-- bob may neither replace nor drop alice's model
SELECT try($$SELECT gnn_create_model('alice_model', spec, weights) FROM pw$$);
SELECT try($$SELECT gnn_drop_model('alice_model')$$);
-- nor read the tables without SELECT
SELECT try($$SELECT * FROM gnn_infer('alice_model', 'pe', 'pn')$$);
RESET ROLE;

-- SELECT on the edge table but not the node table
GRANT SELECT ON pe TO regress_gnn_bob;
SET ROLE regress_gnn_bob;
SELECT try($$SELECT * FROM gnn_infer('alice_model', 'pe', 'pn')$$);
RESET ROLE;

-- column privileges are enough: bob may read id and features, not hidden
GRANT SELECT (id, features) ON pn TO regress_gnn_bob;
SET ROLE regress_gnn_bob;
SELECT * FROM gnn_infer('alice_model', 'pe', 'pn') ORDER BY node_id;
SELECT try($$SELECT * FROM gnn_infer('alice_model', 'pe', 'pn', features => 'hidden')$$);
RESET ROLE;

-- row-level security applies: bob sees nodes 1 and 2 and the edges between them
ALTER TABLE pn ENABLE ROW LEVEL SECURITY;
ALTER TABLE pe ENABLE ROW LEVEL SECURITY;
CREATE POLICY pn_low ON pn TO regress_gnn_bob USING (id < 3);
CREATE POLICY pe_low ON pe TO regress_gnn_bob USING (src < 3 AND dst < 3);
SET ROLE regress_gnn_bob;
SELECT * FROM gnn_infer('alice_model', 'pe', 'pn') ORDER BY node_id;
RESET ROLE;
-- a policy that hides nodes but not their edges: an integrity error, never
-- a silent read of the hidden rows
DROP POLICY pe_low ON pe;
CREATE POLICY pe_all ON pe TO regress_gnn_bob USING (true);
SET ROLE regress_gnn_bob;
SELECT try($$SELECT * FROM gnn_infer('alice_model', 'pe', 'pn')$$);
RESET ROLE;
-- the owner is not subject to the policies
SELECT * FROM gnn_infer('alice_model', 'pe', 'pn') ORDER BY node_id;

-- the owner (and a superuser) may replace and drop
SET ROLE regress_gnn_alice;
SELECT gnn_create_model('alice_model', spec, weights) FROM pw;
SELECT gnn_drop_model('alice_model');
RESET ROLE;

-- gnn_load_model reads server files: superusers and pg_read_server_files only
CREATE TABLE lo AS SELECT lo_from_bytea(0, weights) AS oid FROM pw;
SELECT lo_export(oid, 'gnnjit_regress.safetensors') = 1 AS exported FROM lo;
SELECT lo_unlink(oid) FROM lo;
SET ROLE regress_gnn_alice;
SELECT try($$SELECT gnn_load_model('loaded', spec, 'gnnjit_regress.safetensors') FROM pw$$);
RESET ROLE;
GRANT pg_read_server_files TO regress_gnn_alice;
SET ROLE regress_gnn_alice;
SELECT gnn_load_model('loaded', spec, 'gnnjit_regress.safetensors') FROM pw;
SELECT try($$SELECT gnn_load_model('loaded2', spec, 'no_such_file.safetensors') FROM pw$$);
RESET ROLE;
SELECT name, owner, layers FROM gnn_models WHERE name = 'loaded';
SELECT gnn_drop_model('loaded');

DROP TABLE pn, pe;
DROP OWNED BY regress_gnn_alice, regress_gnn_bob;
DROP ROLE regress_gnn_alice, regress_gnn_bob;
