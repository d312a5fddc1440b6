# Models survive a server restart and pg_dump / pg_restore (the catalog is
# extension configuration), and give the same rows afterwards.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
	CREATE DATABASE src;
	CREATE DATABASE dst;
});
$node->safe_psql('src', q{
	CREATE EXTENSION gnnjit;
	SELECT gnn_generate_graph('n', 'e', 500, 4000, 8, 3);
	CREATE FUNCTION st(header text, data bytea) RETURNS bytea LANGUAGE sql AS $$
	  SELECT decode(string_agg(lpad(to_hex((octet_length(convert_to(header, 'UTF8'))::bigint >> (8 * i)) & 255), 2, '0'), '' ORDER BY i), 'hex')
	         || convert_to(header, 'UTF8') || data
	  FROM generate_series(0, 7) AS i $$;
	SELECT gnn_create_model('m',
	  '{"layers": [{"type": "GCNConv", "prefix": "c", "in_channels": 8, "out_channels": 8},
	               {"type": "ReLU"},
	               {"type": "SAGEConv", "prefix": "s", "in_channels": 8, "out_channels": 4}]}',
	  st('{"c.lin.weight": {"dtype": "F32", "shape": [8, 8], "data_offsets": [0, 256]}, '
	     '"c.bias": {"dtype": "F32", "shape": [8], "data_offsets": [256, 288]}, '
	     '"s.lin_l.weight": {"dtype": "F32", "shape": [4, 8], "data_offsets": [288, 416]}, '
	     '"s.lin_l.bias": {"dtype": "F32", "shape": [4], "data_offsets": [416, 432]}, '
	     '"s.lin_r.weight": {"dtype": "F32", "shape": [4, 8], "data_offsets": [432, 560]}}',
	     decode(repeat('cdcccc3d', 72) || repeat('9a99993e', 32) || repeat('0000003f', 4) || repeat('9a99993e', 32), 'hex')));
	CREATE TABLE before AS SELECT * FROM gnn_infer('m', 'e', 'n');
});

my $same = q{SELECT count(*) || ' ' || bool_and(r.embedding = b.embedding)
	FROM gnn_infer('m', 'e', 'n') r JOIN before b USING (node_id)};

$node->restart;
is($node->safe_psql('src', $same), '500 true', 'same rows after a restart');

my $dump = $node->basedir . '/src.dump';
$node->command_ok(['pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('src')], 'pg_dump');
$node->command_ok(['pg_restore', '-d', $node->connstr('dst'), $dump], 'pg_restore');
is($node->safe_psql('dst', q{SELECT name || ' ' || layers FROM gnn_models}),
	'm GCNConv, ReLU, SAGEConv(8->4)', 'the model is restored');
is($node->safe_psql('dst', $same), '500 true', 'same rows after pg_dump / pg_restore');

done_testing();
