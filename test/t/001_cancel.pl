# Cancellation and statement_timeout stop a running inference quickly in
# every phase; the progress view shows it running; a backend that used the
# JIT exits cleanly.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', "jit = on\nmax_parallel_workers_per_gather = 0\n");
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION gnnjit;
	SELECT gnn_generate_graph('nodes', 'edges', 400000, 8000000, 64, 1);
	ANALYZE nodes, edges;
	-- a 4-layer SAGE model, 64 wide, every layer sharing one set of weights
	CREATE FUNCTION st(header text, data bytea) RETURNS bytea LANGUAGE sql AS $$
	  SELECT decode(string_agg(lpad(to_hex((octet_length(convert_to(header, 'UTF8'))::bigint >> (8 * i)) & 255), 2, '0'), '' ORDER BY i), 'hex')
	         || convert_to(header, 'UTF8') || data
	  FROM generate_series(0, 7) AS i $$;
	SELECT gnn_create_model('sage4',
	  (SELECT jsonb_build_object('layers', jsonb_agg(jsonb_build_object(
	     'type', 'SAGEConv', 'prefix', 'c', 'in_channels', 64, 'out_channels', 64)))
	   FROM generate_series(1, 4)),
	  st('{"c.lin_l.weight": {"dtype": "F32", "shape": [64, 64], "data_offsets": [0, 16384]}, '
	     '"c.lin_l.bias": {"dtype": "F32", "shape": [64], "data_offsets": [16384, 16640]}, '
	     '"c.lin_r.weight": {"dtype": "F32", "shape": [64, 64], "data_offsets": [16640, 33024]}}',
	     decode(repeat('0000803c', 4096) || repeat('00000000', 64) || repeat('0000803c', 4096), 'hex')));
});

my $query = "SELECT count(*) FROM gnn_infer('sage4', 'edges', 'nodes')";

# the whole inference takes long enough to catch each phase
my $t0 = time();
is($node->safe_psql('postgres', $query), '400000', 'inference runs');
my $full = time() - $t0;
note(sprintf('full inference: %.2f s', $full));

# Start the inference in the background, wait for a phase in the progress
# view, cancel it, and time how long the backend takes to stop.
sub cancel_in_phase
{
	my ($phase, $parallel) = @_;
	my $bg = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = $bg->query_safe('SELECT pg_backend_pid()');
	$bg->query_safe('SET max_parallel_workers_per_gather = 1; '
		  . 'SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0')
	  if $parallel;
	$bg->query_until(qr/started/, "\\echo started\n$query;\n");

	my $seen = 0;
	for (my $i = 0; $i < 2000 && !$seen; $i++)
	{
		$seen = $node->safe_psql('postgres',
			"SELECT count(*) FROM gnn_stat_progress WHERE pid = $pid AND phase = '$phase'") eq '1';
		usleep(5_000) unless $seen;
	}
	ok($seen, "progress view shows phase '$phase'");

	my $start = time();
	$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
	my $stopped = 0;
	while (time() - $start < 10)
	{
		$stopped = $node->safe_psql('postgres',
			"SELECT count(*) FROM pg_stat_activity WHERE pid = $pid AND state = 'active'") eq '0';
		last if $stopped;
		usleep(2_000);
	}
	my $took = time() - $start;
	my $what = $parallel ? "$phase, parallel" : $phase;
	ok($stopped && $took < 1.0, sprintf("cancel during '%s' stopped in %.3f s", $what, $took));
	if ($parallel)
	{
		my $workers = '';
		for (my $i = 0; $i < 500; $i++)
		{
			$workers = $node->safe_psql('postgres',
				"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'parallel worker'");
			last if $workers eq '0';
			usleep(2_000);
		}
		is($workers, '0', 'the parallel worker is gone too');
	}
	is($bg->query('SELECT 1'), '1', "session usable after cancelling '$phase'");
	$bg->quit;
}

cancel_in_phase('reading nodes');
cancel_in_phase('reading edges');
cancel_in_phase('computing');
cancel_in_phase('computing', 1);

# statement_timeout in the middle of the layers
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	"SET statement_timeout = '" . int($full * 600) . "ms'; $query");
like($stderr, qr/canceling statement due to statement timeout/, 'statement_timeout stops it');

# the JIT was used, and the backend that used it exits cleanly
$node->safe_psql('postgres', "SET gnnjit.jit_above_cost = 0; $query; SELECT compiles FROM gnn_jit_stats()");
$node->stop;
my $log = slurp_file($node->logfile);
unlike($log, qr/PANIC|TRAP|terminated by signal/, 'no crash or PANIC in the server log');

done_testing();
