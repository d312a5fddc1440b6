#!/usr/bin/env bash
# A new session's first point query with and without
# shared_preload_libraries = 'gnnjit'.
#
#   bash bench/preload.sh [num_nodes] [num_edges]     (1000000 16000000)
#
# gnnjit links LLVM's shared library (for its JIT) and libpq (for
# distributed inference); without preloading, every session loads them at
# its first gnnjit call.  Builds and installs gnnjit (tools/setup.sh),
# starts a throwaway cluster (shared_buffers = 1GB), generates the R-MAT
# graph of bench/scan_bench.sh with the same indexes, and times
#   SELECT * FROM gnn_infer('sage', ...) WHERE node_id = <id>
# as the only statement of a new session (psql's \timing: the statement
# alone, connecting excluded), for 9 nodes drawn as scan_bench draws them,
# with the library preloaded and not, the server restarted between (the 9
# queries run once in one session after each restart, so the pages are in
# shared buffers for both), two rounds alternating.  Writes
# bench/results/preload.csv.
set -euo pipefail
SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$SELF")/.."
NODES=${1:-1000000}
EDGES=${2:-16000000}

if [ "${GNN_BENCH_CLUSTER:-}" != 1 ]; then
	bash tools/setup.sh
	exec env GNN_BENCH_CLUSTER=1 pg_virtualenv -t -o shared_buffers=1GB -o max_wal_size=8GB \
		bash "$SELF" "$NODES" "$EDGES"
fi

mkdir -p bench/results
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

q -v nodes="$NODES" -v edges="$EDGES" -f bench/point_graph.sql >/dev/null

ids=$(q -c "SELECT id FROM bench_nodes n WHERE EXISTS (SELECT 1 FROM bench_edges WHERE dst = n.id) ORDER BY hashint8(id) LIMIT 9")
settings="SET gnnjit.max_memory = '16GB';"
point="SELECT * FROM gnn_infer('sage', 'bench_edges', 'bench_nodes') WHERE node_id ="
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# restart with the library preloaded (on) or not (off), then read the
# queries' pages into shared buffers in one session
restart() {
	if [ "$1" = on ]; then
		q -c "ALTER SYSTEM SET shared_preload_libraries = 'gnnjit'"
	else
		q -c "ALTER SYSTEM RESET shared_preload_libraries"
	fi
	pg_ctlcluster "$PGVERSION" regress restart
	[ "$(q -c 'SHOW shared_preload_libraries')" = "$([ "$1" = on ] && echo gnnjit)" ]
	{ echo "$settings"; for id in $ids; do echo "$point $id;"; done; } | q >/dev/null
}

# the statement's time, as the only statement of a new session
first_ms() {
	(echo "$settings"; echo '\timing on'; echo "$point $1;") | q | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
}

echo "mode,round,node_id,ms" > bench/results/preload.csv
for round in 1 2; do
	for mode in off on; do
		restart "$mode"
		for id in $ids; do
			echo "$mode,$round,$id,$(first_ms "$id")" >> bench/results/preload.csv
		done
	done
done

off=$(awk -F, '$1 == "off" {print $4}' bench/results/preload.csv | median)
on=$(awk -F, '$1 == "on" {print $4}' bench/results/preload.csv | median)
# what preloading saves, node by node within a round
saved=$(awk -F, 'NR > 1 {t[$1 "," $2 "," $3] = $4} END {for (k in t) if (k ~ /^off,/) {sub(/^off,/, "", k); print t["off," k] - t["on," k]}}' \
	bench/results/preload.csv | median)
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/Model name: *//p'), $(free -g | awk '/Mem:/ {print $2}') GB"
echo "graph: $NODES nodes, $EDGES edges, 128 features; model: 2-layer SAGE, 128 channels"
printf '| a new session'"'"'s first point query (9 nodes, 2 rounds) | median ms |\n|---|---:|\n'
printf '| gnnjit loaded by the session | %s |\n' "$off"
printf '| shared_preload_libraries = '"'"'gnnjit'"'"' | %s |\n' "$on"
printf '| saved by preloading, the same query (median of 18 pairs) | %s |\n' "$saved"
echo "per query: bench/results/preload.csv"
