--
-- gnn_generate_graph(): synthetic R-MAT graphs with random features.
-- Shape, determinism, skew, the tables' ownership and persistence, and the
-- errors of bad arguments.
--

SELECT gnn_generate_graph('gen_n1', 'gen_e1', 1024, 16384, 16, 42);

-- nodes 0..1023, once each, 16 features in [-1, 1) centred on 0
SELECT count(*), count(DISTINCT id), min(id), max(id) FROM gen_n1;
SELECT count(*) FILTER (WHERE array_ndims(features) <> 1 OR array_lower(features, 1) <> 1
                          OR array_length(features, 1) <> 16) AS bad_shape
FROM gen_n1;
SELECT min(f) >= -1 AS lo, max(f) < 1 AS hi, abs(avg(f)) < 0.02 AS mean_0,
       abs(stddev(f) - 1 / sqrt(3)) < 0.01 AS stddev_uniform,
       count(DISTINCT f) > 16000 AS distinct_values
FROM gen_n1, unnest(features) AS f;

-- edges: endpoints are nodes; self loops and duplicates are kept
SELECT count(*) AS edges,
       count(*) FILTER (WHERE src < 0 OR src >= 1024 OR dst < 0 OR dst >= 1024) AS out_of_range,
       count(*) FILTER (WHERE src IS NULL OR dst IS NULL) AS nulls,
       count(*) FILTER (WHERE src = dst) > 0 AS self_loops,
       count(*) > count(DISTINCT (src, dst)) AS duplicates
FROM gen_e1;

-- skewed: the busiest node has far more in-edges than the mean of 16 (R-MAT
-- gives it about 16384 * 0.76^10, some 1000), and many nodes have none
SELECT max(c) > 10 * 16 AS skewed_in, count(*) < 1024 AS some_without_in_edges
FROM (SELECT count(*) AS c FROM gen_e1 GROUP BY dst) AS d;
SELECT max(c) > 10 * 16 AS skewed_out
FROM (SELECT count(*) AS c FROM gen_e1 GROUP BY src) AS d;

-- the busiest nodes are not just the small ids: the permutation spreads them
SELECT count(*) FILTER (WHERE dst >= 512) > 0 AS spread
FROM (SELECT dst FROM gen_e1 GROUP BY dst ORDER BY count(*) DESC LIMIT 10) AS top;

-- the same arguments give the same graph, whatever the persistence
SELECT gnn_generate_graph('gen_n2', 'gen_e2', 1024, 16384, 16, 42, unlogged => true);
SELECT (SELECT count(*) FROM (TABLE gen_n1 EXCEPT ALL TABLE gen_n2) AS d) AS nodes_1_not_2,
       (SELECT count(*) FROM (TABLE gen_n2 EXCEPT ALL TABLE gen_n1) AS d) AS nodes_2_not_1,
       (SELECT count(*) FROM (TABLE gen_e1 EXCEPT ALL TABLE gen_e2) AS d) AS edges_1_not_2,
       (SELECT count(*) FROM (TABLE gen_e2 EXCEPT ALL TABLE gen_e1) AS d) AS edges_2_not_1;

-- and in the same order
SELECT count(*) AS order_differs
FROM (SELECT row_number() OVER () AS i, src, dst FROM gen_e1) AS a
     JOIN (SELECT row_number() OVER () AS i, src, dst FROM gen_e2) AS b USING (i)
WHERE (a.src, a.dst) <> (b.src, b.dst);

-- another seed gives another graph
SELECT gnn_generate_graph('gen_n3', 'gen_e3', 1024, 16384, 16, 43);
SELECT (SELECT count(*) FROM (TABLE gen_n1 INTERSECT ALL TABLE gen_n3) AS d) AS same_nodes,
       (SELECT count(*) FROM (TABLE gen_e1 EXCEPT ALL TABLE gen_e3) AS d) > 10000 AS edges_differ;

-- the generator is part of the interface: benchmarks rely on a seed giving
-- the same graph in every version
SELECT features FROM gen_n1 WHERE id IN (0, 1023) ORDER BY id;
SELECT sum(src) AS sum_src, sum(dst) AS sum_dst, count(DISTINCT dst) AS with_in_edges,
       count(*) FILTER (WHERE src = dst) AS self_loops
FROM gen_e1;
SELECT sum(f::float8 * 8388608)::bigint AS feature_sum FROM gen_n1, unnest(features) AS f;

-- tables as CREATE TABLE makes them: owned by the caller, logged or not
SELECT c.relname, c.relpersistence, pg_get_userbyid(c.relowner) = current_user AS mine,
       (SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || ' ' || attstorage::text, ', ' ORDER BY attnum)
        FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0) AS columns
FROM pg_class c
WHERE c.relname IN ('gen_n1', 'gen_e1', 'gen_n2', 'gen_e2')
ORDER BY c.relname;

-- the rows are visible to the rest of the transaction, and go with it
BEGIN;
SELECT gnn_generate_graph('gen_rb_n', 'gen_rb_e', 10, 25, 2);
SELECT (SELECT count(*) FROM gen_rb_n) AS nodes, (SELECT count(*) FROM gen_rb_e) AS edges;
ROLLBACK;
SELECT to_regclass('gen_rb_n') AS nodes, to_regclass('gen_rb_e') AS edges;

-- edge cases: one node, no edges, an odd feature width, a node count just
-- past a power of two (most R-MAT draws are redrawn)
SELECT gnn_generate_graph('gen_one_n', 'gen_one_e', 1, 5, 3);
SELECT id, array_length(features, 1) FROM gen_one_n;
SELECT src, dst, count(*) FROM gen_one_e GROUP BY src, dst;
SELECT gnn_generate_graph('gen_none_n', 'gen_none_e', 5, 0, 1);
SELECT (SELECT count(*) FROM gen_none_n) AS nodes, (SELECT count(*) FROM gen_none_e) AS edges;
SELECT gnn_generate_graph('gen_odd_n', 'gen_odd_e', 1025, 2000, 1, 7);
SELECT count(*), max(src) < 1025 AND max(dst) < 1025 AS in_range FROM gen_odd_e;

-- names: schema-qualified, quoted, case-sensitive when quoted; never SQL
CREATE SCHEMA gen_s;
SELECT gnn_generate_graph('gen_s.nodes', 'gen_s."Edges; DROP TABLE gen_n1"', 4, 4, 1);
SELECT (SELECT count(*) FROM gen_s.nodes) AS nodes,
       (SELECT count(*) FROM gen_s."Edges; DROP TABLE gen_n1") AS edges,
       to_regclass('gen_n1') IS NOT NULL AS gen_n1_still_there;
SELECT try($$SELECT gnn_generate_graph('gen_n9', 'gen_e9; DROP TABLE gen_n1', 4, 4)$$);
SELECT try($$SELECT gnn_generate_graph('a.b.c.d', 'gen_e9', 4, 4)$$);
SELECT try($$SELECT gnn_generate_graph('gen_no_such_schema.n', 'gen_e9', 4, 4)$$);
SELECT try($$SELECT gnn_generate_graph('other_db.gen_s.n', 'gen_e9', 4, 4)$$);

-- an unqualified name is the table created, even with a temporary table of
-- that name first in search_path
CREATE TEMP TABLE gen_shadow_e (src bigint, dst bigint);
SELECT gnn_generate_graph('gen_shadow_n', 'gen_shadow_e', 8, 30, 1);
SELECT (SELECT count(*) FROM gen_shadow_e) AS temp_rows,
       (SELECT count(*) FROM public.gen_shadow_e) AS created_rows;
DROP TABLE gen_shadow_e;

-- existing tables: nothing is created or filled
SELECT try($$SELECT gnn_generate_graph('gen_n1', 'gen_e9', 4, 4)$$);
SELECT try($$SELECT gnn_generate_graph('gen_n9', 'gen_e1', 4, 4)$$);
SELECT try($$SELECT gnn_generate_graph('gen_n9', 'gen_n9', 4, 4)$$);
SELECT to_regclass('gen_n9') AS gen_n9, to_regclass('gen_e9') AS gen_e9;

-- bad arguments; the last R-MAT parameters put every edge on vertex
-- pair (3, 3) before the permutation, which seed 6 maps beyond num_nodes
SELECT try($$SELECT gnn_generate_graph('gen_n9', 'gen_e9', 0, 4)$$);
SELECT try($$SELECT gnn_generate_graph('gen_n9', 'gen_e9', 2147483648, 4)$$);
SELECT try($$SELECT gnn_generate_graph('gen_n9', 'gen_e9', 4, -1)$$);
SELECT try($$SELECT gnn_generate_graph('gen_n9', 'gen_e9', 4, 4, 0)$$);
SELECT try($$SELECT gnn_generate_graph('gen_n9', 'gen_e9', 4, 4, 65536)$$);
SELECT try($$SELECT gnn_generate_graph('gen_n9', 'gen_e9', 4, 4, a => -0.1)$$);
SELECT try($$SELECT gnn_generate_graph('gen_n9', 'gen_e9', 4, 4, b => 1.5)$$);
SELECT try($$SELECT gnn_generate_graph('gen_n9', 'gen_e9', 4, 4, c => 'NaN')$$);
SELECT try($$SELECT gnn_generate_graph('gen_n9', 'gen_e9', 4, 4, a => 0.5, b => 0.3, c => 0.3)$$);
SELECT try($$SELECT gnn_generate_graph('gen_n9', 'gen_e9', 3, 4, seed => 6, a => 0, b => 0, c => 0)$$);
SELECT gnn_generate_graph('gen_n9', 'gen_e9', NULL, 4) IS NULL AS strict;
SELECT to_regclass('gen_n9') AS gen_n9, to_regclass('gen_e9') AS gen_e9;

-- cancellation works mid-way
SET statement_timeout = '200ms';
SELECT gnn_generate_graph('gen_n9', 'gen_e9', 1000, 1000000000000, 1);
RESET statement_timeout;
SELECT to_regclass('gen_n9') AS gen_n9, to_regclass('gen_e9') AS gen_e9;

-- a + b + c = 1 exactly is fine: d is 0
SELECT gnn_generate_graph('gen_d0_n', 'gen_d0_e', 16, 100, 1, a => 0.5, b => 0.25, c => 0.25);
SELECT count(*) FROM gen_d0_e;

-- the tables are created with the caller's rights
CREATE ROLE regress_gen_user;
CREATE SCHEMA gen_own AUTHORIZATION regress_gen_user;
SET ROLE regress_gen_user;
SELECT try($$SELECT gnn_generate_graph('public.gen_n9', 'public.gen_e9', 4, 4)$$);
SELECT gnn_generate_graph('gen_own.n', 'gen_own.e', 4, 4, 1);
RESET ROLE;
SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'gen_own' ORDER BY tablename;

-- tables that an event trigger gave an index are not filled behind its back
CREATE FUNCTION gen_add_index() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE object_identity LIKE '%gen_trig_e' LOOP
    EXECUTE format('CREATE INDEX ON %s (src)', r.object_identity);
  END LOOP;
END $$;
CREATE EVENT TRIGGER gen_add_index ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
  EXECUTE FUNCTION gen_add_index();
SELECT try($$SELECT gnn_generate_graph('gen_trig_n', 'gen_trig_e', 4, 4)$$);
DROP EVENT TRIGGER gen_add_index;
DROP FUNCTION gen_add_index();

DROP SCHEMA gen_own CASCADE;
DROP ROLE regress_gen_user;
DROP SCHEMA gen_s CASCADE;
DROP TABLE gen_n1, gen_e1, gen_n2, gen_e2, gen_n3, gen_e3, gen_one_n, gen_one_e,
  gen_none_n, gen_none_e, gen_odd_n, gen_odd_e, gen_shadow_n, gen_shadow_e,
  gen_d0_n, gen_d0_e;
