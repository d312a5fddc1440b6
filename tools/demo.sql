-- The demo's SQL: run by tools/demo inside a throwaway cluster.
\pset footer off
CREATE EXTENSION gnnjit;

CREATE TABLE cora_nodes (id bigint PRIMARY KEY, label int, split text, features real[]);
CREATE TABLE cora_edges (src bigint, dst bigint);
\copy cora_nodes FROM PROGRAM 'zcat data/cora/nodes.csv.gz' CSV HEADER
\copy cora_edges FROM PROGRAM 'zcat data/cora/edges.csv.gz' CSV HEADER
ANALYZE cora_nodes, cora_edges;

\echo
\echo Cora: 2708 papers, 10556 citation edges, 1433 word features per paper.
\echo Loading the bundled model (data/cora/model.json + model.safetensors):
\set spec `cat data/cora/model.json`
\set weights `base64 -w0 data/cora/model.safetensors`
SELECT gnn_create_model('cora', :'spec', decode(:'weights', 'base64'));
SELECT name, input_width, output_width, layers, parameters FROM gnn_models;

\echo Scoring every paper, full graph, layer by layer (the first run compiles the model):
SELECT clock_timestamp() AS t0 \gset
CREATE TABLE cora_scores AS
  SELECT * FROM gnn_infer('cora', 'cora_edges', 'cora_nodes');
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000, 1)
  AS first_run_ms, (SELECT count(*) FROM cora_scores) AS nodes_scored,
  (SELECT round((generate_ms + emit_ms)::numeric, 1) FROM gnn_jit_stats()) AS of_which_jit_ms;
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) AS nodes_scored_again FROM gnn_infer('cora', 'cora_edges', 'cora_nodes');
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000, 1)
  AS second_run_ms;
SELECT layer, type, round(ms::numeric, 2) AS ms, jit FROM gnn_last_inference();

-- predicted class: argmax of the scores (first maximum, as torch.argmax)
CREATE VIEW cora_pred AS
  SELECT node_id,
         (SELECT i - 1 FROM unnest(embedding) WITH ORDINALITY AS u(v, i)
          ORDER BY v DESC, i LIMIT 1) AS class
  FROM cora_scores;

\echo Test-split accuracy (1000 papers) and the accuracy training reported:
\set trained `head -n 1 data/cora/accuracy.txt`
SELECT round(avg((p.class = n.label)::int), 3) AS test_accuracy,
       :'trained' AS reported_by_training
FROM cora_nodes n JOIN cora_pred p ON p.node_id = n.id
WHERE n.split = 'test';

\echo Scores for one paper, straight from SQL:
SELECT node_id, embedding FROM gnn_infer('cora', 'cora_edges', 'cora_nodes')
WHERE node_id = 0;
