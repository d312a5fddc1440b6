--
-- Selected nodes: WHERE node_id = x / = ANY(array) is pushed into the scan,
-- which computes only the targets' receptive field, reading in-edges by
-- target (through an index on dst when there is one).  The rows equal the
-- full-graph run's.  Uses the fixture tables of the layers and jit tests.
--
-- the node with the most in-edges
SELECT dst AS hub FROM g_edges GROUP BY dst ORDER BY count(*) DESC, dst LIMIT 1 \gset
SET gnnjit.pruning = on;
EXPLAIN (COSTS OFF)
SELECT * FROM gnn_infer('sage2', 'g_edges', 'g_nodes') WHERE node_id = :hub;
EXPLAIN (COSTS OFF)
SELECT * FROM gnn_infer('sage2', 'g_edges', 'g_nodes')
WHERE node_id = ANY(ARRAY(SELECT id FROM g_nodes ORDER BY id LIMIT 3));
-- not a target qual: the full graph
EXPLAIN (COSTS OFF)
SELECT * FROM gnn_infer('sage2', 'g_edges', 'g_nodes') WHERE node_id > 930;

-- every layer type: pruned rows are the full-graph rows, bit for bit
SELECT c.name, count(*) AS rows, bool_and(p.embedding = f.embedding) AS identical
FROM fx_case c
CROSS JOIN LATERAL gnn_infer(c.name, 'g_edges', 'g_nodes',
                             weight => CASE WHEN c.weighted THEN 'weight' END,
                             relation => CASE WHEN c.relational THEN 'relation' END) AS p
JOIN run_portable f ON f.name = c.name AND f.node_id = p.node_id
WHERE p.node_id = ANY(ARRAY(SELECT id FROM g_nodes ORDER BY id DESC LIMIT 7))
GROUP BY c.name ORDER BY c.name;

-- one target; several; absent and NULL targets give no row; duplicates once
SELECT embedding = (SELECT embedding FROM run_portable
                    WHERE name = 'gat_heads' AND node_id = :hub) AS same
FROM gnn_infer('gat_heads', 'g_edges', 'g_nodes') WHERE node_id = :hub;
SELECT count(*) FROM gnn_infer('gat_heads', 'g_edges', 'g_nodes')
WHERE node_id = ANY(ARRAY[:hub, :hub, 930, 424242, NULL]::bigint[]);
SELECT count(*) FROM gnn_infer('gat_heads', 'g_edges', 'g_nodes') WHERE node_id = 424242;
-- an integer target column type
SELECT count(*) FROM gnn_infer('gat_heads', 'g_edges', 'g_nodes') WHERE node_id = 930::int;

-- the receptive field: the hub, its in-neighbours and theirs; a point
-- query reads in-edges through the index on dst (the planner would scan
-- this tiny table instead, hence enable_seqscan)
CREATE INDEX g_edges_dst ON g_edges (dst);
CREATE INDEX g_nodes_id ON g_nodes (id);
SET enable_seqscan = off;
BEGIN;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT * FROM gnn_infer('sage2', 'g_edges', 'g_nodes') WHERE node_id = :hub;
SELECT pg_stat_get_xact_numscans('g_edges_dst'::regclass) > 0 AS used_dst_index,
       pg_stat_get_xact_numscans('g_nodes_id'::regclass) > 0 AS used_id_index;
COMMIT;
RESET enable_seqscan;
DROP INDEX g_edges_dst, g_nodes_id;
RESET gnnjit.pruning;
