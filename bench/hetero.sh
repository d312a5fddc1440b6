#!/usr/bin/env bash
# Heterogeneous benchmark: a to_hetero GraphSAGE and an HGTConv model on a
# two-type R-MAT graph from the graph catalog, gnnjit with its JIT against
# its portable kernels, and PyTorch (tools/hetero_ref.py's forward pass),
# side by side in one run.
#
#   bash bench/hetero.sh [num_nodes] [num_edges]     (1000000 16000000)
#   HETERO_SMALL=1 bash bench/hetero.sh              (20000 320000: a quick check)
#
#   env: HETERO_RUNS (3), HETERO_NODE_TYPE (user: the rows gnn_infer
#        returns and the checks compare), HETERO_TORCH_MAX_GB (8: PyTorch
#        runs on the timed graph only when its estimated peak is below),
#        HETERO_SETUP=1 builds and installs gnnjit first (tools/setup.sh);
#        otherwise the installed gnnjit is used (built and installed when
#        there is none).
#
# Installs what it needs from Debian (python3-torch, python3-numpy, and
# libopenblas0-pthread: with Debian's reference BLAS torch's matrix
# products are ~15x slower), starts a throwaway cluster (pg_virtualenv)
# and removes it at the end.  At the default size the run takes about 25
# minutes on a 2-core machine (HGT is most of it: ~10 GB peak memory per
# inference); HETERO_SMALL=1 under a minute.
#
# The graph.  gnn_generate_graph makes one R-MAT graph (Graph500's a, b, c
# = 0.57, 0.19, 0.19; ids permuted; 128 random features in [-1, 1)) of
# num_nodes nodes and 2/3 * num_edges edges, and SQL splits it by type:
# a node is a user when the low 16 bits of hashint8(id) are below 32768,
# otherwise an item (half each), keeping its id and features (tables
# het_user, het_item).  Every R-MAT edge is kept, typed by its endpoints:
#
#   user__follows__user      user -> user edges            (het_follows)
#   user__clicks__item       user -> item edges, and item -> user edges
#                            turned around                 (het_clicks)
#   item__rev_clicks__user   het_clicks read with src and dst swapped (as
#                            PyG's ToUndirected adds them; no own table)
#   item__similar__item      item -> item edges            (het_similar)
#
# so the four edge types hold about 1/4, 1/2, 1/2 and 1/4 of the R-MAT
# edges: num_edges in all, each with R-MAT's skew (hubs stay hubs in every
# type they touch).  gnn_create_graph registers them as graph 'het'.  A second,
# small graph 'het_check' (20000 nodes, 320000 edges, seed 2; the timed
# graph itself with HETERO_SMALL=1) is built the same way for the check
# against the float64 reference.
#
# The models (bench/hetero_models.py writes bench/models/het_*.json and
# .safetensors, PyG's parameter names, seeded random weights):
#   het_sage   to_hetero([SAGEConv(-1, 128), ReLU, SAGEConv(128, 128)],
#              aggr="sum"): one SAGEConv per edge type and layer
#   het_hgt    HGTConv(128, 128, heads=4), ReLU, HGTConv(128, 128, heads=4)
#
# Per model, in one session (so the library and kernel bitcode loaded at
# the start are the ones timed even if gnnjit is reinstalled meanwhile):
#   compile    the first JIT run, on het_check (gnnjit.jit_above_cost = 0;
#              time and functions from gnn_jit_stats(); the code is cached
#              per model); its output and the portable one are exported
#   warm-up    one JIT and one portable run on het, outputs exported
#   timed      HETERO_RUNS rounds of JIT, portable (alternating, so that a
#              slow spell of a shared machine hits both alike) of
#              SELECT sum(embedding[1]) FROM gnn_infer(model, 'het', type)
#              which builds every output row and its array
#   EXPLAIN    one EXPLAIN ANALYZE of that query with the JIT
#              (bench/results/<name>_explain.txt: rows read, peak memory,
#              layer times)
# end-to-end = the whole query (reading the tables: six scans, the clicks
# table twice; building the graph, the layers, the rows); compute = the
# layers alone (the sum of gnn_last_inference().ms, the numbers of EXPLAIN
# ANALYZE's Layer Times).
# One process per inference (max_parallel_workers_per_gather = 0).
#
# Then bench/hetero_torch.py (another process, after gnnjit's runs):
#   exactness  JIT vs portable on every node of the node type, within
#              1e-5 * max(|portable|, 1); gnnjit (both kernels) vs
#              tools/hetero_ref.py in float64 on het_check, every node of
#              the type, within 1e-4 * max(|reference|, 1)
#   PyTorch    hetero_ref's functions in float32, 1 thread, forward pass
#              only, graph in memory, median of HETERO_RUNS after a warm-up;
#              not run on het when the estimated peak is over
#              HETERO_TORCH_MAX_GB (HGTConv at the default size: hetero_ref
#              keeps [edges, 128] tensors of every edge type), in which
#              case the HETERO_SMALL run has the comparison
#
# Writes bench/results/hetero.csv, hetero.md and hetero_explain.txt
# (hetero_small.* with HETERO_SMALL=1); exits 1 if a check fails.
set -euo pipefail
SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$SELF")/.."

if [ "${HETERO_SMALL:-}" = 1 ]; then
	NODES=${1:-20000}
	EDGES=${2:-320000}
	NAME=hetero_small
else
	NODES=${1:-1000000}
	EDGES=${2:-16000000}
	NAME=hetero
fi
CHECK_NODES=20000
CHECK_EDGES=320000
RUNS=${HETERO_RUNS:-3}
NODE_TYPE=${HETERO_NODE_TYPE:-user}
TORCH_MAX_GB=${HETERO_TORCH_MAX_GB:-8}
THREADS=1
PY=/usr/bin/python3
MODELS="het_sage het_hgt"

if [ "${GNN_BENCH_CLUSTER:-}" != 1 ]; then
	. tools/packages.sh
	ensure_packages python3-torch python3-numpy libopenblas0-pthread
	if [ "${HETERO_SETUP:-}" = 1 ] ||
		[ ! -f "$(/usr/lib/postgresql/15/bin/pg_config --pkglibdir)/gnnjit.so" ]; then
		bash tools/setup.sh
	fi
	CMD="bash bench/hetero.sh${1:+ $1}${2:+ $2}"
	for v in HETERO_SMALL HETERO_RUNS HETERO_NODE_TYPE HETERO_TORCH_MAX_GB HETERO_SETUP; do
		if [ -n "${!v:-}" ]; then CMD="$v=${!v} $CMD"; fi
	done
	# settings for a 24 GB machine; one connection at a time runs here
	exec pg_virtualenv -t \
		-o shared_buffers=2GB -o max_wal_size=8GB -o work_mem=1GB \
		-o maintenance_work_mem=1GB -o gnnjit.max_memory=16GB \
		-o max_parallel_workers_per_gather=0 -o autovacuum=off \
		env GNN_BENCH_CLUSTER=1 HETERO_CMD="$CMD" bash "$SELF" "$NODES" "$EDGES"
fi

# ---------------------------------------------------------------------------
# Inside the throwaway cluster
# ---------------------------------------------------------------------------

TMP=$(mktemp -d /tmp/gnn_hetero_bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
mkdir -p bench/results
START=$(date +%s)
build_id() {   # the installed gnnjit's files
	local lib share
	lib=$(pg_config --pkglibdir)
	share=$(pg_config --sharedir)/extension
	cat "$lib/gnnjit.so" "$lib/bitcode/gnnjit/src/kernels.bc" "$share/gnnjit.control" \
		"$share"/gnnjit--*.sql 2>/dev/null | sha256sum | cut -c1-12
}
RMAT_EDGES=$((EDGES * 2 / 3))
CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
NPROC=$(nproc)
COMMAND=${HETERO_CMD:-bash bench/hetero.sh $NODES $EDGES}
GNNJIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- src jit Makefile 2>/dev/null ||
	GNNJIT="$GNNJIT, source tree with uncommitted changes"
BUILD_START=$(build_id)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
# key=value lines for bench/hetero_report.py
cat > "$TMP/meta.txt" <<EOF
command=$COMMAND
nodes=$NODES
edges=$EDGES
rmat_edges=$RMAT_EDGES
check_nodes=$CHECK_NODES
check_edges=$CHECK_EDGES
small=${HETERO_SMALL:-0}
runs=$RUNS
node_type=$NODE_TYPE
threads=$THREADS
torch_max_gb=$TORCH_MAX_GB
cpu=$CPU
nproc=$NPROC
mem_gb=$(free -g | awk '/^Mem:/ {print $2}')
postgres=$(psql -X -At -c "SELECT version()" | sed 's/ on x86_64.*//')
gnnjit=$GNNJIT
build_start=$BUILD_START
date=$(date -u '+%Y-%m-%d %H:%M UTC')
load_start=$LOAD_START
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)
EOF
echo "command: $COMMAND"
echo "machine: $NPROC CPUs ($CPU), $(free -g | awk '/^Mem:/ {print $2}') GB; shared with other work, so timings are noisy"
echo "load average at start: $LOAD_START; gnnjit $GNNJIT; installed build $BUILD_START"
echo "graph: $NODES nodes, $EDGES edges over 4 edge types ($RMAT_EDGES R-MAT edges), 128 features;" \
	"check graph: $CHECK_NODES nodes, $CHECK_EDGES edges; output node type: $NODE_TYPE"

"$PY" bench/hetero_models.py bench/models

psql_() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

# Catalog graph $1 of the typed tables $2_user, $2_item, ...
catalog_sql() {
	cat <<SQL
SELECT gnn_create_graph('$1',
  '{"user": {"table": "${2}_user"}, "item": {"table": "${2}_item"}}',
  '{"user__follows__user": {"table": "${2}_follows"},
    "user__clicks__item": {"table": "${2}_clicks"},
    "item__rev_clicks__user": {"table": "${2}_clicks", "src": "dst", "dst": "src"},
    "item__similar__item": {"table": "${2}_similar"}}') \\g /dev/null
SQL
}

# The graph as typed tables <g>_user, ... and catalog graph <g>
graph_sql() {   # name nodes edges seed
	local g=$1 n=$2 e=$3 seed=$4 user="(hashint8(id) & 65535) < 32768"
	cat <<SQL
SELECT clock_timestamp() AS t0 \\gset
SELECT gnn_generate_graph('${g}_rmat_nodes', '${g}_rmat_edges', $n, $((e * 2 / 3)), 128, $seed,
                          unlogged => true) \\g /dev/null
CREATE UNLOGGED TABLE ${g}_user AS SELECT id, features FROM ${g}_rmat_nodes WHERE $user;
CREATE UNLOGGED TABLE ${g}_item AS SELECT id, features FROM ${g}_rmat_nodes WHERE NOT $user;
CREATE TEMP TABLE ${g}_typed AS
  SELECT src, dst, ${user//id/src} AS su, ${user//id/dst} AS du FROM ${g}_rmat_edges;
CREATE UNLOGGED TABLE ${g}_follows AS SELECT src, dst FROM ${g}_typed WHERE su AND du;
CREATE UNLOGGED TABLE ${g}_clicks AS
  SELECT CASE WHEN su THEN src ELSE dst END AS src, CASE WHEN su THEN dst ELSE src END AS dst
  FROM ${g}_typed WHERE su <> du;
CREATE UNLOGGED TABLE ${g}_similar AS SELECT src, dst FROM ${g}_typed WHERE NOT su AND NOT du;
DROP TABLE ${g}_typed, ${g}_rmat_nodes, ${g}_rmat_edges;
ANALYZE ${g}_user, ${g}_item, ${g}_follows, ${g}_clicks, ${g}_similar;
$(catalog_sql "$g" "$g")
INSERT INTO bench_graph VALUES
  ('$g', 'user', 'node', (SELECT count(*) FROM ${g}_user)),
  ('$g', 'item', 'node', (SELECT count(*) FROM ${g}_item)),
  ('$g', 'user__follows__user', 'edge', (SELECT count(*) FROM ${g}_follows)),
  ('$g', 'user__clicks__item', 'edge', (SELECT count(*) FROM ${g}_clicks)),
  ('$g', 'item__rev_clicks__user', 'edge', (SELECT count(*) FROM ${g}_clicks)),
  ('$g', 'item__similar__item', 'edge', (SELECT count(*) FROM ${g}_similar)),
  ('$g', 'build', 'ms', extract(epoch FROM clock_timestamp() - :'t0') * 1000);
\\echo graph $g: $n nodes, about $e edges built
SQL
}

cat > "$TMP/bench.sql" <<'SQL'
CREATE EXTENSION gnnjit;
DO $$ BEGIN
  IF NOT (SELECT available FROM gnn_jit_stats()) THEN
    RAISE EXCEPTION 'gnnjit''s JIT is not available (PostgreSQL jit off or llvmjit missing)';
  END IF;
END $$;

CREATE TABLE bench_graph (graph text, name text, kind text, value float8);
CREATE TABLE bench_runs (model text, variant text, run int, e2e_ms float8,
                         compute_ms float8, jit bool);
CREATE TABLE bench_layers (model text, variant text, run int, layer int,
                           type text, ms float8);
CREATE TABLE bench_compile (model text, compile_ms float8, compiles bigint,
                            functions bigint);
CREATE TABLE bench_memory (model text, backend_peak_rss_kb bigint);

-- 'times' rounds, each running every variant once in turn; records each
-- run's whole query and its layers
CREATE FUNCTION bench_run(m text, variants text[], g text, t text, times int)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz;
  v text;
BEGIN
  FOR r IN 1..times LOOP
    FOREACH v IN ARRAY variants LOOP
      PERFORM set_config('gnnjit.jit', CASE v WHEN 'jit' THEN 'on' ELSE 'off' END,
                         false);
      t0 := clock_timestamp();
      PERFORM sum(embedding[1]) FROM gnn_infer(m, g, t);
      INSERT INTO bench_runs
        SELECT m, v, r, extract(epoch FROM clock_timestamp() - t0) * 1000,
               sum(l.ms), bool_and(l.jit)
        FROM gnn_last_inference() l;
      INSERT INTO bench_layers
        SELECT m, v, r, l.layer, l.type, l.ms FROM gnn_last_inference() l;
    END LOOP;
  END LOOP;
END $$;
SELECT pg_backend_pid() AS pid \gset
SQL
{
	graph_sql het "$NODES" "$EDGES" 1
	if [ "${HETERO_SMALL:-}" = 1 ]; then
		catalog_sql het_check het
	else
		graph_sql het_check "$CHECK_NODES" "$CHECK_EDGES" 2
	fi
	for m in $MODELS; do
		echo "\\set spec \`cat bench/models/$m.json\`"
		echo "\\set w \`base64 -w0 bench/models/$m.safetensors\`"
		echo "SELECT gnn_create_model('$m', :'spec', decode(:'w', 'base64')) \\g /dev/null"
	done
	echo "SET gnnjit.jit_above_cost = 0;"
	export_sql() {   # model variant graph file
		echo "SET gnnjit.jit = $([ "$2" = jit ] && echo on || echo off);"
		echo "\\copy (SELECT node_id, embedding FROM gnn_infer('$1', '$3', '$NODE_TYPE')) TO '$TMP/$4' WITH (FORMAT binary)"
	}
	# compile every model first (the JIT reads its kernel bitcode from the
	# installation at each compile), on the small graph
	for m in $MODELS; do
		cat <<SQL
\\echo gnnjit $m: compile, check graph outputs
SELECT generate_ms + emit_ms AS c0, compiles AS n0, functions AS f0 FROM gnn_jit_stats() \\gset
SQL
		export_sql "$m" jit het_check "check_${m}_jit.bin"
		cat <<SQL
INSERT INTO bench_compile
  SELECT '$m', generate_ms + emit_ms - :c0, compiles - :n0, functions - :f0 FROM gnn_jit_stats();
SQL
		export_sql "$m" portable het_check "check_${m}_portable.bin"
	done
	for m in $MODELS; do
		echo "\\echo gnnjit $m: warm-up (JIT, portable), $RUNS timed rounds, EXPLAIN ANALYZE"
		export_sql "$m" jit het "main_${m}_jit.bin"
		export_sql "$m" portable het "main_${m}_portable.bin"
		echo "SELECT bench_run('$m', '{jit,portable}', 'het', '$NODE_TYPE', $RUNS) \\g /dev/null"
		cat <<SQL
SET gnnjit.jit = on;
\\o $TMP/explain_$m.txt
\\qecho '$m, JIT:'
EXPLAIN (ANALYZE) SELECT sum(embedding[1]) FROM gnn_infer('$m', 'het', '$NODE_TYPE');
\\o
\\set rss \`sed -n 's/^VmHWM: *\\([0-9]*\\) kB/\\1/p' /proc/:pid/status\`
INSERT INTO bench_memory VALUES ('$m', NULLIF(:'rss', '')::bigint);
SQL
	done
	cat <<'SQL'
DO $$ BEGIN
  IF EXISTS (SELECT FROM bench_runs WHERE jit IS DISTINCT FROM (variant = 'jit')) THEN
    RAISE EXCEPTION 'a run did not use the kernels its variant names';
  END IF;
  IF EXISTS (SELECT FROM bench_compile WHERE compiles < 1) THEN
    RAISE EXCEPTION 'a model was never compiled';
  END IF;
END $$;
SQL
	for t in bench_graph bench_runs bench_layers bench_compile bench_memory; do
		echo "\\copy $t TO '$TMP/$t.csv' CSV HEADER"
	done
} >> "$TMP/bench.sql"

t=$(date +%s)
psql_ -f "$TMP/bench.sql"
echo "gnnjit done in $(( $(date +%s) - t )) s"
for m in $MODELS; do cat "$TMP/explain_$m.txt"; done > "bench/results/${NAME}_explain.txt"

# ---------------------------------------------------------------------------
# PyTorch and the checks, then the tables
# ---------------------------------------------------------------------------

check_rc=0
# glibc malloc keeps freed memory instead of returning it (and faulting it
# in again) on every tensor, as in bench/jit_bench.sh
MALLOC_MMAP_THRESHOLD_=$((1 << 34)) MALLOC_TRIM_THRESHOLD_=$((1 << 34)) \
OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS \
"$PY" bench/hetero_torch.py --graph het --check-graph het_check \
	--node-type "$NODE_TYPE" --exports "$TMP" --threads "$THREADS" \
	--runs "$RUNS" --max-gb "$TORCH_MAX_GB" --csv "$TMP/torch.csv" || check_rc=$?
rm -f "$TMP"/*.bin
[ -f "$TMP/torch.csv" ] || { echo "bench/hetero_torch.py failed" >&2; exit 1; }

cat >> "$TMP/meta.txt" <<EOF
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
build_end=$(build_id)
seconds=$(( $(date +%s) - START ))
EOF
"$PY" bench/hetero_report.py "$TMP" "bench/results/$NAME"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrote bench/results/$NAME.csv, $NAME.md, ${NAME}_explain.txt"
if [ "$check_rc" != 0 ]; then
	echo "FAILED: an exactness check is over its limit" >&2
	exit 1
fi
