--
-- Layers written as module programs ("type": "Program").  The fixtures
-- (layers.sql) check a hand-written SAGEConv, GATConv and a two-layer
-- GeniePath against independent references; here the hand-written layers
-- give the built-in layers' values bit for bit, portable and compiled, and
-- bad programs are rejected with clear errors.
--

-- the built-in layers, with the programs' weights
SELECT gnn_create_model('builtin_sage',
  (SELECT spec FROM gnn_model_catalog WHERE name = 'sage_mean'),
  (SELECT weights FROM gnn_model_catalog WHERE name = 'prog_sage_mean'));
SELECT gnn_create_model('builtin_gat',
  (SELECT spec FROM gnn_model_catalog WHERE name = 'gat_heads'),
  (SELECT weights FROM gnn_model_catalog WHERE name = 'prog_gat_heads'));

-- the same operations, so the same values
SELECT gnn_model_program('prog_sage_mean') = gnn_model_program('builtin_sage') AS same_sage,
       gnn_model_program('prog_gat_heads') = gnn_model_program('builtin_gat') AS same_gat;

CREATE FUNCTION same_rows(a text, b text) RETURNS TABLE (nodes bigint, identical boolean)
LANGUAGE sql AS $$
  SELECT count(*), bool_and(x.embedding = y.embedding)
  FROM gnn_infer(a, 'g_edges', 'g_nodes') x
  JOIN gnn_infer(b, 'g_edges', 'g_nodes') y USING (node_id) $$;

SELECT * FROM same_rows('prog_sage_mean', 'builtin_sage');
SELECT * FROM same_rows('prog_gat_heads', 'builtin_gat');
SET gnnjit.jit_above_cost = 0;
SELECT * FROM same_rows('prog_sage_mean', 'builtin_sage');
SELECT * FROM same_rows('prog_gat_heads', 'builtin_gat');
RESET gnnjit.jit_above_cost;

-- the GeniePath layers: concatenation-free LSTM gates by slicing
SELECT gnn_model_program('geniepath') ~ 'slice' AS slices,
       (SELECT layers FROM gnn_models WHERE name = 'geniepath') AS layers;

-- concat, on node and on edge tensors
SELECT gnn_create_model('prog_concat', '{"layers": [{"type": "Program", "prefix": "conv", "in_channels": 5,
  "self_loops": "one_per_node", "modules": [
    {"module": "get_vertex", "out": "x"},
    {"module": "get_edge", "tensor": "x", "side": "source", "out": "xs"},
    {"module": "get_edge", "tensor": "x", "side": "target", "out": "xt"},
    {"module": "transform", "op": "concat", "in": ["xs", "xt"], "out": "pair"},
    {"module": "get_edge", "column": "weight", "out": "w"},
    {"module": "message_passing", "aggr": "max", "in": "pair", "coef": "w", "out": "m"},
    {"module": "transform", "op": "concat", "in": ["x", "m"], "out": "y"}],
  "output": "y"}]}',
  (SELECT weights FROM gnn_model_catalog WHERE name = 'prog_sage_mean'));
-- max over in-edges (with one self loop each) of [x_src | x_dst], after x
SELECT count(*) AS nodes,
       bool_and(r.embedding[1:5] = n.features) AS x_first,
       bool_and(r.embedding[11:15] = n.features) AS dst_part_is_x
FROM gnn_infer('prog_concat', 'g_edges', 'g_nodes') r JOIN g_nodes n ON n.id = r.node_id;
SELECT bool_and(r.embedding[6:10] = m.mx) AS max_of_sources
FROM gnn_infer('prog_concat', 'g_edges', 'g_nodes') r
JOIN (SELECT e.dst, array_agg(x ORDER BY i) AS mx
      FROM (SELECT dst, i, max(f) AS x
            FROM (SELECT e.dst, s.features FROM g_edges e JOIN g_nodes s ON s.id = e.src
                  WHERE e.src <> e.dst
                  UNION ALL SELECT id, features FROM g_nodes) AS e,
                 unnest(e.features) WITH ORDINALITY AS u(f, i)
            GROUP BY dst, i) AS e
      GROUP BY e.dst) AS m ON m.dst = r.node_id;

-- bad programs
CREATE FUNCTION bad_program(modules jsonb, extra jsonb DEFAULT '{}') RETURNS text
LANGUAGE sql AS $$
  SELECT try(format('SELECT gnn_create_model(%L, %L, %L)', 'bad_program',
    jsonb_build_object('layers', jsonb_build_array(
      jsonb_build_object('type', 'Program', 'prefix', 'conv', 'in_channels', 5,
                         'modules', modules, 'output', 'y') || extra)),
    (SELECT weights FROM gnn_model_catalog WHERE name = 'prog_sage_mean'))) $$;

SELECT bad_program('[{"module": "get_vertex", "out": "x"}, {"module": "gather", "out": "y"}]');
SELECT bad_program('[{"module": "get_vertex", "out": "x"}, {"module": "transform", "op": "relu", "in": "z", "out": "y"}]');
SELECT bad_program('[{"module": "get_vertex", "out": "y"}, {"module": "transform", "op": "relu", "in": "y", "out": "y"}]');
SELECT bad_program('[{"module": "get_vertex", "out": "x"}, {"module": "transform", "op": "linear", "in": "x", "weight": "lin_l.weight", "out": "a"},
                     {"module": "transform", "op": "add", "in": ["a", "x"], "out": "y"}]');
SELECT bad_program('[{"module": "get_vertex", "out": "x"}, {"module": "transform", "op": "slice", "in": "x", "start": 3, "end": 9, "out": "y"}]');
SELECT bad_program('[{"module": "get_vertex", "out": "x"}, {"module": "get_edge", "tensor": "x", "side": "source", "out": "e"},
                     {"module": "get_edge", "tensor": "e", "side": "target", "out": "y"}]');
SELECT bad_program('[{"module": "get_vertex", "out": "x"}, {"module": "get_edge", "tensor": "x", "side": "source", "out": "y"}]');
SELECT bad_program('[{"module": "get_vertex", "out": "x"}, {"module": "transform", "op": "linear", "in": "x", "weight": "lin_x.weight", "out": "y"}]');
SELECT bad_program('[{"module": "get_vertex", "out": "x"}, {"module": "transform", "op": "linear", "in": "x", "weight": "lin_l.bias", "out": "y"}]');
SELECT bad_program('[{"module": "get_vertex", "out": "x"}, {"module": "transform", "op": "cosine", "in": "x", "out": "y"}]');
SELECT bad_program('[{"module": "get_vertex", "out": "x"}, {"module": "message_passing", "aggr": "softmax", "in": "x", "out": "y"}]');
SELECT bad_program('[{"module": "get_vertex", "out": "x"}, {"module": "message_passing", "aggr": "median", "in": "x", "out": "y"}]');
SELECT bad_program('[{"module": "get_vertex", "out": "x"}, {"module": "transform", "op": "relu", "in": "x", "out": "y", "inplace": true}]');
SELECT bad_program('[{"module": "get_vertex", "out": "x"}, {"module": "get_edge", "column": "features", "out": "y"}]');
SELECT bad_program('[{"module": "get_vertex", "out": "x"}, {"module": "get_edge", "tensor": "x", "side": "source", "out": "e"},
                     {"module": "transform", "op": "slice", "in": "e", "end": 2, "out": "c"},
                     {"module": "message_passing", "aggr": "sum", "in": "x", "coef": "c", "out": "y"}]');
SELECT bad_program('[{"module": "get_vertex", "out": "x"}]', '{"output": "nope"}');
SELECT bad_program('[{"module": "get_vertex", "out": "y"}]', '{"self_loops": "some"}');
SELECT bad_program('[]');
SELECT bad_program('[{"module": "get_vertex", "out": "y"}]', '{"in_channels": null}');
SELECT try($$SELECT gnn_create_model('bad_program', '{"layers": [{"type": "GINConv", "prefix": "conv", "nn": [
  {"type": "Program", "modules": [{"module": "get_vertex", "out": "y"}], "output": "y"}]}]}',
  (SELECT weights FROM gnn_model_catalog WHERE name = 'prog_sage_mean'))$$);

-- The built-in message-passing layers are module programs: written out as
-- "Program" layers (gnn_model_layers), every fixture model built from them
-- gives the same values bit for bit.
SELECT type, modules->>'self_loops' AS self_loops,
       (SELECT string_agg(m->>'out' || ' = ' || (m->>'module') ||
                          coalesce(' ' || coalesce(m->>'op', m->>'aggr'), ''), ', ' ORDER BY o)
        FROM jsonb_array_elements(modules->'modules') WITH ORDINALITY AS e(m, o)) AS modules
FROM gnn_model_layers('gcn');

CREATE FUNCTION as_programs(model text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('layers', jsonb_agg(
           CASE WHEN l.modules IS NULL THEN s.spec
                ELSE l.modules || jsonb_strip_nulls(jsonb_build_object('prefix', s.spec->'prefix'))
           END ORDER BY l.layer))
  FROM gnn_model_layers(model) AS l
  JOIN (SELECT o - 1 AS layer, v AS spec
        FROM gnn_model_catalog AS c, jsonb_array_elements(c.spec->'layers') WITH ORDINALITY AS e(v, o)
        WHERE c.name = model) AS s USING (layer) $$;

CREATE TABLE written_out AS
SELECT m.name, m.name || '_as_programs' AS copy
FROM gnn_models AS m
WHERE EXISTS (SELECT 1 FROM gnn_model_layers(m.name) WHERE modules IS NOT NULL)
  AND m.name IN (SELECT name FROM fx_case);
SELECT count(*) AS models FROM written_out;
SELECT gnn_create_model(w.copy, as_programs(w.name), c.weights)
FROM written_out AS w JOIN gnn_model_catalog AS c ON c.name = w.name;
SELECT w.name, r.nodes, r.identical,
       gnn_model_program(w.name) = gnn_model_program(w.copy) AS same_program
FROM written_out AS w, same_rows(w.name, w.copy) AS r
ORDER BY w.name;
