"""PyTorch baseline for the JIT benchmark: the benchmark models in plain torch.

Reads a graph from PostgreSQL (binary COPY of the node and edge tables),
runs the benchmark models (bench/models/*.json + .safetensors) with the
layer semantics of PyTorch Geometric, in float32, and times the forward pass
alone: the graph and the weights are already in memory, one warm-up run,
then the median of --runs runs.

The layers follow PyG's eval-mode forward exactly (tools/pyg_ref.py is the
float64 semantics reference; --ref-graph or --ref-nodes check this file
against it on a small graph before timing anything):

  SAGEConv   mean of in-neighbours (parallel edges count, self loops as
             given), lin_l(mean) + lin_r(x)
  GCNConv    add_remaining_self_loops (weight 1), symmetric normalisation
             deg(src)^-1/2 * deg(dst)^-1/2, lin(x) first, then sum, + bias
  GATConv    remove_self_loops + add_self_loops, LeakyReLU(0.2) of
             a_src[src] + a_dst[dst], softmax over each node's in-edges per
             head (minus the max, / (sum + 1e-16)), weighted sum, concat, + bias

Message passing is a gather (index_select) and a scatter-add (index_add_)
over chunks of --chunk edges through one reused buffer, so the [E, F]
message tensor is never materialised whole (at 16M edges x 128 floats it
would be 8 GB); summing chunk by chunk adds in the same edge order as one
index_add_ would.  Edges are sorted by target once when loaded (not timed),
as a CSR-ordered edge list; the self-loop handling, degrees and
normalisation that PyG redoes on every forward call are timed.

bench/jit_bench.sh runs this with glibc malloc told to keep freed memory
(MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_), as PyTorch's CPU tuning
advice does with jemalloc or TCMalloc: without it every new tensor is
page-faulted in afresh.

With --compare DIR, the outputs of gnn_infer exported as binary COPY files
DIR/<model>_<variant>.bin (columns node_id bigint, embedding real[]) are
compared with each other and with this baseline on every node; the largest
relative difference |a - b| / max(|b|, 1) of each pair is reported, and the
exit status is 1 if any is over --tolerance.

    /usr/bin/python3 bench/torch_baseline.py --nodes bench_nodes \\
        --edges bench_edges [--models sage,gcn,gat] [--threads 1] \\
        [--compare DIR] [--csv out.csv]

The connection uses libpq's environment (PGHOST, PGPORT, PGDATABASE, ...)
or --dsn.
"""

import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import safetensors_io  # noqa: E402

# ---------------------------------------------------------------------------
# Binary COPY files
# ---------------------------------------------------------------------------

COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
FLOAT4OID = 700


def copy_payload(path):
    """(data offset, data length) of the tuples in a binary COPY file."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(19)
        if len(head) < 19 or head[:11] != COPY_SIGNATURE:
            raise ValueError(f"{path}: not a binary COPY file")
        ext = int.from_bytes(head[15:19], "big")
        start = 19 + ext
        f.seek(size - 2)
        if f.read(2) != b"\xff\xff":
            raise ValueError(f"{path}: no end-of-data marker")
    return start, size - 2 - start


def read_fixed_rows(path, dtype):
    """Rows of a binary COPY file whose rows all have dtype's layout."""
    start, length = copy_payload(path)
    if length % dtype.itemsize:
        raise ValueError(f"{path}: rows are not all {dtype.itemsize} bytes "
                         "(NULLs or arrays of different lengths?)")
    return np.fromfile(path, dtype=dtype, count=length // dtype.itemsize,
                       offset=start)


def read_id_array_rows(path, width):
    """(ids int64 [N], values float32 [N, width]) of (bigint, real[]) rows."""
    dt = np.dtype([("nf", ">i2"), ("l0", ">i4"), ("id", ">i8"),
                   ("l1", ">i4"), ("hdr", ">i4", (5,)),
                   ("el", [("len", ">i4"), ("v", ">f4")], (width,))])
    rows = read_fixed_rows(path, dt)
    ok = ((rows["nf"] == 2).all() and (rows["l0"] == 8).all()
          and (rows["l1"] == 20 + 8 * width).all()
          and (rows["hdr"] == [1, 0, FLOAT4OID, width, 1]).all()
          and (rows["el"]["len"] == 4).all())
    if not ok:
        raise ValueError(f"{path}: not (bigint, real[{width}]) rows")
    return rows["id"].astype(np.int64), rows["el"]["v"].astype(np.float32)


def read_edge_rows(path):
    """(src int64 [E], dst int64 [E]) of (bigint, bigint) rows."""
    dt = np.dtype([("nf", ">i2"), ("l0", ">i4"), ("src", ">i8"),
                   ("l1", ">i4"), ("dst", ">i8")])
    rows = read_fixed_rows(path, dt)
    if not ((rows["nf"] == 2).all() and (rows["l0"] == 8).all()
            and (rows["l1"] == 8).all()):
        raise ValueError(f"{path}: not (bigint, bigint) rows")
    return rows["src"].astype(np.int64), rows["dst"].astype(np.int64)


def copy_to_file(conn, query, path):
    with open(path, "wb") as f, conn.cursor() as cur:
        cur.copy_expert(f"COPY ({query}) TO STDOUT (FORMAT binary)", f)


# ---------------------------------------------------------------------------
# Graph
# ---------------------------------------------------------------------------

class Graph:
    """Node features in id order and the edges sorted by target."""

    def __init__(self, ids, x, src_ids, dst_ids):
        order = np.argsort(ids, kind="stable")
        self.ids = ids[order]
        if len(self.ids) > 1 and (np.diff(self.ids) == 0).any():
            raise ValueError("duplicate node id")
        self.x = torch.from_numpy(np.ascontiguousarray(x[order]))
        src, dst = self.index(src_ids), self.index(dst_ids)
        by_dst = np.argsort(dst, kind="stable")
        self.src = torch.from_numpy(src[by_dst])
        self.dst = torch.from_numpy(dst[by_dst])
        self.n = len(self.ids)

    def index(self, node_ids):
        """Row numbers of node ids (identity for ids 0..N-1)."""
        if len(self.ids) and self.ids[0] == 0 and \
                self.ids[-1] == len(self.ids) - 1:
            if len(node_ids) and (node_ids.min() < 0 or
                                  node_ids.max() >= len(self.ids)):
                raise ValueError("edge endpoint is not a node")
            return node_ids
        pos = np.searchsorted(self.ids, node_ids)
        pos = np.minimum(pos, len(self.ids) - 1)
        if (self.ids[pos] != node_ids).any():
            raise ValueError("edge endpoint is not a node")
        return pos.astype(np.int64)


def load_graph(conn, nodes, edges, width, tmpdir):
    """Export both tables with binary COPY and parse them with numpy."""
    npath = os.path.join(tmpdir, "nodes.bin")
    epath = os.path.join(tmpdir, "edges.bin")
    copy_to_file(conn, f"SELECT id::bigint, features::real[] FROM {nodes}",
                 npath)
    copy_to_file(conn, f"SELECT src::bigint, dst::bigint FROM {edges}",
                 epath)
    ids, x = read_id_array_rows(npath, width)
    src, dst = read_edge_rows(epath)
    os.unlink(npath)
    os.unlink(epath)
    return Graph(ids, x, src, dst)


# ---------------------------------------------------------------------------
# Layers: PyG semantics, float32
# ---------------------------------------------------------------------------

def gather_scatter(out, h, src, dst, coef=None, chunk=8192):
    """out[dst[e]] += coef[e] * h[src[e]] for every edge e, in edge order.

    The messages of a chunk of edges go through one reused buffer: a fresh
    [chunk, F] tensor per chunk would cost more in page faults than the
    gather itself.
    """
    buf = h.new_empty((min(chunk, src.numel()),) + tuple(h.shape[1:]))
    for s in range(0, src.numel(), chunk):
        idx = src[s:s + chunk]
        msg = buf[:idx.numel()]
        torch.index_select(h, 0, idx, out=msg)
        if coef is not None:
            c = coef[s:s + chunk]
            msg.mul_(c.view(c.shape + (1,) * (msg.dim() - c.dim())))
        out.index_add_(0, dst[s:s + chunk], msg)
    return out


def in_degree(dst, n, dtype=torch.float32):
    return torch.bincount(dst, minlength=n).to(dtype)


class Model:
    """A spec's layers with their float32 tensors."""

    def __init__(self, spec, tensors, chunk):
        self.layers = spec["layers"]
        self.t = {k: torch.from_numpy(np.ascontiguousarray(v, np.float32))
                  for k, v in tensors.items()}
        self.chunk = chunk
        for layer in self.layers:
            kind = layer["type"]
            if kind not in ("SAGEConv", "GCNConv", "GATConv", "ReLU", "ELU"):
                raise ValueError(f"layer type {kind} is not in the baseline")
            for key, default in (("normalize", False), ("project", False),
                                 ("improved", False), ("concat", True),
                                 ("add_self_loops", True), ("bias", True),
                                 ("root_weight", True)):
                if layer.get(key, default) != default:
                    raise ValueError(f"{kind} option {key} is not in the "
                                     "baseline")
            if layer.get("aggr", "mean") != "mean":
                raise ValueError("SAGEConv: only mean aggregation here")

    def p(self, layer, name):
        return self.t[f"{layer['prefix']}.{name}"]

    def sage(self, layer, x, g):
        agg = gather_scatter(x.new_zeros(g.n, x.shape[1]), x, g.src, g.dst,
                             chunk=self.chunk)
        agg.div_(in_degree(g.dst, g.n).clamp_(min=1).unsqueeze(1))
        out = F.linear(agg, self.p(layer, "lin_l.weight"),
                       self.p(layer, "lin_l.bias"))
        return out.add_(F.linear(x, self.p(layer, "lin_r.weight")))

    def gcn(self, layer, x, g):
        keep = g.src != g.dst                       # add_remaining_self_loops
        loops = torch.arange(g.n)
        src = torch.cat([g.src[keep], loops])
        dst = torch.cat([g.dst[keep], loops])
        dinv = in_degree(dst, g.n).pow_(-0.5)
        dinv.masked_fill_(torch.isinf(dinv), 0.0)
        norm = dinv[src] * dinv[dst]
        h = F.linear(x, self.p(layer, "lin.weight"))
        out = gather_scatter(h.new_zeros(g.n, h.shape[1]), h, src, dst, norm,
                             chunk=self.chunk)
        return out.add_(self.p(layer, "bias"))

    def gat(self, layer, x, g):
        heads, c = layer.get("heads", 1), layer["out_channels"]
        h = F.linear(x, self.p(layer, "lin.weight")).view(g.n, heads, c)
        a_src = (h * self.p(layer, "att_src")).sum(-1)           # [N, H]
        a_dst = (h * self.p(layer, "att_dst")).sum(-1)
        keep = g.src != g.dst                       # one self loop each
        loops = torch.arange(g.n)
        src = torch.cat([g.src[keep], loops])
        dst = torch.cat([g.dst[keep], loops])
        score = F.leaky_relu(a_src.index_select(0, src) +
                             a_dst.index_select(0, dst),
                             layer.get("negative_slope", 0.2))   # [E, H]
        idx = dst.unsqueeze(1).expand_as(score)
        top = score.new_zeros(g.n, heads).scatter_reduce_(
            0, idx, score, reduce="amax", include_self=False)
        ex = score.sub_(top.index_select(0, dst)).exp_()
        total = ex.new_zeros(g.n, heads).index_add_(0, dst, ex).add_(1e-16)
        alpha = ex.div_(total.index_select(0, dst))
        out = gather_scatter(h.new_zeros(g.n, heads, c), h, src, dst, alpha,
                             chunk=self.chunk)
        return out.view(g.n, heads * c).add_(self.p(layer, "bias"))

    def forward(self, x, g, layer_ms=None):
        """The model's output; appends each layer's time to layer_ms."""
        for layer in self.layers:
            kind = layer["type"]
            t = time.perf_counter()
            if kind == "SAGEConv":
                x = self.sage(layer, x, g)
            elif kind == "GCNConv":
                x = self.gcn(layer, x, g)
            elif kind == "GATConv":
                x = self.gat(layer, x, g)
            elif kind == "ReLU":
                x = F.relu(x)
            elif kind == "ELU":
                x = F.elu(x, layer.get("alpha", 1.0))
            if layer_ms is not None:
                layer_ms.append((time.perf_counter() - t) * 1000)
        return x


def load_model(model_dir, name, chunk):
    with open(os.path.join(model_dir, name + ".json"), encoding="utf-8") as f:
        spec = json.load(f)
    st = safetensors_io.load(os.path.join(model_dir, name + ".safetensors"))
    return spec, st.tensors, Model(spec, st.tensors, chunk)


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------

def max_rel_diff(a, b):
    """max |a - b| / max(|b|, 1) over every element (inf if shapes differ)."""
    a = torch.as_tensor(a, dtype=torch.float64)
    b = torch.as_tensor(b, dtype=torch.float64)
    if a.shape != b.shape:
        return float("inf")
    if a.numel() == 0:
        return 0.0
    d = (a - b).abs_().div_(b.abs().clamp_(min=1.0))
    d[torch.isnan(a) != torch.isnan(b)] = float("inf")
    return float(torch.nan_to_num(d, nan=0.0).max())


def subgraph(g, k):
    """The first k nodes (in id order) and the edges among them."""
    keep = (g.src < k) & (g.dst < k)
    return g.x[:k], torch.stack([g.src[keep], g.dst[keep]])


def reference_check(spec, tensors, model, g):
    """Largest difference to tools/pyg_ref.py (float64) on graph g."""
    import pyg_ref  # noqa: E402  (tools/, float64 reference)

    with torch.no_grad():
        ref = pyg_ref.forward(spec, tensors, g.x,
                              torch.stack([g.src, g.dst])).numpy()
        out = model.forward(g.x, g)
    return max_rel_diff(out, ref)


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", required=True, help="node table (id, features)")
    ap.add_argument("--edges", required=True, help="edge table (src, dst)")
    ap.add_argument("--models", default="sage,gcn,gat")
    ap.add_argument("--model-dir", default=os.path.join(HERE, "models"))
    ap.add_argument("--threads", type=int, default=1,
                    help="torch.set_num_threads (the processes gnnjit uses)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--chunk", type=int, default=8192,
                    help="edges per gather/scatter chunk")
    ap.add_argument("--ref-graph", metavar="NODES,EDGES",
                    help="check against tools/pyg_ref.py (float64) on these "
                    "tables (a small graph); default: the subgraph of the "
                    "first --ref-nodes nodes")
    ap.add_argument("--ref-nodes", type=int, default=2000,
                    help="size of that subgraph (0: no check)")
    ap.add_argument("--compare", metavar="DIR",
                    help="compare with DIR/<model>_<variant>.bin gnn_infer "
                    "outputs")
    ap.add_argument("--tolerance", type=float, default=1e-5)
    ap.add_argument("--csv", help="write kind,model,name,value rows here")
    ap.add_argument("--dsn", default="", help="libpq connection string")
    args = ap.parse_args(argv)

    import psycopg2

    torch.set_num_threads(args.threads)
    rows, failed = [], False
    models = [m for m in args.models.split(",") if m]
    loaded = {m: load_model(args.model_dir, m, args.chunk) for m in models}
    width = {loaded[m][0]["layers"][0]["in_channels"] for m in models}
    if len(width) != 1:
        raise SystemExit("the models have different input widths")

    t0 = time.perf_counter()
    conn = psycopg2.connect(args.dsn)
    width = width.pop()
    with tempfile.TemporaryDirectory(prefix="gnn_torch_") as tmp:
        g = load_graph(conn, args.nodes, args.edges, width, tmp)
        if args.ref_graph:
            ref_g = load_graph(conn, *args.ref_graph.split(","), width, tmp)
        elif args.ref_nodes > 0:
            k = min(args.ref_nodes, g.n)
            x, ei = subgraph(g, k)
            ref_g = Graph(np.arange(k, dtype=np.int64), x.numpy(),
                          ei[0].numpy(), ei[1].numpy())
        else:
            ref_g = None
    conn.close()
    load_ms = (time.perf_counter() - t0) * 1000
    print(f"pytorch: read {g.n} nodes, {g.src.numel()} edges from the "
          f"database in {load_ms:.0f} ms (COPY binary + numpy; not timed "
          f"below); torch {torch.__version__}, {args.threads} thread(s)",
          flush=True)
    rows.append(("load", "", "load_ms", load_ms))

    for name in models:
        spec, tensors, model = loaded[name]
        if ref_g is not None:
            d = reference_check(spec, tensors, model, ref_g)
            ok = d <= args.tolerance
            failed |= not ok
            print(f"pytorch {name}: vs float64 reference (tools/pyg_ref.py) "
                  f"on {ref_g.n} nodes / {ref_g.src.numel()} edges: max rel "
                  f"diff {d:.3g}{'' if ok else '  FAILED'}", flush=True)
            rows.append(("diff", name, "pytorch_vs_reference", d))
        times, layer_times = [], []
        with torch.no_grad():
            out = model.forward(g.x, g)                      # warm-up
            for _ in range(args.runs):
                layer_times.append([])
                t = time.perf_counter()
                out = model.forward(g.x, g, layer_times[-1])
                times.append((time.perf_counter() - t) * 1000)
        ms = statistics.median(times)
        print(f"pytorch {name}: forward {ms:.0f} ms (median of "
              f"{args.runs}: {', '.join(f'{t:.0f}' for t in times)})",
              flush=True)
        rows.append(("time", name, "pytorch_ms", ms))
        for t in times:
            rows.append(("run", name, "pytorch_ms", t))
        for i, per_run in enumerate(zip(*layer_times)):
            rows.append(("layer", name, str(i), statistics.median(per_run)))

        if args.compare:
            outs = {"pytorch": out.numpy()}
            for variant in ("jit", "portable"):
                path = os.path.join(args.compare, f"{name}_{variant}.bin")
                if not os.path.exists(path):
                    continue
                ids, y = read_id_array_rows(path, out.shape[1])
                order = np.argsort(ids, kind="stable")
                if len(ids) != g.n or (ids[order] != g.ids).any():
                    raise SystemExit(f"{path}: not one row per node")
                outs[variant] = y[order]
            for a, b in (("jit", "portable"), ("jit", "pytorch"),
                         ("portable", "pytorch")):
                if a in outs and b in outs:
                    d = max_rel_diff(outs[a], outs[b])
                    ok = d <= args.tolerance
                    failed |= not ok
                    print(f"pytorch {name}: gnnjit {a} vs "
                          f"{'gnnjit ' if b != 'pytorch' else ''}{b} on all "
                          f"{g.n} nodes: max rel diff {d:.3g}"
                          f"{'' if ok else '  FAILED'}", flush=True)
                    rows.append(("diff", name, f"{a}_vs_{b}", d))
            del outs
        del out

    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["kind", "model", "name", "value"])
            w.writerows(rows)
    if failed:
        print(f"pytorch: a difference is over {args.tolerance}",
              file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
