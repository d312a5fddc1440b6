#!/usr/bin/env bash
# JIT benchmark: gnnjit with its LLVM JIT, gnnjit's portable kernels, a plain
# PyTorch baseline (bench/torch_baseline.py) and a pure-SQL SAGE layer, on
# one R-MAT power-law graph, side by side in one run.
#
#   bash bench/jit_bench.sh [num_nodes] [num_edges]     (1000000 16000000)
#
# Installs what it needs, builds and installs gnnjit (tools/setup.sh), starts
# a throwaway cluster (pg_virtualenv), generates the graph with 128 features
# per node, loads the models of bench/models/ (2-layer SAGE, GCN, GAT, 128
# channels) and, for each model:
#
#   gnnjit JIT       gnnjit.jit = on, jit_above_cost = 0: compiled by a
#                    first run on the small graph below (compile time from
#                    gnn_jit_stats(); the code is cached per model), one
#                    warm-up run (its output is exported for the checks),
#                    then the median of 3 runs of
#                    SELECT count(*) FROM gnn_infer(...)
#   gnnjit portable  the same with gnnjit.jit = off (the timed runs of the
#                    two variants alternate: JIT, portable, JIT, ...)
#   PyTorch          the same model in plain torch, float32, forward pass
#                    only, graph already in memory, 1 thread as gnnjit
#                    runs in 1 process
#
# end-to-end = the whole gnn_infer query (reading both tables, building the
# graph, the layers, building the result rows, which count(*) does not send
# to the client); compute = the layers alone (sum of gnn_last_inference().ms,
# also printed per layer).  Ratios are JIT time / other time: below 1 means
# the JIT is faster.  PyTorch is also checked against tools/pyg_ref.py
# (float64) on the small graph below.
#
# Pure SQL: the first SAGE layer (mean aggregation, lin_l + lin_r + bias) as
# one join/GROUP BY query is far too slow for the full graph; it runs on a
# separate small R-MAT graph (SQL_NODES nodes, default 10000, same average
# degree), next to gnnjit JIT running a 1-layer SAGE model with the same
# weights on that graph.  Its cost per edge is also extrapolated, linearly,
# to the full graph and set beside the 1-layer model measured there.  The
# query runs in one process too.
#
# Exactness: every node's outputs of JIT, portable and PyTorch, and of pure
# SQL against gnnjit on the small graph, must agree within
# |a - b| <= 1e-5 * max(|b|, 1); the script exits 1 otherwise.
#
# Everything that calls gnnjit runs over one connection, so the library and
# bitcode it loaded at the start are the ones timed even if gnnjit is
# reinstalled meanwhile.
#
# Prints a table and writes it to bench/results/jit.csv.  The PyTorch runs
# come after gnnjit's, in another process: on a shared machine, its ratio to
# gnnjit moves with the load more than the JIT/portable ratio does.
set -euo pipefail
SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$SELF")/.."

NODES=${1:-1000000}
EDGES=${2:-16000000}
SQL_NODES=${SQL_NODES:-10000}
# Processes per inference: one.  gnnjit's parallel scan is switched off
# (max_parallel_workers_per_gather = 0), and PyTorch gets as many threads.
THREADS=1
RUNS=3
PY=/usr/bin/python3

if [ "${GNN_BENCH_CLUSTER:-}" != 1 ]; then
	. tools/packages.sh
	# libopenblas0-pthread: without it torch's matrix products run on
	# Debian's reference BLAS (measured: SAGE's forward 37 s instead of 5 s)
	ensure_packages python3-torch python3-numpy python3-psycopg2 libopenblas0-pthread
	bash tools/setup.sh
	. bench/hugepages.sh
	reserve_huge_pages 2048
	status=0
	# settings for a 24 GB machine; one connection at a time runs here
	pg_virtualenv -t \
		-o shared_buffers=2GB -o huge_pages=$HUGE_PAGES -o max_wal_size=8GB -o work_mem=2GB \
		-o maintenance_work_mem=1GB -o gnnjit.max_memory=16GB \
		-o max_parallel_workers_per_gather=0 \
		env GNN_BENCH_CLUSTER=1 bash "$SELF" "$NODES" "$EDGES" || status=$?
	release_huge_pages
	exit $status
fi

# ---------------------------------------------------------------------------
# Inside the throwaway cluster
# ---------------------------------------------------------------------------

TMP=$(mktemp -d /tmp/gnn_jit_bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
mkdir -p bench/results
CSV=bench/results/jit.csv
SQL_EDGES=$(( SQL_NODES * EDGES / NODES ))
CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
NPROC=$(nproc)

psql_() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

echo "machine: $NPROC CPUs ($CPU), $(free -g | awk '/^Mem:/ {print $2}') GB;" \
	"shared with other work, so timings are noisy"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "graph: $NODES nodes, $EDGES edges, 128 features; pure SQL graph:" \
	"$SQL_NODES nodes, $SQL_EDGES edges"

# the pure SQL layer's weights: lin_l, lin_r (m, out, in, value), bias
"$PY" - bench/models/sage.safetensors > "$TMP/sage1_weights.csv" <<'PY'
import sys
sys.path.insert(0, "tools")
import safetensors_io
t = safetensors_io.load(sys.argv[1]).tensors
for which in ("l", "r"):
    w = t[f"convs.0.lin_{which}.weight"]
    for o in range(w.shape[0]):
        for i in range(w.shape[1]):
            print(f"{which},{o + 1},{i + 1},{float(w[o, i])!r}")
for o, v in enumerate(t["convs.0.lin_l.bias"]):
    print(f"b,{o + 1},0,{float(v)!r}")
PY

cat > "$TMP/bench.sql" <<'SQL'
CREATE EXTENSION gnnjit;
DO $$ BEGIN
  IF NOT (SELECT available FROM gnn_jit_stats()) THEN
    RAISE EXCEPTION 'gnnjit''s JIT is not available (PostgreSQL jit off or llvmjit missing)';
  END IF;
END $$;

CREATE TABLE bench_runs (model text, variant text, graph text, run int,
                         e2e_ms float8, compute_ms float8, jit bool);
CREATE TABLE bench_layers (model text, variant text, graph text, run int,
                           layer int, type text, ms float8);
CREATE TABLE bench_compile (model text, graph text, compile_ms float8,
                            compiles bigint);
CREATE TABLE bench_diffs (model text, pair text, max_rel_diff float8);
CREATE TABLE bench_torch (kind text, model text, name text, value float8);
CREATE TABLE bench_sql (nodes bigint, edges bigint, sql_ms float8);

-- Times model: 'times' rounds, each running every variant once in turn (so
-- that a slow spell of a shared machine hits all variants alike); records
-- each run's whole query and its layers.
CREATE FUNCTION bench_run(m text, variants text[], graph text, e regclass,
                          n regclass, times int) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz;
  v text;
BEGIN
  FOR r IN 1..times LOOP
    FOREACH v IN ARRAY variants LOOP
      PERFORM set_config('gnnjit.jit', CASE v WHEN 'jit' THEN 'on' ELSE 'off' END,
                         false);
      t0 := clock_timestamp();
      -- PERFORM, not SELECT INTO, which would rule out a parallel plan
      PERFORM count(*) FROM gnn_infer(m, e, n);
      INSERT INTO bench_runs
        SELECT m, v, graph, r,
               extract(epoch FROM clock_timestamp() - t0) * 1000,
               sum(l.ms), bool_and(l.jit)
        FROM gnn_last_inference() l;
      INSERT INTO bench_layers
        SELECT m, v, graph, r, l.layer, l.type, l.ms
        FROM gnn_last_inference() l;
    END LOOP;
  END LOOP;
END $$;

-- Graphs: R-MAT (a, b, c = 0.57, 0.19, 0.19), 128 features, seed 1
SELECT clock_timestamp() AS t0 \gset
SELECT gnn_generate_graph('bench_nodes', 'bench_edges', :nodes, :edges, 128, 1,
                          unlogged => true) \g /dev/null
SELECT gnn_generate_graph('sql_nodes', 'sql_edges', :sql_nodes, :sql_edges, 128, 1,
                          unlogged => true) \g /dev/null
ANALYZE bench_nodes, bench_edges, sql_nodes, sql_edges;
SELECT round(extract(epoch FROM clock_timestamp() - :'t0') * 1000) AS ms \gset
\echo graphs generated and analyzed in :ms ms

-- Models: the three benchmark models, and the SAGE model's first layer alone
-- (the same safetensors file: the spec uses only convs.0.*)
SQL
{
	for m in sage gcn gat; do
		echo "\\set spec \`cat bench/models/$m.json\`"
		echo "\\set w \`base64 -w0 bench/models/$m.safetensors\`"
		echo "SELECT gnn_create_model('$m', :'spec', decode(:'w', 'base64')) \\g /dev/null"
	done
	echo "\\set w \`base64 -w0 bench/models/sage.safetensors\`"
	echo "SELECT gnn_create_model('sage1', '{\"layers\": [{\"type\": \"SAGEConv\", \"prefix\": \"convs.0\", \"in_channels\": 128, \"out_channels\": 128}]}', decode(:'w', 'base64')) \\g /dev/null"
} >> "$TMP/bench.sql"

warmup_sql() {   # model variant(jit|portable) graph edges nodes export?
	local m=$1 v=$2 graph=$3 e=$4 n=$5 export=$6 jit=on
	[ "$v" = portable ] && jit=off
	cat <<SQL
SET gnnjit.jit = $jit;
SELECT generate_ms + emit_ms AS c0, compiles AS n0 FROM gnn_jit_stats() \\gset
\\echo gnnjit $m $v ($graph): warm-up
SQL
	if [ "$export" = export ]; then
		echo "\\copy (SELECT node_id, embedding FROM gnn_infer('$m', '$e', '$n')) TO '$TMP/${m}_$v.bin' WITH (FORMAT binary)"
	else
		echo "SELECT count(*) FROM gnn_infer('$m', '$e', '$n') \\g /dev/null"
	fi
	[ "$v" = jit ] && cat <<SQL
INSERT INTO bench_compile
  SELECT '$m', '$graph', generate_ms + emit_ms - :c0, compiles - :n0
  FROM gnn_jit_stats();
SQL
	return 0
}

# gnnjit JIT and portable, one warm-up each, then alternating timed runs.
# Every model is compiled first, on the small graph: the JIT reads its kernel
# bitcode from the installation at each compile, so compiling early keeps
# the code consistent with the library this backend loaded.
{
	echo "SET gnnjit.jit_above_cost = 0;"
	for m in sage gcn gat sage1; do
		warmup_sql $m jit compile sql_edges sql_nodes noexport
	done
	for m in sage gcn gat; do
		warmup_sql $m jit full bench_edges bench_nodes export
		warmup_sql $m portable full bench_edges bench_nodes export
		echo "\\echo gnnjit $m: $RUNS timed runs of each"
		echo "SELECT bench_run('$m', '{jit,portable}', 'full', 'bench_edges', 'bench_nodes', $RUNS) \\g /dev/null"
	done
	warmup_sql sage1 jit full bench_edges bench_nodes noexport
	echo "SELECT bench_run('sage1', '{jit}', 'full', 'bench_edges', 'bench_nodes', $RUNS) \\g /dev/null"
	warmup_sql sage1 jit small sql_edges sql_nodes noexport
	echo "SELECT bench_run('sage1', '{jit}', 'small', 'sql_edges', 'sql_nodes', $RUNS) \\g /dev/null"
} >> "$TMP/bench.sql"

cat >> "$TMP/bench.sql" <<'SQL'
DO $$ BEGIN
  IF EXISTS (SELECT FROM bench_runs WHERE jit IS DISTINCT FROM (variant = 'jit')) THEN
    RAISE EXCEPTION 'a run did not use the kernels its variant names';
  END IF;
  IF EXISTS (SELECT FROM bench_compile GROUP BY model HAVING sum(compiles) < 1) THEN
    RAISE EXCEPTION 'a model was never compiled';
  END IF;
END $$;

-- Pure SQL: the first SAGE layer on the small graph, in float8
\echo pure SQL: SAGE layer 1 on :sql_nodes nodes, :sql_edges edges
CREATE TABLE sql_w (m text, o int, i int, v float8);
\copy sql_w FROM pstdin CSV
ANALYZE sql_w;
SELECT clock_timestamp() AS t0 \gset
-- h = lin_l(mean_{j -> i} x_j) + lin_l.bias + lin_r(x_i), element by element
CREATE TABLE sql_out AS
WITH x AS MATERIALIZED (
  SELECT n.id, u.i::int AS i, u.f::float8 AS f
  FROM sql_nodes n, unnest(n.features) WITH ORDINALITY AS u(f, i)),
agg AS (
  SELECT e.dst AS id, x.i, avg(x.f) AS f
  FROM sql_edges e JOIN x ON x.id = e.src
  GROUP BY e.dst, x.i),
l AS (
  SELECT agg.id, w.o, sum(agg.f * w.v) AS v
  FROM agg JOIN sql_w w ON w.m = 'l' AND w.i = agg.i
  GROUP BY agg.id, w.o),
r AS (
  SELECT x.id, w.o, sum(x.f * w.v) AS v
  FROM x JOIN sql_w w ON w.m = 'r' AND w.i = x.i
  GROUP BY x.id, w.o)
SELECT r.id, r.o, r.v + coalesce(l.v, 0) + b.v AS v
FROM r LEFT JOIN l USING (id, o) JOIN sql_w b ON b.m = 'b' AND b.o = r.o;
INSERT INTO bench_sql
  SELECT (SELECT count(*) FROM sql_nodes), (SELECT count(*) FROM sql_edges),
         extract(epoch FROM clock_timestamp() - :'t0') * 1000;

-- gnnjit (JIT) on the same graph, every output element against SQL's
SET gnnjit.jit = on;
INSERT INTO bench_diffs
  SELECT 'sage1', 'jit_vs_sql',
         CASE WHEN count(*) = count(g.v) AND count(*) = count(s.v)
              THEN max(abs(g.v - s.v) / greatest(abs(s.v), 1))
              ELSE 'Infinity' END
  FROM (SELECT node_id AS id, o::int, v::float8
        FROM gnn_infer('sage1', 'sql_edges', 'sql_nodes'),
             unnest(embedding) WITH ORDINALITY AS u(v, o)) g
  FULL JOIN sql_out s USING (id, o);
SQL

t=$(date +%s%N)
psql_ -v nodes="$NODES" -v edges="$EDGES" -v sql_nodes="$SQL_NODES" \
	-v sql_edges="$SQL_EDGES" -f "$TMP/bench.sql" < "$TMP/sage1_weights.csv"
echo "gnnjit and pure SQL done in $(ms_since "$t") ms"

# ---------------------------------------------------------------------------
# PyTorch, and the checks of every node's outputs
# ---------------------------------------------------------------------------

torch_rc=0
# glibc malloc keeps freed memory instead of returning it (and faulting it
# in again) on every tensor: what PyTorch's CPU tuning advice gets from
# jemalloc or TCMalloc; it makes the baseline faster, not slower
MALLOC_MMAP_THRESHOLD_=$((1 << 34)) MALLOC_TRIM_THRESHOLD_=$((1 << 34)) \
"$PY" bench/torch_baseline.py --nodes bench_nodes --edges bench_edges \
	--ref-graph sql_nodes,sql_edges \
	--threads "$THREADS" --runs "$RUNS" --compare "$TMP" \
	--csv "$TMP/torch.csv" || torch_rc=$?
rm -f "$TMP"/*.bin
[ -f "$TMP/torch.csv" ] || { echo "the PyTorch baseline failed" >&2; exit 1; }

# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------

psql_ -P footer=off <<SQL
\\copy bench_torch FROM '$TMP/torch.csv' CSV HEADER
INSERT INTO bench_diffs SELECT model, name, value FROM bench_torch WHERE kind = 'diff';

CREATE VIEW bench_med AS
  SELECT model, variant, graph,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY e2e_ms) AS e2e,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY compute_ms) AS compute
  FROM bench_runs GROUP BY 1, 2, 3;

CREATE TABLE bench_table AS
WITH j AS (SELECT * FROM bench_med WHERE variant = 'jit'),
p AS (SELECT * FROM bench_med WHERE variant = 'portable'),
t AS (SELECT model, value AS fwd FROM bench_torch WHERE kind = 'time'),
s AS (SELECT * FROM bench_sql),
compiled AS (SELECT model, sum(compile_ms) AS compile_ms FROM bench_compile
             GROUP BY model),
full_graph AS (SELECT '$NODES/$EDGES'::text AS g),
small_graph AS (SELECT nodes || '/' || edges AS g FROM s)
SELECT * FROM (
  SELECT j.model, 2 AS layers, 1 AS pos, 'gnnjit JIT' AS variant,
         (SELECT g FROM full_graph) AS graph_nodes_edges,
         j.e2e AS end_to_end_ms, j.compute AS compute_ms,
         c.compile_ms,
         j.compute / p.compute AS jit_over_portable_compute,
         j.e2e / p.e2e AS jit_over_portable_end_to_end,
         j.compute / t.fwd AS jit_over_pytorch_compute,
         NULL::float8 AS sql_over_jit,
         NULL::float8 AS max_rel_diff_vs_jit,
         NULL::text AS note
  FROM j JOIN p USING (model, graph) JOIN t USING (model)
       JOIN compiled c USING (model)
  WHERE j.graph = 'full'
  UNION ALL
  SELECT p.model, 2, 2, 'gnnjit portable', (SELECT g FROM full_graph),
         p.e2e, p.compute, NULL, NULL, NULL, NULL, NULL,
         (SELECT max_rel_diff FROM bench_diffs d
          WHERE d.model = p.model AND pair = 'jit_vs_portable'), NULL
  FROM p
  UNION ALL
  SELECT t.model, 2, 3, 'PyTorch', (SELECT g FROM full_graph),
         NULL, t.fwd, NULL, NULL, NULL, NULL, NULL,
         (SELECT max_rel_diff FROM bench_diffs d
          WHERE d.model = t.model AND pair = 'jit_vs_pytorch'),
         'forward pass only, graph in memory, $THREADS thread(s)'
  FROM t
  UNION ALL
  SELECT 'sage1', 1, 4, 'gnnjit JIT', g, j.e2e, j.compute, c.compile_ms,
         NULL, NULL, NULL, NULL, NULL, 'first SAGE layer alone'
  FROM j JOIN compiled c USING (model), full_graph
  WHERE j.model = 'sage1' AND j.graph = 'full'
  UNION ALL
  SELECT 'sage1', 1, 5, 'pure SQL (extrapolated)', g,
         s.sql_ms * $EDGES / s.edges, NULL, NULL, NULL, NULL, NULL,
         s.sql_ms * $EDGES / s.edges / j.e2e, NULL,
         'NOT MEASURED: small-graph time per edge x edges'
  FROM s, j, full_graph WHERE j.model = 'sage1' AND j.graph = 'full'
  UNION ALL
  SELECT 'sage1', 1, 6, 'gnnjit JIT', g, j.e2e, j.compute, NULL,
         NULL, NULL, NULL, NULL, NULL, 'first SAGE layer alone'
  FROM j, small_graph
  WHERE j.model = 'sage1' AND j.graph = 'small'
  UNION ALL
  SELECT 'sage1', 1, 7, 'pure SQL', g, s.sql_ms, NULL, NULL,
         NULL, NULL, NULL, s.sql_ms / j.e2e,
         (SELECT max_rel_diff FROM bench_diffs WHERE pair = 'jit_vs_sql'),
         'one run; join + GROUP BY, float8'
  FROM s, j, small_graph WHERE j.model = 'sage1' AND j.graph = 'small'
) x ORDER BY CASE model WHEN 'sage' THEN 1 WHEN 'gcn' THEN 2 WHEN 'gat' THEN 3 ELSE 4 END, pos;

\\echo
\\echo 'Times in ms (end-to-end: the whole gnn_infer query; compute: its layers).'
\\echo 'Ratios are JIT time / other time (< 1: JIT faster); sql_over_jit = SQL time / gnnjit JIT time.'
SELECT model, variant, graph_nodes_edges AS "nodes/edges",
       round(end_to_end_ms::numeric, 0) AS e2e_ms,
       round(compute_ms::numeric, 0) AS compute_ms,
       round(compile_ms::numeric, 0) AS compile_ms,
       round(jit_over_portable_compute::numeric, 2) AS "jit/port compute",
       round(jit_over_portable_end_to_end::numeric, 2) AS "jit/port e2e",
       round(jit_over_pytorch_compute::numeric, 2) AS "jit/torch",
       round(sql_over_jit::numeric, 0) AS "sql/jit"
FROM bench_table;

\\echo 'Per layer, full graph (median ms of the timed runs; PyTorch: timed around each layer of its forward).'
\\echo 'The JIT fuses chains of operations across layers and books a chain to one of them (the others show 0).'
SELECT l.model, l.layer, l.type,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY l.ms) FILTER (WHERE variant = 'jit'))::numeric) AS jit_ms,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY l.ms) FILTER (WHERE variant = 'portable'))::numeric) AS portable_ms,
       round(min(t.value)::numeric) AS pytorch_ms
FROM bench_layers l
LEFT JOIN bench_torch t ON t.kind = 'layer' AND t.model = l.model AND t.name = l.layer::text
WHERE l.graph = 'full' AND l.model <> 'sage1'
GROUP BY 1, 2, 3
ORDER BY CASE l.model WHEN 'sage' THEN 1 WHEN 'gcn' THEN 2 ELSE 3 END, 2;

\\echo 'Largest relative difference |a - b| / max(|b|, 1) per pair (limit 1e-5):'
SELECT model, pair, to_char(max_rel_diff, '9.99EEEE') AS max_rel_diff,
       CASE WHEN max_rel_diff <= 1e-5 THEN 'ok' ELSE 'OVER' END AS check
FROM bench_diffs ORDER BY model, pair;

SELECT (SELECT round(value::numeric) FROM bench_torch WHERE name = 'load_ms') AS load_ms \\gset
\\echo 'PyTorch: reading the graph from the database (binary COPY + numpy) took' :load_ms 'ms, not in its forward time.'
SELECT round((sql_ms / edges * 1000)::numeric, 1) AS us_per_edge FROM bench_sql \\gset
\\echo 'Pure SQL: ' :us_per_edge 'us per edge for one SAGE layer; the extrapolated row assumes cost linear in edges at the same average degree.'

\\copy (SELECT model, layers, variant, graph_nodes_edges, end_to_end_ms, compute_ms, compile_ms, jit_over_portable_compute, jit_over_portable_end_to_end, jit_over_pytorch_compute, sql_over_jit, max_rel_diff_vs_jit, note, $THREADS AS threads, $NPROC AS nproc, '$CPU' AS cpu FROM bench_table) TO '$CSV' CSV HEADER
SQL

echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
over=$(psql -X -A -t -c "SELECT count(*) FROM bench_diffs WHERE NOT (max_rel_diff <= 1e-5)")
echo "wrote $CSV"
if [ "$over" != 0 ] || [ "$torch_rc" != 0 ]; then
	echo "FAILED: $over output difference(s) over 1e-5" >&2
	exit 1
fi
