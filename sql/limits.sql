
-- a deep model: 24 Linear(256 -> 256) layers sharing one weight (all 1/256)
CREATE TABLE deep AS SELECT
  jsonb_build_object('layers',
    (SELECT jsonb_agg(jsonb_build_object('type', 'Linear', 'prefix', 'lin',
                                         'in_channels', 256, 'out_channels', 256))
     FROM generate_series(1, 24))) AS spec,
  st('{"lin.weight": {"dtype": "F32", "shape": [256, 256], "data_offsets": [0, 262144]}, '
     '"lin.bias": {"dtype": "F32", "shape": [256], "data_offsets": [262144, 263168]}}',
     decode(repeat('0000803b', 65536) || repeat('00000000', 256), 'hex')) AS weights;
SELECT gnn_create_model('deep', spec, weights) FROM deep;
SELECT layers FROM gnn_models WHERE name = 'deep';

-- 20000 nodes of 256 features (20 MB of features), a ring of edges
CREATE TABLE ln AS
  SELECT i::bigint AS id, array_fill(0.5::real, ARRAY[256]) AS features
  FROM generate_series(1, 20000) AS i;
CREATE TABLE le AS SELECT i::bigint AS src, (i % 20000 + 1)::bigint AS dst
  FROM generate_series(1, 20000) AS i;
ANALYZE ln, le;

-- over the limit: refused before reading, naming the estimate and the setting
SET gnnjit.max_memory = '8MB';
SELECT try($$SELECT count(*) FROM gnn_infer('deep', 'le', 'ln')$$);
-- over the limit only once the layers' values are counted: refused after
-- reading, before the layers run
SET gnnjit.max_memory = '50MB';
SELECT try($$SELECT count(*) FROM gnn_infer('deep', 'le', 'ln')$$);
-- under it
SET gnnjit.max_memory = '80MB';
SELECT count(*) FROM gnn_infer('deep', 'le', 'ln');
-- (1/256 * 256 * 0.5 = 0.5 through every layer)
SELECT DISTINCT embedding[1] = 0.5 AS exact FROM gnn_infer('deep', 'le', 'ln');
RESET gnnjit.max_memory;

-- only a superuser may raise the limit
CREATE ROLE regress_gnn_limited;
SET ROLE regress_gnn_limited;
SELECT try($$SET gnnjit.max_memory = '100GB'$$);
RESET ROLE;
DROP ROLE regress_gnn_limited;

-- statement_timeout stops the layers (24 products of 20000 x 256 x 256)
SET statement_timeout = '100ms';
SELECT count(*) FROM gnn_infer('deep', 'le', 'ln');
RESET statement_timeout;

-- and the session works on
SELECT count(*) FROM gnn_infer('deep', 'le', 'ln');
