# Distributed inference: a coordinator and three shard servers on
# loopback.  gnn_distribute() shards a graph; SAGE, GCN (weighted) and GAT
# give the same rows distributed as on one server; the model reaches the
# shards and is re-sent when a shard's copy differs; a shard that is down,
# killed mid-run or too slow gives a clean error naming it, leaves nothing
# behind, and a rerun after its restart gives the same rows; cancelling on
# the coordinator cancels the shards.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use lib 't';
use GnnModels;

my $coord = PostgreSQL::Test::Cluster->new('coordinator');
$coord->init;
$coord->append_conf('postgresql.conf', "max_parallel_workers_per_gather = 0\n");
$coord->start;
$coord->safe_psql('postgres', 'CREATE EXTENSION gnnjit');
my @shards;
for my $i (0 .. 2)
{
	my $s = PostgreSQL::Test::Cluster->new("shard$i");
	$s->init;
	$s->start;
	push @shards, $s;
}

GnnModels::create_models($coord);

# ---------- the graph, local and sharded ----------

my $servers = join(', ', map { "'s$_'" } 0 .. 2);
my $setup = q{
	CREATE EXTENSION IF NOT EXISTS postgres_fdw;
	SELECT gnn_generate_graph('nodes', 'edges', 3000, 30000, 16, 7);
	ALTER TABLE edges ADD COLUMN w real;
	UPDATE edges SET w = 0.5 + ((src * 7 + dst * 13) % 10) / 10.0;
};
for my $i (0 .. 2)
{
	my ($host, $port) = ($shards[$i]->host, $shards[$i]->port);
	$setup .= "CREATE SERVER s$i FOREIGN DATA WRAPPER postgres_fdw "
	  . "OPTIONS (host '$host', port '$port', dbname 'postgres');\n"
	  . "CREATE USER MAPPING FOR CURRENT_USER SERVER s$i;\n";
}
$coord->safe_psql('postgres', $setup);
my $layout = $coord->safe_psql('postgres',
	"SELECT remainder, server, node_rows > 0, edge_rows > 0 "
	  . "FROM gnn_distribute('edges', 'nodes', ARRAY[$servers], 'dedges', 'dnodes')");
is($layout, "0|s0|t|t\n1|s1|t|t\n2|s2|t|t", 'gnn_distribute lays the graph out on three shards');
is($coord->safe_psql('postgres', 'SELECT count(*) FROM dnodes') . ' '
	  . $coord->safe_psql('postgres', 'SELECT count(*) FROM dedges'),
	'3000 30000', 'every node and edge moved');

# a table of that name on a shard is never replaced
$shards[0]->safe_psql('postgres', 'CREATE TABLE public.xnodes_0 (keep int); INSERT INTO xnodes_0 VALUES (42)');
my ($rc, $stdout, $stderr) = $coord->psql('postgres',
	"SELECT * FROM gnn_distribute('edges', 'nodes', ARRAY[$servers], 'xedges', 'xnodes')");
like($stderr, qr/shard "s0": relation "xnodes_0" already exists/,
	'gnn_distribute stops at an existing shard table, naming the shard');
is($shards[0]->safe_psql('postgres', 'SELECT keep FROM xnodes_0') . ' '
	  . $coord->safe_psql('postgres', "SELECT to_regclass('xnodes') IS NULL"),
	'42 t', '... which keeps its rows, and nothing is created here');

# rows of the distributed run that differ from the local run by more than 1e-6
sub mismatches
{
	my ($model, $args, $set) = @_;
	return GnnModels::mismatches($coord, $model, 'dedges', 'dnodes', $args, $set);
}

is(mismatches('sage'), '3000 rows, 0 differ', 'SAGE: distributed = local');
is(mismatches('gcn', ", weight => 'w'"), '3000 rows, 0 differ', 'GCN with edge weights: distributed = local');
is(mismatches('gat'), '3000 rows, 0 differ', 'GAT: distributed = local');
is(mismatches('gat', '', 'SET jit = on; SET gnnjit.jit_above_cost = 0;'), '3000 rows, 0 differ',
	'GAT compiled: distributed = local');
like($coord->safe_psql('postgres', "SET gnnjit.jit_above_cost = 0; "
	  . "EXPLAIN (ANALYZE, COSTS OFF) SELECT * FROM gnn_infer('gat', 'dedges', 'dnodes')"),
	qr/Shard s0: [^\n]*compiled code/, 'the JIT settings reach the shards');

my $explain = $coord->safe_psql('postgres',
	"EXPLAIN (ANALYZE, COSTS OFF) SELECT * FROM gnn_infer('gat', 'dedges', 'dnodes')");
like($explain, qr/Distributed: 3 shards: s0, s1, s2/, 'EXPLAIN shows the shards');
like($explain, qr/Shard s1: \d+ nodes, \d+ halo, \d+ edges, peak \d+ kB/, 'EXPLAIN ANALYZE shows each shard');
like($explain, qr/Halo Exchanged: 1 GATConv \d+ kB, 3 GATConv \d+ kB/, 'EXPLAIN ANALYZE shows bytes per layer');
unlike($explain, qr/model sent/, 'the model is not sent again');

# a shard's copy of the model that differs is replaced
$shards[2]->safe_psql('postgres',
	"SELECT gnn_create_model('sage', spec, weights) FROM gnn_model_catalog WHERE name = 'gcn'");
$explain = $coord->safe_psql('postgres',
	"EXPLAIN (ANALYZE, COSTS OFF) SELECT * FROM gnn_infer('sage', 'dedges', 'dnodes')");
like($explain, qr/Shard s2: [^\n]*model sent/, 'a changed model is re-sent to its shard');
unlike($explain, qr/Shard s[01]: [^\n]*model sent/, '... and only to it');
is(mismatches('sage'), '3000 rows, 0 differ', 'and gives the same rows again');

# as postgres_fdw, only superusers may connect without a password
$coord->safe_psql('postgres', q{
	CREATE ROLE alice LOGIN;
	GRANT SELECT ON dnodes, dedges TO alice;
	CREATE USER MAPPING FOR alice SERVER s0;
	CREATE USER MAPPING FOR alice SERVER s1;
	CREATE USER MAPPING FOR alice SERVER s2;
});
my ($ret, $out, $err) = $coord->psql('postgres',
	"SET ROLE alice; SELECT count(*) FROM gnn_infer('sage', 'dedges', 'dnodes')");
like($err, qr/password is required to connect to shard "s0"/,
	'a user mapping without a password is refused to non-superusers');

# ---------- faults ----------

my $query = "SELECT * FROM gnn_infer('sage', 'dedges', 'dnodes')";

sub fails_naming
{
	my ($sql, $pattern, $what) = @_;
	my ($ret, $out, $err) = $coord->psql('postgres', $sql);
	isnt($ret, 0, "$what fails");
	like($err, $pattern, "$what: the error names the shard");
	return $err;
}

# stopped before the query
$shards[1]->stop;
fails_naming("CREATE TABLE partial AS $query", qr/could not connect to shard "s1"/,
	'a stopped shard');
is($coord->safe_psql('postgres', "SELECT to_regclass('partial') IS NULL"), 't',
	'nothing is written');
$shards[1]->start;
is(mismatches('sage'), '3000 rows, 0 differ', 'after the restart: the same rows');

# Hold a lock on a shard's node table, so that its part of the run waits;
# returns the background session holding it.
sub block_shard
{
	my ($i) = @_;
	my $bg = $shards[$i]->background_psql('postgres');
	$bg->query_safe("BEGIN; LOCK TABLE public.dnodes_$i IN ACCESS EXCLUSIVE MODE");
	return $bg;
}

sub gnnjit_sessions		# gnnjit's sessions on a shard
{
	my ($i) = @_;
	return $shards[$i]->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'gnnjit'");
}

sub wait_for_no_sessions
{
	my ($i) = @_;
	for (my $t = 0; $t < 500; $t++)
	{
		return 1 if gnnjit_sessions($i) eq '0';
		usleep(10_000);
	}
	return 0;
}

# a shard that does not answer in time
my $lock = block_shard(0);
my $t0 = time();
fails_naming("SET gnnjit.shard_timeout = '300ms'; $query",
	qr/shard "s0" did not answer within gnnjit.shard_timeout/, 'a slow shard');
ok(time() - $t0 < 5, 'the timeout is honoured');
ok(wait_for_no_sessions($_), "no session is left on shard $_ after the timeout") for 0 .. 2;
$lock->quit;

# cancelling on the coordinator cancels the shards
$lock = block_shard(2);
my $bg = $coord->background_psql('postgres', on_error_stop => 0);
my $pid = $bg->query_safe('SELECT pg_backend_pid()');
$bg->query_until(qr/started/, "\\echo started\n$query;\n");
for (my $t = 0; $t < 500 && gnnjit_sessions(2) eq '0'; $t++)
{
	usleep(10_000);
}
is(gnnjit_sessions(2), '1', 'the shard runs its part');
$coord->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
ok(wait_for_no_sessions($_), "cancelling reaches shard $_") for 0 .. 2;
$bg->query("SELECT 1");
like($bg->{stderr}, qr/canceling statement due to user request/, 'the query is cancelled');
$bg->quit;
$lock->quit;

# a shard killed during the run
$lock = block_shard(1);
$bg = $coord->background_psql('postgres', on_error_stop => 0);
$bg->query_until(qr/started/, "\\echo started\n$query;\n");
for (my $t = 0; $t < 500 && gnnjit_sessions(1) eq '0'; $t++)
{
	usleep(10_000);
}
$shards[1]->stop('immediate');
$lock->quit;
$bg->query("SELECT 1");
like($bg->{stderr}, qr/shard "s1"/, 'a shard killed mid-run: the error names it');
$bg->quit;
ok(wait_for_no_sessions($_), "no session is left on shard $_ after the kill") for (0, 2);
$shards[1]->start;
is(mismatches('sage'), '3000 rows, 0 differ', 'after the restart: the same rows');

done_testing();
