#!/usr/bin/env bash
# GnnScan benchmark: parallel full-graph inference against the serial plan,
# and point queries (one selected node) against an index on the edge table.
#
#   bash bench/scan_bench.sh [num_nodes] [num_edges]     (1000000 16000000)
#
# Installs and builds gnnjit (tools/setup.sh), starts a throwaway cluster,
# generates an R-MAT graph with 128 features per node (gnn_generate_graph),
# loads the 2-layer SAGE model of bench/models/ and measures:
#   serial     SELECT count(*) FROM gnn_infer(...), max_parallel_workers_per_gather = 0,
#              JIT on (gnnjit.jit_above_cost = 0)
#   parallel   the same with one worker plus the leader
#   point      SELECT * FROM gnn_infer(...) WHERE node_id = <id>, for 25
#              nodes drawn uniformly among those with in-edges, with an
#              index on dst that includes src (in-edges are read
#              index-only) and one on id (features through the heap), the
#              tables vacuumed, gnnjit.jit_above_cost at its default.
#              Timed three ways: one after another in a session that has
#              served point queries for 25 other nodes first (a pooled
#              connection's steady state); one after another right after
#              connecting and one warm-up query (model loaded, pages in
#              shared buffers, but the session's memory not yet grown:
#              fresh memory is dear on virtual machines); and each in a new
#              session (connecting and loading the model included).
# The cluster: shared_buffers = 4GB, min_dynamic_shared_memory = 3GB (the
# parallel plan's graph and layer buffers), in huge pages when run as root
# (bench/hugepages.sh; GNN_BENCH_HUGE_PAGES=0 to compare without).
# Medians of 5 runs (serial, parallel alternate); point-query median, 90th
# percentile, how many took under 10 ms, and each one's receptive field.
# Checks that parallel and point-query rows equal the serial rows bit for
# bit.  Writes bench/results/scan.csv and bench/results/scan_points.csv.
# The machine is shared: timings are noisy; the ratios come from one run,
# side by side.
set -euo pipefail
SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$SELF")/.."
NODES=${1:-1000000}
EDGES=${2:-16000000}

if [ "${GNN_BENCH_CLUSTER:-}" != 1 ]; then
	bash tools/setup.sh
	. bench/hugepages.sh
	# shared buffers for both tables; the parallel plan's graph and layer
	# buffers in preallocated dynamic shared memory
	reserve_huge_pages 7168
	status=0
	env GNN_BENCH_CLUSTER=1 pg_virtualenv -t \
		-o shared_buffers=4GB -o min_dynamic_shared_memory=3GB \
		-o huge_pages=$HUGE_PAGES -o max_wal_size=8GB -o max_parallel_workers_per_gather=1 \
		bash "$SELF" "$NODES" "$EDGES" || status=$?
	release_huge_pages
	exit $status
fi

mkdir -p bench/results
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

q -v nodes="$NODES" -v edges="$EDGES" -f bench/point_graph.sql >/dev/null

settings="SET gnnjit.max_memory = '16GB'; SET gnnjit.jit_above_cost = 0;"
serial="$settings SET max_parallel_workers_per_gather = 0;"
parallel="$settings SET max_parallel_workers_per_gather = 1; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;"
count="SELECT count(*) FROM gnn_infer('sage', 'bench_edges', 'bench_nodes')"

# wall time of one statement in a session that has run the settings
time_ms() {
	local t
	t=$( (echo "$1"; echo '\timing on'; echo "$2;") | psql -X -q -At -v ON_ERROR_STOP=1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n 1)
	echo "$t"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# warm-up (compiles the model in each process) and the exactness checks
q -c "$serial CREATE TABLE out_serial AS SELECT * FROM gnn_infer('sage', 'bench_edges', 'bench_nodes');"
q -c "$parallel CREATE TABLE out_parallel AS SELECT * FROM gnn_infer('sage', 'bench_edges', 'bench_nodes');"
plan=$(q -c "$parallel EXPLAIN (COSTS OFF) $count" | tr '\n' ' ')
case "$plan" in *"Parallel Custom Scan"*) ;; *) echo "no parallel plan: $plan"; exit 1 ;; esac
same=$(q -c "SELECT count(*) = $NODES AND bool_and(s.embedding = p.embedding) FROM out_serial s JOIN out_parallel p USING (node_id)")
[ "$same" = t ] || { echo "parallel rows differ from serial rows"; exit 1; }

s_times=() p_times=()
for i in 1 2 3 4 5; do
	s_times+=("$(time_ms "$serial" "$count")")
	p_times+=("$(time_ms "$parallel" "$count")")
done
s_med=$(printf '%s\n' "${s_times[@]}" | median)
p_med=$(printf '%s\n' "${p_times[@]}" | median)

# point queries: 25 nodes drawn uniformly among those with in-edges
# (the default gnnjit.jit_above_cost: a receptive field's compute is far
# below it, so the portable kernels run and nothing is compiled)
pt_settings="SET gnnjit.max_memory = '16GB';"
ids=$(q -c "SELECT id FROM bench_nodes n WHERE EXISTS (SELECT 1 FROM bench_edges WHERE dst = n.id) ORDER BY hashint8(id) LIMIT 25")
point="SELECT * FROM gnn_infer('sage', 'bench_edges', 'bench_nodes') WHERE node_id ="
others=$(q -c "SELECT id FROM bench_nodes n WHERE EXISTS (SELECT 1 FROM bench_edges WHERE dst = n.id) ORDER BY hashint8(id) OFFSET 25 LIMIT 25")
steady=$({ echo "$pt_settings"; for id in $others; do echo "$point $id;"; done; echo '\timing on'; for id in $ids; do echo "$point $id;"; done; } |
	psql -X -q -At -v ON_ERROR_STOP=1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
warm=$({ echo "$pt_settings"; echo "$point -1;"; echo '\timing on'; for id in $ids; do echo "$point $id;"; done; } |
	psql -X -q -At -v ON_ERROR_STOP=1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
cold=()
for id in $ids; do
	cold+=("$(time_ms "$pt_settings" "$point $id")")
done
fields=$({ echo "$pt_settings"; for id in $ids; do echo "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) $point $id;"; done; } |
	psql -X -q -At -v ON_ERROR_STOP=1 | sed -n 's/.*Receptive Field: \([0-9]*\).*/\1/p')
pt_plan=$(q -c "$settings EXPLAIN (COSTS OFF) $point 1" | tr '\n' ' ')
case "$pt_plan" in *"selected nodes"*) ;; *) echo "point query not pruned: $pt_plan"; exit 1 ;; esac
idlist=$(echo $ids | tr ' ' ',')
same=$(q -c "$settings SELECT count(*) = 25 AND bool_and(p.embedding = s.embedding) FROM gnn_infer('sage', 'bench_edges', 'bench_nodes') p JOIN out_serial s USING (node_id) WHERE p.node_id = ANY('{$idlist}'::bigint[])")
[ "$same" = t ] || { echo "point-query rows differ from full-graph rows"; exit 1; }
p90() { sort -n | awk '{a[NR]=$1} END {print a[int(NR*0.9+0.5)]}'; }
pt_med=$(echo "$steady" | median)
pt_p90=$(echo "$steady" | p90)
pt_fast=$(echo "$steady" | awk '$1 < 10 {n++} END {print n+0}')
first_med=$(echo "$warm" | median)
first_p90=$(echo "$warm" | p90)
first_fast=$(echo "$warm" | awk '$1 < 10 {n++} END {print n+0}')
cold_med=$(printf '%s\n' "${cold[@]}" | median)
cold_p90=$(printf '%s\n' "${cold[@]}" | p90)
field_med=$(echo "$fields" | median)
{
	echo "node_id,receptive_field,ms_in_session,ms_first_in_session,ms_new_session"
	paste -d, <(echo "$ids") <(echo "$fields") <(echo "$steady") <(echo "$warm") <(printf '%s\n' "${cold[@]}")
} > bench/results/scan_points.csv

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/Model name: *//p'), $(free -g | awk '/Mem:/ {print $2}') GB"
echo "graph: $NODES nodes, $EDGES edges, 128 features; model: 2-layer SAGE, 128 channels"
printf '| measurement | ms |\n|---|---|\n'
printf '| serial full graph (median of 5: %s) | %s |\n' "${s_times[*]}" "$s_med"
printf '| parallel, 1 worker + leader (median of 5: %s) | %s |\n' "${p_times[*]}" "$p_med"
printf '| speed-up | %.2fx |\n' "$(echo "$s_med / $p_med" | bc -l)"
printf '| point query in one session, median of 25 | %s |\n' "$pt_med"
printf '| point query in one session, 90th percentile | %s |\n' "$pt_p90"
printf '| point queries under 10 ms | %s of 25 |\n' "$pt_fast"
printf '| point query first in a session, median | %s |\n' "$first_med"
printf '| point query first in a session, 90th percentile | %s |\n' "$first_p90"
printf '| point queries first in a session under 10 ms | %s of 25 |\n' "$first_fast"
printf '| point query in a new session, median | %s |\n' "$cold_med"
printf '| point query in a new session, 90th percentile | %s |\n' "$cold_p90"
echo "median receptive field of the point queries: $field_med nodes; rows equal the full-graph rows"
echo "per query (node, receptive field, ms in session, ms first in session, ms new session): bench/results/scan_points.csv"
sort -t, -k2 -n bench/results/scan_points.csv | tr ',' '\t'
{
	echo "measurement,ms"
	echo "serial,$s_med"
	echo "parallel_1_worker,$p_med"
	echo "point_query_median,$pt_med"
	echo "point_query_p90,$pt_p90"
	echo "point_query_first_in_session_median,$first_med"
	echo "point_query_first_in_session_p90,$first_p90"
	echo "point_query_new_session_median,$cold_med"
	echo "point_query_new_session_p90,$cold_p90"
} > bench/results/scan.csv
