--
-- The shard side of distributed inference, in one session: one shard
-- holding the whole graph gives gnn_infer's rows; a shard of a hash
-- partition agrees with PostgreSQL's partitioning and asks for exactly its
-- halo; messages and layouts are checked.  (Several servers: TAP test
-- test/t/003_distributed.pl.)
--
SELECT gnn_generate_graph('dist_nodes', 'dist_edges', 300, 2000, 5, 11);

-- SQLSTATE and message of a failing statement, without its detail
CREATE FUNCTION try_msg(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE stmt;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- an empty message: magic "GNJ1", no sections
CREATE FUNCTION empty_msg() RETURNS bytea LANGUAGE sql AS $$ SELECT '\x474e4a3100000000'::bytea $$;

SELECT gnn_model_fingerprint('sage2') ~ '^[0-9a-f]{64}$' AS hex,
       gnn_model_fingerprint('sage2') <> gnn_model_fingerprint('gat_heads') AS differ,
       gnn_model_fingerprint('nope') IS NULL AS missing;

-- run the open session's steps to the end; the number of exchanges
CREATE FUNCTION run_steps() RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  msg bytea := empty_msg();
  n int := 0;
BEGIN
  LOOP
    msg := gnn_shard_step(msg);
    EXIT WHEN msg IS NULL;
    n := n + 1;
    msg := empty_msg();		-- one shard: no other shard sends rows
  END LOOP;
  RETURN n;
END $$;

-- one shard (modulus 1) holds everything: the same rows as gnn_infer
CREATE FUNCTION one_shard(model text) RETURNS TABLE (request bytea, exchanges int, same boolean)
LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  request := gnn_shard_open(model, gnn_model_fingerprint(model), 'dist_edges', 'dist_nodes',
                            'src', 'dst', NULL, 'id', 'features', 1, 0);
  PERFORM gnn_shard_serve(empty_msg());
  exchanges := run_steps();
  SELECT count(*) INTO n FROM gnn_infer(model, 'dist_edges', 'dist_nodes');
  -- one message: header, ids section (24 + 8n bytes), rows section
  SELECT get_byte(m, 4) = 2 AND
         (substring(m FROM 9 + 24 FOR 8 * n::int) =
            (SELECT string_agg(u64le(node_id), ''::bytea ORDER BY o)
             FROM gnn_infer(model, 'dist_edges', 'dist_nodes') WITH ORDINALITY AS r(node_id, embedding, o))
          AND substring(m FROM 9 + 24 + 8 * n::int + 24) =
            (SELECT string_agg(f32le(embedding), ''::bytea ORDER BY o)
             FROM gnn_infer(model, 'dist_edges', 'dist_nodes') WITH ORDINALITY AS r(node_id, embedding, o)))
    INTO same
    FROM gnn_shard_fetch(1000000) AS m;
  RETURN NEXT;
END $$;

SELECT request = empty_msg() AS no_halo, exchanges, same FROM one_shard('sage2');
SELECT nodes, halo, edges, peak_bytes > 0 AS peak, jit, array_length(layer_ms, 1) AS layers
FROM gnn_shard_stats();
SELECT request = empty_msg() AS no_halo, exchanges, same FROM one_shard('gat_heads');
SELECT gnn_shard_close();

-- a shard of a hash partition: PostgreSQL's partitioning and the shard agree
CREATE TABLE hp_nodes (id bigint, features real[]) PARTITION BY HASH (id);
CREATE TABLE hp_nodes_0 PARTITION OF hp_nodes FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE hp_nodes_1 PARTITION OF hp_nodes FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE hp_edges (src bigint, dst bigint) PARTITION BY HASH (dst);
CREATE TABLE hp_edges_0 PARTITION OF hp_edges FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE hp_edges_1 PARTITION OF hp_edges FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO hp_nodes SELECT id, features FROM dist_nodes;
INSERT INTO hp_edges SELECT src, dst FROM dist_edges;

-- remainder 0 asks shard 1 for exactly the sources it lacks, in order
WITH req AS (
  SELECT gnn_shard_open('sage2', gnn_model_fingerprint('sage2'), 'hp_edges_0', 'hp_nodes_0',
                        'src', 'dst', NULL, 'id', 'features', 2, 0) AS m),
halo AS (
  SELECT src FROM hp_edges_0 WHERE src IN (SELECT id FROM hp_nodes_1)
  GROUP BY src ORDER BY min(ctid))
SELECT get_byte(m, 4) AS sections, get_byte(m, 8) AS peer,
       substring(m FROM 9 + 24) = (SELECT string_agg(u64le(src), ''::bytea) FROM halo) AS exact_halo,
       (SELECT count(*) FROM halo) > 0 AS has_halo
FROM req;
SELECT nodes = (SELECT count(*) FROM hp_nodes_0) AS own_nodes,
       halo = (SELECT count(DISTINCT src) FROM hp_edges_0 WHERE src IN (SELECT id FROM hp_nodes_1)) AS halo
FROM gnn_shard_stats();
-- the other shard's rows were not served yet
SELECT try_msg($$SELECT gnn_shard_step(empty_msg())$$);

-- nodes in the wrong partition
SELECT try_msg($$SELECT gnn_shard_open('sage2', gnn_model_fingerprint('sage2'), 'hp_edges_1', 'hp_nodes_1',
                                        'src', 'dst', NULL, 'id', 'features', 2, 0)$$);
-- an edge whose target is another shard's
SELECT try_msg($$SELECT gnn_shard_open('sage2', gnn_model_fingerprint('sage2'), 'dist_edges', 'hp_nodes_0',
                                        'src', 'dst', NULL, 'id', 'features', 2, 0)$$);
-- a source no shard has
CREATE TABLE dangling_edges AS SELECT src, dst FROM dist_edges UNION ALL SELECT 100000, 0;
SELECT try_msg($$SELECT gnn_shard_open('sage2', gnn_model_fingerprint('sage2'), 'dangling_edges', 'dist_nodes',
                                        'src', 'dst', NULL, 'id', 'features', 1, 0)$$);
-- another model than the coordinator's
SELECT try_msg($$SELECT gnn_shard_open('sage2', gnn_model_fingerprint('gat_heads'), 'dist_edges', 'dist_nodes',
                                        'src', 'dst', NULL, 'id', 'features', 1, 0)$$);
SELECT try_msg($$SELECT gnn_shard_open('sage2', 'x', 'dist_edges', 'dist_nodes',
                                        'src', 'dst', NULL, 'id', 'features', 2, 2)$$);

-- malformed messages end the session with an error
SELECT length(gnn_shard_open('sage2', gnn_model_fingerprint('sage2'), 'dist_edges', 'dist_nodes',
                             'src', 'dst', NULL, 'id', 'features', 1, 0));
SELECT try_msg($$SELECT gnn_shard_serve('\x00')$$);
SELECT try_msg($$SELECT gnn_shard_serve(empty_msg())$$);
SELECT length(gnn_shard_open('sage2', gnn_model_fingerprint('sage2'), 'dist_edges', 'dist_nodes',
                             'src', 'dst', NULL, 'id', 'features', 1, 0));
SELECT try_msg($$SELECT gnn_shard_serve('\x0000000000000000')$$);
SELECT length(gnn_shard_open('sage2', gnn_model_fingerprint('sage2'), 'dist_edges', 'dist_nodes',
                             'src', 'dst', NULL, 'id', 'features', 1, 0));
SELECT try_msg($$SELECT gnn_shard_serve('\x474e4a31ff000000')$$);
SELECT length(gnn_shard_open('sage2', gnn_model_fingerprint('sage2'), 'dist_edges', 'dist_nodes',
                             'src', 'dst', NULL, 'id', 'features', 1, 0));
-- a request (peer 1, 1 id) that claims more rows than it has
SELECT try_msg($$SELECT gnn_shard_serve('\x474e4a3101000000'::bytea || '\x01000000ffffffff00000000000000000200000000000000'::bytea || '\x0500000000000000'::bytea)$$);
SELECT length(gnn_shard_open('sage2', gnn_model_fingerprint('sage2'), 'dist_edges', 'dist_nodes',
                             'src', 'dst', NULL, 'id', 'features', 1, 0));
SELECT gnn_shard_serve(empty_msg());
-- halo rows that were not asked for
SELECT try_msg($$SELECT gnn_shard_step(empty_msg())$$) IN ('ok');
SELECT try_msg($$SELECT gnn_shard_step('\x474e4a3101000000'::bytea || '\x010000000000000001000000000000000100000000000000'::bytea || '\x0000803f'::bytea)$$);
SELECT try_msg($$SELECT gnn_shard_fetch(10)$$);
SELECT try_msg($$SELECT gnn_shard_stats()$$);

-- coordinator: layouts that cannot run distributed
CREATE EXTENSION postgres_fdw;
CREATE SERVER nowhere FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '/nonexistent', port '1', dbname 'x');
CREATE TABLE fn (id bigint, features real[]) PARTITION BY HASH (id);
CREATE FOREIGN TABLE fn_0 PARTITION OF fn FOR VALUES WITH (MODULUS 2, REMAINDER 0) SERVER nowhere;
CREATE TABLE fn_1 PARTITION OF fn FOR VALUES WITH (MODULUS 2, REMAINDER 1);
SELECT try_msg($$SELECT * FROM gnn_infer('sage2', 'dist_edges', 'fn')$$);
CREATE TABLE fe (src bigint, dst bigint) PARTITION BY HASH (dst);
CREATE FOREIGN TABLE fe_0 PARTITION OF fe FOR VALUES WITH (MODULUS 2, REMAINDER 0) SERVER nowhere;
CREATE FOREIGN TABLE fe_1 PARTITION OF fe FOR VALUES WITH (MODULUS 2, REMAINDER 1) SERVER nowhere;
SELECT try_msg($$SELECT * FROM gnn_infer('sage2', 'fe', 'fn')$$);
DROP TABLE fn_1;
CREATE FOREIGN TABLE fn_1 PARTITION OF fn FOR VALUES WITH (MODULUS 2, REMAINDER 1) SERVER nowhere;
SELECT try_msg($$SELECT * FROM gnn_infer('sage2', 'dist_edges', 'fn')$$);
SELECT try_msg($$SELECT * FROM gnn_infer('sage2', 'fe', 'fn', dst => 'src')$$);
CREATE TABLE fl (src bigint, dst bigint) PARTITION BY LIST (dst);
SELECT try_msg($$SELECT * FROM gnn_infer('sage2', 'fl', 'fn')$$);
-- no user mapping, then no server at the address
SELECT try_msg($$SELECT * FROM gnn_infer('sage2', 'fe', 'fn')$$) LIKE '42704: user mapping not found for %';
CREATE USER MAPPING FOR CURRENT_USER SERVER nowhere;
SELECT try_msg($$SELECT * FROM gnn_infer('sage2', 'fe', 'fn')$$);
EXPLAIN (COSTS OFF) SELECT * FROM gnn_infer('sage2', 'fe', 'fn');

-- gnn_shard_execute runs as its caller's user mapping; not for PUBLIC
SELECT has_function_privilege('public', 'gnn_shard_execute(text, text)', 'execute') AS public_can;
SELECT try_msg($$SELECT gnn_distribute('dist_edges', 'dist_nodes', '{}', 'x', 'y')$$);
