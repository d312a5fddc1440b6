#!/usr/bin/env bash
# Load test: 8 clients for 60 s mixing inference on a shared graph (named
# by its tables and as a graph of the graph catalog, which is redefined
# meanwhile), model create / replace / drop, and inserts and deletes on the
# edge and node tables.  Reports transactions, errors, the backends' resident memory at
# the start and the end, and whether the server log shows a crash.
#
#   bash bench/load.sh [seconds] [clients]      (60 8)
#
# Semantics checked: a model replaced while other sessions run it is either
# the old or the new model in each inference (never a crash or a half
# model); a model dropped and recreated inside a transaction is seen by
# concurrent sessions only once committed.  pgbench stops a client at its
# first error, so any unexpected error shows up as a failed client.
set -euo pipefail
SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$SELF")/.."
SECS=${1:-60}
CLIENTS=${2:-8}

if [ "${GNN_BENCH_CLUSTER:-}" != 1 ]; then
	bash tools/setup.sh
	exec env GNN_BENCH_CLUSTER=1 pg_virtualenv -t -o max_connections=50 \
		bash "$SELF" "$SECS" "$CLIENTS"
fi

psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE EXTENSION gnnjit;
SELECT gnn_generate_graph('n', 'e', 20000, 200000, 16, 1);
ANALYZE n, e;
-- a 2-layer SAGE model, 16 wide, both layers sharing one set of weights
CREATE FUNCTION st(header text, data bytea) RETURNS bytea LANGUAGE sql AS $$
  SELECT decode(string_agg(lpad(to_hex((octet_length(convert_to(header, 'UTF8'))::bigint >> (8 * i)) & 255), 2, '0'), '' ORDER BY i), 'hex')
         || convert_to(header, 'UTF8') || data
  FROM generate_series(0, 7) AS i $$;
CREATE TABLE w AS SELECT
  (SELECT jsonb_build_object('layers', jsonb_agg(jsonb_build_object(
     'type', 'SAGEConv', 'prefix', 'c', 'in_channels', 16, 'out_channels', 16)))
   FROM generate_series(1, 2)) AS spec,
  st('{"c.lin_l.weight": {"dtype": "F32", "shape": [16, 16], "data_offsets": [0, 1024]}, '
     '"c.lin_l.bias": {"dtype": "F32", "shape": [16], "data_offsets": [1024, 1088]}, '
     '"c.lin_r.weight": {"dtype": "F32", "shape": [16, 16], "data_offsets": [1088, 2112]}}',
     decode(repeat('0000803d', 256) || repeat('00000000', 16) || repeat('0000803d', 256), 'hex')) AS weights;
SELECT gnn_create_model('m', spec, weights) FROM w;
SELECT gnn_create_graph('g', '{"v": {"table": "n"}}', '{"v__to__v": {"table": "e"}}');
SQL

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/infer.sql" <<'SQL'
SELECT count(*) FROM gnn_infer('m', 'e', 'n');
SQL
cat > "$dir/point.sql" <<'SQL'
\set id random(0, 19999)
SELECT count(*) FROM gnn_infer('m', 'e', 'n') WHERE node_id = :id;
SQL
cat > "$dir/catalog.sql" <<'SQL'
\set id random(0, 19999)
SELECT count(*) FROM gnn_infer('m', 'g');
SELECT count(*) FROM gnn_infer('m', 'g') WHERE node_id = :id;
SQL
cat > "$dir/replace.sql" <<'SQL'
SELECT gnn_create_model('m', spec, weights) FROM w;
SELECT gnn_create_graph('g', '{"v": {"table": "n"}}', '{"v__to__v": {"table": "e"}}');
SQL
cat > "$dir/own_model.sql" <<'SQL'
BEGIN;
SELECT gnn_create_model('m' || :client_id, spec, weights) FROM w;
SELECT count(*) FROM gnn_infer('m' || :client_id, 'e', 'n');
SELECT gnn_drop_model('m' || :client_id);
COMMIT;
SQL
cat > "$dir/dml.sql" <<'SQL'
\set s random(0, 19999)
\set d random(0, 19999)
INSERT INTO e VALUES (:s, :d);
DELETE FROM e WHERE ctid = (SELECT ctid FROM e WHERE dst = :d LIMIT 1);
INSERT INTO n SELECT 1000000 + :client_id, array_fill(0.5::real, ARRAY[16])
  WHERE NOT EXISTS (SELECT 1 FROM n WHERE id = 1000000 + :client_id);
DELETE FROM n WHERE id = 1000000 + :client_id;
SQL

rss() {
	psql -X -At -c "SELECT coalesce(sum((regexp_match(pg_read_file('/proc/' || pid || '/status'), 'VmRSS:\s+(\d+)'))[1]::bigint), 0) FROM pg_stat_activity WHERE application_name = 'pgbench'"
}

pgbench -n -c "$CLIENTS" -j 2 -T "$SECS" -P 10 \
	-f "$dir/infer.sql@3" -f "$dir/point.sql@2" -f "$dir/catalog.sql@2" -f "$dir/replace.sql@1" \
	-f "$dir/own_model.sql@1" -f "$dir/dml.sql@2" > "$dir/pgbench.out" 2>&1 &
bench=$!
sleep $((SECS / 6))
early=$(rss)
sleep $((SECS * 2 / 3))
late=$(rss)
wait $bench || true
cat "$dir/pgbench.out" | grep -vE '^progress' || true

crashes=$(grep -cE 'terminated by signal|PANIC|TRAP' "$(ls -t /tmp/pg_virtualenv.*/log/*.log 2>/dev/null | head -n 1)" 2>/dev/null || true)
echo "backends' resident memory: ${early} kB after $((SECS / 6)) s, ${late} kB after $((SECS * 5 / 6)) s"
echo "crash or PANIC lines in the server log: ${crashes:-unknown}"
failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$dir/pgbench.out")
aborted=$(grep -c 'aborted in command' "$dir/pgbench.out" || true)
echo "failed transactions: ${failed:-?}; clients aborted by an error: $aborted"
[ "${aborted}" = 0 ] && [ "${crashes:-0}" = 0 ]
