# Small SAGE, GCN and GAT models (16 features in, 8 out) with deterministic
# pseudo-random weights, for the TAP tests that run several servers.
package GnnModels;
use strict;
use warnings;

my $seed = 12345;

sub rnd				# uniform in [-0.5, 0.5)
{
	$seed = ($seed * 1103515245 + 12345) % 2147483648;
	return $seed / 2147483648 - 0.5;
}

# A safetensors file (hex) of float32 tensors: [name, [shape]]...
sub safetensors
{
	my (@tensors) = @_;
	my ($data, @hdr) = ('');
	for my $t (@tensors)
	{
		my ($name, $shape) = @$t;
		my $n = 1;
		$n *= $_ for @$shape;
		my $begin = length($data);
		$data .= pack('f<*', map { rnd() } 1 .. $n);
		push @hdr, sprintf('"%s": {"dtype": "F32", "shape": [%s], "data_offsets": [%d, %d]}',
			$name, join(', ', @$shape), $begin, length($data));
	}
	my $json = '{' . join(', ', @hdr) . '}';
	return unpack('H*', pack('Q<', length($json)) . $json . $data);
}

sub create_model
{
	my ($node, $name, $spec, @tensors) = @_;
	$node->safe_psql('postgres',
		"SELECT gnn_create_model('$name', '$spec', decode('" . safetensors(@tensors) . "', 'hex'))");
}

# Create models sage, gcn and gat on $node (gnnjit installed)
sub create_models
{
	my ($node) = @_;
	create_model($node, 'sage',
		'{"layers": [{"type": "SAGEConv", "prefix": "c0", "in_channels": 16, "out_channels": 16},'
		  . ' {"type": "ReLU"},'
		  . ' {"type": "SAGEConv", "prefix": "c1", "in_channels": 16, "out_channels": 8}]}',
		map { (["$_.lin_l.weight", [$_ eq 'c0' ? 16 : 8, 16]], ["$_.lin_l.bias", [$_ eq 'c0' ? 16 : 8]],
			   ["$_.lin_r.weight", [$_ eq 'c0' ? 16 : 8, 16]]) } ('c0', 'c1'));
	create_model($node, 'gcn',
		'{"layers": [{"type": "GCNConv", "prefix": "c0", "in_channels": 16, "out_channels": 16},'
		  . ' {"type": "ReLU"},'
		  . ' {"type": "GCNConv", "prefix": "c1", "in_channels": 16, "out_channels": 8}]}',
		(['c0.lin.weight', [16, 16]], ['c0.bias', [16]], ['c1.lin.weight', [8, 16]], ['c1.bias', [8]]));
	create_model($node, 'gat',
		'{"layers": [{"type": "GATConv", "prefix": "c0", "in_channels": 16, "out_channels": 4, "heads": 4},'
		  . ' {"type": "ELU"},'
		  . ' {"type": "GATConv", "prefix": "c1", "in_channels": 16, "out_channels": 8, "heads": 1}]}',
		(['c0.lin.weight', [16, 16]], ['c0.att_src', [1, 4, 4]], ['c0.att_dst', [1, 4, 4]], ['c0.bias', [16]],
		 ['c1.lin.weight', [8, 16]], ['c1.att_src', [1, 1, 8]], ['c1.att_dst', [1, 1, 8]], ['c1.bias', [8]]));
}

# Rows of gnn_infer($model) over tables $edges/$nodes that differ from the
# run over edges/nodes by more than 1e-6: "N rows, M differ"
sub mismatches
{
	my ($node, $model, $edges, $nodes, $args, $set) = @_;
	$args //= '';
	$set //= '';
	return $node->safe_psql('postgres', qq{$set
		WITH l AS (SELECT * FROM gnn_infer('$model', 'edges', 'nodes'$args)),
		     d AS (SELECT * FROM gnn_infer('$model', '$edges', '$nodes'$args))
		SELECT (SELECT count(*) FROM d) || ' rows, '
		    || (SELECT count(*) FROM l FULL JOIN d USING (node_id)
		        WHERE l.embedding IS NULL OR d.embedding IS NULL
		           OR array_length(l.embedding, 1) <> array_length(d.embedding, 1)
		           OR EXISTS (SELECT 1 FROM unnest(l.embedding, d.embedding) AS u(x, y)
		                      WHERE abs(x - y) > 1e-6)) || ' differ'});
}

1;
