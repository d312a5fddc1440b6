"""Full-graph against subgraph inference, scaling, memory and roofline.

Driven by bench/paradigm.sh, which documents the measurements; this file
has three commands:

    paradigm.py run    [--quick]   inside a throwaway cluster (pg_virtualenv):
                                   every gnn_infer measurement, into CSV files
    paradigm.py plot               gnuplot PNGs from the CSV files
    paradigm.py report             the Markdown tables (also paradigm.md)

All files are read from and written to bench/results/ (PARADIGM_OUT).
Standard library and psycopg2 only.
"""

import csv
import json
import math
import os
import re
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
OUT = os.environ.get("PARADIGM_OUT", os.path.join(HERE, "results"))

MODELS = ["sage", "gcn", "gat"]
STRATEGIES = ["full", "subgraph", "subgraph_trimmed", "sampled"]
PROBES = ["probe_gemm", "probe_agg"]
BATCH = 1024
FANOUT = [25, 10]
WIDTH = 128
GB = 1024.0 ** 3

# Spec layers of the benchmark models that are graph convolutions, the
# number of N x 128 x 128 GEMMs each one runs (see gnn_model_program) and
# the edges its aggregation reads: the edges as given (SAGE's mean) or the
# edges with one self loop per node (GCN and GAT add them, as PyG does).
CONV = {
    "sage": {"gemms": 2, "loops": False},
    "gcn": {"gemms": 1, "loops": True},
    "gat": {"gemms": 1, "loops": True},
}


def fmt_size(nodes, edges):
    def short(x):
        if x >= 1e6:
            v = x / 1e6
            return ("%g" % v) + "M"
        if x >= 1e3:
            return ("%g" % (x / 1e3)) + "k"
        return str(x)
    return "%s/%s" % (short(nodes), short(edges))


def parse_sizes(text):
    """'62500:1000000,125000:2000000' -> [(62500, 1000000), (125000, 2000000)]"""
    out = []
    for item in text.split(","):
        n, e = item.split(":")
        out.append((int(n), int(e)))
    return sorted(out)


def config(quick):
    """Graph sizes, repetitions and time caps of the two modes."""
    if quick:
        cfg = {
            "p1": [(4000, 64000), (8000, 128000), (16000, 256000)],
            "scale": [(4000, 64000), (16000, 256000), (64000, 1024000)],
            "reps_full": 3, "reps_big": 2, "repeat_below_s": 20.0,
            # the largest size's exact and trimmed runs are capped low on
            # purpose, to exercise the cap and its extrapolation
            "cap_headline_s": 3.0, "cap_largest_s": 0.3, "cap_sampled_s": 60,
            "cap_default_s": 300, "poll_s": 0.02,
        }
    else:
        cfg = {
            "p1": [(62500, 1000000), (125000, 2000000), (1000000, 16000000)],
            "scale": [(62500, 1000000), (250000, 4000000), (1000000, 16000000),
                      (4000000, 64000000)],
            "reps_full": 3, "reps_big": 2, "repeat_below_s": 20.0,
            "cap_headline_s": 300, "cap_largest_s": 30, "cap_sampled_s": 240,
            "cap_default_s": 900, "poll_s": 0.05,
        }
    env = os.environ
    if env.get("PARADIGM_SIZES"):
        cfg["p1"] = parse_sizes(env["PARADIGM_SIZES"])
    if env.get("PARADIGM_SCALE_SIZES"):
        cfg["scale"] = parse_sizes(env["PARADIGM_SCALE_SIZES"])
    if env.get("PARADIGM_HEADLINE_CAP"):
        cfg["cap_headline_s"] = float(env["PARADIGM_HEADLINE_CAP"])
    if env.get("PARADIGM_LARGEST_CAP"):
        cfg["cap_largest_s"] = float(env["PARADIGM_LARGEST_CAP"])
    return cfg


# ---------------------------------------------------------------------------
# run: the measurements
# ---------------------------------------------------------------------------

def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def rss_reset(pid):
    """Reset the backend's peak RSS (VmHWM); False if not allowed."""
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def minflt(pid):
    """Minor page faults of the process so far (None if unreadable)"""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[7])
    except (OSError, IndexError, ValueError):
        return None


def rss_peak_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def find_gnnscan(plan):
    if plan.get("Custom Plan Provider") == "GnnScan" or "Model" in plan:
        return plan
    for sub in plan.get("Plans", []):
        found = find_gnnscan(sub)
        if found:
            return found
    return None


def parse_layer_times(text):
    """'SAGEConv 78.308 ms, ReLU 6.716 ms' -> [('SAGEConv', 78.308), ...]"""
    out = []
    for m in re.finditer(r"([A-Za-z0-9_]+) ([0-9.eE+-]+) ms", text or ""):
        out.append((m.group(1), float(m.group(2))))
    return out


class Poller(threading.Thread):
    """Samples gnn_stat_progress for one backend while a query runs."""

    def __init__(self, conn, pid, interval):
        super().__init__(daemon=True)
        self.conn = conn
        self.pid = pid
        self.interval = interval
        self.stop = threading.Event()
        self.samples = []           # (seconds since start, phase, done, total)
        self.t0 = time.monotonic()

    def run(self):
        cur = self.conn.cursor()
        while not self.stop.is_set():
            try:
                cur.execute("SELECT phase, nodes_done, nodes_total "
                            "FROM gnn_stat_progress WHERE pid = %s", (self.pid,))
                row = cur.fetchone()
            except Exception:       # noqa: BLE001 - sampling is best effort
                row = None
            if row:
                self.samples.append((time.monotonic() - self.t0,) + tuple(row))
            self.stop.wait(self.interval)


def extrapolate(samples, nodes, batch):
    """
    Total time of a subgraph run cut short, from progress samples.

    While a batch runs, gnn_stat_progress reports the batch's subgraph size
    as nodes_total; each change of it marks the start of a batch.  From the
    first to the last batch start seen, k - 1 whole batches ran; the batches
    are alike (gnn_generate_graph permutes node ids, so every batch of 1024
    consecutive ids is a random set of targets), so the run would have taken
    about first_start + (time per batch) x (number of batches).  Returns
    (estimated seconds, batches seen, mean subgraph nodes per batch) or Nones.
    """
    starts = []
    sizes = []
    prev = None
    for t, phase, _done, total in samples:
        if phase != "computing":
            continue
        if total != prev:
            if prev is not None or total != nodes:
                starts.append(t)
                sizes.append(total)
            prev = total
    if len(starts) < 4:
        return None, len(starts), None
    per_batch = (starts[-1] - starts[0]) / (len(starts) - 1)
    nbatches = math.ceil(nodes / batch)
    est = starts[0] + per_batch * nbatches
    return est, len(starts), statistics.mean(sizes[:-1])


class Runner:
    def __init__(self, quick):
        import psycopg2
        import psycopg2.extensions
        self.psycopg2 = psycopg2
        self.quick = quick
        self.cfg = config(quick)
        self.conn = self.connect()
        cur = self.conn.cursor()
        cur.execute("SELECT pg_backend_pid()")
        self.pid = cur.fetchone()[0]
        self.rss_ok = rss_reset(self.pid)
        # a second session for sampling gnn_stat_progress, opened now and
        # kept: no backend started later loads gnnjit's library, which
        # another installation may have replaced in the meantime
        self.poll_conn = self.connect()
        self.runs = []
        self.checks = []
        self.graphs = []
        self.csv_runs = os.path.join(OUT, "paradigm_runs.csv")

    def connect(self):
        conn = self.psycopg2.connect("")
        conn.autocommit = True
        return conn

    def sql(self, query, args=None, fetch=True):
        cur = self.conn.cursor()
        cur.execute(query, args)
        if fetch and cur.description is not None:
            return cur.fetchall()
        return None

    # -- set-up ------------------------------------------------------------

    def setup(self):
        self.sql("CREATE EXTENSION IF NOT EXISTS gnnjit")
        self.poll_conn.cursor().execute("SELECT count(*) FROM gnn_stat_progress")
        avail = self.sql("SELECT available FROM gnn_jit_stats()")[0][0]
        if not avail:
            sys.exit("gnnjit's JIT is not available (PostgreSQL jit off or "
                     "llvmjit missing)")
        for m in MODELS:
            spec = open(os.path.join(HERE, "models", m + ".json")).read()
            weights = open(os.path.join(HERE, "models", m + ".safetensors"),
                           "rb").read()
            self.sql("SELECT gnn_create_model(%s, %s, %s)",
                     (m, spec, self.psycopg2.Binary(weights)))
        # Two probe models time the two kinds of work inside gnnjit, same
        # kernels and JIT, from their whole compute time (sum of the layer
        # times: fused chains of operations book their time to the chain's
        # last layer, so single layer times do not separate the work):
        #   probe_gemm  two Linear 128 -> 128 layers (SAGE's first layer's
        #               lin_l and lin_r): two N x 128 x 128 GEMMs
        #   probe_agg   two GINConv layers with an identity nn (a sum
        #               aggregation over the edges, then x + aggregate), and
        #               one Linear, whose weights give the input width
        gin = {"type": "GINConv", "nn": [{"type": "Identity"}]}
        lin_l = {"type": "Linear", "prefix": "convs.0.lin_l",
                 "in_features": WIDTH, "out_features": WIDTH}
        lin_r = {"type": "Linear", "prefix": "convs.0.lin_r",
                 "in_features": WIDTH, "out_features": WIDTH, "bias": False}
        weights = open(os.path.join(HERE, "models", "sage.safetensors"),
                       "rb").read()
        for name, layers in (("probe_gemm", [lin_l, lin_r]),
                             ("probe_agg", [gin, gin, lin_l])):
            self.sql("SELECT gnn_create_model(%s, %s, %s)",
                     (name, json.dumps({"layers": layers}),
                      self.psycopg2.Binary(weights)))
        programs = {m: self.sql("SELECT gnn_model_program(%s)", (m,))[0][0]
                    for m in MODELS + PROBES}
        with open(os.path.join(OUT, "paradigm_programs.json"), "w") as f:
            json.dump(programs, f, indent=1)
        self.sql("SET gnnjit.jit = on")
        self.sql("SET gnnjit.jit_above_cost = 0")
        # warm-up graph: compiles each model once in this backend
        self.sql("SELECT gnn_generate_graph('w_nodes', 'w_edges', 256, 2048, "
                 "%s, 7, unlogged => true)", (WIDTH,))
        self.sql("ANALYZE w_nodes, w_edges")
        for m in MODELS + PROBES:
            self.sql("SELECT count(*) FROM gnn_infer(%s, 'w_edges', 'w_nodes')",
                     (m,))
        st = self.sql("SELECT compiles, functions, generate_ms, emit_ms "
                      "FROM gnn_jit_stats()")[0]
        print("JIT: %d models compiled (%d functions) in %.0f ms"
              % (st[0], st[1], st[2] + st[3]), flush=True)

    def generate(self, nodes, edges):
        self.sql("DROP TABLE IF EXISTS g_nodes, g_edges")
        t0 = time.monotonic()
        self.sql("SELECT gnn_generate_graph('g_nodes', 'g_edges', %s, %s, %s, "
                 "1, unlogged => true)", (nodes, edges, WIDTH))
        gen_s = time.monotonic() - t0
        self.sql("ANALYZE g_nodes, g_edges")
        nb, eb, loops = self.sql(
            "SELECT pg_total_relation_size('g_nodes'), "
            "pg_total_relation_size('g_edges'), "
            "(SELECT count(*) FROM g_edges WHERE src = dst)")[0]
        self.graphs.append({"nodes": nodes, "edges": edges,
                            "generate_s": round(gen_s, 2),
                            "nodes_table_mb": round(nb / 2 ** 20),
                            "edges_table_mb": round(eb / 2 ** 20),
                            "self_loops": loops})
        print("graph %s: generated in %.1f s; tables %d MB + %d MB"
              % (fmt_size(nodes, edges), gen_s, nb >> 20, eb >> 20), flush=True)

    # -- one measurement ---------------------------------------------------

    def query(self, model, strategy):
        args = "%s, 'g_edges', 'g_nodes'" % ("'" + model + "'")
        if strategy == "subgraph" or strategy == "subgraph_trimmed":
            args += ", strategy => '%s', batch_size => %d" % (strategy, BATCH)
        elif strategy == "sampled":
            args += (", strategy => 'subgraph', batch_size => %d, "
                     "fanout => ARRAY[%s], seed => 1"
                     % (BATCH, ",".join(str(f) for f in FANOUT)))
        return "SELECT count(*) FROM gnn_infer(%s)" % args

    def measure(self, part, nodes, edges, model, strategy, run, cap_s, poll):
        rec = {"part": part, "nodes": nodes, "edges": edges, "model": model,
               "strategy": strategy, "run": run, "cap_s": cap_s,
               "load1": loadavg()}
        hits0 = self.sql("SELECT cache_hits FROM gnn_jit_stats()")[0][0]
        rss_reset(self.pid)
        flt0 = minflt(self.pid)
        poller = None
        if poll:
            poller = Poller(self.poll_conn, self.pid, self.cfg["poll_s"])
            poller.start()
        self.sql("SET statement_timeout = %s", (int(cap_s * 1000),))
        t0 = time.monotonic()
        try:
            plan = self.sql("EXPLAIN (ANALYZE, FORMAT JSON) "
                            + self.query(model, strategy))[0][0]
            rec["status"] = "ok"
        except self.psycopg2.errors.QueryCanceled:
            plan = None
            rec["status"] = "timeout"
        wall = time.monotonic() - t0
        self.sql("SET statement_timeout = 0")
        if poller:
            poller.stop.set()
            poller.join()
        rec["wall_ms"] = round(wall * 1000, 1)
        rec["rss_peak_kb"] = rss_peak_kb(self.pid) if self.rss_ok else None
        flt1 = minflt(self.pid)
        # fresh pages the backend touched: 4 kB each
        rec["faults_gb"] = (round((flt1 - flt0) * 4096 / 1e9, 3)
                            if flt0 is not None and flt1 is not None else None)
        rec["jit_hits"] = (self.sql("SELECT cache_hits FROM gnn_jit_stats()")
                           [0][0] - hits0)
        if plan is not None:
            if isinstance(plan, str):
                plan = json.loads(plan)
            top = plan[0]
            scan = find_gnnscan(top["Plan"])
            layers = parse_layer_times(scan.get("Layer Times"))
            rec["total_ms"] = round(top["Execution Time"], 1)
            rec["compute_ms"] = round(sum(ms for _, ms in layers), 1)
            rec["layer_ms"] = ";".join("%s:%.1f" % (t, ms) for t, ms in layers)
            rec["jit_ms"] = round(scan.get("JIT Time", 0.0), 1)
            rec["scan_startup_ms"] = round(scan.get("Actual Startup Time", 0), 1)
            # reading the tables and building the graph (for subgraph
            # strategies also extracting every batch's subgraph)
            rec["other_ms"] = round(rec["scan_startup_ms"] - rec["compute_ms"]
                                    - rec["jit_ms"], 1)
            rec["peak_kb"] = scan.get("Peak Memory")
            rec["rows_read"] = scan.get("Rows Read")
            rec["batches"] = scan.get("Batches")
            rec["subgraph_nodes"] = scan.get("Subgraph Nodes")
            rec["compiled_code"] = scan.get("Compiled Code")
        elif poller:
            est, seen, mean_nodes = extrapolate(poller.samples, nodes, BATCH)
            rec["batches_seen"] = seen
            if est is not None:
                rec["est_total_ms"] = round(est * 1000)
                rec["est_subgraph_nodes"] = round(mean_nodes
                                                  * math.ceil(nodes / BATCH))
        self.runs.append(rec)
        self.write_runs()
        shown = ("%.2f s" % (rec["total_ms"] / 1000) if plan is not None else
                 "> %g s (cut by statement_timeout%s)"
                 % (cap_s, "; about %.0f s extrapolated from %d batches"
                    % (rec["est_total_ms"] / 1000, rec["batches_seen"])
                    if rec.get("est_total_ms") else ""))
        print("  %-5s %-16s run %d: %s  [load %.1f]"
              % (model, strategy, run, shown, rec["load1"]), flush=True)
        return rec

    def measure_reps(self, part, nodes, edges, model, strategy, reps, cap_s,
                     poll=False):
        """Median of up to reps runs; one run if it is slow or was cut."""
        first = self.measure(part, nodes, edges, model, strategy, 1, cap_s, poll)
        if first["status"] != "ok":
            return
        if first["total_ms"] / 1000 > self.cfg["repeat_below_s"]:
            return
        for r in range(2, reps + 1):
            self.measure(part, nodes, edges, model, strategy, r, cap_s, poll)

    # -- exactness ---------------------------------------------------------

    def check(self, nodes, edges, model):
        self.sql("DROP TABLE IF EXISTS ref_rows")
        self.sql("CREATE UNLOGGED TABLE ref_rows AS SELECT node_id, embedding "
                 "FROM gnn_infer(%s, 'g_edges', 'g_nodes')", (model,))
        res = {"nodes": nodes, "edges": edges, "model": model}
        for strategy in ["subgraph", "subgraph_trimmed"]:
            q = self.query(model, strategy).replace(
                "SELECT count(*) FROM", "SELECT s.node_id, s.embedding FROM")
            n, same = self.sql(
                "SELECT count(*), count(*) FILTER (WHERE s.embedding = r.embedding) "
                "FROM (%s AS s) AS s JOIN ref_rows r USING (node_id)" % q)[0]
            res[strategy + "_identical"] = "%d/%d" % (same, n)
        q = self.query(model, "sampled").replace(
            "SELECT count(*) FROM", "SELECT s.node_id, s.embedding FROM")
        maxdiff, rel, same = self.sql(
            "SELECT max(abs(u.a - u.b)), sqrt(sum((u.a - u.b) ^ 2) / sum(u.a ^ 2)), "
            "count(DISTINCT x.node_id) FILTER (WHERE x.sa = x.ra) "
            "FROM (SELECT s.node_id, s.embedding AS sa, r.embedding AS ra "
            "      FROM (%s AS s) AS s JOIN ref_rows r USING (node_id)) AS x, "
            "     unnest(x.ra, x.sa) AS u(a, b)" % q)[0]
        res["sampled_identical"] = "%d/%d" % (same, nodes)
        res["sampled_max_abs_diff"] = "%.3g" % maxdiff
        res["sampled_rel_l2_error"] = "%.3g" % rel
        self.sql("DROP TABLE ref_rows")
        self.checks.append(res)
        print("  check %s: subgraph identical %s, trimmed identical %s, "
              "sampled rel. L2 error %s" % (model, res["subgraph_identical"],
                                            res["subgraph_trimmed_identical"],
                                            res["sampled_rel_l2_error"]),
              flush=True)

    # -- the plan ----------------------------------------------------------

    def cap(self, nodes, edges, model, strategy):
        cfg = self.cfg
        largest = (nodes, edges) == cfg["p1"][-1]
        if strategy == "sampled":
            return cfg["cap_sampled_s"]
        if strategy == "full" or not largest:
            return cfg["cap_default_s"]
        if model == "gat" and strategy == "subgraph":
            return cfg["cap_headline_s"]
        return cfg["cap_largest_s"]

    def run(self):
        cfg = self.cfg
        self.setup()
        sizes = sorted(set(cfg["p1"]) | set(cfg["scale"]))
        roof_size = cfg["p1"][-1]
        for nodes, edges in sizes:
            self.generate(nodes, edges)
            in_p1 = (nodes, edges) in cfg["p1"]
            big = edges > cfg["p1"][-1][1]
            reps = cfg["reps_big"] if big else cfg["reps_full"]
            models = MODELS if in_p1 else ["sage", "gcn"]
            part = "paradigm" if in_p1 else "scaling"
            for m in models:
                self.measure_reps(part, nodes, edges, m, "full", reps,
                                  cfg["cap_default_s"])
            if (nodes, edges) == roof_size:
                for m in PROBES:
                    self.measure_reps("roofline", nodes, edges, m, "full", 3,
                                      cfg["cap_default_s"])
                self.gather_on_graph(nodes)
            if not in_p1:
                continue
            largest = (nodes, edges) == cfg["p1"][-1]
            for m in models:
                if (nodes, edges) == cfg["p1"][0]:
                    self.check(nodes, edges, m)
                for s in ["subgraph", "subgraph_trimmed", "sampled"]:
                    self.measure_reps(part, nodes, edges, m, s, 3,
                                      self.cap(nodes, edges, m, s),
                                      poll=largest and s != "sampled")
        self.sql("DROP TABLE IF EXISTS g_nodes, g_edges")
        self.write_table(os.path.join(OUT, "paradigm_checks.csv"), self.checks)
        self.write_table(os.path.join(OUT, "paradigm_graphs.csv"), self.graphs)

    def gather_on_graph(self, nodes):
        """bench/roofline_gather.c on this graph's own edges"""
        bins = os.environ.get("PARADIGM_GATHER_BINS", "")
        if not bins:
            return
        path = os.path.join(os.environ.get("PARADIGM_TMP", "/tmp"),
                            "paradigm_edges.copy")
        with open(path, "wb") as f:
            self.conn.cursor().copy_expert(
                "COPY (SELECT src, dst FROM g_edges) TO STDOUT (FORMAT binary)", f)
        rounds = os.environ.get("PARADIGM_GATHER_ROUNDS", "3")
        try:
            for item in bins.split(","):
                build, exe = item.split(":", 1)
                res = subprocess.run([exe, str(nodes), "1", str(WIDTH), rounds,
                                      "file:" + path], check=True,
                                     capture_output=True, text=True)
                with open(os.path.join(OUT, "roofline_gather.csv"), "a") as f:
                    for line in res.stdout.splitlines():
                        f.write(build + "\t" + line + "\n")
                        print("  gather on the graph's edges (%s): %s"
                              % (build, line), flush=True)
        finally:
            os.unlink(path)

    def write_runs(self):
        self.write_table(self.csv_runs, self.runs)

    @staticmethod
    def write_table(path, rows):
        keys = []
        for r in rows:
            for k in r:
                if k not in keys:
                    keys.append(k)
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            for r in rows:
                w.writerow(r)


# ---------------------------------------------------------------------------
# analysis of the CSV files
# ---------------------------------------------------------------------------

def read_csv(name, delimiter=","):
    path = os.path.join(OUT, name)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def num(x):
    if x is None or x == "":
        return None
    return float(x)


def median_run(rows):
    """The run of median total time (an actual run, so its parts add up)."""
    ok = sorted((r for r in rows if r["status"] == "ok"),
                key=lambda r: float(r["total_ms"]))
    if not ok:
        return None
    return ok[(len(ok) - 1) // 2]


def parse_gemm(path):
    """
    bench/gemm_bench.sh's GFLOP/s by CPU time of the thread at m, k, n =
    100000, 128, 128, the transform shape of every benchmark layer: gnnjit's
    kernel as the executor calls it (packed weights, blocks of rows) and
    OpenBLAS, each the best of the runs the script makes.  CPU time, not
    wall-clock: on a shared machine the wall-clock rates drop whenever
    another process takes the core, and the roof is what the core can do.
    """
    out = []
    if not os.path.exists(path):
        return out
    section = None
    header = None
    for line in open(path):
        if line.startswith("# by "):
            section = line[5:].strip()
            continue
        f = line.split()
        if f[:3] == ["m", "k", "n"]:
            header = f
            continue
        if section != "CPU time of the thread" or header is None or len(f) < 5:
            continue
        if f[:3] != ["100000", "128", "128"]:
            continue
        row = dict(zip(header, f))
        out.append({"kernel": "gnnjit", "gflops": row["gnn_pk/blk"]})
        out.append({"kernel": "OpenBLAS", "gflops": row["openblas"]})
    return out


class Results:
    def __init__(self):
        self.runs = read_csv("paradigm_runs.csv")
        self.checks = read_csv("paradigm_checks.csv")
        self.graphs = read_csv("paradigm_graphs.csv")
        self.gather = read_csv("roofline_gather.csv", delimiter="\t")
        self.gemm = parse_gemm(os.path.join(OUT, "roofline_gemm.txt"))
        path = os.path.join(OUT, "paradigm_programs.json")
        self.programs = json.load(open(path)) if os.path.exists(path) else {}
        self.facts = {}
        path = os.path.join(OUT, "paradigm_machine.txt")
        if os.path.exists(path):
            for line in open(path):
                if ":" in line:
                    k, v = line.split(":", 1)
                    self.facts[k.strip()] = v.strip()

    def sizes(self, part=None):
        s = set()
        for r in self.runs:
            if part is None or r["part"] == part:
                s.add((int(r["nodes"]), int(r["edges"])))
        return sorted(s)

    def group(self, nodes, edges, model, strategy):
        return [r for r in self.runs if int(r["nodes"]) == nodes
                and int(r["edges"]) == edges and r["model"] == model
                and r["strategy"] == strategy]

    def cell(self, nodes, edges, model, strategy):
        """dict: seconds (or lower bound), cut, estimate, runs, run row"""
        rows = self.group(nodes, edges, model, strategy)
        if not rows:
            return None
        med = median_run(rows)
        if med is not None:
            return {"s": float(med["total_ms"]) / 1000, "cut": False,
                    "n": sum(1 for r in rows if r["status"] == "ok"),
                    "row": med}
        r = rows[0]
        est = num(r.get("est_total_ms"))
        return {"s": float(r["cap_s"]), "cut": True, "n": 1, "row": r,
                "est": est / 1000 if est else None,
                "est_nodes": num(r.get("est_subgraph_nodes")),
                "seen": r.get("batches_seen")}

    def paradigm_rows(self):
        out = []
        for nodes, edges in self.sizes("paradigm"):
            for m in MODELS:
                full = self.cell(nodes, edges, m, "full")
                if full is None:
                    continue
                row = {"nodes": nodes, "edges": edges, "model": m,
                       "full_s": full["s"], "full_runs": full["n"]}
                for s in STRATEGIES[1:]:
                    c = self.cell(nodes, edges, m, s)
                    if c is None:
                        continue
                    row[s + "_s"] = c["s"]
                    row[s + "_cut"] = c["cut"]
                    row[s + "_runs"] = c["n"]
                    row[s + "_ratio"] = c["s"] / full["s"]
                    if c["cut"]:
                        row[s + "_est_s"] = c.get("est")
                        row[s + "_est_ratio"] = (c["est"] / full["s"]
                                                 if c.get("est") else None)
                        sn = c.get("est_nodes")
                    else:
                        sn = num(c["row"].get("subgraph_nodes"))
                    row[s + "_nodes_per_node"] = sn / nodes if sn else None
                    row[s + "_jit_hits"] = c["row"].get("jit_hits")
                    row[s + "_batches"] = c["row"].get("batches")
                out.append(row)
        return out

    def touch_roof(self):
        """GB/s of writing freshly allocated memory, largest matrix"""
        best = None
        for r in self.gather:
            if r["dist"] == "firsttouch":
                if best is None or int(r["rows"]) > best[0]:
                    best = (int(r["rows"]), float(r["gbps"]))
        return best[1] if best else None

    def gather_roofs(self):
        """{(dist, build, loop): GB/s}, for each the largest matrix measured"""
        best = {}
        for r in self.gather:
            if r["dist"] == "firsttouch":
                continue
            key = (r["dist"], r["build"], r["loop"])
            rows = int(r["rows"])
            if key not in best or rows > best[key][0]:
                best[key] = (rows, float(r["gbps"]))
        return {k: v[1] for k, v in best.items()}

    def gather_roof(self, dist, loop=None):
        """Best GB/s of dist over builds (and loops, unless loop is given)"""
        vals = [v for (d, b, l), v in self.gather_roofs().items()
                if d == dist and (loop is None or l == loop)]
        return max(vals) if vals else None

    def gemm_roof(self):
        """GFLOP/s at 100000 x 128 x 128: gnnjit's kernel and OpenBLAS"""
        out = {}
        for r in self.gemm:
            out[r["kernel"]] = max(out.get(r["kernel"], 0.0), float(r["gflops"]))
        return out

    def roofline(self):
        """
        The probe models and the full-graph runs of the three models on the
        graph the probes ran on, against the roofs; None without probes.
        """
        found = None
        for nodes, edges in self.sizes():
            cg = self.cell(nodes, edges, "probe_gemm", "full")
            ca = self.cell(nodes, edges, "probe_agg", "full")
            if cg and ca and not cg["cut"] and not ca["cut"]:
                found = (nodes, edges, cg, ca)
        if found is None:
            return None
        nodes, edges, cg, ca = found
        gemm = float(cg["row"]["compute_ms"]) / 2
        agg = (float(ca["row"]["compute_ms"]) - gemm) / 2
        gemm_flop = 2.0 * nodes * WIDTH * WIDTH
        gemm_roofs = self.gemm_roof()
        graphs = {(int(g["nodes"]), int(g["edges"])): g for g in self.graphs}
        loops = int(graphs.get((nodes, edges), {}).get("self_loops") or 0)
        res = {"nodes": nodes, "edges": edges, "runs": min(cg["n"], ca["n"]),
               "gemm_ms": gemm, "agg_ms": agg,
               "gemm_gflops": gemm_flop / gemm / 1e6,
               "agg_gbps": edges * WIDTH * 4.0 / agg / 1e6 if agg > 0 else None,
               "gemm_roofs": gemm_roofs,
               "gemm_peak": max(gemm_roofs.values()) if gemm_roofs else None,
               "graph_best": self.gather_roof("graph"),
               "graph_plain": self.gather_roof("graph", "plain"),
               "rmat_best": self.gather_roof("rmat"),
               "rmat_plain": self.gather_roof("rmat", "plain"),
               "stream": self.gather_roof("stream"), "touch": self.touch_roof(),
               "faults_gb": {m: num(c["row"].get("faults_gb"))
                             for m, c in (("probe_gemm", cg), ("probe_agg", ca))},
               "models": []}
        for m in MODELS:
            cm = self.cell(nodes, edges, m, "full")
            if cm is None or cm["cut"]:
                continue
            layers = [x.split(":")[0] for x in cm["row"]["layer_ms"].split(";")]
            nconv = sum(1 for t in layers if t.endswith("Conv"))
            k = CONV[m]["gemms"] * nconv
            e = edges + (nodes - loops if CONV[m]["loops"] else 0)
            agg_bytes = nconv * e * WIDTH * 4.0
            t = float(cm["row"]["compute_ms"])
            t_gemm = min(k * gemm, t)
            res["models"].append({
                "model": m, "ms": t, "gemms": k, "gemm_ms": t_gemm,
                "rest_ms": t - t_gemm, "predicted_ms": k * gemm + nconv * agg * e / edges,
                "gflop": k * gemm_flop / 1e9, "agg_gb": agg_bytes / 1e9,
                "model_gflops": k * gemm_flop / t / 1e6,
                "agg_gbps": agg_bytes / (t - t_gemm) / 1e6 if t > t_gemm else None,
                "faults_gb": num(cm["row"].get("faults_gb"))})
        return res

    def scaling_rows(self):
        out = []
        for nodes, edges in self.sizes():
            for m in ["sage", "gcn"]:
                c = self.cell(nodes, edges, m, "full")
                if c is None or c["cut"]:
                    continue
                r = c["row"]
                nconv = sum(1 for x in r["layer_ms"].split(";")
                            if x.split(":")[0].endswith("Conv"))
                total = float(r["total_ms"])
                compute = float(r["compute_ms"])
                out.append({
                    "nodes": nodes, "edges": edges, "model": m, "runs": c["n"],
                    "total_s": total / 1000, "compute_s": compute / 1000,
                    "read_s": float(r["other_ms"]) / 1000,
                    "ns_per_edge_layer_total": total * 1e6 / (edges * nconv),
                    "ns_per_edge_layer_compute": compute * 1e6 / (edges * nconv),
                    "peak_gb": float(r["peak_kb"]) * 1024 / GB,
                    "rss_gb": (float(r["rss_peak_kb"]) * 1024 / GB
                               if r.get("rss_peak_kb") else None),
                    "faults_gb": num(r.get("faults_gb"))})
        return out

    def memory_fit(self, model="sage"):
        """Least-squares bytes = a + b * edges over the scaling runs"""
        pts = [(r["edges"], r["peak_gb"], r["rss_gb"]) for r in self.scaling_rows()
               if r["model"] == model]
        if len(pts) < 2:
            return None
        def fit(xs, ys):
            n = len(xs)
            mx, my = sum(xs) / n, sum(ys) / n
            sxx = sum((x - mx) ** 2 for x in xs)
            b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
            return my - b * mx, b
        xs = [p[0] for p in pts]
        res = {"peak": fit(xs, [p[1] for p in pts])}
        if all(p[2] is not None for p in pts):
            res["rss"] = fit(xs, [p[2] for p in pts])
        return res


# ---------------------------------------------------------------------------
# plot
# ---------------------------------------------------------------------------

def gnuplot(script):
    subprocess.run(["gnuplot"], input=script.encode(), check=True)


def plot():
    R = Results()
    tmp = os.path.join(OUT, ".plotdata")
    os.makedirs(tmp, exist_ok=True)
    term = "set terminal pngcairo size 960,600 font 'DejaVu Sans,11'\n"

    # 1. ratio subgraph / full by model and graph size
    prow = R.paradigm_rows()
    lines = []
    for m in MODELS:
        for s in STRATEGIES[1:]:
            fn = os.path.join(tmp, "ratio_%s_%s.dat" % (m, s))
            kinds = set()
            with open(fn, "w") as f:
                for r in prow:
                    if r["model"] != m or (s + "_ratio") not in r:
                        continue
                    est = r.get(s + "_est_ratio") or 0
                    kinds.add("cut" if r[s + "_cut"] else "ok")
                    if est:
                        kinds.add("est")
                    f.write("%d %g %d %g\n" % (r["edges"], r[s + "_ratio"],
                                              1 if r[s + "_cut"] else 0, est))
            if kinds:
                lines.append((m, s, fn, kinds))
    style = {"subgraph": ("lt 1", "exact"), "subgraph_trimmed": ("dt 2", "trimmed"),
             "sampled": ("dt 3", "sampled [25,10]")}
    color = {"sage": "#1f77b4", "gcn": "#2ca02c", "gat": "#d62728"}
    plots = []
    for m, s, fn, kinds in lines:
        # a line through the measured points and the lower bounds
        plots.append("'%s' u 1:($3==0?$2:1/0) w lp %s lw 2 pt 7 lc rgb '%s' "
                     "t '%s %s'" % (fn, style[s][0], color[m], m.upper(),
                                     style[s][1]))
        if "cut" in kinds:
            plots.append("'%s' u 1:($3==1?$2:1/0) w p pt 9 ps 2.5 lc rgb '%s' "
                         "notitle" % (fn, color[m]))
        if "est" in kinds:
            plots.append("'%s' u 1:($3==1&&$4>0?$4:1/0) w p pt 6 ps 2.5 "
                         "lc rgb '%s' notitle" % (fn, color[m]))
    gnuplot(term + """
set output '%s'
set title "Subgraph-paradigm time / full-graph time (batch 1024, JIT on)\\n▲ = lower bound (cut by statement\\\\_timeout), ○ = extrapolated"
set logscale xy
set xlabel 'edges (R-MAT, 16 per node, 128 features)'
set ylabel 'time ratio to full-graph inference'
set grid
set key outside right
set yrange [0.5:*]
f(x) = 27.4
plot %s, f(x) w l lc rgb 'gray' dt 4 t 'paper: 27.4x'
""" % (os.path.join(OUT, "paradigm_ratio.png"), ", ".join(plots)))

    # 2. scaling: time per edge per layer
    srow = R.scaling_rows()
    plots = []
    for m in ["sage", "gcn"]:
        fn = os.path.join(tmp, "scale_%s.dat" % m)
        with open(fn, "w") as f:
            for r in srow:
                if r["model"] == m:
                    f.write("%d %g %g\n" % (r["edges"], r["ns_per_edge_layer_total"],
                                            r["ns_per_edge_layer_compute"]))
        plots.append("'%s' u 1:2 w lp lw 2 pt 7 lc rgb '%s' t '%s end-to-end'"
                     % (fn, color[m], m.upper()))
        plots.append("'%s' u 1:3 w lp lw 2 dt 2 pt 5 lc rgb '%s' t '%s layers only'"
                     % (fn, color[m], m.upper()))
    gnuplot(term + """
set output '%s'
set title 'Full-graph inference: time per edge per graph convolution layer'
set logscale x
set xlabel 'edges (R-MAT, 16 per node, 128 features)'
set ylabel 'ns per edge per layer'
set yrange [0:*]
set grid
set key top left
plot %s
""" % (os.path.join(OUT, "paradigm_scaling.png"), ", ".join(plots)))

    # 3. memory
    fit = R.memory_fit("sage")
    plots = []
    for m in ["sage", "gcn"]:
        fn = os.path.join(tmp, "mem_%s.dat" % m)
        with open(fn, "w") as f:
            for r in srow:
                if r["model"] == m:
                    f.write("%d %g %s\n" % (r["edges"], r["peak_gb"],
                                            r["rss_gb"] if r["rss_gb"] else "?"))
        plots.append("'%s' u 1:2 w lp lw 2 pt 7 lc rgb '%s' t '%s: gnnjit peak (EXPLAIN)'"
                     % (fn, color[m], m.upper()))
        plots.append("'%s' u 1:3 w lp lw 2 dt 2 pt 5 lc rgb '%s' t '%s: backend peak RSS'"
                     % (fn, color[m], m.upper()))
    fitline = ""
    if fit:
        a, b = fit["peak"]
        fitline = ", %g + %g*x w l lc rgb 'gray' dt 2 t 'SAGE linear fit'" % (a, b)
    gnuplot(term + """
set output '%s'
set title 'Memory of full-graph inference'
set logscale xy
set xlabel 'edges (R-MAT, 16 per node, 128 features)'
set ylabel 'GB'
set grid
set key bottom right
set xrange [*:4e8]
plot %s%s, 18 w l lc rgb 'orange' t 'gnnjit.max\\_memory = 18GB', 24 w l lc rgb 'black' t 'RAM 24 GB'
""" % (os.path.join(OUT, "paradigm_memory.png"), ", ".join(plots), fitline))

    # 4. per-layer time: strategies side by side at the largest size where
    #    every strategy finished
    sizes = R.sizes("paradigm")
    done = None
    for nodes, edges in sizes:
        if all(R.cell(nodes, edges, m, s) and not R.cell(nodes, edges, m, s)["cut"]
               for m in MODELS for s in STRATEGIES):
            done = (nodes, edges)
    if done:
        fn = os.path.join(tmp, "layers.dat")
        with open(fn, "w") as f:
            for m in MODELS:
                per = {}
                for s in STRATEGIES:
                    row = R.cell(done[0], done[1], m, s)["row"]
                    per[s] = [(x.split(":")[0], float(x.split(":")[1]) / 1000)
                              for x in row["layer_ms"].split(";")]
                for i, (typ, _) in enumerate(per["full"]):
                    f.write('"%s %d:%s" %s\n' % (m.upper(), i, typ, " ".join(
                        "%g" % max(per[s][i][1], 1e-4) for s in STRATEGIES)))
        gnuplot(term.replace("960,600", "1100,600") + """
set output '%s'
set title "Per-layer time by strategy, %s nodes/edges, as EXPLAIN's Layer Times book it\\n(summed over batches; a fused chain of operations counts for its last layer)"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set ylabel 'seconds'
set xtics rotate by -30
set grid y
set key top left
plot '%s' u 2:xtic(1) t 'full graph' lc rgb '#444444', '' u 3 t 'subgraph (exact)' lc rgb '#d62728', '' u 4 t 'subgraph\\_trimmed' lc rgb '#ff9896', '' u 5 t 'sampled [25,10]' lc rgb '#1f77b4'
""" % (os.path.join(OUT, "paradigm_layers.png"), fmt_size(*done), fn))

    # 5. roofline
    rf = R.roofline()
    if rf and rf["gemm_peak"] and (rf["graph_best"] or rf["rmat_best"]):
        peak = rf["gemm_peak"]
        bw = rf["graph_best"] or rf["rmat_best"]
        bw_plain = rf["graph_plain"] or bw
        fn = os.path.join(tmp, "roof.dat")
        with open(fn, "w") as f:
            for r in rf["models"]:
                f.write('%g %g "%s"\n' % (r["gflop"] / r["agg_gb"], r["model_gflops"],
                                         r["model"].upper()))
        gnuplot(term + """
set output '%s'
set title "The models' layers (all layers of a full-graph run) against the roofline, %s graph, single thread\\nx: GEMM FLOPs per byte of gathered source rows; y: GEMM FLOPs / time of all layers"
set logscale xy
set xlabel 'FLOP per gathered byte'
set ylabel 'GFLOP/s'
set grid
set key bottom right
set xrange [1:1000]
set yrange [1:%g]
min(a, b) = a < b ? a : b
plot min(x*%g, %g) w l lw 2 lc rgb 'black' t 'roof: sgemm %.0f GFLOP/s, gather on this graph (prefetching) %.1f GB/s', \\
     min(x*%g, %g) w l lw 1 dt 2 lc rgb 'gray' t 'gather on this graph, plain loop %.1f GB/s', \\
     '%s' u 1:2 w p pt 7 ps 1.5 lc rgb '#d62728' t 'SAGE, GCN, GAT', '' u 1:2:3 w labels offset 0,1 notitle
""" % (os.path.join(OUT, "paradigm_roofline.png"), fmt_size(rf["nodes"], rf["edges"]),
       peak * 2, bw, peak, peak, bw, bw_plain, peak, bw_plain, fn))


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------

def fs(s):
    if s is None:
        return "–"
    if s >= 100:
        return "%.0f" % s
    if s >= 10:
        return "%.1f" % s
    return "%.2f" % s


def fr(x):
    if x is None:
        return "–"
    if x >= 100:
        return "%.0f×" % x
    if x >= 10:
        return "%.1f×" % x
    return "%.2f×" % x


def report():
    R = Results()
    out = []
    facts = R.facts
    out.append("Measured by `%s` on %s (%s CPUs, %s); PostgreSQL %s, gnnjit %s; "
               "load average %s at start, %s at end (shared machine: other work "
               "ran alongside). Single-threaded, as gnnjit runs; JIT on "
               "(`gnnjit.jit_above_cost = 0`, compiled once per model before "
               "timing); `batch_size => 1024`; R-MAT graphs from "
               "`gnn_generate_graph` (a, b, c = 0.57, 0.19, 0.19; 16 edges per "
               "node; 128 float features); 2-layer 128-wide models of "
               "`bench/models/`. Times are whole `EXPLAIN ANALYZE` executions of "
               "`SELECT count(*) FROM gnn_infer(...)`: reading both tables, "
               "building the graph, every layer, returning the rows."
               % (facts.get("command", "bash bench/paradigm.sh"),
                  facts.get("cpu", "?"), facts.get("nproc", "?"),
                  facts.get("memory", "?"), facts.get("postgres", "?"),
                  facts.get("gnnjit", "?"),
                  facts.get("load_start", "?"), facts.get("load_end", "?")))
    out.append("")

    # -- 1. full vs subgraph
    prow = R.paradigm_rows()
    out.append("#### Full graph against the subgraph paradigm")
    out.append("")
    out.append("| graph (nodes/edges) | model | full graph | subgraph (exact) | "
               "subgraph_trimmed | sampled [25,10] | nodes computed per node, exact |")
    out.append("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in prow:
        cells = []
        for s in STRATEGIES[1:]:
            if s + "_s" not in r:
                cells.append("–")
                continue
            if r[s + "_cut"]:
                c = "> %s s (> %s)" % (fs(r[s + "_s"]), fr(r[s + "_ratio"]))
                if r.get(s + "_est_s"):
                    c += "; ≈ %s s (≈ %s) extrapolated" % (
                        fs(r[s + "_est_s"]), fr(r[s + "_est_ratio"]))
            else:
                c = "%s s (%s)" % (fs(r[s + "_s"]), fr(r[s + "_ratio"]))
            cells.append(c)
        amp = r.get("subgraph_nodes_per_node")
        amp_s = ("%.0f" % amp if amp and amp >= 10 else "%.1f" % amp) if amp else "–"
        if r.get("subgraph_cut") and amp:
            amp_s = "≈ " + amp_s
        out.append("| %s | %s | %s s | %s |" % (
            fmt_size(r["nodes"], r["edges"]), r["model"].upper(),
            fs(r["full_s"]), " | ".join(cells + [amp_s])))
    out.append("")
    out.append("Seconds, median of up to 3 runs (one run when it took over "
               "20 s); in brackets the ratio to the full-graph time. "
               "\"> N s\" = stopped by `statement_timeout` after N s, so the "
               "ratio is a lower bound; the extrapolation assumes every batch "
               "costs what the batches run before the timeout cost (node ids "
               "are permuted, so batches of consecutive ids are random targets), "
               "counting batches from `gnn_stat_progress`. Last column: "
               "`Subgraph Nodes` / nodes, how many times the exact subgraph "
               "strategy computes each node's layers.")
    out.append("")
    sub_runs = [r for r in R.runs if r["strategy"] != "full"
                and r["status"] == "ok" and r.get("batches")]
    if sub_runs:
        same = sum(1 for r in sub_runs if r["jit_hits"] == r["batches"])
        line = ("JIT in the subgraph strategies: in %d of %d finished runs "
                "`gnn_jit_stats()` counted one use of the compiled model per "
                "batch" % (same, len(sub_runs)))
        said = {r.get("compiled_code") for r in sub_runs}
        if said == {"not used"}:
            line += (" (EXPLAIN's `Compiled Code` line nevertheless reads "
                     "\"not used\" for these strategies)")
        out.append(line + ".")
        out.append("")
    if R.checks:
        out.append("Exactness, %s graph: " % fmt_size(int(R.checks[0]["nodes"]),
                                                     int(R.checks[0]["edges"]))
                   + "; ".join(
                       "%s: subgraph %s rows bit-identical to full graph, "
                       "trimmed %s, sampled %s identical (relative L2 error %s)"
                       % (c["model"].upper(), c["subgraph_identical"],
                          c["subgraph_trimmed_identical"], c["sampled_identical"],
                          c["sampled_rel_l2_error"]) for c in R.checks) + ".")
        out.append("")

    # -- 2. scaling
    srow = R.scaling_rows()
    out.append("#### Full-graph scaling")
    out.append("")
    faults = any(r["faults_gb"] is not None for r in srow)
    out.append("| graph (nodes/edges) | model | end-to-end | read + build | "
               "layers | ns / edge / layer (end-to-end) | ns / edge / layer (layers) | "
               "peak memory (gnnjit) | backend peak RSS |"
               + (" page faults |" if faults else ""))
    out.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
               + (" ---: |" if faults else ""))
    for r in srow:
        out.append("| %s | %s | %s s | %s s | %s s | %.1f | %.1f | %.2f GB | %s |%s" % (
            fmt_size(r["nodes"], r["edges"]), r["model"].upper(), fs(r["total_s"]),
            fs(r["read_s"]), fs(r["compute_s"]), r["ns_per_edge_layer_total"],
            r["ns_per_edge_layer_compute"], r["peak_gb"],
            "%.2f GB" % r["rss_gb"] if r["rss_gb"] else "–",
            (" %.2f GB |" % r["faults_gb"] if r["faults_gb"] is not None else " – |")
            if faults else ""))
    out.append("")
    out.append("read + build = the scan's time to its first row minus the layers "
               "(reading both tables, id map, CSR); layers = sum of the layer "
               "times; ns per edge per graph convolution layer (2 per model); "
               "peak RSS = the backend's VmHWM during the run; page faults = "
               "the backend's minor faults during the run × 4 kB, the fresh "
               "memory it touched.")
    out.append("")
    fit = R.memory_fit("sage")
    if fit:
        a, b = fit["peak"]
        line = ("Memory: for SAGE, gnnjit's peak ≈ %.2f GB + %.0f bytes per edge "
                "(at 16 edges per node; linear fit over the sizes above). "
                "Under `gnnjit.max_memory = 18GB` that allows ≈ %.0fM edges "
                "(%.0fM nodes)" % (a, b * GB, (18 - a) / b / 1e6,
                                   (18 - a) / b / 16e6))
        if "rss" in fit:
            ra, rb = fit["rss"]
            usable = 24 - 2 - 1
            line += ("; the backend's peak RSS ≈ %.2f GB + %.0f bytes per edge, "
                     "so with 24 GB of RAM less 2 GB shared_buffers and ~1 GB for "
                     "the system, ≈ %.0fM edges (%.0fM nodes) fit"
                     % (ra, rb * GB, (usable - ra) / rb / 1e6,
                        (usable - ra) / rb / 16e6))
        big = max((r["edges"], r["nodes"]) for r in srow)
        line += (". Largest graph actually run: %s (extrapolated beyond it, not run)."
                 % fmt_size(big[1], big[0]))
        out.append(line)
        out.append("")

    # -- 3. roofline
    rf = R.roofline()
    if rf:
        n, e = rf["nodes"], rf["edges"]
        ns, es = fmt_size(n, e).split("/")
        out.append("#### Roofline, %s graph, single thread" % fmt_size(n, e))
        out.append("")
        out.append("| work, measured inside gnnjit | time | rate | roof (microbenchmark) | of roof |")
        out.append("| --- | ---: | ---: | --- | ---: |")
        if rf["gemm_peak"]:
            out.append("| GEMM %s×128×128 (probe: `Linear` layers) | %.0f ms | "
                       "%.0f GFLOP/s | %.0f GFLOP/s: best sgemm | %.0f%% |" % (
                           ns, rf["gemm_ms"], rf["gemm_gflops"], rf["gemm_peak"],
                           100 * rf["gemm_gflops"] / rf["gemm_peak"]))
        rate = rf["agg_gbps"]
        rows = [(rf["graph_plain"], "gather-sum on this graph's edges, plain loop"),
                (rf["graph_best"], "same, prefetching loop")]
        rows = [x for x in rows if x[0]] or [(None, "–")]
        for i, (roof, name) in enumerate(rows):
            out.append("| %s | %s | %s | %s | %s |" % (
                "sum aggregation, %s edges × 128 floats (probe: `GINConv` layers)"
                % es if i == 0 else "",
                "%.0f ms" % rf["agg_ms"] if i == 0 else "",
                "%.2f GB/s" % rate if i == 0 and rate else "",
                "%.2f GB/s: %s" % (roof, name) if roof else "–",
                "%.0f%%" % (100 * rate / roof) if roof and rate else "–"))
        out.append("")
        out.append("| model, all layers | layers' time | GEMM share (probe) | rest | "
                   "rest as aggregation GB/s | probe prediction |")
        out.append("| --- | ---: | ---: | ---: | ---: | ---: |")
        for r in rf["models"]:
            out.append("| %s (%d GEMMs) | %.0f ms | %.0f ms | %.0f ms | %s | %.0f ms |" % (
                r["model"].upper(), r["gemms"], r["ms"], r["gemm_ms"], r["rest_ms"],
                "%.2f" % r["agg_gbps"] if r["agg_gbps"] else "–", r["predicted_ms"]))
        out.append("")
        notes = []
        gr = rf["gemm_roofs"]
        if gr:
            notes.append("sgemm 100000×128×128, `bench/gemm_bench.sh`, by CPU "
                         "time: " + ", ".join("%s %.0f GFLOP/s" % (k, v)
                                              for k, v in sorted(gr.items())))
        if rf["rmat_best"]:
            notes.append("gather-sum over an R-MAT graph of the same size with "
                         "fully random node ids: %.2f GB/s plain loop, %.2f GB/s "
                         "prefetching" % (rf["rmat_plain"], rf["rmat_best"]))
        if rf["stream"]:
            notes.append("the same sum over consecutive rows (streaming): "
                         "%.1f GB/s" % rf["stream"])
        if rf["touch"]:
            notes.append("writing freshly allocated memory (page faults and "
                         "zeroing): %.2f GB/s" % rf["touch"])
        fl = rf["faults_gb"]
        if all(v is not None for v in fl.values()):
            notes.append("page faults of the probe runs: %.2f GB (GEMM probe), "
                         "%.2f GB (aggregation probe)" % (fl["probe_gemm"],
                                                         fl["probe_agg"]))
        out.append("Other figures: " + "; ".join(notes) + ".")
        out.append("")
        out.append("EXPLAIN's Layer Times and gnn_last_inference() time spec "
                   "layers, and with the JIT's fusion a chain of operations "
                   "books its time to its last layer, so the two kinds of work "
                   "are timed with probe models on the same graph (same "
                   "kernels, JIT and fusion), from their whole layer time: "
                   "GEMM = half the time of two `Linear` 128→128 layers; "
                   "aggregation = (time of two `GINConv` layers with an "
                   "identity `nn` and one `Linear`) − GEMM, halved; it "
                   "includes GINConv's element-wise x + aggregate, so its GB/s "
                   "are a lower bound. Aggregation bytes = edges × 128 × 4, "
                   "the source rows read. Per model: GEMM share = its "
                   "N×128×128 products × the probe's GEMM time; rest = the "
                   "remainder (the aggregations, over the edges plus one self "
                   "loop per node for GCN and GAT, element-wise work, GCN's "
                   "normalisation, GAT's attention and edge softmax); "
                   "prediction = GEMM share + the probe's aggregation time "
                   "scaled to the model's aggregated edges.")
        out.append("")
    text = "\n".join(out)
    with open(os.path.join(OUT, "paradigm.md"), "w") as f:
        f.write(text + "\n")
    print(text)


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("run", "plot", "report"):
        sys.exit(__doc__)
    os.makedirs(OUT, exist_ok=True)
    if sys.argv[1] == "run":
        r = Runner("--quick" in sys.argv[2:])
        try:
            r.run()
        finally:
            r.write_runs()
    elif sys.argv[1] == "plot":
        plot()
    else:
        report()


if __name__ == "__main__":
    main()
