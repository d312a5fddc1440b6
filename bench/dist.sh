#!/usr/bin/env bash
# Distributed inference on loopback shards against one server:
#
#   bash bench/dist.sh [num_nodes] [num_edges]     (200000 3200000)
#
#   env: DIST_MODELS (default "sage gcn gat"), DIST_SHARDS ("1 2 4"),
#        DIST_RUNS (3), DIST_ANALYZE_SHARDS (1: ANALYZE the shard tables on
#        the shards after gnn_distribute; 0: leave them as gnn_distribute
#        does), DIST_NAME (dist: the results' file names), DIST_PORT (first
#        port, 55400), DIST_KEEP=1 keeps the clusters' directory (logs)
#        instead of removing it (it is kept anyway when the script fails)
#
# Uses the gnnjit already installed (make install; it does not build).
# Every new backend loads gnnjit.so and its kernel bitcode from the
# installation, so a reinstallation during the run (other jobs on this
# machine do that) would mix builds: the script copies the PostgreSQL 15
# installation (/usr/lib/postgresql/15 and /usr/share/postgresql/15, about
# 50 MB, gnnjit included) into its temporary directory and runs the
# servers from that copy, whose $libdir is the copy's.  As root it runs
# the servers as the postgres OS user (runuser).  Starts five
# throwaway clusters (initdb, pg_ctl) in a temporary directory, on unix
# sockets there only (listen_addresses = ''), all on this machine: a
# coordinator and shard servers s0..s3, each with shared_buffers = 1GB,
# max_parallel_workers_per_gather = 0, autovacuum off, gnnjit.max_memory =
# 8GB; all stopped on exit.  On the coordinator: an R-MAT graph
# (gnn_generate_graph, 128 features, seed 1) in bench_nodes/bench_edges,
# the 2-layer 128-wide models of bench/models/, postgres_fdw servers
# s0..s3, and one layout per shard count k (gnn_distribute onto s0..s(k-1),
# tables d<k>_nodes/d<k>_edges); the copy of each layout is timed.
# gnn_distribute's ANALYZE runs on the coordinator (through postgres_fdw)
# and leaves the shard servers' own tables unanalyzed, and a shard sizes
# its arrays from its planner's row estimates (as the local run does from
# bench_nodes, analyzed here), so by default the shard tables are then
# analyzed on the shards (what autovacuum, off here, would do soon after);
# DIST_ANALYZE_SHARDS=0 measures them as gnn_distribute leaves them.  Then,
# per model, JIT on (gnnjit.jit_above_cost = 0, forwarded to the shards):
#   local      gnn_infer(model, 'bench_edges', 'bench_nodes') on the
#              coordinator's own tables (the single-server baseline)
#   k shards   gnn_infer(model, 'd<k>_edges', 'd<k>_nodes')
# measuring
#   wall       SELECT count(*) FROM gnn_infer(...), psql \timing, each run in
#              a new session (so every run connects to the shards and
#              compiles the model there and, for local runs, on the
#              coordinator); median of DIST_RUNS runs, after one warm-up
#              run; runs of all configurations interleaved (run 1 of every
#              configuration, then run 2, ...)
#   CPU        user + system CPU of every server process of all five
#              clusters during each timed run, median over the runs.  Per
#              cluster: the postmaster's utime + stime + cutime + cstime
#              (/proc/<pid>/stat fields 14-17: cutime/cstime hold the CPU
#              of its reaped children, the short-lived shard backends and
#              the coordinator backend of the run) plus utime + stime of
#              its live children (background processes).  Read before the
#              run and after it, once no client backend ("[local]") is left
#              on any cluster, so every backend of the run has been reaped
#              into its postmaster's counters.  Clock ticks (10 ms); psql's
#              own CPU is not counted.  Split into coordinator and shards.
#              Noise: the machine's busy CPU time from just before psql
#              starts to just after it ends (/proc/stat) less the clusters'
#              = what other processes used meanwhile (psql's few ms
#              included; slightly low by the backends' exit after psql
#              ends), and the hypervisor's steal time
#   exchanged  EXPLAIN ANALYZE's "Halo Exchanged" kB per spec layer, against
#              the theoretical halo size: per spec layer, (sum over shards
#              of the distinct sources of the shard's edges owned by other
#              shards) x (sum of the widths of the node registers that the
#              layer reads at edge sources, from gnn_model_program: the
#              first argument of message_passing, get_edge(src)) x 4 bytes.
#              The halo is counted in SQL on the local tables with
#              satisfies_hash_partition, independently of the shards, and
#              compared with the "halo" of EXPLAIN's Shard lines
#   phases     during the EXPLAIN ANALYZE run the shards log every statement
#              with its duration (log_min_duration_statement = 0, set after
#              the copy; parameters not logged): per shard, the time in
#              gnn_shard_open (read, build, JIT compile), serve, the steps
#              (layers + halo rows out), fetch (output rows out) and the
#              rest (settings, model check, BEGIN, stats); the coordinator's
#              execution time minus the busiest shard's total is the time
#              spent outside the shards' statements (connecting, routing,
#              transfer, collecting rows)
#   memory     EXPLAIN ANALYZE's per-shard "peak ... kB" (gnnjit's accounted
#              peak on each shard) against the local run's Peak Memory, and
#              the coordinator backend's VmHWM after the EXPLAIN ANALYZE
#              (includes the shared buffers it touched)
#   exactness  the warm-up run's rows (CREATE TABLE AS) against the local
#              rows: rows missing on either side, max |difference|, rows
#              bit-identical
# Writes bench/results/dist.csv (one row per model and configuration),
# dist.md (tables), dist_explain.txt (every EXPLAIN ANALYZE) and prints a
# summary (file names from DIST_NAME).  Takes about 3.5 minutes at the
# default size on 2 cores (1.5 of them copying the graph three times);
# DIST_MODELS=sage at 1000000 16000000 about 11 (7.5 copying: gnn_distribute
# moves about 130000 rows a second here).  All servers share this machine's
# cores (2 here), so shards run concurrently only as far as the cores
# allow, and whatever else the machine runs adds noise: the load average
# is printed at start and end, and other processes' CPU time per run.
set -euo pipefail
shopt -s inherit_errexit
SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$SELF")/.."
NODES=${1:-200000}
EDGES=${2:-3200000}
MODELS=${DIST_MODELS:-"sage gcn gat"}
SHARDS=${DIST_SHARDS:-"1 2 4"}
RUNS=${DIST_RUNS:-3}
ANALYZE_SHARDS=${DIST_ANALYZE_SHARDS:-1}
NAME=${DIST_NAME:-dist}
PORT=${DIST_PORT:-55400}
SYSBIN=/usr/lib/postgresql/15/bin
PY=/usr/bin/python3
OUT=bench/results
mkdir -p "$OUT"

lib="$("$SYSBIN/pg_config" --pkglibdir)/gnnjit.so"
[ -f "$lib" ] || { echo "$lib is not installed: run make install first" >&2; exit 1; }
if ldd "$lib" | grep -qE 'libasan|libubsan|libtsan'; then
	echo "$lib is a sanitizer build; install a normal build first" >&2
	exit 1
fi
CMD="bash bench/dist.sh $NODES $EDGES"
for v in DIST_MODELS DIST_SHARDS DIST_RUNS DIST_ANALYZE_SHARDS DIST_NAME; do
	[ -n "${!v:-}" ] && CMD="$v=\"${!v}\" $CMD"
done
# gnnjit's files in an installation rooted at $1 ("" = the system's)
build_id() {
	cat "$1/usr/lib/postgresql/15/lib/gnnjit.so" "$1/usr/lib/postgresql/15/lib/bitcode/gnnjit/src/kernels.bc" \
		"$1/usr/share/postgresql/15/extension/gnnjit.control" "$1"/usr/share/postgresql/15/extension/gnnjit--*.sql |
		sha256sum | cut -c1-12
}
maxk=0
for k in $SHARDS; do if [ "$k" -gt "$maxk" ]; then maxk=$k; fi; done

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
TMP=$(mktemp -d /tmp/gnn_dist.XXXXXX)
chmod 755 "$TMP"
[ "$(id -u)" = 0 ] && chown postgres "$TMP"
STARTED=()
cleanup() {
	local rc=$?
	for d in "${STARTED[@]}"; do
		as_pg "$BIN/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1 || true
	done
	if [ "${DIST_KEEP:-}" = 1 ] || [ "$rc" != 0 ]; then echo "kept $TMP (server logs)" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the private copy of the installation (retried if a reinstallation
# changes gnnjit's files while they are copied)
for try in 1 2 3 4 5; do
	BUILD=$(build_id "")
	rm -rf "$TMP/pg"
	mkdir -p "$TMP/pg/usr/lib/postgresql" "$TMP/pg/usr/share/postgresql"
	cp -a /usr/lib/postgresql/15 "$TMP/pg/usr/lib/postgresql/"
	cp -a /usr/share/postgresql/15 "$TMP/pg/usr/share/postgresql/"
	[ "$(build_id "$TMP/pg")" = "$BUILD" ] && [ "$(build_id "")" = "$BUILD" ] && break
	[ "$try" = 5 ] && { echo "gnnjit is being reinstalled: could not copy one build" >&2; exit 1; }
	sleep 10
done
BIN="$TMP/pg/usr/lib/postgresql/15/bin"
[ "$("$BIN/pg_config" --pkglibdir)" = "$TMP/pg/usr/lib/postgresql/15/lib" ] ||
	{ echo "the copied installation does not relocate its libdir" >&2; exit 1; }

start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "command: $CMD (models: $MODELS; shards: $SHARDS; runs: $RUNS; shard tables analyzed on the shards: $ANALYZE_SHARDS)"
echo "machine: $(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p' | head -n 1)), $(free -g | awk '/^Mem:/ {print $2}') GB RAM; load average at start: $load_start"

# ---------------------------------------------------------------------------
# clusters: coordinator (port PORT) and shards s0.. (PORT+1..)
# ---------------------------------------------------------------------------
NAMES=(coord)
PORTS=("$PORT")
for ((i = 0; i < maxk; i++)); do NAMES+=("s$i"); PORTS+=($((PORT + 1 + i))); done
for i in "${!NAMES[@]}"; do
	d="$TMP/${NAMES[$i]}"
	as_pg "$BIN/initdb" -D "$d" -A trust -U postgres -E UTF8 --no-sync >/dev/null
	STARTED+=("$d")
	as_pg "$BIN/pg_ctl" -D "$d" -l "$TMP/${NAMES[$i]}.log" -w -t 120 -o \
		"-c port=${PORTS[$i]} -c listen_addresses='' -c unix_socket_directories='$TMP' -c shared_buffers=1GB -c max_parallel_workers_per_gather=0 -c autovacuum=off -c max_wal_size=8GB -c work_mem=256MB -c maintenance_work_mem=512MB -c jit_above_cost=-1 -c gnnjit.max_memory=8GB -c log_parameter_max_length=0 -c log_parameter_max_length_on_error=0" \
		start >/dev/null
done
PMS=()
for n in "${NAMES[@]}"; do PMS+=("$(head -n 1 "$TMP/$n/postmaster.pid")"); done

q() { psql -X -q -At -v ON_ERROR_STOP=1 -h "$TMP" -p "$PORT" -U postgres -d postgres "$@"; }
SETTINGS="SET gnnjit.jit_above_cost = 0;"
# milliseconds of the last statement of a session (psql \timing)
# (the session's output goes to file $2, if given)
time_sql() {
	local f=${2:-$TMP/last.out}
	(echo "$SETTINGS"; echo '\timing on'; echo "$1;") | q > "$f"
	sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' "$f" | tail -n 1
}

# CPU clock ticks of one cluster: postmaster (own + reaped children) + live children
cluster_ticks() {
	local pm=$1 kids k
	kids=$(ps -o pid= --ppid "$pm" || true)
	{
		sed 's/^.*) //' "/proc/$pm/stat" | awk '{print $12 + $13 + $14 + $15}'
		for k in $kids; do
			sed 's/^.*) //' "/proc/$k/stat" 2>/dev/null | awk '{print $12 + $13}' || true
		done
	} | awk '{s += $1} END {print s + 0}'
}
# "coordinator_ticks shard_ticks"
cpu_snapshot() {
	local c s=0 i
	c=$(cluster_ticks "${PMS[0]}")
	for ((i = 1; i < ${#PMS[@]}; i++)); do s=$((s + $(cluster_ticks "${PMS[$i]}"))); done
	echo "$c $s"
}
# the machine's busy ticks (all CPUs; /proc/stat user nice system irq
# softirq) into variable $1 and steal ticks into $2, without forking
read_busy() {
	local u n s i q sq st rest
	# shellcheck disable=SC2034  # the "cpu" label, idle and iowait are not used
	read -r _ u n s i _ q sq st rest < /proc/stat
	printf -v "$1" '%d' $((u + n + s + q + sq))
	printf -v "$2" '%d' "$st"
}
# wait until no client backend is left on any cluster (all reaped)
wait_reaped() {
	local n pm k busy
	for ((n = 0; n < 400; n++)); do
		busy=0
		for pm in "${PMS[@]}"; do
			for k in $(ps -o pid= --ppid "$pm" || true); do
				if tr '\0' ' ' 2>/dev/null < "/proc/$k/cmdline" | grep -q '\[local\]'; then busy=1; fi
			done
		done
		[ $busy = 0 ] && return 0
		sleep 0.05
	done
	echo "warning: client backends still running after 20 s" >&2
}

RAW="$TMP/raw.tsv"
: > "$RAW"
EXPLAIN_OUT="$OUT/${NAME}_explain.txt"
: > "$EXPLAIN_OUT"

# ---------------------------------------------------------------------------
# graph, models, servers, layouts
# ---------------------------------------------------------------------------
echo
echo "== graph: $NODES nodes, $EDGES edges, 128 features"
gen_ms=$(time_sql "CREATE EXTENSION gnnjit; CREATE EXTENSION postgres_fdw;
SELECT gnn_generate_graph('bench_nodes', 'bench_edges', $NODES, $EDGES, 128, 1, unlogged => true)")
q -c "ANALYZE bench_nodes, bench_edges"
echo "generated in $(awk -v t="$gen_ms" 'BEGIN {printf "%.1f", t / 1000}') s"
for m in $MODELS; do
	q > /dev/null <<SQL
\set spec \`cat bench/models/$m.json\`
\set w \`base64 -w0 bench/models/$m.safetensors\`
SELECT gnn_create_model('$m', :'spec', decode(:'w', 'base64'));
SQL
	q -c "SELECT gnn_model_program('$m')" > "$TMP/program_$m.txt"
done
for ((i = 0; i < maxk; i++)); do
	q -c "CREATE SERVER s$i FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '$TMP', port '${PORTS[$((i + 1))]}', dbname 'postgres');
CREATE USER MAPPING FOR CURRENT_USER SERVER s$i;"
done

for k in $SHARDS; do
	servers=$(for ((i = 0; i < k; i++)); do printf "%s's%d'" "$([ $i -gt 0 ] && echo ,)" $i; done)
	ms=$(time_sql "SELECT * FROM gnn_distribute('bench_edges', 'bench_nodes', ARRAY[$servers], 'd${k}_edges', 'd${k}_nodes')" "$TMP/distribute_$k.out")
	rows=$(grep '|' "$TMP/distribute_$k.out" | awk -F'|' '{printf "%s%s: %s nodes, %s edges", (NR > 1 ? "; " : ""), $2, $3, $4}')
	echo "gnn_distribute onto $k shard(s): $(awk -v t="$ms" 'BEGIN {printf "%.1f", t / 1000}') s ($rows)"
	printf 'copy\t%s\t%s\t%s\n' "$k" "$ms" "$rows" >> "$RAW"
	if [ "$ANALYZE_SHARDS" = 1 ]; then
		ams=$(time_sql "SELECT $(for ((i = 0; i < k; i++)); do printf "%sgnn_shard_execute('s%d', 'ANALYZE d%d_nodes_%d, d%d_edges_%d')" "$([ $i -gt 0 ] && echo ', ')" $i "$k" $i "$k" $i; done)")
		echo "ANALYZE of the shard tables on the shards: $(awk -v t="$ams" 'BEGIN {printf "%.1f", t / 1000}') s"
	fi
	# the theoretical halo: distinct (source, shard of the destination)
	# pairs whose source is on another shard
	halo=$(q -c "CREATE TEMP TABLE part AS SELECT id, r FROM bench_nodes, generate_series(0, $k - 1) r WHERE satisfies_hash_partition('d${k}_nodes'::regclass, $k, r, id);
CREATE INDEX ON part (id); ANALYZE part;
SELECT count(*) FROM (SELECT DISTINCT e.src, pd.r FROM bench_edges e JOIN part pd ON pd.id = e.dst JOIN part ps ON ps.id = e.src WHERE pd.r <> ps.r) x")
	printf 'halo\t%s\t%s\n' "$k" "$halo" >> "$RAW"
done
elapsed_copy=$(( $(date +%s) - start ))
# from now on the shards log every statement with its duration
for ((i = 1; i < ${#NAMES[@]}; i++)); do
	psql -X -q -At -v ON_ERROR_STOP=1 -h "$TMP" -p "${PORTS[$i]}" -U postgres -d postgres \
		-c "ALTER SYSTEM SET log_min_duration_statement = 0" -c "SELECT pg_reload_conf()" > /dev/null
done
sleep 1

# ---------------------------------------------------------------------------
# warm-up runs, exactness, EXPLAIN ANALYZE
# ---------------------------------------------------------------------------
explain() {   # model config edges nodes
	local f="$TMP/explain_$1_$2.txt" i
	local -a offs=()
	for ((i = 1; i < ${#NAMES[@]}; i++)); do offs+=("$(stat -c %s "$TMP/${NAMES[$i]}.log")"); done
	(echo "$SETTINGS"
	 echo "EXPLAIN (ANALYZE, COSTS OFF) SELECT count(*) FROM gnn_infer('$1', '$3', '$4');"
	 echo "SELECT 'VmHWM ' || substring(pg_read_file('/proc/self/status') from 'VmHWM:\s*(\d+) kB');") | q > "$f"
	{ echo "### $1, $2"; cat "$f"; echo; } >> "$EXPLAIN_OUT"
	printf 'explain\t%s\t%s\t%s\n' "$1" "$2" "$f" >> "$RAW"
	wait_reaped
	for ((i = 1; i < ${#NAMES[@]}; i++)); do
		tail -c +$((offs[i - 1] + 1)) "$TMP/${NAMES[$i]}.log" > "$TMP/shardlog_$1_$2_${NAMES[$i]}.txt"
		printf 'shardlog\t%s\t%s\t%s\t%s\n' "$1" "$2" "${NAMES[$i]}" "$TMP/shardlog_$1_$2_${NAMES[$i]}.txt" >> "$RAW"
	done
}
CONFIGS="local"
for k in $SHARDS; do CONFIGS="$CONFIGS $k"; done
tables() { if [ "$1" = local ]; then echo "bench_edges bench_nodes"; else echo "d$1_edges d$1_nodes"; fi; }

echo
echo "== warm-up, exactness, EXPLAIN ANALYZE"
for m in $MODELS; do
	printf 'program\t%s\t%s\n' "$m" "$TMP/program_$m.txt" >> "$RAW"
	for c in $CONFIGS; do
		read -r et nt <<< "$(tables "$c")"
		q -c "$SETTINGS CREATE TABLE out_${m}_$c AS SELECT * FROM gnn_infer('$m', '$et', '$nt')"
		if [ "$c" != local ]; then
			d=$(q -F $'\t' -c "SELECT (SELECT count(*) FROM out_${m}_$c),
	(SELECT count(*) FROM out_${m}_local l FULL JOIN out_${m}_$c d USING (node_id)
	  WHERE l.embedding IS NULL OR d.embedding IS NULL
	     OR array_length(l.embedding, 1) <> array_length(d.embedding, 1)),
	(SELECT coalesce(max(abs(x - y)), 0) FROM out_${m}_local l JOIN out_${m}_$c d USING (node_id),
	  unnest(l.embedding, d.embedding) u(x, y) WHERE l.embedding <> d.embedding),
	(SELECT count(*) FROM out_${m}_local l JOIN out_${m}_$c d USING (node_id) WHERE l.embedding = d.embedding)")
			printf 'diff\t%s\t%s\t%s\n' "$m" "$c" "$d" >> "$RAW"
			q -c "DROP TABLE out_${m}_$c"
		fi
		explain "$m" "$c" "$et" "$nt"
		echo "$m $c: $(grep -E 'Execution Time' "$TMP/explain_${m}_$c.txt" | sed 's/^ *//')"
	done
	q -c "DROP TABLE out_${m}_local"
done

# ---------------------------------------------------------------------------
# timed runs, interleaved
# ---------------------------------------------------------------------------
echo
echo "== timed runs (wall ms, CPU ms coordinator + shards)"
wait_reaped
b0=0 b1=0 st0=0 st1=0
for ((run = 1; run <= RUNS; run++)); do
	for m in $MODELS; do
		for c in $CONFIGS; do
			read -r et nt <<< "$(tables "$c")"
			read -r c0 s0 <<< "$(cpu_snapshot)"
			read_busy b0 st0
			ms=$(time_sql "SELECT count(*) FROM gnn_infer('$m', '$et', '$nt')")
			read_busy b1 st1
			wait_reaped
			read -r c1 s1 <<< "$(cpu_snapshot)"
			other=$(( (b1 - b0) - (c1 - c0) - (s1 - s0) ))
			printf 'time\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$m" "$c" "$run" "$ms" $((c1 - c0)) $((s1 - s0)) "$other" $((st1 - st0)) >> "$RAW"
			echo "run $run $m $c: $ms ms wall, $(( (c1 - c0) * 10 )) + $(( (s1 - s0) * 10 )) ms CPU; other processes $((other * 10)) ms, steal $(( (st1 - st0) * 10 )) ms"
		done
	done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
if [ "$(build_id "")" != "$BUILD" ]; then
	echo "(gnnjit was reinstalled on the system during the run; the servers ran the copy, build $BUILD)"
fi
elapsed=$(( $(date +%s) - start ))

# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------
DIST_META="nodes=$NODES
edges=$EDGES
runs=$RUNS
clk_tck=$(getconf CLK_TCK)
load_start=$load_start
load_end=$load_end
elapsed_s=$elapsed
setup_s=$elapsed_copy
generate_ms=$gen_ms
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
nproc=$(nproc)
mem_gb=$(free -g | awk '/^Mem:/ {print $2}')
postgres=$("$BIN/pg_config" --version | sed 's/PostgreSQL //')
build=$BUILD
gnnjit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src jit 2>/dev/null || echo ' (uncommitted changes in src/ or jit/)')
date=$(date -u '+%Y-%m-%d %H:%M UTC')
name=$NAME
analyze_shards=$ANALYZE_SHARDS
command=$CMD" \
	"$PY" - "$RAW" "$OUT" <<'PY'
import csv, math, os, re, statistics, sys

raw, out = sys.argv[1], sys.argv[2]
meta = dict(l.split('=', 1) for l in os.environ['DIST_META'].splitlines())
tick_ms = 1000.0 / int(meta['clk_tck'])
copies, halo_true, programs, explains, diffs, times, shardlogs = {}, {}, {}, {}, {}, {}, {}
order = []
for line in open(raw):
    f = line.rstrip('\n').split('\t')
    if f[0] == 'copy':
        copies[f[1]] = (float(f[2]), f[3])
    elif f[0] == 'halo':
        halo_true[f[1]] = int(f[2])
    elif f[0] == 'program':
        programs[f[1]] = open(f[2]).read()
    elif f[0] == 'explain':
        explains[(f[1], f[2])] = open(f[3]).read()
        order.append((f[1], f[2]))
    elif f[0] == 'diff':
        diffs[(f[1], f[2])] = dict(rows=int(f[3]), unmatched=int(f[4]), maxdiff=float(f[5]), identical=int(f[6]))
    elif f[0] == 'shardlog':
        shardlogs.setdefault((f[1], f[2]), {})[f[3]] = open(f[4], errors='replace').read()
    elif f[0] == 'time':
        times.setdefault((f[1], f[2]), []).append((float(f[4]), int(f[5]) * tick_ms, int(f[6]) * tick_ms,
                                                   int(f[7]) * tick_ms, int(f[8]) * tick_ms))

def source_widths(prog):
    """spec layer (1-based) -> bytes per halo row: widths of the node
    registers read at edge sources, each counted at its first reader"""
    regs, seen, per_layer = {}, set(), {}
    pat = re.compile(r'^(?:(\d+): )?r(\d+) = (.*)\(([^()]*)\) \[(\S+) x (\d+)\]$')
    for line in prog.splitlines():
        m = pat.match(line.strip())
        if not m:
            continue
        layer, reg, op, args, space, width = m.groups()
        regs[int(reg)] = (space, int(width))
        args = [int(a.strip()[1:]) for a in args.split(',') if a.strip()]
        src = None
        if op.startswith('message_passing') and args and regs[args[0]][0] == 'node':
            src = args[0]
        elif op == 'get_edge(src)' and args and regs[args[0]][0] == 'node':
            src = args[0]
        if src is not None and src not in seen:
            seen.add(src)
            l = int(layer) + 1
            per_layer[l] = per_layer.get(l, 0) + regs[src][1] * 4
    return per_layer

def parse_explain(text):
    r = dict(shards=[], exchanged={}, peak=None, exec_ms=None, hwm=None, layers=None)
    for line in text.splitlines():
        s = line.strip()
        m = re.match(r'Shard (\S+): (\d+) nodes, (\d+) halo, (\d+) edges, peak (\d+) kB(.*?)(?:, ([\d.]+) ms \(layers ([\d.]+) ms\))?$', s)
        if m:
            r['shards'].append(dict(server=m.group(1), nodes=int(m.group(2)), halo=int(m.group(3)),
                                    edges=int(m.group(4)), peak=int(m.group(5)), flags=m.group(6).strip(', '),
                                    wait=float(m.group(7) or 'nan'), layers=float(m.group(8) or 'nan')))
        m = re.match(r'Halo Exchanged: (.*)$', s)
        if m and m.group(1) != 'none':
            for part in m.group(1).split(', '):
                n, _typ, kb, _ = part.split(' ')
                r['exchanged'][int(n)] = int(kb)
        m = re.match(r'Peak Memory: (\d+) kB', s)
        if m:
            r['peak'] = int(m.group(1))
        m = re.match(r'Execution Time: ([\d.]+) ms', s)
        if m:
            r['exec_ms'] = float(m.group(1))
        m = re.match(r'Layer Times: (.*)$', s)
        if m:
            r['layers'] = sum(float(x) for x in re.findall(r'([\d.]+) ms', m.group(1)))
        m = re.match(r'VmHWM (\d+)', s)
        if m:
            r['hwm'] = int(m.group(1))
    return r

PHASES = ['open', 'serve', 'step', 'fetch', 'other']
def parse_shardlog(text):
    """seconds per phase of the shard's statements (parse + bind + execute)"""
    ph = dict((p, 0.0) for p in PHASES)
    ph['steps'] = 0
    for line in text.splitlines():
        m = re.search(r'duration: ([\d.]+) ms  (statement|parse|bind|execute)[^:]*: (.*)$', line)
        if not m:
            continue
        fn = re.search(r'gnn_shard_(open|serve|step|fetch)\(', m.group(3))
        ph[fn.group(1) if fn else 'other'] += float(m.group(1))
        if fn and fn.group(1) == 'step' and m.group(2) == 'execute':
            ph['steps'] += 1
    ph['total'] = sum(ph[p] for p in PHASES)
    return ph

def fmt_layers(d):
    return ';'.join('%d:%d' % (k, v) for k, v in sorted(d.items()))

rows = []
for (model, config) in order:
    e = parse_explain(explains[(model, config)])
    t = times.get((model, config), [])
    wall = statistics.median([x[0] for x in t]) if t else float('nan')
    cpu_all = [x[1] + x[2] for x in t]
    cpu = statistics.median(cpu_all) if t else float('nan')
    cpu_c = statistics.median([x[1] for x in t]) if t else float('nan')
    cpu_s = statistics.median([x[2] for x in t]) if t else float('nan')
    local = parse_explain(explains[(model, 'local')])
    widths = source_widths(programs[model])
    row = dict(model=model, config=config, shards=0 if config == 'local' else int(config),
               nodes=meta['nodes'], edges=meta['edges'],
               wall_ms=round(wall, 1), wall_ms_runs=' '.join('%.1f' % x[0] for x in t),
               cpu_ms=round(cpu), cpu_ms_coordinator=round(cpu_c), cpu_ms_shards=round(cpu_s),
               cpu_ms_runs=' '.join('%d' % (x[1] + x[2]) for x in t),
               other_cpu_ms_runs=' '.join('%d' % x[3] for x in t),
               other_cpu_ms=round(statistics.median([x[3] for x in t])) if t else '',
               steal_ms_runs=' '.join('%d' % x[4] for x in t),
               explain_ms=e['exec_ms'], coordinator_hwm_kB=e['hwm'], peak_kB_local=local['peak'])
    if config == 'local':
        row.update(peak_kB_max_shard='', halo_nodes='', halo_nodes_expected='',
                   exchanged_kB_per_layer='', theoretical_bytes_per_layer='', theoretical_kB_per_layer='',
                   exchanged_kB_total='', theoretical_kB_total='', exchanged_over_theoretical='',
                   shard_wait_ms_max='', shard_layers_ms_max='', layers_ms=e['layers'],
                   max_abs_diff='', identical_rows='', unmatched_rows='',
                   copy_s='')
    else:
        halo = sum(s['halo'] for s in e['shards'])
        theo = {l: halo_true[config] * w for l, w in widths.items()}
        ex_total = sum(e['exchanged'].values())
        th_total = sum(theo.values())
        d = diffs[(model, config)]
        row.update(peak_kB_max_shard=max(s['peak'] for s in e['shards']),
                   halo_nodes=halo, halo_nodes_expected=halo_true[config],
                   exchanged_kB_per_layer=fmt_layers(e['exchanged']),
                   theoretical_bytes_per_layer=fmt_layers(theo),
                   theoretical_kB_per_layer=fmt_layers({l: -(-b // 1024) for l, b in theo.items()}),
                   exchanged_kB_total=ex_total, theoretical_kB_total=round(th_total / 1024),
                   exchanged_over_theoretical=round(ex_total * 1024 / th_total, 4) if th_total else '',
                   shard_wait_ms_max=max(s['wait'] for s in e['shards']),
                   shard_layers_ms_max=max(s['layers'] for s in e['shards']),
                   layers_ms='',
                   max_abs_diff=d['maxdiff'], identical_rows=d['identical'],
                   unmatched_rows=d['unmatched'] + (int(meta['nodes']) - d['rows']),
                   copy_s=round(copies[config][0] / 1000, 1))
    row['_explain'] = e
    rows.append(row)

cols_phase = ['shard_open_ms_max', 'shard_step_ms_max', 'shard_fetch_ms_max', 'shard_statements_ms_max', 'outside_shards_ms']
cols = ['model', 'config', 'shards', 'nodes', 'edges', 'wall_ms', 'wall_ms_runs', 'cpu_ms',
        'cpu_ms_coordinator', 'cpu_ms_shards', 'cpu_ms_runs', 'other_cpu_ms', 'other_cpu_ms_runs', 'steal_ms_runs', 'halo_nodes', 'halo_nodes_expected',
        'exchanged_kB_per_layer', 'theoretical_bytes_per_layer', 'theoretical_kB_per_layer',
        'exchanged_kB_total', 'theoretical_kB_total', 'exchanged_over_theoretical',
        'peak_kB_max_shard', 'peak_kB_local', 'coordinator_hwm_kB', 'explain_ms',
        'shard_wait_ms_max', 'shard_layers_ms_max', 'layers_ms', 'max_abs_diff', 'identical_rows',
        'unmatched_rows', 'copy_s'] + cols_phase + ['shard_tables_analyzed']
for r in rows:
    logs = shardlogs.get((r['model'], r['config']), {})
    e = r['_explain']
    r['_phases'] = [(s['server'], parse_shardlog(logs.get(s['server'], ''))) for s in e['shards']]
    if r['_phases']:
        busiest = max(p['total'] for _, p in r['_phases'])
        r['shard_statements_ms_max'] = round(busiest, 1)
        r['outside_shards_ms'] = round(e['exec_ms'] - busiest, 1)
        for p in ['open', 'step', 'fetch']:
            r['shard_%s_ms_max' % p] = round(max(x[p] for _, x in r['_phases']), 1)
with open(os.path.join(out, meta['name'] + '.csv'), 'w', newline='') as fh:
    for r in rows:
        r['shard_tables_analyzed'] = '' if r['config'] == 'local' else meta['analyze_shards'] == '1'
    w = csv.DictWriter(fh, fieldnames=cols, extrasaction='ignore')
    w.writeheader()
    w.writerows(rows)

def mb(kb):
    return '%.1f MB' % (kb / 1024.0)

md = []
md.append('Measured by `%s` on %s (%s CPUs, %s GB RAM); PostgreSQL %s, gnnjit %s; %s. '
          'Load average %s at start, %s at end (shared machine: other work may have run alongside). '
          'Five clusters on this machine (coordinator + shards s0..s3, unix sockets), all sharing its cores; '
          'JIT on (`gnnjit.jit_above_cost = 0`, forwarded to the shards); every run in a new session, so it '
          'connects to the shards and compiles the model on each. Graph: R-MAT from `gnn_generate_graph`, '
          '%s nodes, %s edges, 128 features; 2-layer 128-wide models of `bench/models/`.'
          % (meta['command'], meta['cpu'], meta['nproc'], meta['mem_gb'], meta['postgres'], meta['gnnjit'] + ', installed build ' + meta['build'],
             meta['date'], meta['load_start'], meta['load_end'], meta['nodes'], meta['edges'])
          + (' Shard tables analyzed on the shards after `gnn_distribute` (it analyzes only through postgres_fdw, on the coordinator).'
             if meta['analyze_shards'] == '1' else
             ' Shard tables left as `gnn_distribute` leaves them: never analyzed on the shards (autovacuum off), so the shards size their arrays from unanalyzed row estimates.'))
md.append('')
md.append('#### Copying the graph to the shards (`gnn_distribute`, through postgres_fdw)')
md.append('')
md.append('| shards | copy time | rows per second (nodes + edges) | rows per shard |')
md.append('| ---: | ---: | ---: | --- |')
for k in sorted(copies, key=int):
    ms, desc = copies[k]
    n = int(meta['nodes']) + int(meta['edges'])
    md.append('| %s | %.1f s | %.0f | %s |' % (k, ms / 1000, n / (ms / 1000), desc))
md.append('')
md.append('Generating the graph locally (`gnn_generate_graph`) took %.1f s.' % (float(meta['generate_ms']) / 1000))
md.append('')
md.append('#### Wall time, CPU time, halo exchanged, memory')
md.append('')
md.append('| model | run | wall (median of %s) | CPU: coordinator + shards | CPU / wall | other processes\' CPU | halo nodes (sum over shards) | '
          'exchanged per layer: measured / theoretical | max shard peak (local: Peak Memory) | coordinator backend VmHWM | max abs diff (rows identical) |'
          % meta['runs'])
md.append('| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |')
for r in rows:
    run = 'local (1 server)' if r['config'] == 'local' else '%s shard%s' % (r['config'], '' if r['config'] == '1' else 's')
    cpu = '%d ms (%d + %d)' % (r['cpu_ms'], r['cpu_ms_coordinator'], r['cpu_ms_shards'])
    ratio = ('%.2f' % (r['cpu_ms'] / r['wall_ms']) if r['wall_ms'] else '') + ' | ' + r['other_cpu_ms_runs'].replace(' ', ', ') + ' ms'
    if r['config'] == 'local':
        md.append('| %s | %s | %.0f ms | %s | %s | - | - | %s | %s | reference |'
                  % (r['model'].upper(), run, r['wall_ms'], cpu, ratio, mb(r['peak_kB_local']), mb(r['coordinator_hwm_kB'])))
    else:
        e = r['_explain']
        theo = dict(kv.split(':') for kv in r['theoretical_bytes_per_layer'].split(';')) if r['theoretical_bytes_per_layer'] else {}
        layers = sorted(set(e['exchanged']) | set(int(l) for l in theo))
        ex = ', '.join('L%d %s / %s' % (l, mb(e['exchanged'].get(l, 0)), mb(int(theo.get(str(l), 0)) / 1024.0)) for l in layers) or 'none / none'
        halo = '%d' % r['halo_nodes'] + ('' if r['halo_nodes'] == r['halo_nodes_expected'] else ' (expected %d)' % r['halo_nodes_expected'])
        diff = '%.3g (%d of %s)' % (r['max_abs_diff'], r['identical_rows'], r['nodes'])
        if r['unmatched_rows']:
            diff += ', %d rows missing or extra' % r['unmatched_rows']
        md.append('| %s | %s | %.0f ms (%.2f× local) | %s | %s | %s | %s | %s (%.2f× local) | %s | %s |'
                  % (r['model'].upper(), run, r['wall_ms'], r['wall_ms'] / next(x['wall_ms'] for x in rows if x['model'] == r['model'] and x['config'] == 'local'),
                     cpu, ratio, halo, ex, mb(r['peak_kB_max_shard']), r['peak_kB_max_shard'] / r['peak_kB_local'],
                     mb(r['coordinator_hwm_kB']), diff))
md.append('')
md.append('CPU = user + system time of all server processes of the five clusters during one run (median over the runs; '
          'shard and coordinator backends counted through their postmaster\'s cutime/cstime once reaped), '
          'in 10 ms clock ticks. Other processes\' CPU = the machine\'s busy CPU time during each timed run (/proc/stat) '
          'less the clusters\': what other jobs on this shared machine took meanwhile (2 cores = 2000 ms per second). Exchanged = EXPLAIN ANALYZE\'s `Halo Exchanged` (kB, rounded up); theoretical = '
          'halo nodes (counted in SQL from the hash partitioning) × widths of the registers read at edge sources '
          'in that layer (from `gnn_model_program`) × 4 bytes. Peak = gnnjit\'s accounted peak memory '
          '(per shard from EXPLAIN ANALYZE). VmHWM = the coordinator backend\'s peak RSS after the EXPLAIN ANALYZE '
          'run, shared buffers it touched included. Max abs diff against the local rows.')
md.append('')
md.append('#### Per shard (EXPLAIN ANALYZE run)')
md.append('')
md.append('| model | shards | shard | nodes | halo | edges | peak | coordinator waiting | shard layers | execution time (whole query) |')
md.append('| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
for r in rows:
    e = r['_explain']
    if r['config'] == 'local':
        md.append('| %s | local | - | %s | - | %s | %s | - | %.1f ms | %.1f ms |'
                  % (r['model'].upper(), meta['nodes'], meta['edges'], mb(e['peak']), e['layers'] or float('nan'), e['exec_ms']))
        continue
    for s in e['shards']:
        md.append('| %s | %s | %s | %d | %d | %d | %s | %.1f ms | %.1f ms | %.1f ms |'
                  % (r['model'].upper(), r['config'], s['server'], s['nodes'], s['halo'], s['edges'], mb(s['peak']),
                     s['wait'], s['layers'], e['exec_ms']))
md.append('')
md.append('Coordinator waiting = the coordinator\'s time from sending each query to a shard to its whole answer, summed over the run '
          '(open, serve, steps, stats, fetch; it waits for the shards in order, so a later shard\'s figure includes waiting for '
          'earlier ones); shard layers = the shard\'s own time in the layers; local: sum of `Layer Times`. Full plans in `bench/results/%s_explain.txt`.' % meta['name'])
md.append('')
md.append('#### Where the time goes (EXPLAIN ANALYZE run, from the shards\' statement log)')
md.append('')
md.append('| model | shards | shard | open: read, build, JIT | serve | steps (n) | fetch | other | shard total | execution time | outside the busiest shard |')
md.append('| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
for r in rows:
    if r['config'] == 'local':
        continue
    e = r['_explain']
    busiest = max(p['total'] for _, p in r['_phases'])
    for server, p in r['_phases']:
        md.append('| %s | %s | %s | %.0f ms | %.0f ms | %.0f ms (%d) | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %.0f ms |'
                  % (r['model'].upper(), r['config'], server, p['open'], p['serve'], p['step'], p['steps'], p['fetch'],
                     p['other'], p['total'], e['exec_ms'], e['exec_ms'] - busiest))
md.append('')
md.append('Durations of the shard\'s statements (parse + bind + execute) as its log reports them; fetch includes sending the '
          'output rows to the coordinator; other = settings, extension and model checks, BEGIN, gnn_shard_stats. Outside the '
          'busiest shard = execution time minus the largest shard total: connecting, waiting on the other shards, routing '
          'halo rows, transfers, collecting the rows.')
md.append('')
md.append('Whole run: %s s (of which %s s to start the clusters, generate the graph and copy it to the shards).' % (meta['elapsed_s'], meta['setup_s']))
open(os.path.join(out, meta['name'] + '.md'), 'w').write('\n'.join(md) + '\n')
print('\n'.join(md))
PY
