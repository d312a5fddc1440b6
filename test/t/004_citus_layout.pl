# Citus-distributed tables, found through Citus' metadata.  Citus is not in
# Debian's archive, so this test lays out its metadata by hand the way
# Citus does (pg_dist_partition, pg_dist_shard, pg_dist_placement,
# pg_dist_node in pg_catalog; shell tables on the coordinator; shard tables
# <relname>_<shardid> on two workers, split by hashint8 into four equal
# intervals), and checks that gnn_infer finds the shards and gives the
# single-server rows.  What Citus itself does beyond this layout (its
# connection settings, rebalancing while a query runs) is not tested.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use GnnModels;

my $coord = PostgreSQL::Test::Cluster->new('coordinator');
$coord->init;
$coord->append_conf('postgresql.conf', "max_parallel_workers_per_gather = 2\n");
$coord->start;
my @workers;
for my $i (0 .. 1)
{
	my $w = PostgreSQL::Test::Cluster->new("worker$i");
	$w->init;
	$w->start;
	$w->safe_psql('postgres', q{
		CREATE EXTENSION gnnjit;
		SELECT gnn_generate_graph('all_nodes', 'all_edges', 2000, 20000, 16, 3);
	});
	push @workers, $w;
}
$coord->safe_psql('postgres', q{
	CREATE EXTENSION gnnjit;
	SELECT gnn_generate_graph('nodes', 'edges', 2000, 20000, 16, 3);
});
GnnModels::create_models($coord);

# the metadata, as Citus keeps it for two co-located hash-distributed tables
my ($h0, $p0, $h1, $p1) = ($workers[0]->host, $workers[0]->port,
						   $workers[1]->host, $workers[1]->port);
$coord->safe_psql('postgres', qq{
	SET allow_system_table_mods = on;
	CREATE TABLE pg_catalog.pg_dist_partition (logicalrelid regclass, partmethod "char",
		partkey text, colocationid integer, repmodel "char");
	CREATE TABLE pg_catalog.pg_dist_shard (logicalrelid regclass, shardid bigint,
		shardstorage "char", shardminvalue text, shardmaxvalue text);
	CREATE TABLE pg_catalog.pg_dist_placement (placementid bigint, shardid bigint,
		shardstate integer, shardlength bigint, groupid integer);
	CREATE TABLE pg_catalog.pg_dist_node (nodeid integer, groupid integer, nodename text,
		nodeport integer, isactive boolean, noderole text);
	RESET allow_system_table_mods;

	CREATE TABLE cnodes (id bigint, features real[]);
	CREATE TABLE cedges (src bigint, dst bigint);
	INSERT INTO pg_dist_node VALUES (1, 1, '$h0', $p0, true, 'primary'),
	                                (2, 2, '$h1', $p1, true, 'primary'),
	                                (3, 3, '$h1', 1, false, 'primary');
	INSERT INTO pg_dist_partition VALUES
	  ('cnodes', 'h', '{VAR :varno 1 :varattno 1 :vartype 20 :vartypmod -1 :varcollid 0 :varlevelsup 0 :varnosyn 1 :varattnosyn 1 :location -1}', 7, 's'),
	  ('cedges', 'h', '{VAR :varno 1 :varattno 2 :vartype 20 :vartypmod -1 :varcollid 0 :varlevelsup 0 :varnosyn 1 :varattnosyn 2 :location -1}', 7, 's');
	-- four shards each over the int32 hash range, shard k on worker k % 2
	INSERT INTO pg_dist_shard
	  SELECT t::regclass, base + k, 't', (-2147483648 + k * 1073741824::bigint)::text,
	         (-2147483648 + (k + 1) * 1073741824::bigint - 1)::text
	  FROM (VALUES ('cnodes', 102008), ('cedges', 102012)) AS v(t, base),
	       generate_series(0, 3) AS k;
	INSERT INTO pg_dist_placement
	  SELECT shardid, shardid, 1, 0, 1 + (shardid - 102008) % 2 FROM pg_dist_shard;
});

# the shard tables on the workers, split as Citus splits (worker_hash = hashint8)
for my $k (0 .. 3)
{
	my $min = -2147483648 + $k * 1073741824;
	my $max = $min + 1073741824 - 1;
	my ($n, $e) = (102008 + $k, 102012 + $k);
	$workers[$k % 2]->safe_psql('postgres', qq{
		CREATE TABLE cnodes_$n AS SELECT * FROM all_nodes WHERE hashint8(id) BETWEEN $min AND $max;
		CREATE TABLE cedges_$e AS SELECT * FROM all_edges WHERE hashint8(dst) BETWEEN $min AND $max;
	});
}
is($workers[0]->safe_psql('postgres', 'SELECT count(*) FROM cnodes_102008')
	  + $workers[0]->safe_psql('postgres', 'SELECT count(*) FROM cnodes_102010')
	  + $workers[1]->safe_psql('postgres', 'SELECT count(*) FROM cnodes_102009')
	  + $workers[1]->safe_psql('postgres', 'SELECT count(*) FROM cnodes_102011'),
	2000, 'the workers hold every node once');

like($coord->safe_psql('postgres',
		"EXPLAIN (COSTS OFF) SELECT * FROM gnn_infer('sage', 'cedges', 'cnodes')"),
	qr/Distributed: 4 shards \(Citus\): [^\n]*:$p0, [^\n]*:$p1, [^\n]*:$p0, [^\n]*:$p1/,
	'EXPLAIN shows the Citus shards');
unlike($coord->safe_psql('postgres',
		"EXPLAIN (COSTS OFF) SELECT * FROM gnn_infer('sage', 'cedges', 'cnodes')"),
	qr/Gather/, 'no parallel plan over the shells');

for my $model ('sage', 'gcn', 'gat')
{
	is(GnnModels::mismatches($coord, $model, 'cedges', 'cnodes'), '2000 rows, 0 differ',
		"\U$model\E over Citus shards = local");
}
like($coord->safe_psql('postgres',
		"EXPLAIN (ANALYZE, COSTS OFF) SELECT * FROM gnn_infer('gat', 'cedges', 'cnodes')"),
	qr/Halo Exchanged: 1 GATConv \d+ kB/, 'halo rows are exchanged between the workers');

# tables that are not co-located, or distributed by another column
$coord->safe_psql('postgres', q{
	CREATE TABLE cedges2 (src bigint, dst bigint);
	INSERT INTO pg_dist_partition VALUES
	  ('cedges2', 'h', '{VAR :varno 1 :varattno 1 :vartype 20 :vartypmod -1 :varcollid 0 :varlevelsup 0 :varnosyn 1 :varattnosyn 1 :location -1}', 7, 's');
});
my ($ret, $out, $err) = $coord->psql('postgres',
	"SELECT * FROM gnn_infer('sage', 'cedges2', 'cnodes')");
like($err, qr/relation "cedges2" is distributed by column "src", not "dst"/,
	'edges distributed by src are refused');
($ret, $out, $err) = $coord->psql('postgres',
	"SELECT * FROM gnn_infer('sage', 'edges', 'cnodes')");
like($err, qr/the node table is distributed by Citus but edge table "edges" is not/,
	'a local edge table with Citus nodes is refused');

done_testing();
