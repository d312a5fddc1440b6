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

-- the rows of targets of the cases named (all: NULL) against the full graph
CREATE FUNCTION pruned_rows(targets bigint[], cases text[] DEFAULT NULL)
RETURNS TABLE (name text, rows bigint, identical boolean) LANGUAGE sql AS $$
  SELECT c.name, count(*), bool_and(p.embedding = f.embedding)
  FROM fx_case c
  CROSS JOIN LATERAL gnn_infer(c.name, 'g_edges', 'g_nodes',
                               weight => CASE WHEN c.weighted THEN 'weight' END,
                               relation => CASE WHEN c.relational THEN 'relation' END) AS p
  JOIN run_portable f ON f.name = c.name AND f.node_id = p.node_id
  WHERE p.node_id = ANY(targets) AND (cases IS NULL OR c.name = ANY(cases))
  GROUP BY c.name ORDER BY c.name $$;

-- every layer type: pruned rows are the full-graph rows, bit for bit
SELECT * FROM pruned_rows(ARRAY(SELECT id FROM g_nodes ORDER BY id DESC LIMIT 7));

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
-- index-only through a covering index on all-visible pages, and a dead row
-- version (its page not all-visible: the heap decides): the same rows
CREATE INDEX g_edges_dst_all ON g_edges (dst) INCLUDE (src, weight, relation);
VACUUM g_edges;
INSERT INTO g_edges VALUES (930, :hub, 5, 0);
DELETE FROM g_edges WHERE src = 930 AND dst = :hub AND weight = 5;
SELECT * FROM pruned_rows(ARRAY(SELECT id FROM g_nodes ORDER BY id DESC LIMIT 5) || :hub::bigint,
                          '{sage2, gcn_mix, rgcn}');
DROP INDEX g_edges_dst, g_nodes_id, g_edges_dst_all;

-- a graph big enough for reading by key to beat a scan (uniform, 8 edges
-- per node): point queries read through the indexes directly, index-only
-- where the covering index and an all-visible page allow, the heap where
-- a page holds a dead row version; the rows equal the full graph's
SELECT gnn_generate_graph('p_nodes', 'p_edges', 20000, 160000, 5, 7, 0.25, 0.25, 0.25);
CREATE INDEX p_nodes_id ON p_nodes (id);
CREATE INDEX p_edges_cover ON p_edges (dst) INCLUDE (src);
VACUUM ANALYZE p_nodes, p_edges;
INSERT INTO p_edges VALUES (11, 5);
DELETE FROM p_edges WHERE src = 11 AND dst = 5 AND ctid > '(0,0)' AND ctid = (SELECT max(ctid) FROM p_edges);
SET gnnjit.pruning = off;
CREATE TEMP TABLE p_full AS SELECT * FROM gnn_infer('gat_heads', 'p_edges', 'p_nodes');
RESET gnnjit.pruning;
-- the targets' rows against the full graph's, and whether both indexes were
-- scanned (in a transaction of its own)
CREATE FUNCTION point_rows(e regclass, n regclass, eidx regclass, nidx regclass,
                           targets bigint[])
RETURNS TABLE (rows bigint, identical boolean, used_dst_index boolean,
               used_id_index boolean) LANGUAGE sql AS $$
  SELECT count(*), bool_and(p.embedding = f.embedding),
         pg_stat_get_xact_numscans(eidx) > 0, pg_stat_get_xact_numscans(nidx) > 0
  FROM gnn_infer('gat_heads', e, n) p JOIN p_full f USING (node_id)
  WHERE p.node_id = ANY(targets) $$;
SELECT * FROM point_rows('p_edges', 'p_nodes', 'p_edges_cover', 'p_nodes_id', '{5, 11, 19999}');
-- twenty consecutive targets, their neighbourhoods overlapping
SELECT * FROM point_rows('p_edges', 'p_nodes', 'p_edges_cover', 'p_nodes_id',
                         ARRAY(SELECT generate_series(100, 119)::bigint));
-- many keys found in one walk along an integer btree's leaves, their rows
-- then fetched from the heap: a plain index on dst, whose repeated keys are
-- deduplicated into posting lists; node rows updated (dead versions, HOT
-- chains) and an aborted insert of a second row for a node; then a
-- descending index, which is searched a key at a time instead
DROP INDEX p_edges_cover;
CREATE INDEX p_edges_dst ON p_edges (dst);
SELECT * FROM point_rows('p_edges', 'p_nodes', 'p_edges_dst', 'p_nodes_id',
                         ARRAY(SELECT generate_series(7, 19999, 1000)::bigint));
UPDATE p_nodes SET features = features WHERE id % 3 = 0;
BEGIN;
INSERT INTO p_nodes SELECT id, features FROM p_nodes WHERE id = 1007;
ROLLBACK;
SELECT * FROM point_rows('p_edges', 'p_nodes', 'p_edges_dst', 'p_nodes_id',
                         ARRAY(SELECT generate_series(7, 19999, 1000)::bigint));
DROP INDEX p_nodes_id;
CREATE INDEX p_nodes_id_desc ON p_nodes (id DESC);
SELECT * FROM point_rows('p_edges', 'p_nodes', 'p_edges_dst', 'p_nodes_id_desc',
                         ARRAY(SELECT generate_series(7, 19999, 1000)::bigint));
-- integer columns: the index is searched with bigint keys (cross-type)
CREATE TABLE p_nodes4 AS SELECT id::int AS id, features FROM p_nodes ORDER BY ctid;
CREATE TABLE p_edges4 AS SELECT src::int AS src, dst::int AS dst FROM p_edges ORDER BY ctid;
CREATE INDEX p_nodes4_id ON p_nodes4 (id);
CREATE INDEX p_edges4_dst ON p_edges4 (dst) INCLUDE (src);
VACUUM ANALYZE p_nodes4, p_edges4;
SELECT * FROM point_rows('p_edges4', 'p_nodes4', 'p_edges4_dst', 'p_nodes4_id',
                         '{5, 11, 19999, 2147483648}');
RESET gnnjit.pruning;
