--
-- Heterogeneous graphs: the graph catalog, to_hetero models, HeteroConv,
-- HGTConv and GATConv with edge features, against the independent float64
-- reference (tools/hetero_ref.py) on three node types and four edge types,
-- one of them without edges.  Fixtures: tools/gen_hetero_fixtures.py.
--
-- Tolerance: |gnnjit - reference| <= 1e-5 * max(|reference|, 1).
--
CREATE TABLE h_author (id bigint, features real[]);
CREATE TABLE h_paper (id bigint, features real[]);
CREATE TABLE h_term (id bigint, features real[]);
CREATE TABLE h_writes (src bigint, dst bigint, weight real, edge_attr real[]);
CREATE TABLE h_cites (LIKE h_writes);
CREATE TABLE h_rev_writes (LIKE h_writes);
CREATE TABLE h_about (LIKE h_writes);
\copy h_author FROM 'test/fixtures/hetero/nodes_author.csv' CSV HEADER
\copy h_paper FROM 'test/fixtures/hetero/nodes_paper.csv' CSV HEADER
\copy h_term FROM 'test/fixtures/hetero/nodes_term.csv' CSV HEADER
\copy h_writes FROM 'test/fixtures/hetero/edges_author__writes__paper.csv' CSV HEADER
\copy h_cites FROM 'test/fixtures/hetero/edges_paper__cites__paper.csv' CSV HEADER
\copy h_rev_writes FROM 'test/fixtures/hetero/edges_paper__rev_writes__author.csv' CSV HEADER
\copy h_about FROM 'test/fixtures/hetero/edges_term__about__paper.csv' CSV HEADER

SELECT gnn_create_graph('academic',
  '{"author": {"table": "h_author"}, "paper": {"table": "h_paper"},
    "term": {"table": "h_term", "id": "id", "features": "features"}}',
  '{"author__writes__paper": {"table": "h_writes", "edge_attr": "edge_attr"},
    "paper__cites__paper": {"table": "h_cites", "edge_attr": "edge_attr"},
    "paper__rev_writes__author": {"table": "h_rev_writes", "edge_attr": "edge_attr"},
    "term__about__paper": {"table": "h_about", "src": "src", "dst": "dst", "edge_attr": "edge_attr"}}');
-- a homogeneous graph in the catalog: one node type, one edge type
SELECT gnn_create_graph('citations', '{"paper": {"table": "h_paper"}}',
  '{"paper__cites__paper": {"table": "h_cites", "edge_attr": "edge_attr"}}');
SELECT name, owner, node_types, edge_types FROM gnn_graphs ORDER BY name;

\set cases `cat test/fixtures/hetero/cases.txt`
\set models `cd test/fixtures/hetero && for c in $(cat cases.txt); do printf '%s\t%s\t%s\n' "$c" "$(base64 -w0 "$c.json")" "$(base64 -w0 "$c.safetensors")"; done`
CREATE TABLE hx_model AS
  SELECT split_part(l, E'\t', 1) AS name,
         convert_from(decode(split_part(l, E'\t', 2), 'base64'), 'UTF8')::jsonb AS spec,
         decode(split_part(l, E'\t', 3), 'base64') AS weights
  FROM regexp_split_to_table(trim(:'models', E'\n'), E'\n') AS l;
\set expected `cd test/fixtures/hetero && for c in $(cat cases.txt); do tail -n +2 "$c.out.csv" | tr -d '"' | sed "s/^/$c,/"; done`
CREATE TABLE hx_expected AS
  SELECT m[1] AS name, m[2] AS node_type, m[3]::bigint AS id, m[4]::real[] AS embedding
  FROM regexp_split_to_table(trim(:'expected', E'\n'), E'\n') AS l,
       regexp_match(l, '^([^,]+),([^,]+),([^,]+),(.*)$') AS m;

-- a model whose second layer reads a node type that no edge type of the
-- first layer ends at cannot run (nor can it in PyG: to_hetero raises
-- NotImplementedError, HGTConv a KeyError)
\set VERBOSITY terse
\set bad_spec `cat test/fixtures/hetero/bad_vanished_type.json`
\set bad_weights `base64 -w0 test/fixtures/hetero/bad_vanished_type.safetensors`
SELECT gnn_create_model('bad', :'bad_spec', decode(:'bad_weights', 'base64'));
\set VERBOSITY default
SELECT gnn_create_model(name, spec, weights) FROM hx_model ORDER BY name;
SELECT name, layers FROM gnn_models WHERE name IN (SELECT name FROM hx_model) ORDER BY name;

-- every (case, node type) the reference has: all rows, every value within tolerance
SELECT x.name, x.node_type,
       count(r.node_id) = count(*) AS all_nodes,
       bool_and(array_length(r.embedding, 1) = array_length(x.embedding, 1)) AS widths,
       bool_and((SELECT bool_and(abs(a - b) <= 1e-5 * greatest(abs(b), 1))
                 FROM unnest(r.embedding, x.embedding) AS u(a, b))) AS within_tolerance
FROM (SELECT DISTINCT name, node_type FROM hx_expected) AS c
CROSS JOIN LATERAL (SELECT * FROM gnn_infer(c.name,
                      CASE c.name WHEN 'gat_edge' THEN 'citations' ELSE 'academic' END,
                      c.node_type)) AS r
RIGHT JOIN hx_expected AS x ON x.name = c.name AND x.node_type = c.node_type AND x.id = r.node_id
GROUP BY x.name, x.node_type ORDER BY 1, 2;

-- the portable kernels give the same results as the JIT
SET gnnjit.jit = off;
SELECT count(*) AS rows, bool_and(abs(a - b) <= 1e-5 * greatest(abs(b), 1)) AS within_tolerance
FROM gnn_infer('het_hgt_lin', 'academic', 'paper') AS r
JOIN hx_expected x ON x.name = 'het_hgt_lin' AND x.node_type = 'paper' AND x.id = r.node_id,
     unnest(r.embedding, x.embedding) AS u(a, b);
RESET gnnjit.jit;

-- in FROM, the custom scan runs it: EXPLAIN shows the graph; the rows
-- equal the function's (gnnjit.enable_scan = off); a lateral node type
-- rescans with each value
EXPLAIN (COSTS OFF)
SELECT * FROM gnn_infer('het_mix', 'academic', 'paper') WHERE node_id = 108;
SET gnnjit.jit_above_cost = 0;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT count(*) FROM gnn_infer('het_mix', 'academic', 'author');
RESET gnnjit.jit_above_cost;
CREATE TEMP TABLE hx_scan AS
  SELECT t AS node_type, r.* FROM unnest(ARRAY['paper', 'author']) AS t,
         LATERAL gnn_infer('het_gat_edge', 'academic', t) AS r;
SET gnnjit.enable_scan = off;
EXPLAIN (COSTS OFF)
SELECT * FROM gnn_infer('het_mix', 'academic', 'paper');
SELECT node_type, count(*) AS rows,
       bool_and(s.embedding = f.embedding) AS same_as_function
FROM hx_scan AS s
JOIN (SELECT 'paper' AS node_type, * FROM gnn_infer('het_gat_edge', 'academic', 'paper')
      UNION ALL
      SELECT 'author', * FROM gnn_infer('het_gat_edge', 'academic', 'author')) AS f
  USING (node_type, node_id)
GROUP BY node_type ORDER BY node_type;
RESET gnnjit.enable_scan;

-- selected nodes: WHERE node_id = ... / = ANY(...) computes only the
-- targets' receptive field, typed; the rows equal the whole graph's bit
-- for bit (same kernels), for every case and node type, compiled and
-- portable; ids that are no node of the type give no row
EXPLAIN (COSTS OFF)
SELECT * FROM gnn_infer('het_hgt', 'academic', 'author') WHERE node_id = ANY('{1,2}');
CREATE FUNCTION hx_pruned_same(m text, g text, t text, ids bigint[])
RETURNS TABLE (rows bigint, same boolean) LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format(
    'SELECT count(*), bool_and(p.embedding = f.embedding)
     FROM gnn_infer(%L, %L, %L) AS p JOIN gnn_infer(%L, %L, %L) AS f USING (node_id)
     WHERE p.node_id = ANY(%L::bigint[])',
    m, g, t, m, g, t, ids);
END $$;
SET gnnjit.jit_above_cost = 0;
SELECT c.name, c.node_type, jit, t.rows AS one, t.same AS one_same,
       s.rows AS some, s.same AS some_same, a.rows AS all, a.same AS all_same
FROM (SELECT name, node_type, array_agg(id ORDER BY id) AS ids
      FROM hx_expected GROUP BY name, node_type) AS c
CROSS JOIN (VALUES (true), (false)) AS j(jit)
CROSS JOIN LATERAL (SELECT set_config('gnnjit.jit', jit::text, false)) AS setting
CROSS JOIN LATERAL hx_pruned_same(c.name,
                   CASE c.name WHEN 'gat_edge' THEN 'citations' ELSE 'academic' END,
                   c.node_type, c.ids[3:3]) AS t
CROSS JOIN LATERAL hx_pruned_same(c.name,
                   CASE c.name WHEN 'gat_edge' THEN 'citations' ELSE 'academic' END,
                   c.node_type, ARRAY(SELECT c.ids[i] FROM generate_series(1, 30, 4) AS i
                                      WHERE i <= cardinality(c.ids)) || '{-1, 12345}') AS s
CROSS JOIN LATERAL hx_pruned_same(c.name,
                   CASE c.name WHEN 'gat_edge' THEN 'citations' ELSE 'academic' END,
                   c.node_type, c.ids) AS a
ORDER BY 1, 2, 3;
RESET gnnjit.jit;
RESET gnnjit.jit_above_cost;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT * FROM gnn_infer('het_gat_edge', 'academic', 'paper') WHERE node_id = 108;
SELECT count(*) FROM gnn_infer('het_gat_edge', 'academic', 'paper') WHERE node_id = ANY(NULL::bigint[]);

-- parallel workers: one participant reads the graph into shared memory,
-- all of them split each operation's nodes (those of its node type); the
-- rows equal the serial plan's bit for bit, for every case and node type,
-- with and without the leader taking part
CREATE TEMP TABLE hx_serial AS
  SELECT c.name, c.node_type, r.*
  FROM (SELECT DISTINCT name, node_type FROM hx_expected) AS c
  CROSS JOIN LATERAL gnn_infer(c.name,
                               CASE c.name WHEN 'gat_edge' THEN 'citations' ELSE 'academic' END,
                               c.node_type) AS r;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF)
SELECT * FROM gnn_infer('het_hgt', 'academic', 'paper');
CREATE TABLE hx_parallel (leader boolean, name text, node_type text, node_id bigint, embedding real[]);
DO $$
DECLARE
  c record;
BEGIN
  FOR c IN SELECT DISTINCT l, name, node_type FROM hx_expected, (VALUES (true), (false)) AS v(l) LOOP
    PERFORM set_config('parallel_leader_participation', c.l::text, true);
    PERFORM parallel_into('hx_one',
      format('SELECT * FROM gnn_infer(%L, %L, %L)', c.name,
             CASE c.name WHEN 'gat_edge' THEN 'citations' ELSE 'academic' END, c.node_type));
    INSERT INTO hx_parallel SELECT c.l, c.name, c.node_type, * FROM hx_one;
    DROP TABLE hx_one;
  END LOOP;
END $$;
SELECT leader, count(DISTINCT (name, node_type)) AS cases, count(*) AS rows,
       bool_and(p.embedding = s.embedding) AS identical
FROM hx_parallel AS p JOIN hx_serial AS s USING (name, node_type, node_id)
GROUP BY leader ORDER BY leader;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;

-- a model of fewer types than the graph runs on the types it names
SELECT count(*) AS rows, bool_and(a.embedding = b.embedding) AS same
FROM gnn_infer('gat_edge', 'academic', 'paper') AS a
JOIN gnn_infer('gat_edge', 'citations') AS b USING (node_id);

-- bad calls
\set VERBOSITY terse
SELECT * FROM gnn_infer('het_mix', 'academic');
SELECT * FROM gnn_infer('het_mix', 'academic', 'venue');
SELECT * FROM gnn_infer('het_mix', 'nosuchgraph');
SELECT * FROM gnn_infer('het_mix', 'citations', 'paper');
SELECT gnn_create_graph('bad', '{"paper": {"table": "h_paper"}}', '{"paper__cites": {"table": "h_cites"}}');
SELECT gnn_create_graph('bad', '{"paper": {"table": "h_paper"}}', '{"paper__cites__venue": {"table": "h_cites"}}');
SELECT gnn_create_graph('bad', '{"paper": {"table": "nosuchtable"}}', '{"paper__cites__paper": {"table": "h_cites"}}');
SELECT gnn_create_graph('bad', '{"paper": {"table": "h_paper", "colour": "x"}}', '{"paper__cites__paper": {"table": "h_cites"}}');
SELECT gnn_create_model('bad', '{"metadata": {"node_types": ["a"], "edge_types": [["a", "r", "b"]]}, "layers": [{"type": "ReLU"}]}', (SELECT weights FROM hx_model WHERE name = 'gat_edge'));
SELECT gnn_create_model('bad', '{"metadata": {"node_types": ["a"], "edge_types": [["a", "r", "a"]]}, "layers": [{"type": "SAGEConv", "out_channels": 2}]}', (SELECT weights FROM hx_model WHERE name = 'gat_edge'));
SELECT gnn_create_model('bad', '{"to_hetero": {}, "layers": [{"type": "ReLU"}]}', (SELECT weights FROM hx_model WHERE name = 'gat_edge'));
-- JSON null names no column: only the optional ones may be null
SELECT gnn_create_graph('bad', '{"paper": {"table": "h_paper"}}', '{"paper__cites__paper": {"table": "h_cites", "src": null}}');
SELECT gnn_create_graph('bad', '{"paper": {"table": "h_paper", "features": null}}', '{"paper__cites__paper": {"table": "h_cites", "weight": null}}');
-- edge features need a graph of the catalog that names their column
SELECT gnn_create_model('gat_edge_plain', spec - 'metadata', weights) FROM hx_model WHERE name = 'gat_edge';
SELECT count(*) FROM gnn_infer('gat_edge_plain', 'h_cites', 'h_paper');
SELECT count(*) FROM gnn_infer('gat_edge_plain', 'citations');
SELECT gnn_drop_model('gat_edge_plain');
-- relation ids are read only by models that need them
SELECT gnn_create_graph('relations', '{"paper": {"table": "h_paper"}}', '{"paper__cites__paper": {"table": "h_cites", "relation": "src", "edge_attr": "edge_attr"}}');
SELECT count(*) FROM gnn_infer('gat_edge', 'relations');
\set spec `cat test/fixtures/gcn_weighted.json`
\set weights `base64 -w0 test/fixtures/gcn_weighted.safetensors`
SELECT gnn_create_model('hx_gcn_weighted', :'spec', decode(:'weights', 'base64'));
SELECT count(*) FROM gnn_infer('hx_gcn_weighted', 'relations');
\set spec `cat test/fixtures/rgcn.json`
\set weights `base64 -w0 test/fixtures/rgcn.safetensors`
SELECT gnn_create_model('hx_rgcn', :'spec', decode(:'weights', 'base64'));
SELECT count(*) FROM gnn_infer('hx_rgcn', 'citations');
SELECT gnn_drop_model('hx_gcn_weighted'), gnn_drop_model('hx_rgcn');
SELECT gnn_drop_graph('relations');
\set VERBOSITY default

-- a graph is its owner's: others can use it (with the tables' privileges) but not replace or drop it
CREATE ROLE hetero_other;
SET ROLE hetero_other;
\set VERBOSITY terse
SELECT gnn_drop_graph('academic');
SELECT gnn_create_graph('academic', '{"paper": {"table": "h_paper"}}', '{"paper__cites__paper": {"table": "h_cites"}}');
SELECT count(*) FROM gnn_infer('gat_edge', 'citations');
\set VERBOSITY default
RESET ROLE;
DROP ROLE hetero_other;

SELECT gnn_drop_graph('citations');
SELECT gnn_drop_graph('citations', if_exists => true);
SELECT name FROM gnn_graphs;
