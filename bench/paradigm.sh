#!/usr/bin/env bash
# Full-graph against subgraph-paradigm inference, full-graph scaling and
# memory, and a roofline of the layers, in one run:
#
#   bash bench/paradigm.sh [--quick]
#
# Installs what it needs, builds and installs gnnjit (tools/setup.sh), runs
# two single-threaded microbenchmarks, starts a throwaway cluster
# (pg_virtualenv -t) and measures, with the 2-layer 128-wide SAGE, GCN and
# GAT models of bench/models/ on R-MAT graphs from gnn_generate_graph
# (16 edges per node, 128 features):
#
# 1. Full graph against subgraphs, at three graph sizes (62.5k/1M,
#    125k/2M and 1M/16M nodes/edges; --quick: 4k/64k to 16k/256k): the
#    whole EXPLAIN ANALYZE of SELECT count(*) FROM gnn_infer(...) with
#      full               strategy => 'full' (the default): each layer once
#                         over the whole graph
#      subgraph           strategy => 'subgraph', batch_size => 1024: per
#                         batch of targets, the exact 2-hop in-neighbourhood,
#                         every layer on every subgraph node (PyG's
#                         NeighborLoader with all neighbours + model(batch))
#      subgraph_trimmed   each layer only on the nodes later layers need
#      sampled            strategy => 'subgraph', fanout => ARRAY[25,10],
#                         seed => 1 (NeighborLoader's usual sampling)
#    JIT on, compiled before timing.  Median of 3 runs, or 1 run when it
#    takes over 20 s.  Exact subgraph runs grow with the square of the
#    graph (batches x subgraph size): at the largest size they are capped
#    by statement_timeout (GAT exact: PARADIGM_HEADLINE_CAP, default 300 s;
#    other exact and trimmed runs: PARADIGM_LARGEST_CAP, default 30 s) and
#    reported as "> N s", with an extrapolation from the batches that ran
#    (counted from gnn_stat_progress).  On the smallest graph every model's
#    exact and trimmed subgraph rows are compared with the full-graph rows
#    (they must be bit-identical) and the sampled rows' error is measured.
#    (The exact strategy at 250k/4M alone takes about 8 minutes for the
#    three models, hence 125k/2M in the middle; PARADIGM_SIZES=
#    "62500:1000000,250000:4000000,1000000:16000000" chooses other sizes.)
# 2. Full-graph scaling: SAGE and GCN at 62.5k/1M, 250k/4M, 1M/16M and
#    4M/64M (PARADIGM_SCALE_SIZES): end-to-end
#    time, read + build time, layer time (sum of the layer times), ns per
#    edge per layer, gnnjit's peak memory (EXPLAIN ANALYZE) and the
#    backend's peak RSS (VmHWM); a linear fit gives the largest graph that
#    fits (gnnjit.max_memory is 18GB here).
# 3. Roofline, on the largest graph of part 1.  Roofs: bench/gemm_bench.sh
#    (gnnjit's GEMM and OpenBLAS sgemm, GFLOP/s at 100000x128x128, the
#    layers' shape, by CPU time) and bench/roofline_gather.c (single-threaded
#    gather-sum of 128-float rows at random sources, built with
#    pg_config --cflags and with -march=native added, run on that graph's
#    own edges exported with COPY, and on an R-MAT graph with fully random
#    ids; plus streaming and first-touch rates).  Layer times are per spec
#    layer (and a fused chain of operations books its time to its last
#    layer), so two probe models time the two kinds of work inside gnnjit on
#    the same graph: two Linear 128->128 layers (GEMMs) and two GINConv
#    layers with an identity nn (sum aggregations) plus one Linear.  Each
#    model's full-graph layer time is then split into its GEMM share and
#    the rest, whose aggregation bandwidth is compared with the gather roof.
#
# Writes bench/results/ (or $PARADIGM_OUT): paradigm_runs.csv (every run), paradigm_checks.csv,
# paradigm_graphs.csv, paradigm_programs.json, roofline_gather.csv,
# roofline_gemm.txt, paradigm_machine.txt, paradigm.md (the Markdown printed at the end) and
# the plots paradigm_{ratio,scaling,memory,layers,roofline}.png.  The full
# run takes about 30 minutes on 2 cores; --quick about 2.
#
# Timings are from whatever else the machine runs at the same time; the
# load average is printed and kept per run in paradigm_runs.csv.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=
case "${1:-}" in
	--quick) QUICK=--quick ;;
	"") ;;
	*) echo "usage: bash bench/paradigm.sh [--quick]" >&2; exit 2 ;;
esac
OUT=${PARADIGM_OUT:-bench/results}
PY=/usr/bin/python3
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
export PARADIGM_OUT="$OUT"

. tools/packages.sh
ensure_packages gnuplot-nox python3-psycopg2 libopenblas-dev
bash tools/setup.sh
# the server loads gnnjit from the shared library directory: refuse to time
# a sanitizer build that something else installed there
lib="$(pg_config --pkglibdir)/gnnjit.so"
if ldd "$lib" | grep -qE 'libasan|libubsan|libtsan'; then
	echo "$lib is a sanitizer build (another job installed it); run again later" >&2
	exit 1
fi
mkdir -p "$OUT"
rm -f "$OUT"/paradigm_* "$OUT"/paradigm.md "$OUT"/roofline_*

start=$(date +%s)
CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
MEM=$(free -g | awk '/^Mem:/ {print $2 " GB RAM"}')
cat > "$OUT/paradigm_machine.txt" <<EOF
command: bash bench/paradigm.sh${QUICK:+ $QUICK}
cpu: $CPU
nproc: $(nproc)
memory: $MEM
postgres: $(pg_config --version | sed 's/PostgreSQL //')
gnnjit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src jit 2>/dev/null || echo ' (with uncommitted changes in src/ or jit/)')
load_start: $(cut -d' ' -f1-3 /proc/loadavg)
date: $(date -u '+%Y-%m-%d %H:%M UTC')
EOF
echo "command: bash bench/paradigm.sh${QUICK:+ $QUICK}"
echo "machine: $(nproc) CPUs ($CPU), $MEM; $(lscpu | grep -E '^L3' | tr -s ' ')"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------------------
# Roofline microbenchmarks, before the cluster takes memory
# ---------------------------------------------------------------------------
TMP=$(mktemp -d /tmp/gnn_paradigm.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
if [ -n "$QUICK" ]; then
	GATHER_ARGS="62500 1000000 128 2"
	GEMM_ROUNDS=1
else
	GATHER_ARGS="1000000 16000000 128 3"
	GEMM_ROUNDS=3
fi
echo
echo "== gather bandwidth (bench/roofline_gather.c: $GATHER_ARGS)"
printf 'build\tdist\tloop\trows\tedges\twidth\tgbps\tns_per_edge\tchecksum\n' \
	> "$OUT/roofline_gather.csv"
for build in cflags native; do
	extra=
	[ $build = native ] && extra=-march=native
	# shellcheck disable=SC2046
	gcc $(pg_config --cflags) $extra -o "$TMP/gather_$build" bench/roofline_gather.c
	dists="rmat stream firsttouch"
	[ $build = cflags ] && dists=rmat
	# shellcheck disable=SC2086
	"$TMP/gather_$build" $GATHER_ARGS $dists | sed "s/^/$build\t/" |
		tee -a "$OUT/roofline_gather.csv"
done
# the cluster run times the same binaries on the benchmark graph's edges
export PARADIGM_GATHER_BINS="cflags:$TMP/gather_cflags,native:$TMP/gather_native"
export PARADIGM_GATHER_ROUNDS=${GATHER_ARGS##* }
export PARADIGM_TMP=$TMP
echo
echo "== GEMM (bench/gemm_bench.sh $GEMM_ROUNDS)"
bash bench/gemm_bench.sh "$GEMM_ROUNDS" > "$OUT/roofline_gemm.txt"
grep -E '^#|^ *m |^ *100000 +128 +128' "$OUT/roofline_gemm.txt"

# ---------------------------------------------------------------------------
# gnn_infer measurements in a throwaway cluster
# ---------------------------------------------------------------------------
echo
echo "== gnn_infer measurements"
# PostgreSQL's own JIT stays available to gnnjit (jit = on) but never
# compiles the queries' count(*) (jit_above_cost = -1)
pg_virtualenv -t \
	-o shared_buffers=2GB -o max_wal_size=8GB -o work_mem=256MB \
	-o maintenance_work_mem=1GB -o gnnjit.max_memory=18GB \
	-o max_parallel_workers_per_gather=0 -o jit=on -o jit_above_cost=-1 \
	"$PY" bench/paradigm.py run $QUICK

echo "load_end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/paradigm_machine.txt"
echo "elapsed_s: $(( $(date +%s) - start ))" >> "$OUT/paradigm_machine.txt"
"$PY" bench/paradigm.py plot
rm -rf "$OUT/.plotdata"
echo
echo "== Markdown ($OUT/paradigm.md); plots: $OUT/paradigm_*.png"
echo
"$PY" bench/paradigm.py report
echo
echo "elapsed: $(( $(date +%s) - start )) s"
