--
-- The JIT: compiled and portable kernels give the same outputs for every
-- layer type and option; compiled code is cached per model; without
-- PostgreSQL's jit the portable kernels run.  Uses the fixture tables of
-- the layers test, which runs first.
--
SET gnnjit.jit_above_cost = 0;

SET gnnjit.jit = off;
CREATE TABLE run_portable AS
  SELECT c.name, r.node_id, r.embedding
  FROM fx_case c CROSS JOIN LATERAL gnn_infer(c.name, 'g_edges', 'g_nodes',
       weight => CASE WHEN c.weighted THEN 'weight' END,
                             relation => CASE WHEN c.relational THEN 'relation' END) AS r;
SELECT bool_or(jit) AS used_jit FROM gnn_last_inference();

SET gnnjit.jit = on;
SELECT compiles AS compiles_before FROM gnn_jit_stats() \gset
CREATE TABLE run_jit AS
  SELECT c.name, r.node_id, r.embedding
  FROM fx_case c CROSS JOIN LATERAL gnn_infer(c.name, 'g_edges', 'g_nodes',
       weight => CASE WHEN c.weighted THEN 'weight' END,
                             relation => CASE WHEN c.relational THEN 'relation' END) AS r;
SELECT bool_and(jit) AS used_jit FROM gnn_last_inference();
SELECT available, compiles - :compiles_before AS compiled_models,
       functions > 0 AS has_functions
FROM gnn_jit_stats();

-- the same values, case by case (1e-6 relative: only rounding differs,
-- e.g. fused multiply-adds)
SELECT p.name,
       count(*) AS rows,
       bool_and(abs(a - b) <= 1e-6 * greatest(abs(b), 1)) AS same
FROM run_portable p JOIN run_jit j USING (name, node_id),
     unnest(p.embedding, j.embedding) AS u(a, b)
GROUP BY p.name ORDER BY p.name;

-- fused blocks (the default) and operation-at-a-time compiled code give
-- the same values bit for bit
SET gnnjit.jit_fusion = off;
CREATE TABLE run_unfused AS
  SELECT c.name, r.node_id, r.embedding
  FROM fx_case c CROSS JOIN LATERAL gnn_infer(c.name, 'g_edges', 'g_nodes',
       weight => CASE WHEN c.weighted THEN 'weight' END,
                             relation => CASE WHEN c.relational THEN 'relation' END) AS r;
RESET gnnjit.jit_fusion;
SELECT count(DISTINCT name) AS cases, bool_and(f.embedding = u.embedding) AS identical
FROM run_jit f JOIN run_unfused u USING (name, node_id);

-- the same on a power-law graph, whose hubs have more in-edges than many
-- blocks together (fused per-edge steps hold a block's in-edges in
-- scratch): fused and unfused identical, compiled and portable within
-- rounding (1e-5 relative: sums over a hub's thousands of in-edges round
-- differently with and without fused multiply-adds), for every case that
-- reads no edge column
SELECT gnn_generate_graph('pl_nodes', 'pl_edges', 3000, 60000, 5, 7);
SELECT max(indegree) > 64 * 20 AS has_hub
FROM (SELECT dst, count(*) AS indegree FROM pl_edges GROUP BY dst) AS d;
\set pl_run 'SELECT c.name, r.node_id, r.embedding FROM fx_case c CROSS JOIN LATERAL gnn_infer(c.name, ''pl_edges'', ''pl_nodes'') AS r WHERE NOT c.weighted AND NOT c.relational'
CREATE TABLE pl_fused AS :pl_run;
SET gnnjit.jit_fusion = off;
CREATE TABLE pl_unfused AS :pl_run;
RESET gnnjit.jit_fusion;
SET gnnjit.jit = off;
CREATE TABLE pl_portable AS :pl_run;
RESET gnnjit.jit;
SELECT count(DISTINCT name) AS cases, count(*) AS rows,
       bool_and(f.embedding = u.embedding) AS identical
FROM pl_fused f JOIN pl_unfused u USING (name, node_id);
SELECT bool_and(abs(a - b) <= 1e-5 * greatest(abs(b), 1)) AS same
FROM pl_fused f JOIN pl_portable p USING (name, node_id),
     unnest(f.embedding, p.embedding) AS u(a, b);

-- and the compiled outputs against the reference
SELECT bool_and(abs(a - b) <= 1e-5 * greatest(abs(b), 1)) AS within_tolerance,
       count(DISTINCT j.name) AS cases
FROM run_jit j JOIN fx_expected e ON e.name = j.name AND e.id = j.node_id,
     unnest(j.embedding, e.embedding) AS u(a, b);

-- a second run uses the cached code
SELECT compiles AS c0, cache_hits AS h0 FROM gnn_jit_stats() \gset
SELECT count(*) FROM gnn_infer('gat_heads', 'g_edges', 'g_nodes');
SELECT compiles - :c0 AS new_compiles, cache_hits - :h0 AS new_hits FROM gnn_jit_stats();

-- replacing the model compiles it again
SELECT gnn_create_model('gat_heads', spec, weights) FROM fx_model WHERE name = 'gat_heads';
SELECT count(*) FROM gnn_infer('gat_heads', 'g_edges', 'g_nodes');
SELECT compiles - :c0 AS new_compiles FROM gnn_jit_stats();

-- below gnnjit.jit_above_cost the portable kernels run
SET gnnjit.jit_above_cost = 1e12;
SELECT count(*) FROM gnn_infer('gat_heads', 'g_edges', 'g_nodes');
SELECT bool_or(jit) AS used_jit FROM gnn_last_inference();
RESET gnnjit.jit_above_cost;

-- without PostgreSQL's jit, the portable kernels give the same result
SET gnnjit.jit_above_cost = 0;
SET jit = off;
SELECT available FROM gnn_jit_stats();
CREATE TABLE run_nojit AS
  SELECT node_id, embedding FROM gnn_infer('gcn_mix', 'g_edges', 'g_nodes', weight => 'weight');
SELECT bool_or(jit) AS used_jit FROM gnn_last_inference();
SELECT bool_and(n.embedding = p.embedding) AS same_as_portable
FROM run_nojit n JOIN run_portable p ON p.name = 'gcn_mix' AND p.node_id = n.node_id;
RESET jit;

-- 1000 calls in one session leave memory flat: no leaked contexts, no new
-- JIT modules (one compile, then cache hits), resident size steady
SET gnnjit.jit_above_cost = 0;
SELECT count(*) FROM gnn_infer('gat_mean', 'g_edges', 'g_nodes');
SELECT sum(total_bytes) AS ctx_before FROM pg_backend_memory_contexts \gset
SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'),
                     'VmRSS:\s+(\d+)'))[1]::bigint AS rss_before \gset
SELECT compiles AS c0, cache_hits AS h0 FROM gnn_jit_stats() \gset
DO $$
BEGIN
  FOR i IN 1..1000 LOOP
    PERFORM count(*) FROM gnn_infer('gat_mean', 'g_edges', 'g_nodes');
  END LOOP;
END $$;
SELECT compiles - :c0 AS new_compiles, cache_hits - :h0 AS cache_hits FROM gnn_jit_stats();
SELECT sum(total_bytes) - :ctx_before < 64 * 1024 AS contexts_flat
FROM pg_backend_memory_contexts;
SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'),
                     'VmRSS:\s+(\d+)'))[1]::bigint - :rss_before < 4096 AS rss_flat;

-- ELU's expm1 is computed branch-free (vectorised) rather than by libm:
-- within 1.5e-7 relative of exp(x) - 1 in double over [-20, 0], compiled
-- and portable (a 1 -> 1 Linear with weight 1 feeds it x exactly)
SELECT gnn_create_model('elu1',
  '{"layers": [{"type": "Linear", "prefix": "lin", "in_features": 1, "out_features": 1},
               {"type": "ELU"}]}',
  st('{"lin.weight": {"dtype": "F32", "shape": [1, 1], "data_offsets": [0, 4]},
       "lin.bias": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}',
     '\x0000803f00000000'));
CREATE TABLE elu_nodes AS
  SELECT i AS id, ARRAY[(-20.0 * i / 200000)::real] AS features
  FROM generate_series(0, 200000) AS i;
CREATE TABLE elu_edges (src bigint, dst bigint);
SET gnnjit.jit_above_cost = 0;
CREATE TABLE elu_out AS
  SELECT 'jit' AS run, * FROM gnn_infer('elu1', 'elu_edges', 'elu_nodes');
SET gnnjit.jit = off;
INSERT INTO elu_out SELECT 'portable', * FROM gnn_infer('elu1', 'elu_edges', 'elu_nodes');
RESET gnnjit.jit;
SELECT o.run, count(*) AS values,
       max(abs(o.embedding[1] - t.v) / greatest(abs(t.v), 1e-300)) < 1.5e-7 AS within_tolerance
FROM elu_out o JOIN elu_nodes n ON n.id = o.node_id
CROSS JOIN LATERAL (SELECT exp(n.features[1]::float8) - 1 AS v) AS t
GROUP BY o.run ORDER BY o.run;
RESET gnnjit.jit_above_cost;
