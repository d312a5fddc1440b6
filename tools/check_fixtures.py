"""Check the fixtures in test/fixtures/ and the reference that made them.

For every case in cases.txt this
  1. reads the weights back and checks the safetensors layout (header
     padding, contiguous aligned offsets, the expected dtypes);
  2. recomputes the output with pyg_ref.py and requires the same text as
     <case>.out.csv (the files are current and deterministic);
  3. recomputes it again with an independent dense formulation in numpy
     (GCN as D^-½·Â·D^-½ with a dense adjacency matrix, GAT as a masked
     dense softmax with edge multiplicities, SAGE max/min with Python
     loops, activations from their textbook formulas) and requires
     agreement to 1e-12, to catch mistakes in the reference itself.
It also checks that the graph has the corner cases it is meant to have,
that the bfloat16/float16 encoders agree with torch, and that data/cora's
expected.csv.gz and accuracy.txt match its exported model.

Usage:
    /usr/bin/python3 tools/check_fixtures.py [--dir test/fixtures]
        [--cora data/cora]
Exits non-zero on the first failure.
"""

import argparse
import csv
import json
import math
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyg_ref  # noqa: E402
import safetensors_io  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOLERANCE = 1e-12


def fail(message):
    sys.exit("FAIL: " + message)


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------

def read_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def array_literal(text):
    assert text[0] == "{" and text[-1] == "}", text
    return [float(v) for v in text[1:-1].split(",")]


def read_graph(directory):
    """Independent reading of the graph CSVs (not through pyg_ref)."""
    nodes = read_csv(os.path.join(directory, "graph_nodes.csv"))
    edges = read_csv(os.path.join(directory, "graph_edges.csv"))
    ids = [int(r["id"]) for r in nodes]
    x = np.array([array_literal(r["features"]) for r in nodes], np.float32)
    row = {node: i for i, node in enumerate(ids)}
    src = np.array([row[int(r["src"])] for r in edges])
    dst = np.array([row[int(r["dst"])] for r in edges])
    w = np.array([float(r["weight"]) for r in edges], np.float32)
    return ids, x, src, dst, w


def check_layout(path):
    """Header padded to 8 bytes, data contiguous and aligned per dtype."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    if n % 8:
        fail(f"{path}: header length {n} not a multiple of 8")
    header = json.loads(blob[8:8 + n])
    header.pop("__metadata__", None)
    spans = sorted(tuple(v["data_offsets"]) + (v["dtype"],)
                   for v in header.values())
    end = 0
    for begin, stop, dtype in spans:
        if begin != end:
            fail(f"{path}: gap or overlap at data offset {begin}")
        if begin % safetensors_io.DTYPES[dtype][1]:
            fail(f"{path}: {dtype} tensor at unaligned offset {begin}")
        end = stop
    if 8 + n + end != len(blob):
        fail(f"{path}: file size does not match the header")


# ---------------------------------------------------------------------------
# Independent dense reference (numpy, float64)
# ---------------------------------------------------------------------------

class DenseGraph:
    """Adjacency in dense form: row i holds the in-edges of node i."""

    def __init__(self, n, src, dst, weight):
        self.n = n
        self.count = np.zeros((n, n))           # multiplicity of j -> i
        self.wsum = np.zeros((n, n))            # summed weight of j -> i
        self.last_loop = {}                     # node -> last loop weight
        self.nbrs = [[] for _ in range(n)]      # multiset of sources
        for k, (s, d) in enumerate(zip(src, dst)):
            wk = 1.0 if weight is None else float(weight[k])
            self.count[d, s] += 1
            self.wsum[d, s] += wk
            self.nbrs[d].append(s)
            if s == d:
                self.last_loop[s] = wk


def d_gcn(cfg, t, x, g):
    a = g.wsum.copy()
    if cfg.get("normalize", True):
        if cfg.get("add_self_loops", True):
            fill = 2.0 if cfg.get("improved", False) else 1.0
            for i in range(g.n):
                a[i, i] = g.last_loop.get(i, fill)
        deg = a.sum(axis=1)
        dinv = np.array([d ** -0.5 if d > 0 else 0.0 for d in deg])
        a = dinv[:, None] * a * dinv[None, :]
    out = a @ (x @ t("lin.weight").T)
    return out + t("bias") if cfg.get("bias", True) else out


def d_sage(cfg, t, x, g):
    aggr = cfg.get("aggr", "mean")
    msg = x
    if cfg.get("project", False):
        msg = np.maximum(x @ t("lin.weight").T + t("lin.bias"), 0)
    agg = np.zeros_like(msg)
    for i in range(g.n):
        rows = msg[g.nbrs[i]]
        if len(rows):
            agg[i] = {"mean": rows.mean(0), "sum": rows.sum(0),
                      "max": rows.max(0), "min": rows.min(0)}[aggr]
    out = agg @ t("lin_l.weight").T
    if cfg.get("bias", True):
        out = out + t("lin_l.bias")
    if cfg.get("root_weight", True):
        out = out + x @ t("lin_r.weight").T
    if cfg.get("normalize", False):
        out = out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True),
                               1e-12)
    return out


def d_gat(cfg, t, x, g):
    heads, c = cfg.get("heads", 1), cfg["out_channels"]
    w = t("lin.weight") if t.has("lin.weight") else t("lin_src.weight")
    h = (x @ w.T).reshape(g.n, heads, c)
    s = np.einsum("nhc,hc->nh", h, t("att_src")[0])
    d = np.einsum("nhc,hc->nh", h, t("att_dst")[0])
    mult = g.count.copy()
    if cfg.get("add_self_loops", True):
        np.fill_diagonal(mult, 1.0)
    slope = cfg.get("negative_slope", 0.2)
    out = np.zeros((g.n, heads, c))
    for k in range(heads):
        e = d[:, k][:, None] + s[:, k][None, :]          # e[i, j]: j -> i
        e = np.where(e > 0, e, slope * e)
        e = np.where(mult > 0, e, -np.inf)
        top = np.max(e, axis=1, keepdims=True)
        top[~np.isfinite(top)] = 0.0
        p = mult * np.exp(e - top)
        z = p.sum(axis=1, keepdims=True)
        alpha = np.divide(p, z, out=np.zeros_like(p), where=z > 0)
        out[:, k, :] = alpha @ h[:, k, :]
    concat = cfg.get("concat", True)
    out = out.reshape(g.n, heads * c) if concat else out.mean(axis=1)
    return out + t("bias") if cfg.get("bias", True) else out


def d_gin(cfg, t, x, g):
    eps = float(t("eps")[0])
    h = ((1 + eps) * np.eye(g.n) + g.count) @ x
    nested = [dict(layer, prefix=t.name(f"nn.{i}"))
              for i, layer in enumerate(cfg["nn"])]
    return dense_layers(nested, t.state, h, g)


def d_linear(cfg, t, x, g):
    out = x @ t("weight").T
    return out + t("bias") if cfg.get("bias", True) else out


def d_bn(cfg, t, x, g):
    out = (x - t("running_mean")) / np.sqrt(t("running_var") +
                                            cfg.get("eps", 1e-5))
    if cfg.get("affine", True):
        out = out * t("weight") + t("bias")
    return out


def d_softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


ERF = np.vectorize(math.erf)
DENSE_ACT = {
    "ReLU": lambda c, x: np.where(x > 0, x, 0.0),
    "LeakyReLU": lambda c, x: np.where(x >= 0, x,
                                       c.get("negative_slope", 0.01) * x),
    "ELU": lambda c, x: np.where(x > 0, x,
                                 c.get("alpha", 1.0) * (np.exp(x) - 1)),
    "GELU": lambda c, x: x * 0.5 * (1 + ERF(x / math.sqrt(2))),
    "Sigmoid": lambda c, x: 1 / (1 + np.exp(-x)),
    "Tanh": lambda c, x: np.tanh(x),
    "Softmax": lambda c, x: d_softmax(x),
    "LogSoftmax": lambda c, x: np.log(d_softmax(x)),
    "Dropout": lambda c, x: x,
    "Identity": lambda c, x: x,
}
DENSE_LAYER = {"GCNConv": d_gcn, "SAGEConv": d_sage, "GATConv": d_gat,
               "GINConv": d_gin, "Linear": d_linear, "BatchNorm1d": d_bn}


class Tensors:
    """state[prefix + '.' + key] as float64 numpy."""

    def __init__(self, state, prefix):
        self.state, self.prefix = state, prefix

    def name(self, key):
        return f"{self.prefix}.{key}"

    def has(self, key):
        return self.name(key) in self.state

    def __call__(self, key):
        return np.asarray(self.state[self.name(key)], dtype=np.float64)


def dense_layers(layers, state, x, g):
    for layer in layers:
        kind = layer["type"]
        if kind in DENSE_LAYER:
            t = Tensors(state, layer.get("prefix"))
            x = DENSE_LAYER[kind](layer, t, x, g)
        else:
            x = DENSE_ACT[kind](layer, x)
    return x


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------

def check_graph(ids, src, dst, w):
    """The graph covers the corner cases the fixtures rely on."""
    n = len(ids)
    pairs = list(zip(src.tolist(), dst.tolist()))
    loops = [s for s, d in pairs if s == d]
    doubled = [v for v in set(loops) if loops.count(v) == 2]
    touched = set(src.tolist()) | set(dst.tolist())
    facts = {
        "negative ids": any(i < 0 for i in ids),
        "ids above 2^40": any(i > 2 ** 40 for i in ids),
        "ids unsorted": ids != sorted(ids),
        "isolated nodes": len(set(range(n)) - touched) >= 2,
        "source-only nodes": len(set(src.tolist()) - set(dst.tolist())) >= 2,
        "two self loops, equal weights": any(
            len({float(w[k]) for k, p in enumerate(pairs) if p == (v, v)})
            == 1 for v in doubled),
        "two self loops, different weights": any(
            len({float(w[k]) for k, p in enumerate(pairs) if p == (v, v)})
            == 2 for v in doubled),
        "parallel edges": len(set(pairs)) < len(pairs),
        "positive weights": bool((w > 0).all()),
    }
    for fact, ok in facts.items():
        if not ok:
            fail(f"graph lacks: {fact}")
    print(f"graph: {n} nodes, {len(pairs)} edges, {len(loops)} self loops, "
          f"{len(pairs) - len(set(pairs))} parallel duplicates")


def check_encoders():
    """bfloat16 and float16 rounding agree with torch's."""
    rng = np.random.default_rng(1)
    v = np.concatenate([rng.standard_normal(10000).astype(np.float32),
                        np.array([0.0, -0.0, 1e-40, 65504, 3.4e38],
                                 np.float32)])
    ours = safetensors_io.float32_to_bf16_bits(v)
    theirs = torch.from_numpy(v).to(torch.bfloat16).view(torch.int16)
    if not np.array_equal(ours.view(np.int16), theirs.numpy()):
        fail("bfloat16 rounding differs from torch")
    back = safetensors_io.bf16_bits_to_float32(ours)
    if not np.array_equal(back, torch.from_numpy(v).to(torch.bfloat16)
                          .to(torch.float32).numpy()):
        fail("bfloat16 widening differs from torch")
    h = torch.from_numpy(v).to(torch.float16).numpy()
    with np.errstate(over="ignore"):
        ours16 = v.astype(np.float16)
    if not np.array_equal(ours16.view(np.int16), h.view(np.int16)):
        fail("float16 rounding differs from torch")


# Float dtypes each dtype_* case must store (int64 buffers aside).
EXPECTED_DTYPES = {"dtype_f16": {"F16"}, "dtype_bf16": {"BF16"},
                   "dtype_f64": {"F64"},
                   "dtype_mixed": {"F16", "BF16", "F32", "F64"}}


def check_case(directory, name, uses_weight, graph):
    ids, x, src, dst, w = graph
    base = os.path.join(directory, name)
    with open(base + ".json", encoding="utf-8") as f:
        spec = json.load(f)
    check_layout(base + ".safetensors")
    st = safetensors_io.load(base + ".safetensors")
    used = set(st.dtypes.values())
    if name in EXPECTED_DTYPES and used - {"I64"} != EXPECTED_DTYPES[name]:
        fail(f"{name}: stored dtypes {used}")

    rows = read_csv(base + ".out.csv")
    out_ids = [int(r["id"]) for r in rows]
    if out_ids != sorted(ids):
        fail(f"{name}: output rows are not the node ids in order")
    order = sorted(range(len(ids)), key=lambda i: ids[i])

    weights = w if uses_weight else None
    # 1. pyg_ref reproduces the file byte for byte.
    ref = pyg_ref.predict(spec, st.tensors, ids, x, [ids[i] for i in src],
                          [ids[i] for i in dst], weights)
    texts = [pyg_ref.format_array(ref[i]) for i in order]
    if texts != [r["embedding"] for r in rows]:
        fail(f"{name}: pyg_ref output differs from {name}.out.csv")
    # 2. The dense formulation agrees with pyg_ref (before formatting).
    g = DenseGraph(len(ids), src, dst, weights)
    dense = dense_layers(spec["layers"], st.tensors, x.astype(np.float64), g)
    err = np.max(np.abs(dense - ref) / np.maximum(1.0, np.abs(ref)))
    if not err <= TOLERANCE:
        fail(f"{name}: dense formulation differs by {err:.3g}")
    extra = sorted(k for k in st.tensors if not referenced(spec, k))
    note = f"  unused: {', '.join(extra)}" if extra else ""
    print(f"ok  {name:16s} out {ref.shape[1]:2d}  "
          f"dtypes {','.join(sorted(used))}  dense err {err:.1e}{note}")


def referenced(spec, key):
    """Whether a tensor name lies under some layer's prefix."""
    prefixes = [layer["prefix"] for layer in spec["layers"]
                if "prefix" in layer]
    return any(key.startswith(p + ".") for p in prefixes)


def check_cora(directory):
    """data/cora: expected.csv.gz and accuracy.txt match the exported model."""
    with open(os.path.join(directory, "model.json"), encoding="utf-8") as f:
        spec = json.load(f)
    check_layout(os.path.join(directory, "model.safetensors"))
    state = safetensors_io.load(os.path.join(directory,
                                             "model.safetensors")).tensors
    ids, x = pyg_ref.read_nodes(os.path.join(directory, "nodes.csv.gz"))
    src, dst, _ = pyg_ref.read_edges(os.path.join(directory, "edges.csv.gz"))
    ei = pyg_ref.edge_index_of(ids, src, dst)
    with torch.no_grad():
        ref = pyg_ref.forward(spec, state, x, ei).numpy()
        f32 = pyg_ref.forward(spec, state, x, ei, dtype=torch.float32)
    with pyg_ref.open_text(os.path.join(directory, "expected.csv.gz")) as f:
        rows = list(csv.DictReader(f))
    order = sorted(range(len(ids)), key=lambda i: ids[i])
    if [r["embedding"] for r in rows] != \
            [pyg_ref.format_array(ref[i]) for i in order]:
        fail("cora: expected.csv.gz differs from the reference output")
    labels, test = {}, []
    with pyg_ref.open_text(os.path.join(directory, "nodes.csv.gz")) as f:
        for rec in csv.DictReader(f):
            labels[int(rec["id"])] = int(rec["label"])
            if rec["split"] == "test":
                test.append(int(rec["id"]))
    row = {node: i for i, node in enumerate(ids)}
    rows_test = [row[i] for i in test]
    truth = np.array([labels[i] for i in test])
    correct = int((f32.numpy()[rows_test].argmax(1) == truth).sum())
    correct64 = int((ref[rows_test].argmax(1) == truth).sum())
    top2 = np.sort(ref[rows_test], axis=1)[:, -2:]
    with open(os.path.join(directory, "accuracy.txt"), encoding="utf-8") as f:
        text = f.read()
    if text != "%.3f\n%d/%d\n" % (correct / len(test), correct, len(test)):
        fail(f"cora: accuracy.txt says {text!r}, float32 eval gives "
             f"{correct}/{len(test)}")
    print(f"cora: {correct}/{len(test)} test nodes right in float32, "
          f"{correct64} in float64; smallest top-2 logit gap "
          f"{np.min(top2[:, 1] - top2[:, 0]):.2g}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default=os.path.join(ROOT, "test", "fixtures"))
    ap.add_argument("--cora", default=os.path.join(ROOT, "data", "cora"),
                    help="Cora directory, or '' to skip it")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    check_encoders()
    graph = read_graph(args.dir)
    check_graph(graph[0], graph[2], graph[3], graph[4])
    with open(os.path.join(args.dir, "cases.txt"), encoding="utf-8") as f:
        cases = [line.split() for line in f if line.strip()]
    for fields in cases:
        check_case(args.dir, fields[0], fields[1:] == ["weight"], graph)

    total = sum(os.path.getsize(os.path.join(args.dir, f))
                for f in os.listdir(args.dir))
    if total >= 1 << 20:
        fail(f"fixtures take {total} bytes")
    print(f"all {len(cases)} cases ok; fixtures take {total} bytes")
    if args.cora:
        check_cora(args.cora)


if __name__ == "__main__":
    main()
