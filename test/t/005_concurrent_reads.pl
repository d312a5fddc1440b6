# Point queries read their receptive fields through the indexes (one walk
# along each btree's leaves, then the heap rows) while other sessions update
# node rows, which adds index entries and splits leaves under the walks, and
# VACUUM removes the dead entries and row versions, all in shared buffers
# too small to hold the tables: every row a point query returns stays
# identical to the full graph's, computed before.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use GnnModels;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
# shared buffers far smaller than the tables: pages are evicted between
# and during queries, so remembered buffers go stale and pages are read
$node->append_conf('postgresql.conf',
	"max_parallel_workers_per_gather = 0\nautovacuum = off\nshared_buffers = 2MB\n");
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION gnnjit;
	SELECT gnn_generate_graph('nodes', 'edges', 20000, 320000, 16, 1);
	CREATE INDEX nodes_id ON nodes (id);
	CREATE INDEX edges_dst ON edges (dst);
	VACUUM ANALYZE nodes, edges;
});
GnnModels::create_models($node);
$node->safe_psql('postgres', q{
	SET gnnjit.pruning = off;
	CREATE TABLE ref AS SELECT * FROM gnn_infer('sage', 'edges', 'nodes');
});
my $size0 = $node->safe_psql('postgres', "SELECT pg_relation_size('nodes_id')");

# Readers: three targets each, their rows checked against the reference
# (a mismatch divides by zero, which aborts the client; by an expression
# the planner cannot fold, or it would raise the error whatever the rows).  Writers: a range
# of node rows updated to the same values.  Edge rows stay put: their
# order decides the order of each sum.
$node->pgbench(
	'--no-vacuum --client=4 --jobs=2 --time=15',
	0,
	[qr{processed: [1-9]}],
	[qr{^$}],
	'point queries beside updates and VACUUM',
	{
		'read@6' => q{
\set a random(0, 19999)
\set b random(0, 19999)
\set c random(0, 19999)
SET gnnjit.pruning = on;
SELECT CASE WHEN count(*) = (SELECT count(DISTINCT x) FROM unnest(ARRAY[:a, :b, :c]) x)
             AND bool_and(p.embedding = r.embedding) THEN 1 ELSE 1 / (count(*) - count(*)) END
FROM gnn_infer('sage', 'edges', 'nodes') p JOIN ref r USING (node_id)
WHERE p.node_id = ANY(ARRAY[:a, :b, :c]::bigint[]);
},
		'update@2' => q{
\set x random(0, 19700)
UPDATE nodes SET features = features WHERE id BETWEEN :x AND :x + 300;
},
		'vacuum@1' => q{
VACUUM nodes;
}
	});

note($node->safe_psql('postgres',
	"SELECT 'id index: ' || idx_scan || ' scans, ' || $size0 || ' -> ' || pg_relation_size('nodes_id') || ' bytes' "
	  . "FROM pg_stat_user_indexes WHERE indexrelname = 'nodes_id'"));
ok( $node->safe_psql('postgres', "SELECT pg_relation_size('nodes_id')") > $size0,
	'the id index grew (its leaves split) while it was read');
is( $node->safe_psql('postgres',
		"SELECT idx_scan > 0 FROM pg_stat_user_indexes WHERE indexrelname = 'nodes_id'"),
	't', 'point queries read the id index');
is( $node->safe_psql('postgres', q{
	SET gnnjit.pruning = on;
	SELECT count(*) FILTER (WHERE p.embedding <> r.embedding)
	FROM gnn_infer('sage', 'edges', 'nodes') p JOIN ref r USING (node_id)
	WHERE p.node_id = ANY(ARRAY(SELECT generate_series(0, 19999, 50)::bigint))}),
	'0', 'after the updates, 400 targets equal the full graph');

$node->stop;
done_testing();
