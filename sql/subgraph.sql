--
-- The subgraph strategies: per batch of targets, the L-hop neighbourhood
-- runs through the model (as PyG's NeighborLoader + model(batch) does).
-- Exact neighbourhoods give the full-graph rows bit for bit; sampled ones
-- depend on the seed.  Uses the fixture tables of the layers and jit tests.
--
SELECT s.strategy, count(DISTINCT c.name) AS cases, count(*) AS rows,
       bool_and(p.embedding = f.embedding) AS identical
FROM (VALUES ('subgraph'), ('subgraph_trimmed')) AS s(strategy), fx_case c
CROSS JOIN LATERAL gnn_infer(c.name, 'g_edges', 'g_nodes',
                             weight => CASE WHEN c.weighted THEN 'weight' END,
                             relation => CASE WHEN c.relational THEN 'relation' END,
                             strategy => s.strategy, batch_size => 7) AS p
JOIN run_portable f ON f.name = c.name AND f.node_id = p.node_id
GROUP BY s.strategy ORDER BY s.strategy;

EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT count(*) FROM gnn_infer('sage2', 'g_edges', 'g_nodes',
                               strategy => 'subgraph', batch_size => 8);
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT count(*) FROM gnn_infer('sage2', 'g_edges', 'g_nodes',
                               strategy => 'subgraph_trimmed', batch_size => 8);

-- sampled neighbourhoods: deterministic by seed; all neighbours (-1) exact
CREATE TABLE sampled AS
  SELECT 1 AS seed, * FROM gnn_infer('sage2', 'g_edges', 'g_nodes', strategy => 'subgraph',
                                     batch_size => 5, fanout => '{2,2}', seed => 1)
  UNION ALL
  SELECT 2, * FROM gnn_infer('sage2', 'g_edges', 'g_nodes', strategy => 'subgraph',
                             batch_size => 5, fanout => '{2,2}', seed => 2);
SELECT bool_and(a.embedding = b.embedding) AS same_seed_same_rows
FROM sampled a
JOIN gnn_infer('sage2', 'g_edges', 'g_nodes', strategy => 'subgraph',
               batch_size => 5, fanout => '{2,2}', seed => 1) AS b USING (node_id)
WHERE a.seed = 1;
SELECT bool_and(a.embedding = b.embedding) AS seeds_agree
FROM sampled a JOIN sampled b USING (node_id) WHERE a.seed = 1 AND b.seed = 2;
SELECT bool_and(p.embedding = f.embedding) AS all_neighbours_exact
FROM gnn_infer('sage2', 'g_edges', 'g_nodes', strategy => 'subgraph',
               batch_size => 5, fanout => '{-1,-1}') AS p
JOIN run_portable f ON f.name = 'sage2' AND f.node_id = p.node_id;

-- bad options
SELECT count(*) FROM gnn_infer('sage2', 'g_edges', 'g_nodes', strategy => 'sampled');
SELECT count(*) FROM gnn_infer('sage2', 'g_edges', 'g_nodes', strategy => 'subgraph', batch_size => 0);
SELECT count(*) FROM gnn_infer('sage2', 'g_edges', 'g_nodes', fanout => '{10,10}');
SELECT count(*) FROM gnn_infer('sage2', 'g_edges', 'g_nodes', strategy => 'subgraph', fanout => '{}');
SELECT count(*) FROM gnn_infer('sage2', 'g_edges', 'g_nodes', strategy => 'subgraph', fanout => '{-2}');
