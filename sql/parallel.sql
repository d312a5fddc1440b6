--
-- Parallel GnnScan: Gather over a parallel-aware scan whose participants
-- share the graph in dynamic shared memory and split every layer's nodes.
-- Rows equal the serial plan's bit for bit, with and without the leader
-- taking part and when no worker can be had.  Uses the fixture tables of
-- the layers and jit tests.
--
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET max_parallel_workers_per_gather = 2;

EXPLAIN (COSTS OFF)
SELECT * FROM gnn_infer('gat_heads', 'g_edges', 'g_nodes');

SELECT c.name, count(*) AS rows, bool_and(p.embedding = f.embedding) AS identical
FROM fx_case c
CROSS JOIN LATERAL (SELECT * FROM gnn_infer(c.name, 'g_edges', 'g_nodes',
                    weight => CASE WHEN c.weighted THEN 'weight' END,
                             relation => CASE WHEN c.relational THEN 'relation' END) OFFSET 0) AS p
JOIN run_portable f ON f.name = c.name AND f.node_id = p.node_id
WHERE c.name IN ('gcn_mix', 'sage2', 'gat_heads', 'gin_bn', 'mlp')
GROUP BY c.name ORDER BY c.name;

-- every case through a parallel plan (a lateral call cannot be parallel,
-- nor can INSERT ... SELECT: one CREATE TABLE AS per case, its plan checked)
CREATE TABLE run_parallel (name text, node_id bigint, embedding real[]);
DO $$
DECLARE
  c record;
BEGIN
  FOR c IN SELECT * FROM fx_case LOOP
    PERFORM parallel_into('run_one',
      format('SELECT * FROM gnn_infer(%L, %L, %L, weight => %L, relation => %L)',
             c.name, 'g_edges', 'g_nodes',
             CASE WHEN c.weighted THEN 'weight' END,
             CASE WHEN c.relational THEN 'relation' END));
    INSERT INTO run_parallel SELECT c.name, * FROM run_one;
    DROP TABLE run_one;
  END LOOP;
END $$;
SELECT count(DISTINCT name) AS cases, count(*) AS rows,
       bool_and(p.embedding = f.embedding) AS identical
FROM run_parallel p JOIN run_portable f USING (name, node_id);

-- the leader not taking part, and no worker to be had
SET parallel_leader_participation = off;
SELECT count(*), bool_and(p.embedding = f.embedding) AS identical
FROM gnn_infer('sage2', 'g_edges', 'g_nodes') AS p
JOIN run_portable f ON f.name = 'sage2' AND f.node_id = p.node_id;
RESET parallel_leader_participation;
SET max_parallel_workers = 0;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT count(*) FROM gnn_infer('sage2', 'g_edges', 'g_nodes');
SELECT count(*), bool_and(p.embedding = f.embedding) AS identical
FROM gnn_infer('sage2', 'g_edges', 'g_nodes') AS p
JOIN run_portable f ON f.name = 'sage2' AND f.node_id = p.node_id;
RESET max_parallel_workers;

-- the same graph with ids 0..n-1, which are mapped through a direct array
-- instead of the hash table: the same rows, serial and parallel (edges
-- copied in table order, which fixes each sum's order)
CREATE TABLE d_map AS SELECT id, row_number() OVER (ORDER BY id) - 1 AS did FROM g_nodes;
CREATE TABLE d_nodes AS
  SELECT m.did AS id, n.features FROM g_nodes n JOIN d_map m USING (id) ORDER BY n.ctid;
CREATE TABLE d_edges AS
  SELECT s.did AS src, d.did AS dst, e.weight FROM g_edges e
  JOIN d_map s ON s.id = e.src JOIN d_map d ON d.id = e.dst ORDER BY e.ctid;
SELECT parallel_into('d_par', $$SELECT * FROM gnn_infer('gcn_mix', 'd_edges', 'd_nodes', weight => 'weight')$$);
SET max_parallel_workers_per_gather = 0;
SELECT count(*), bool_and(p.embedding = f.embedding AND s.embedding = f.embedding) AS identical
FROM d_par p
JOIN gnn_infer('gcn_mix', 'd_edges', 'd_nodes', weight => 'weight') s USING (node_id)
JOIN d_map m ON m.did = p.node_id
JOIN run_portable f ON f.name = 'gcn_mix' AND f.node_id = m.id;
SET max_parallel_workers_per_gather = 2;
-- a node table whose statistics undercount its rows (taken when its rows
-- were wide): the shared node arrays, sized by the estimate, overflow, and
-- the rows that did not fit are moved in by their readers
CREATE TABLE o_nodes (id bigint, features real[]) WITH (autovacuum_enabled = off);
INSERT INTO o_nodes SELECT -i, array_fill(0::real, ARRAY[400]) FROM generate_series(1, 200) i;
ANALYZE o_nodes;
DELETE FROM o_nodes;
INSERT INTO o_nodes
  SELECT i, ARRAY[sin(i), cos(i), sin(2 * i), cos(3 * i), 0.5]::real[]
  FROM generate_series(0, 29999) i;
CREATE TABLE o_edges AS
  SELECT (i * 7919) % 30000 AS src, i % 30000 AS dst FROM generate_series(0, 89999) i;
SELECT parallel_into('o_par', $$SELECT * FROM gnn_infer('sage2', 'o_edges', 'o_nodes')$$);
SET max_parallel_workers_per_gather = 0;
SELECT count(*), bool_and(p.embedding = s.embedding) AS identical
FROM o_par p JOIN gnn_infer('sage2', 'o_edges', 'o_nodes') s USING (node_id);
SET max_parallel_workers_per_gather = 2;
-- a repeated id is found by the parallel read's id map too
INSERT INTO d_nodes SELECT 3, features FROM d_nodes WHERE id = 3;
SELECT try($$SELECT parallel_into('d_dup', 'SELECT * FROM gnn_infer(''gcn_mix'', ''d_edges'', ''d_nodes'')')$$);

RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
