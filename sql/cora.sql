--
-- Cora with the bundled model (tools/train_cora.py): the test-split accuracy
-- equals what training reported, and every output matches the float64
-- reference (tools/pyg_ref.py) within 1e-5 * max(|expected|, 1).
--
CREATE TABLE cora_nodes (id bigint PRIMARY KEY, label int, split text, features real[]);
CREATE TABLE cora_edges (src bigint, dst bigint);
\copy cora_nodes FROM PROGRAM 'zcat data/cora/nodes.csv.gz' CSV HEADER
\copy cora_edges FROM PROGRAM 'zcat data/cora/edges.csv.gz' CSV HEADER
SELECT count(*) AS nodes, count(*) FILTER (WHERE split = 'test') AS test FROM cora_nodes;
SELECT count(*) AS edges FROM cora_edges;

\set spec `cat data/cora/model.json`
\set weights `base64 -w0 data/cora/model.safetensors`
SELECT gnn_create_model('cora', :'spec', decode(:'weights', 'base64'));
SELECT name, input_width, output_width, layers FROM gnn_models WHERE name = 'cora';

CREATE TABLE cora_out AS SELECT * FROM gnn_infer('cora', 'cora_edges', 'cora_nodes');

-- accuracy: argmax (first maximum, as torch.argmax) against the labels
\set reported `head -n 1 data/cora/accuracy.txt`
SELECT round(avg((p.class = n.label)::int), 3) AS test_accuracy,
       round(avg((p.class = n.label)::int), 3) = :'reported'::numeric AS as_reported
FROM cora_nodes n
JOIN (SELECT node_id,
             (SELECT i - 1 FROM unnest(embedding) WITH ORDINALITY AS u(v, i)
              ORDER BY v DESC, i LIMIT 1) AS class
      FROM cora_out) AS p ON p.node_id = n.id
WHERE n.split = 'test';

-- every output against the reference
CREATE TABLE cora_expected (id bigint, embedding real[]);
\copy cora_expected FROM PROGRAM 'zcat data/cora/expected.csv.gz' CSV HEADER
SELECT count(*) AS compared,
       bool_and(abs(a - b) <= 1e-5 * greatest(abs(b), 1)) AS within_tolerance
FROM cora_out o JOIN cora_expected e ON e.id = o.node_id,
     unnest(o.embedding, e.embedding) AS u(a, b);

-- selected nodes: the planner prunes a point query to its receptive field
-- and keeps the full graph for most of the nodes; both give the same rows
EXPLAIN (COSTS OFF)
SELECT * FROM gnn_infer('cora', 'cora_edges', 'cora_nodes') WHERE node_id = 42;
EXPLAIN (COSTS OFF)
SELECT * FROM gnn_infer('cora', 'cora_edges', 'cora_nodes')
WHERE node_id = ANY(ARRAY(SELECT id FROM cora_nodes WHERE split <> 'test'));
SET gnnjit.pruning = on;
SELECT count(*) AS test_nodes, bool_and(p.embedding = o.embedding) AS identical
FROM gnn_infer('cora', 'cora_edges', 'cora_nodes') AS p
JOIN cora_out o USING (node_id)
WHERE p.node_id = ANY(ARRAY(SELECT id FROM cora_nodes WHERE split = 'test'));
RESET gnnjit.pruning;

-- compiled code in fused blocks (2708 nodes: many blocks) against the
-- portable kernels and the reference
SET gnnjit.jit_above_cost = 0;
SET max_parallel_workers_per_gather = 0;
SELECT count(*) AS compared,
       bool_and(abs(a - b) <= 1e-6 * greatest(abs(b), 1)) AS same_as_portable,
       bool_and(abs(a - c) <= 1e-5 * greatest(abs(c), 1)) AS within_tolerance
FROM gnn_infer('cora', 'cora_edges', 'cora_nodes') AS j
JOIN cora_out o USING (node_id)
JOIN cora_expected e ON e.id = j.node_id,
     unnest(j.embedding, o.embedding, e.embedding) AS u(a, b, c);
SELECT bool_and(jit) AS used_jit FROM gnn_last_inference();
RESET max_parallel_workers_per_gather;
RESET gnnjit.jit_above_cost;
