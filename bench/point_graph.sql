-- The graph of the point-query benchmarks (bench/scan_bench.sh,
-- bench/preload.sh): an R-MAT graph of :nodes nodes and :edges edges with
-- 128 features, an index on dst that includes src (in-edges read
-- index-only) and one on id (features through the heap), and the 2-layer
-- SAGE model of bench/models.  Run from the repository's top directory:
--   psql -v nodes=N -v edges=M -f bench/point_graph.sql
CREATE EXTENSION gnnjit;
SET gnnjit.max_memory = '16GB';
SELECT gnn_generate_graph('bench_nodes', 'bench_edges', :nodes, :edges, 128, 1, unlogged => true);
CREATE INDEX ON bench_edges (dst) INCLUDE (src);
CREATE INDEX ON bench_nodes (id);
VACUUM ANALYZE bench_nodes, bench_edges;
\set spec `cat bench/models/sage.json`
\set w `base64 -w0 bench/models/sage.safetensors`
SELECT gnn_create_model('sage', :'spec', decode(:'w', 'base64'));
