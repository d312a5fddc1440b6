--
-- Bad input: each is a clear ERROR with its SQLSTATE, and the server stays
-- up.  Also the defined behaviour of edge cases: empty graph, nodes without
-- in-edges, NaN and infinity in features.
--

-- weights for the models below: "lin" of a 2->2 Linear, "sage" of a 2->2
-- SAGEConv, both with the identity as weight and zero bias
CREATE TABLE w AS SELECT
  st('{"lin.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}, '
     '"lin.bias": {"dtype": "F32", "shape": [2], "data_offsets": [16, 24]}}',
     f32le('{1,0,0,1,0,0}')) AS lin,
  st('{"c.lin_l.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}, '
     '"c.lin_l.bias": {"dtype": "F32", "shape": [2], "data_offsets": [16, 24]}}',
     f32le('{1,0,0,1,0,0}')) AS sage;
SELECT gnn_create_model('ident', '{"layers": [{"type": "Linear", "prefix": "lin", "in_channels": 2, "out_channels": 2}]}', lin) FROM w;
SELECT gnn_create_model('sumconv', '{"layers": [{"type": "SAGEConv", "prefix": "c", "in_channels": 2, "out_channels": 2, "aggr": "sum", "root_weight": false}]}', sage) FROM w;

CREATE TABLE n (id bigint, features real[]);
CREATE TABLE e (src bigint, dst bigint);
INSERT INTO n VALUES (1, '{1,2}'), (2, '{3,4}'), (3, '{5,6}');
INSERT INTO e VALUES (1, 2), (2, 3), (1, 3), (1, 3), (3, 3);

-- the good case: sums over in-edges; node 1 has none; parallel edges and
-- self loops count as given
SELECT * FROM gnn_infer('sumconv', 'e', 'n') ORDER BY node_id;

-------------------------------------------------------------------------
-- models
-------------------------------------------------------------------------
SELECT try($$SELECT * FROM gnn_infer('no_such_model', 'e', 'n')$$);
SELECT try($$SELECT gnn_drop_model('no_such_model')$$);
SELECT try($$SELECT gnn_drop_model('no_such_model', if_exists => true)$$);
SELECT try($$SELECT gnn_create_model('', '{"layers": [{"type": "Linear", "prefix": "lin", "in_channels": 2, "out_channels": 2}]}', (SELECT lin FROM w))$$);
-- spec: not an object, no layers, unknown key, unknown layer type, unknown argument,
-- wrong argument type, bad aggr
SELECT try($$SELECT gnn_create_model('bad', '[]', (SELECT lin FROM w))$$);
SELECT try($$SELECT gnn_create_model('bad', '{"layers": []}', (SELECT lin FROM w))$$);
SELECT try($$SELECT gnn_create_model('bad', '{"layers": [{"type": "ReLU"}], "extra": 1}', (SELECT lin FROM w))$$);
SELECT try($$SELECT gnn_create_model('bad', '{"layers": [{"type": "Transformer"}]}', (SELECT lin FROM w))$$);
SELECT try($$SELECT gnn_create_model('bad', '{"layers": [{"type": "Linear", "prefix": "lin", "in_chanels": 2}]}', (SELECT lin FROM w))$$);
SELECT try($$SELECT gnn_create_model('bad', '{"layers": [{"type": "Linear", "prefix": "lin", "bias": "yes"}]}', (SELECT lin FROM w))$$);
SELECT try($$SELECT gnn_create_model('bad', '{"layers": [{"type": "SAGEConv", "prefix": "c", "aggr": "median"}]}', (SELECT sage FROM w))$$);
SELECT try($$SELECT gnn_create_model('bad', '{"layers": [{"type": "ReLU"}]}', (SELECT lin FROM w))$$);
-- a Program whose output is its input: nothing computed
SELECT try($$SELECT gnn_create_model('bad', '{"layers": [{"type": "Program", "in_channels": 2, "modules": [{"module": "get_vertex", "out": "x"}], "output": "x"}]}', (SELECT lin FROM w))$$);
-- widths that do not chain
SELECT try($$SELECT gnn_create_model('bad', '{"layers": [{"type": "Linear", "prefix": "lin"}, {"type": "Linear", "prefix": "lin", "in_channels": 3, "out_channels": 2}]}', (SELECT lin FROM w))$$);
-- a missing tensor, a mis-shaped tensor, a tensor of the wrong dtype
SELECT try($$SELECT gnn_create_model('bad', '{"layers": [{"type": "Linear", "prefix": "other"}]}', (SELECT lin FROM w))$$);
SELECT try($$SELECT gnn_create_model('bad', '{"layers": [{"type": "Linear", "prefix": "lin", "in_channels": 2, "out_channels": 3}]}', (SELECT lin FROM w))$$);
SELECT try($$SELECT gnn_create_model('bad', '{"layers": [{"type": "Linear", "prefix": "lin", "in_channels": 2, "out_channels": 2}]}', st('{"lin.weight": {"dtype": "I32", "shape": [2, 2], "data_offsets": [0, 16]}, "lin.bias": {"dtype": "F32", "shape": [2], "data_offsets": [16, 24]}}', f32le('{1,0,0,1,0,0}')))$$);
-- GINConv without nn, nested convolution
SELECT try($$SELECT gnn_create_model('bad', '{"layers": [{"type": "GINConv", "prefix": "g"}]}', (SELECT lin FROM w))$$);
SELECT try($$SELECT gnn_create_model('bad', '{"layers": [{"type": "GINConv", "prefix": "g", "nn": [{"type": "GCNConv"}]}]}', (SELECT lin FROM w))$$);

-------------------------------------------------------------------------
-- malformed safetensors
-------------------------------------------------------------------------
SELECT try($$SELECT gnn_create_model('bad', '{"layers": [{"type": "Linear", "prefix": "lin", "in_channels": 2, "out_channels": 2}]}', '\x0102'::bytea)$$);
SELECT try($$SELECT gnn_create_model('bad', '{"layers": [{"type": "Linear", "prefix": "lin", "in_channels": 2, "out_channels": 2}]}', substr((SELECT lin FROM w), 1, 50))$$);
SELECT try($$SELECT gnn_create_model('bad', '{"layers": [{"type": "Linear", "prefix": "lin", "in_channels": 2, "out_channels": 2}]}', u64le(1000000) || convert_to('{}', 'UTF8'))$$);
SELECT try($$SELECT gnn_create_model('bad', '{"layers": [{"type": "Linear", "prefix": "lin", "in_channels": 2, "out_channels": 2}]}', st('{"lin.weight": {', f32le('{1,0,0,1,0,0}')))$$);
SELECT try($$SELECT gnn_create_model('bad', '{"layers": [{"type": "Linear", "prefix": "lin", "in_channels": 2, "out_channels": 2}]}', st('{"lin.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}, "lin.bias": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}', f32le('{1,0,0,1,0,0}')))$$);
SELECT try($$SELECT gnn_create_model('bad', '{"layers": [{"type": "Linear", "prefix": "lin", "in_channels": 2, "out_channels": 2}]}', st('{"lin.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}, "lin.bias": {"dtype": "F32", "shape": [2], "data_offsets": [24, 32]}}', f32le('{1,0,0,1,0,0}')))$$);
SELECT try($$SELECT gnn_create_model('bad', '{"layers": [{"type": "Linear", "prefix": "lin", "in_channels": 2, "out_channels": 2}]}', st('{"lin.weight": {"dtype": "F33", "shape": [2, 2], "data_offsets": [0, 16]}}', f32le('{1,0,0,1}')))$$);
SELECT try($$SELECT gnn_create_model('bad', '{"layers": [{"type": "Linear", "prefix": "lin", "in_channels": 2, "out_channels": 2}]}', st('{"lin.weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 16]}}', f32le('{1,0,0,1}')))$$);
SELECT try($$SELECT gnn_create_model('bad', '{"layers": [{"type": "Linear", "prefix": "lin", "in_channels": 2, "out_channels": 2}]}', st('{"lin.weight": {"dtype": "F32", "shape": [2, -2], "data_offsets": [0, 16]}}', f32le('{1,0,0,1}')))$$);
-- a failed create leaves nothing behind
SELECT count(*) FROM gnn_models WHERE name = 'bad';

-------------------------------------------------------------------------
-- tables
-------------------------------------------------------------------------
-- an edge endpoint that is not a node
INSERT INTO e VALUES (3, 99);
SELECT try($$SELECT * FROM gnn_infer('sumconv', 'e', 'n')$$);
DELETE FROM e WHERE dst = 99;
-- duplicate node id
INSERT INTO n VALUES (2, '{0,0}');
SELECT try($$SELECT * FROM gnn_infer('sumconv', 'e', 'n')$$);
DELETE FROM n WHERE id = 2 AND features = '{0,0}';
-- NULL id, src, dst
INSERT INTO n VALUES (NULL, '{0,0}');
SELECT try($$SELECT * FROM gnn_infer('sumconv', 'e', 'n')$$);
DELETE FROM n WHERE id IS NULL;
INSERT INTO e VALUES (NULL, 1);
SELECT try($$SELECT * FROM gnn_infer('sumconv', 'e', 'n')$$);
DELETE FROM e WHERE src IS NULL;
INSERT INTO e VALUES (1, NULL);
SELECT try($$SELECT * FROM gnn_infer('sumconv', 'e', 'n')$$);
DELETE FROM e WHERE dst IS NULL;
-- NULL, multi-dimensional, wrong-length features, NULL element
INSERT INTO n VALUES (4, NULL);
SELECT try($$SELECT * FROM gnn_infer('sumconv', 'e', 'n')$$);
UPDATE n SET features = '{{1,2},{3,4}}' WHERE id = 4;
SELECT try($$SELECT * FROM gnn_infer('sumconv', 'e', 'n')$$);
UPDATE n SET features = '{1,2,3}' WHERE id = 4;
SELECT try($$SELECT * FROM gnn_infer('sumconv', 'e', 'n')$$);
UPDATE n SET features = '{}' WHERE id = 4;
SELECT try($$SELECT * FROM gnn_infer('sumconv', 'e', 'n')$$);
UPDATE n SET features = '{1,NULL}' WHERE id = 4;
SELECT try($$SELECT * FROM gnn_infer('sumconv', 'e', 'n')$$);
DELETE FROM n WHERE id = 4;
-- columns: missing, wrong type
SELECT try($$SELECT * FROM gnn_infer('sumconv', 'e', 'n', src => 'source')$$);
SELECT try($$SELECT * FROM gnn_infer('sumconv', 'e', 'n', id => 'features')$$);
SELECT try($$SELECT * FROM gnn_infer('sumconv', 'e', 'n', features => 'id')$$);
CREATE TABLE e_text (src text, dst bigint);
SELECT try($$SELECT * FROM gnn_infer('sumconv', 'e_text', 'n')$$);
CREATE TABLE e_textw (src bigint, dst bigint, w text);
SELECT try($$SELECT * FROM gnn_infer('sumconv', 'e_textw', 'n', weight => 'w')$$);
-- relation ids: for models that read them (RGCNConv), not with weights
SELECT try($$SELECT * FROM gnn_infer('sumconv', 'e', 'n', weight => 'dst', relation => 'src')$$);
SELECT try($$SELECT * FROM gnn_infer('sumconv', 'e', 'n', relation => 'src')$$);
SELECT try($$SELECT * FROM gnn_infer('rgcn', 'e', 'n')$$);
SELECT try($$SELECT * FROM gnn_infer('gcn_weighted', 'e', 'n', relation => 'src')$$);
SELECT try($$SELECT * FROM gnn_infer('sumconv', 'e', 'n', src => NULL)$$);
SELECT try($$SELECT * FROM gnn_infer('sumconv', 'no_such_table', 'n')$$);
CREATE SEQUENCE seq;
SELECT try($$SELECT * FROM gnn_infer('sumconv', 'seq', 'n')$$);

-- other column names and types: integer ids, double precision features
CREATE TABLE n2 (node int, x double precision[]);
CREATE TABLE e2 (a smallint, b int, w double precision);
INSERT INTO n2 SELECT id, features FROM n;
INSERT INTO e2 SELECT src, dst, 0.5 FROM e;
SELECT * FROM gnn_infer('sumconv', 'e2', 'n2', src => 'a', dst => 'b', weight => 'w',
                        id => 'node', features => 'x') ORDER BY node_id;

-------------------------------------------------------------------------
-- defined behaviour
-------------------------------------------------------------------------
-- an empty graph: no rows
CREATE TABLE n_empty (id bigint, features real[]);
CREATE TABLE e_empty (src bigint, dst bigint);
SELECT count(*) FROM gnn_infer('sumconv', 'e_empty', 'n_empty');
-- nodes but no edges: every aggregate is 0, plus the bias
SELECT * FROM gnn_infer('sumconv', 'e_empty', 'n') ORDER BY node_id;
-- NaN and infinity propagate as in PyTorch: to the node itself through a
-- dense layer, and to its out-neighbours through message passing
UPDATE n SET features = '{NaN,Infinity}' WHERE id = 1;
SELECT * FROM gnn_infer('ident', 'e', 'n') ORDER BY node_id;
SELECT * FROM gnn_infer('sumconv', 'e', 'n') ORDER BY node_id;

-- after all of the above, the server is still up
SELECT 1 AS alive;
