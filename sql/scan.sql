--
-- GnnScan: gnn_infer() in FROM runs as a custom scan; same rows as the
-- function scan; lateral references; rescans; EXPLAIN.  Uses the fixture
-- tables of the layers test, which runs first.
--
EXPLAIN (COSTS OFF)
SELECT * FROM gnn_infer('sage2', 'g_edges', 'g_nodes');

-- the scan's rows equal the function scan's
CREATE TABLE scan_rows AS SELECT * FROM gnn_infer('gat_heads', 'g_edges', 'g_nodes');
SET gnnjit.enable_scan = off;
EXPLAIN (COSTS OFF)
SELECT * FROM gnn_infer('gat_heads', 'g_edges', 'g_nodes');
CREATE TABLE fn_rows AS SELECT * FROM gnn_infer('gat_heads', 'g_edges', 'g_nodes');
RESET gnnjit.enable_scan;
SELECT count(*) AS rows, count(*) FILTER (WHERE s.embedding = f.embedding) AS equal
FROM scan_rows s JOIN fn_rows f USING (node_id);

-- quals, projections and aggregates on top of the scan
EXPLAIN (COSTS OFF)
SELECT node_id, embedding[1] FROM gnn_infer('gcn', 'g_edges', 'g_nodes') WHERE node_id > 0;
SELECT count(*) = (SELECT count(*) FROM g_nodes WHERE id > 0) AS filtered
FROM gnn_infer('gcn', 'g_edges', 'g_nodes') WHERE node_id > 0;

-- a whole-row reference keeps the function scan
EXPLAIN (COSTS OFF)
SELECT r FROM gnn_infer('gcn', 'g_edges', 'g_nodes') AS r;

-- lateral: the model comes from the outer row; each rescan infers again
EXPLAIN (COSTS OFF)
SELECT c.name, count(*)
FROM fx_case c CROSS JOIN LATERAL gnn_infer(c.name, 'g_edges', 'g_nodes') AS r
WHERE c.name LIKE 'sage%'
GROUP BY c.name;
SELECT c.name, count(*), bool_and(r.embedding = e.embedding) AS as_expected
FROM fx_case c
CROSS JOIN LATERAL gnn_infer(c.name, 'g_edges', 'g_nodes') AS r
JOIN run_portable e ON e.name = c.name AND e.node_id = r.node_id
WHERE c.name LIKE 'sage%' AND NOT c.weighted
GROUP BY c.name ORDER BY c.name;

-- a rescan with the same parameters replays the rows (inner side of a
-- nested loop)
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
EXPLAIN (COSTS OFF)
SELECT count(*)
FROM (VALUES (1), (2), (3)) AS v(k)
LEFT JOIN gnn_infer('gcn', 'g_edges', 'g_nodes') AS r ON r.node_id > v.k;
SELECT count(*) = (SELECT count(*) FROM (VALUES (1), (2), (3)) AS v(k)
                   JOIN g_nodes ON id > k) AS replayed
FROM (VALUES (1), (2), (3)) AS v(k)
LEFT JOIN gnn_infer('gcn', 'g_edges', 'g_nodes') AS r ON r.node_id > v.k;
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;

-- EXPLAIN ANALYZE: rows read, memory, compiled code
SET gnnjit.jit_above_cost = 0;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT count(*) FROM gnn_infer('gcn_mix', 'g_edges', 'g_nodes', weight => 'weight');
