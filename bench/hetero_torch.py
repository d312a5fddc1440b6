"""PyTorch baseline and exactness checks of bench/hetero.sh.

Reads catalog graphs (gnn_graphs: the node and edge tables of each type,
with their columns and src/dst swaps) from PostgreSQL with binary COPY
through psql, and runs the heterogeneous benchmark models
(bench/hetero_models.py) with tools/hetero_ref.py's forward pass:

  reference   hetero_ref in float64 on --check-graph, against gnnjit's
              outputs exported there (DIR/check_<model>_<variant>.bin):
              every node of --node-type within --ref-tolerance
  JIT vs      gnnjit's JIT and portable outputs on --graph
  portable    (DIR/main_<model>_<variant>.bin), every node of --node-type,
              within --tolerance
  PyTorch     hetero_ref's functions in float32 on --graph, --threads
              threads, one warm-up and the median of --runs forward passes,
              the graph already in memory (edge lists in row numbers; the
              id mapping is not timed); compared with gnnjit's JIT output
              (reported, not a check: two float32 computations summing in
              different orders).  hetero_ref materialises every edge
              type's messages ([E, 128] tensors; HGTConv keeps all edge
              types' at once), so a model whose estimated peak is over
              --max-gb GB is not run on --graph, and the reason is
              reported.

Relative differences are max |a - b| / max(|b|, 1) over every element, b
being the reference (float64) or the portable output.  Writes
kind,model,name,value rows to --csv; exit status 1 if a check fails.

    /usr/bin/python3 bench/hetero_torch.py --graph het --check-graph het_check \\
        --exports DIR --csv out.csv [--models het_sage,het_hgt] [--node-type user]

The connection is psql's, from libpq's environment (PGHOST, PGPORT, ...).
"""

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import hetero_ref  # noqa: E402
import safetensors_io  # noqa: E402
from torch_baseline import (max_rel_diff, read_edge_rows,  # noqa: E402
                            read_id_array_rows)


# ---------------------------------------------------------------------------
# Reading a catalog graph
# ---------------------------------------------------------------------------

def psql(sql, out=None):
    """Run one statement with psql; its stdout to file `out` or returned."""
    cmd = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql]
    if out is None:
        return subprocess.run(cmd, check=True, capture_output=True,
                              text=True).stdout
    with open(out, "wb") as f:
        subprocess.run(cmd, check=True, stdout=f)
    return None


def ident(name):
    return '"' + name.replace('"', '""') + '"'


class Graph:
    """A catalog graph: per node type ids (sorted) and float32 features,
    per edge type a hetero_ref.Rel in row numbers (edges in table order)."""

    def __init__(self, name, node_types, edge_types, tmp):
        row = psql("SELECT json_build_array(nodes, edges) FROM gnn_graphs "
                   f"WHERE name = '{name}'")
        if not row.strip():
            raise SystemExit(f"no graph {name!r} in gnn_graphs")
        nodes, edges = json.loads(row)
        self.name, self.ids, self.x, self.rels = name, {}, {}, {}
        path = os.path.join(tmp, "rows.bin")
        for t in node_types:
            d = nodes[t]
            width = int(psql(f"SELECT array_length({ident(d['features'])}, 1)"
                             f" FROM {d['table']} LIMIT 1"))
            psql(f"COPY (SELECT {ident(d['id'])}::bigint, "
                 f"{ident(d['features'])}::real[] FROM {d['table']}) "
                 "TO STDOUT (FORMAT binary)", path)
            ids, x = read_id_array_rows(path, width)
            order = np.argsort(ids, kind="stable")
            self.ids[t] = ids[order]
            if len(ids) > 1 and (np.diff(self.ids[t]) == 0).any():
                raise ValueError(f"{name}: duplicate {t} id")
            self.x[t] = torch.from_numpy(np.ascontiguousarray(x[order]))
        for et in edge_types:
            s, _, d = et
            e = edges[hetero_ref.edge_key(et)]
            psql(f"COPY (SELECT {ident(e['src'])}::bigint, "
                 f"{ident(e['dst'])}::bigint FROM {e['table']}) "
                 "TO STDOUT (FORMAT binary)", path)
            src, dst = read_edge_rows(path)
            self.rels[et] = hetero_ref.Rel(
                torch.from_numpy(self.rows(s, src)),
                torch.from_numpy(self.rows(d, dst)), None,
                len(self.ids[s]), len(self.ids[d]))
        os.unlink(path)

    def rows(self, node_type, node_ids):
        ids = self.ids[node_type]
        pos = np.minimum(np.searchsorted(ids, node_ids), len(ids) - 1)
        if len(node_ids) and (ids[pos] != node_ids).any():
            raise ValueError(f"{self.name}: an edge endpoint is not a "
                             f"{node_type}")
        return pos.astype(np.int64)

    def describe(self):
        n = sum(len(v) for v in self.ids.values())
        e = sum(r.src.numel() for r in self.rels.values())
        return f"{n} nodes, {e} edges"


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------

def load_model(model_dir, name):
    with open(os.path.join(model_dir, name + ".json"), encoding="utf-8") as f:
        spec = json.load(f)
    state = safetensors_io.load(os.path.join(model_dir,
                                             name + ".safetensors")).tensors
    meta = spec["metadata"]
    return spec, state, meta["node_types"], [tuple(et) for et in
                                             meta["edge_types"]]


def forward(spec, state, g, node_types, edge_types, dtype):
    with torch.no_grad():
        return hetero_ref.forward_hetero(spec, state, g.x, g.rels, node_types,
                                         edge_types, dtype)


def peak_estimate_gb(spec, g, edge_types):
    """Rough peak of hetero_ref's float32 forward: the [E, F] tensors a
    layer holds at once, over the node features."""
    width = max(x.shape[1] for x in g.x.values())
    hidden = max(layer.get("out_channels", 0) for layer in spec["layers"])
    width = max(width, hidden)
    sizes = {et: g.rels[et].src.numel() for et in edge_types}
    into = {}
    for (_, _, d), n in sizes.items():
        into[d] = into.get(d, 0) + n
    if any(layer["type"] == "HGTConv" for layer in spec["layers"]):
        # per edge type q[dst], k[src], their product; every edge type's
        # v[src] kept; then per target type the concatenation and alpha*msg
        edges = 3 * max(sizes.values()) + sum(sizes.values()) + \
            2 * max(into.values())
    else:
        # per edge type x[src] and the scatter target
        edges = 2 * max(sizes.values())
    nodes = sum(len(v) for v in g.ids.values()) * width * 8
    return (edges * width * 4 + nodes) / 2 ** 30


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------

def exported(path, g, node_type, width):
    """A gnn_infer export as a [N, width] array in g's row order."""
    ids, y = read_id_array_rows(path, width)
    order = np.argsort(ids, kind="stable")
    if len(ids) != len(g.ids[node_type]) or \
            (ids[order] != g.ids[node_type]).any():
        raise SystemExit(f"{path}: not one row per {node_type} node")
    return y[order]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--graph", required=True, help="catalog graph to time")
    ap.add_argument("--check-graph", help="small catalog graph for the "
                    "float64 reference check (default: --graph)")
    ap.add_argument("--models", default="het_sage,het_hgt")
    ap.add_argument("--model-dir", default=os.path.join(HERE, "models"))
    ap.add_argument("--node-type", default="user")
    ap.add_argument("--exports", required=True, metavar="DIR",
                    help="gnn_infer outputs: <check|main>_<model>_<variant>"
                    ".bin (binary COPY of node_id, embedding)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tolerance", type=float, default=1e-5,
                    help="JIT vs portable")
    ap.add_argument("--ref-tolerance", type=float, default=1e-4,
                    help="gnnjit vs the float64 reference")
    ap.add_argument("--max-gb", type=float, default=8.0,
                    help="largest estimated PyTorch peak to run on --graph")
    ap.add_argument("--csv", required=True)
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    rows, failed = [], False
    models = {m: load_model(args.model_dir, m)
              for m in args.models.split(",") if m}
    node_types = list(dict.fromkeys(t for v in models.values()
                                    for t in v[2]))
    edge_types = list(dict.fromkeys(et for v in models.values()
                                    for et in v[3]))

    def check(model, name, d, tol):
        nonlocal failed
        ok = d <= tol
        failed |= not ok
        rows.append(("diff", model, name, d))
        print(f"check {model}: {name}: max rel diff {d:.3g} (limit {tol:g})"
              f"{'' if ok else '  FAILED'}", flush=True)

    with tempfile.TemporaryDirectory(prefix="gnn_hetero_") as tmp:
        t0 = time.perf_counter()
        g = Graph(args.graph, node_types, edge_types, tmp)
        load_ms = (time.perf_counter() - t0) * 1000
        if args.check_graph and args.check_graph != args.graph:
            small = Graph(args.check_graph, node_types, edge_types, tmp)
        else:
            small = g
    print(f"pytorch: read {args.graph} ({g.describe()}) in {load_ms:.0f} ms "
          f"(binary COPY + numpy; not timed below); torch {torch.__version__}"
          f", {args.threads} thread(s)", flush=True)
    rows.append(("load", "", "load_ms", load_ms))
    rows.append(("graph", "", "main", g.describe()))
    rows.append(("graph", "", "check", small.describe()))

    out_type = args.node_type
    for name, (spec, state, nts, ets) in models.items():
        # gnnjit against the float64 reference on the small graph
        ref = forward(spec, state, small, nts, ets, torch.float64)
        ref = ref[out_type].numpy()
        for variant in ("jit", "portable"):
            path = os.path.join(args.exports, f"check_{name}_{variant}.bin")
            y = exported(path, small, out_type, ref.shape[1])
            check(name, f"{variant}_vs_reference", max_rel_diff(y, ref),
                  args.ref_tolerance)
        del ref

        # JIT against portable on the timed graph
        main_out = {}
        for variant in ("jit", "portable"):
            path = os.path.join(args.exports, f"main_{name}_{variant}.bin")
            main_out[variant] = exported(path, g, out_type, spec["layers"][-1]
                                         ["out_channels"])
        check(name, "jit_vs_portable",
              max_rel_diff(main_out["jit"], main_out["portable"]),
              args.tolerance)
        del main_out["portable"]

        # PyTorch, float32, timed
        est = peak_estimate_gb(spec, g, ets)
        rows.append(("estimate", name, "pytorch_peak_gb", est))
        if est > args.max_gb:
            print(f"pytorch {name}: not run on {args.graph}: estimated peak "
                  f"{est:.1f} GB > --max-gb {args.max_gb:g}", flush=True)
            rows.append(("skipped", name, "pytorch", est))
            continue
        times = []
        out = forward(spec, state, g, nts, ets, torch.float32)   # warm-up
        for _ in range(args.runs):
            del out
            t = time.perf_counter()
            out = forward(spec, state, g, nts, ets, torch.float32)
            times.append((time.perf_counter() - t) * 1000)
        ms = statistics.median(times)
        print(f"pytorch {name}: forward {ms:.0f} ms (median of {args.runs}: "
              f"{', '.join(f'{t:.0f}' for t in times)}; estimated peak "
              f"{est:.1f} GB)", flush=True)
        rows.append(("time", name, "pytorch_ms", ms))
        rows.extend(("run", name, "pytorch_ms", t) for t in times)
        d = max_rel_diff(main_out["jit"], out[out_type].numpy())
        print(f"pytorch {name}: gnnjit JIT vs PyTorch float32 on all "
              f"{len(g.ids[out_type])} {out_type} nodes: max rel diff "
              f"{d:.3g} (not a check)", flush=True)
        rows.append(("info", name, "jit_vs_pytorch", d))
        del out, main_out
    rows.append(("memory", "", "pytorch_maxrss_gb",
                 resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20))

    with open(args.csv, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["kind", "model", "name", "value"])
        w.writerows(rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
