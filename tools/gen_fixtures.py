"""Generate the layer test fixtures under test/fixtures/ (deterministic).

Writes one small graph and, per test case, a model spec, its weights and
the expected output of PyG's eval-mode forward pass (from pyg_ref.py, in
float64):

    graph_nodes.csv        id,features       features as "{f1,...,f5}"
    graph_edges.csv        src,dst,weight
    <case>.json            model spec
    <case>.safetensors     weights, PyG parameter names
    <case>.out.csv         id,embedding      rows ordered by id
    cases.txt              "<case>" or "<case> weight" per line; "weight"
                           means the edge weight column is passed to the
                           model, otherwise every edge weighs 1

The graph is built to hit the corner cases of message passing: sparse,
unsorted int64 ids (negative ones and ones above 2^40), isolated nodes, a
node whose only edge is a self loop, nodes with out-edges but no in-edges,
nodes with two self loops (equal weights on one, different weights on the
other, where the later loop in file order is the one PyG keeps), parallel
edges and positive edge weights.

Every random draw comes from a generator seeded by a fixed number (the
graph) or by the case name, so adding a case leaves the others unchanged,
and running the script twice gives byte-identical files.

Usage:
    /usr/bin/python3 tools/gen_fixtures.py [--out test/fixtures]
"""

import argparse
import csv
import json
import os
import sys
import zlib

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyg_ref  # noqa: E402
import safetensors_io  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_FEATURES = 5
GRAPH_SEED = 20240611
NUM_RELATIONS = 3


# ---------------------------------------------------------------------------
# Graph
# ---------------------------------------------------------------------------

def make_ids(rng):
    """40 distinct int64 ids: negative, small, and above 2^40, shuffled."""
    ids = set()
    pools = [(-(2 ** 62), -(2 ** 40), 4), (-100000, 0, 8), (0, 1000, 10),
             (2 ** 40, 2 ** 41, 8), (2 ** 41, 2 ** 62, 10)]
    for low, high, count in pools:
        while sum(low <= i < high for i in ids) < count:
            ids.add(int(rng.integers(low, high)))
    ids = sorted(ids)
    return [ids[i] for i in rng.permutation(len(ids))]


def make_graph():
    """Nodes, features and edges of the fixture graph.

    Rows of the node list get fixed roles (isolated, source-only, sink-only,
    self loops); random edges connect the rest.  Edge order is shuffled
    once, and is significant only for the node with two differently
    weighted self loops.
    """
    rng = np.random.default_rng(GRAPH_SEED)
    ids = make_ids(rng)
    n = len(ids)
    features = rng.uniform(-1, 1, (n, NUM_FEATURES)).astype(np.float32)

    isolated = [0, 1, 2]           # no edge at all
    loop_only = 3                  # a single self loop, nothing else
    sources = [4, 5, 6]            # out-edges, no in-edge
    sinks = [7, 8]                 # in-edges, no out-edge
    two_loops_same, two_loops_diff = 9, 10
    one_loop = [11, 12, 13, 14]
    active = [i for i in range(n) if i not in isolated + [loop_only]]
    can_send = [i for i in active if i not in sinks]
    can_receive = [i for i in active if i not in sources]

    edges = []
    while len(edges) < 124:
        s, d = int(rng.choice(can_send)), int(rng.choice(can_receive))
        if s != d:
            edges.append((s, d))
    for s in sources:
        for d in rng.choice(can_receive, 3, replace=False):
            edges.append((s, int(d)))
    for k in rng.choice(len(edges), 8, replace=False):
        edges.append(edges[int(k)])                     # parallel edges
    edges += [(i, i) for i in one_loop + [loop_only]]
    edges += [(two_loops_same, two_loops_same)] * 2
    edges += [(two_loops_diff, two_loops_diff)] * 2

    edges = [edges[i] for i in rng.permutation(len(edges))]
    weights = rng.uniform(0.5, 2.0, len(edges)).astype(np.float32)
    same = [k for k, e in enumerate(edges) if e == (two_loops_same,) * 2]
    weights[same] = weights[same[0]]
    src = [ids[s] for s, _ in edges]
    dst = [ids[d] for _, d in edges]
    # relation ids 0..2 (RGCNConv), from their own generator so the graph
    # above stays as it was
    relations = np.random.default_rng(GRAPH_SEED + 1).integers(
        0, NUM_RELATIONS, len(edges))
    return ids, features, src, dst, weights, relations


def f32(v):
    """Shortest text that reads back as the same float32 (9 digits)."""
    text = "%.9g" % float(v)
    assert np.float32(text) == np.float32(v)
    return text


def write_graph(out_dir, ids, features, src, dst, weights, relations):
    """graph_nodes.csv and graph_edges.csv, in generation order."""
    with open(os.path.join(out_dir, "graph_nodes.csv"), "w",
              encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "features"])
        for node, row in zip(ids, features):
            w.writerow([node, "{" + ",".join(f32(v) for v in row) + "}"])
    with open(os.path.join(out_dir, "graph_edges.csv"), "w",
              encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["src", "dst", "weight", "relation"])
        for s, d, wt, r in zip(src, dst, weights, relations):
            w.writerow([s, d, f32(wt), int(r)])


# ---------------------------------------------------------------------------
# Specs and random weights
# ---------------------------------------------------------------------------

def gcn(fin, fout, prefix="conv", **kw):
    return dict(type="GCNConv", prefix=prefix, in_channels=fin,
                out_channels=fout, **kw)


def sage(fin, fout, prefix="conv", **kw):
    return dict(type="SAGEConv", prefix=prefix, in_channels=fin,
                out_channels=fout, **kw)


def gat(fin, fout, prefix="conv", **kw):
    return dict(type="GATConv", prefix=prefix, in_channels=fin,
                out_channels=fout, **kw)


def rgcn(fin, fout, prefix="conv", **kw):
    return dict(type="RGCNConv", prefix=prefix, in_channels=fin,
                out_channels=fout, num_relations=NUM_RELATIONS, **kw)


def lin(fin, fout, prefix=None, torch_names=False, **kw):
    """Linear layer; torch_names uses in_features/out_features."""
    keys = ("in_features", "out_features") if torch_names else \
        ("in_channels", "out_channels")
    return with_prefix("Linear", prefix, {keys[0]: fin, keys[1]: fout}, kw)


def bn(c, prefix=None, **kw):
    return with_prefix("BatchNorm1d", prefix, {"num_features": c}, kw)


def with_prefix(kind, prefix, *parts):
    """Layer dict; nested GIN layers take no prefix (their index names them)."""
    layer = {"type": kind}
    if prefix is not None:
        layer["prefix"] = prefix
    for part in parts:
        layer.update(part)
    return layer


def act(kind, **kw):
    return dict(type=kind, **kw)


FULL_GCN = dict(improved=False, add_self_loops=True, normalize=True,
                bias=True)

# name -> (layers, uses edge weights, extra options)
CASES = {
    # GCNConv
    "gcn": ([gcn(5, 4, **FULL_GCN)], False, {"extra": True}),
    "gcn_improved": ([gcn(5, 4, improved=True)], False, {}),
    "gcn_improved_w": ([gcn(5, 4, improved=True)], True, {}),
    "gcn_noloops": ([gcn(5, 4, add_self_loops=False)], False, {}),
    "gcn_nonorm": ([gcn(5, 4, normalize=False)], False, {}),
    "gcn_nonorm_w": ([gcn(5, 4, normalize=False, add_self_loops=False)],
                     True, {}),
    "gcn_weighted": ([gcn(5, 4)], True, {}),
    "gcn_nobias": ([gcn(5, 4, bias=False)], False, {}),
    "gcn_mix": ([gcn(5, 6, "conv1", improved=True), act("ReLU"),
                 gcn(6, 4, "conv2")], True, {}),
    # SAGEConv
    "sage_mean": ([sage(5, 4, aggr="mean", normalize=False, root_weight=True,
                        project=False, bias=True)], False, {}),
    "sage_sum": ([sage(5, 4, aggr="sum")], False, {}),
    "sage_max": ([sage(5, 4, aggr="max")], False, {}),
    "sage_min": ([sage(5, 4, aggr="min")], False, {}),
    "sage_normalize": ([sage(5, 4, normalize=True)], False, {}),
    "sage_noroot": ([sage(5, 4, root_weight=False)], False, {}),
    "sage_project": ([sage(5, 4, project=True)], False, {}),
    "sage_nobias": ([sage(5, 4, bias=False)], False, {}),
    "sage2": ([sage(5, 8, "convs.0"), act("ReLU"), act("Dropout", p=0.5),
               sage(8, 3, "convs.1")], True, {}),
    # GATConv
    "gat": ([gat(5, 4, heads=1, concat=True, negative_slope=0.2,
                 add_self_loops=True, bias=True)], False, {}),
    "gat_heads": ([gat(5, 4, heads=3, dropout=0.6)], False, {}),
    "gat_mean": ([gat(5, 4, heads=3, concat=False)], False, {}),
    "gat_noloops": ([gat(5, 4, heads=2, add_self_loops=False)], False, {}),
    "gat_slope": ([gat(5, 4, heads=2, negative_slope=0.1)], False, {}),
    "gat_nobias": ([gat(5, 4, heads=2, bias=False)], False, {}),
    "gat_legacy": ([gat(5, 4, heads=2)], False, {"legacy_gat": True}),
    # GINConv
    "gin": ([dict(type="GINConv", prefix="conv", eps=0.1, train_eps=False,
                  nn=[lin(5, 8, torch_names=True), act("ReLU"),
                      lin(8, 4, torch_names=True)])], False, {}),
    "gin_bn": ([dict(type="GINConv", prefix="conv", eps=0.0, train_eps=True,
                     nn=[lin(5, 8, torch_names=True), bn(8), act("ReLU"),
                         lin(8, 4, torch_names=True)])], False,
               {"gin_eps": 0.375}),
    # Dense layers and activations
    "mlp": ([lin(5, 8, "lin1", torch_names=True), bn(8, "bn1", eps=1e-5,
                                                     affine=True),
             act("ReLU"), act("Dropout", p=0.3), lin(8, 6, "lin2"),
             act("LeakyReLU", negative_slope=0.1), lin(6, 6, "lin3",
                                                       bias=False),
             act("ELU", alpha=0.5), act("Identity"), lin(6, 4, "lin4"),
             act("Softmax", dim=-1)], False, {"extra": True}),
    "mlp_act": ([lin(5, 6, "l0"), act("GELU"), lin(6, 6, "l1"),
                 act("Sigmoid"), lin(6, 6, "l2"), act("Tanh"),
                 lin(6, 4, "l3"), act("LogSoftmax", dim=-1)], False, {}),
    "mlp_defaults": ([lin(5, 6, "l0"), act("LeakyReLU"), lin(6, 6, "l1"),
                      act("ELU"), bn(6, "bn", eps=1e-3, affine=False),
                      lin(6, 4, "l2"), act("Softmax")], False, {}),
    # Weights stored in other dtypes
    "dtype_f16": ([sage(5, 4)], False, {"dtype": "F16"}),
    "dtype_bf16": ([gcn(5, 4)], False, {"dtype": "BF16"}),
    "dtype_f64": ([sage(5, 4, aggr="sum")], False, {"dtype": "F64"}),
    "dtype_mixed": ([dict(type="GINConv", prefix="conv", eps=0.0,
                          train_eps=True,
                          nn=[lin(5, 6, torch_names=True), bn(6),
                              act("ReLU"), lin(6, 4, torch_names=True)])],
                    False, {"gin_eps": -0.25,
                            "dtype_by_suffix": {"nn.0.weight": "F16",
                                                "nn.0.bias": "BF16",
                                                "nn.1.weight": "F64",
                                                "nn.1.running_var": "F64",
                                                "nn.3.bias": "F16"}}),
    # RGCNConv over the relation column
    "rgcn": ([rgcn(5, 4)], "relation", {}),
    "rgcn_add": ([rgcn(5, 4, aggr="add", bias=False)], "relation", {}),
    "rgcn_bases": ([rgcn(5, 4, num_bases=2)], "relation", {}),
    "rgcn_blocks": ([lin(5, 6, "lin"),
                     rgcn(6, 4, "conv1", num_blocks=2, root_weight=False),
                     act("ReLU"), rgcn(4, 4, "conv2", num_blocks=2)],
                    "relation", {}),
}


# ---------------------------------------------------------------------------
# Layers written as module programs ("type": "Program")
# ---------------------------------------------------------------------------

def m(module, out, **kw):
    return dict(module=module, out=out, **kw)


def t(op, out, inp, **kw):
    return m("transform", out, op=op, **{"in": inp}, **kw)


def program(modules, output, **kw):
    return dict(type="Program", modules=modules, output=output, **kw)


def prog_sage_mean():
    """SAGEConv(5, 4, aggr="mean") written by hand: transform first, since
    it narrows (as the built-in lowering does)."""
    return program([
        m("get_vertex", "x"),
        t("linear", "xl", "x", weight="lin_l.weight"),
        m("message_passing", "agg", aggr="mean", **{"in": "xl"}),
        t("bias", "l", "agg", bias="lin_l.bias"),
        t("linear", "r", "x", weight="lin_r.weight"),
        t("add", "y", ["l", "r"]),
    ], "y", prefix="conv", in_channels=5)


def gat_modules(p, heads, out_name, slope=0.2):
    """GATConv (concat, bias) written by hand over the one-self-loop edges."""
    return [
        t("linear", "proj", "x", weight=f"{p}lin.weight"),
        t("head_dot", "s_src", "proj", att=f"{p}att_src", heads=heads),
        m("get_edge", "e_src", tensor="s_src", side="source"),
        t("head_dot", "s_dst", "proj", att=f"{p}att_dst", heads=heads),
        m("get_edge", "e_dst", tensor="s_dst", side="target"),
        t("add", "e", ["e_src", "e_dst"]),
        t("leaky_relu", "e_act", "e", negative_slope=slope),
        m("message_passing", "alpha", aggr="softmax", **{"in": "e_act"}),
        m("message_passing", "agg", aggr="sum", coef="alpha",
          **{"in": "proj"}),
        t("bias", out_name, "agg", bias=f"{p}bias"),
    ]


def prog_gat_heads():
    return program([m("get_vertex", "x")] + gat_modules("", 3, "y"), "y",
                   prefix="conv", in_channels=5, self_loops="one_per_node")


def geniepath_layer(i, dim):
    """One GeniePath layer: breadth tanh(GATConv), depth one LSTM step.
    The first layer's (h, c) are zero, so its gates have no hidden term."""
    first = i == 0
    lstm = "depth_func.lstm."
    mods = [m("get_vertex", "x")] + \
        gat_modules("breadth_func.gatconv.", 1, "b") + [
            t("tanh", "xb", "b"),
            t("linear", "gates" if first else "gx", "xb",
              weight=lstm + "weight_ih_l0")]
    if not first:
        mods += [t("linear", "gh", "h", weight=lstm + "weight_hh_l0"),
                 t("add", "gates", ["gx", "gh"])]
    for k, (gate, act) in enumerate([("i", "sigmoid"), ("f", "sigmoid"),
                                     ("g", "tanh"), ("o", "sigmoid")]):
        mods += [t("slice", gate + "_pre", "gates", start=k * dim,
                   end=(k + 1) * dim),
                 t(act, gate, gate + "_pre")]
    if first:
        mods.append(t("mul", "c", ["i", "g"]))
    else:
        mods += [t("mul", "fc", ["f", "c"]), t("mul", "ig", ["i", "g"]),
                 t("add", "c", ["fc", "ig"])]
    mods += [t("tanh", "tc", "c"), t("mul", "h", ["o", "tc"])]
    return program(mods, "h", prefix=f"gplayers.{i}",
                   self_loops="one_per_node")


def geniepath_tensors(fin, dim, fout, layers):
    names = {"lin1.weight": (dim, fin), "lin1.bias": (dim,),
             "lin2.weight": (fout, dim), "lin2.bias": (fout,)}
    for i in range(layers):
        g = f"gplayers.{i}.breadth_func.gatconv."
        names.update({g + "lin.weight": (dim, dim), g + "att_src": (1, 1, dim),
                      g + "att_dst": (1, 1, dim), g + "bias": (dim,)})
        d = f"gplayers.{i}.depth_func.lstm."
        names.update({d + "weight_ih_l0": (4 * dim, dim),
                      d + "weight_hh_l0": (4 * dim, dim)})
    return names


PROGRAM_CASES = {
    # name -> (layers, extra options): each checked against a reference
    # that does not read the program
    "prog_sage_mean": ([prog_sage_mean()],
                       {"reference_layers": CASES["sage_mean"][0]}),
    "prog_gat_heads": ([prog_gat_heads()],
                       {"reference_layers": [gat(5, 4, heads=3)]}),
    "geniepath": ([lin(5, 8, "lin1", torch_names=True), geniepath_layer(0, 8),
                   geniepath_layer(1, 8), lin(8, 4, "lin2", torch_names=True)],
                  {"geniepath": (2, 8),
                   "tensors": geniepath_tensors(5, 8, 4, 2)}),
}


class WeightMaker:
    """Random PyG-named tensors for a spec, modest scales (outputs O(1))."""

    def __init__(self, rng, options):
        self.rng, self.options, self.tensors = rng, options, {}

    def normal(self, *shape, scale=0.5):
        return self.rng.standard_normal(shape) * scale

    def put(self, name, value):
        self.tensors[name] = value

    def linear(self, prefix, fin, fout, bias):
        self.put(f"{prefix}.weight", self.normal(fout, fin))
        if bias:
            self.put(f"{prefix}.bias", self.normal(fout, scale=0.2))

    def layers(self, layers, prefix_of):
        for i, layer in enumerate(layers):
            getattr(self, "layer_" + layer["type"], lambda *a: None)(
                layer, prefix_of(i, layer))

    def layer_GCNConv(self, cfg, p):
        self.linear(f"{p}.lin", cfg["in_channels"], cfg["out_channels"],
                    False)
        if cfg.get("bias", True):
            self.put(f"{p}.bias", self.normal(cfg["out_channels"],
                                              scale=0.2))

    def layer_SAGEConv(self, cfg, p):
        fin, fout = cfg["in_channels"], cfg["out_channels"]
        if cfg.get("project", False):
            self.linear(f"{p}.lin", fin, fin, True)
        self.linear(f"{p}.lin_l", fin, fout, cfg.get("bias", True))
        if cfg.get("root_weight", True):
            self.linear(f"{p}.lin_r", fin, fout, False)

    def layer_GATConv(self, cfg, p):
        fin, fout, heads = (cfg["in_channels"], cfg["out_channels"],
                            cfg.get("heads", 1))
        weight = self.normal(heads * fout, fin)
        if self.options.get("legacy_gat"):
            self.put(f"{p}.lin_src.weight", weight)
            self.put(f"{p}.lin_dst.weight", weight.copy())
        else:
            self.put(f"{p}.lin.weight", weight)
        self.put(f"{p}.att_src", self.normal(1, heads, fout))
        self.put(f"{p}.att_dst", self.normal(1, heads, fout))
        if cfg.get("bias", True):
            width = heads * fout if cfg.get("concat", True) else fout
            self.put(f"{p}.bias", self.normal(width, scale=0.2))

    def layer_GINConv(self, cfg, p):
        eps = self.options.get("gin_eps", cfg.get("eps", 0.0))
        self.put(f"{p}.eps", np.array([eps], dtype=np.float32))
        self.layers(cfg["nn"], lambda i, layer: f"{p}.nn.{i}")

    def layer_RGCNConv(self, cfg, p):
        fin, fout = cfg["in_channels"], cfg["out_channels"]
        rels = cfg["num_relations"]
        if cfg.get("num_bases"):
            self.put(f"{p}.weight", self.normal(cfg["num_bases"], fin, fout))
            self.put(f"{p}.comp", self.normal(rels, cfg["num_bases"]))
        elif cfg.get("num_blocks"):
            b = cfg["num_blocks"]
            self.put(f"{p}.weight", self.normal(rels, b, fin // b, fout // b))
        else:
            self.put(f"{p}.weight", self.normal(rels, fin, fout))
        if cfg.get("root_weight", True):
            self.put(f"{p}.root", self.normal(fin, fout))
        if cfg.get("bias", True):
            self.put(f"{p}.bias", self.normal(fout, scale=0.2))

    def layer_Linear(self, cfg, p):
        fin = cfg.get("in_channels", cfg.get("in_features"))
        fout = cfg.get("out_channels", cfg.get("out_features"))
        self.linear(p, fin, fout, cfg.get("bias", True))

    def layer_BatchNorm1d(self, cfg, p):
        c = cfg["num_features"]
        if cfg.get("affine", True):
            self.put(f"{p}.weight", 1 + self.normal(c, scale=0.2))
            self.put(f"{p}.bias", self.normal(c, scale=0.2))
        self.put(f"{p}.running_mean", self.normal(c, scale=0.3))
        self.put(f"{p}.running_var", self.rng.uniform(0.5, 2.0, c))
        # A 0-dim int64 buffer, as torch stores it; inference ignores it.
        self.put(f"{p}.num_batches_tracked", np.array(200, dtype=np.int64))


def case_weights(name, layers, options):
    """(tensors, stored dtypes) for one case; float tensors default to F32."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    maker = WeightMaker(rng, options)
    maker.layers(options.get("reference_layers", layers),
                 lambda i, layer: layer.get("prefix"))
    for key, shape in options.get("tensors", {}).items():
        maker.put(key, maker.normal(*shape))
    tensors = maker.tensors
    if options.get("extra"):
        tensors["unused.weight"] = maker.normal(3, 3)
        tensors["unused.step"] = np.array([7, 11], dtype=np.int64)
    dtypes = {}
    for key, value in tensors.items():
        if value.dtype.kind == "f":
            dtypes[key] = options.get("dtype", "F32")
            for suffix, dtype in options.get("dtype_by_suffix", {}).items():
                if key.endswith(suffix):
                    dtypes[key] = dtype
    return tensors, dtypes


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------

def write_case(out_dir, name, layers, uses_weight, options, graph):
    """Spec, weights and expected output of one case."""
    ids, features, src, dst, weights, relations = graph
    spec = {"layers": layers}
    with open(os.path.join(out_dir, name + ".json"), "w",
              encoding="utf-8") as f:
        f.write(json.dumps(spec, indent=1) + "\n")
    tensors, dtypes = case_weights(name, layers, options)
    path = os.path.join(out_dir, name + ".safetensors")
    safetensors_io.save(path, tensors, dtypes, metadata={"format": "pt"})
    # The expected output uses the weights exactly as stored.
    stored = safetensors_io.load(path).tensors
    if "geniepath" in options:
        out = geniepath_predict(stored, ids, features, src, dst,
                                *options["geniepath"])
    else:
        reference = {"layers": options.get("reference_layers", layers)}
        edge_values = relations if uses_weight == "relation" else \
            weights if uses_weight else None
        out = pyg_ref.predict(reference, stored, ids, features, src, dst,
                              edge_values)
    pyg_ref.write_output(os.path.join(out_dir, name + ".out.csv"), ids, out)


def geniepath_predict(state, ids, features, src, dst, layers, dim):
    ei = torch.as_tensor(pyg_ref.edge_index_of(ids, src, dst))
    x = torch.as_tensor(features).to(torch.float64)
    g = pyg_ref.Graph(len(ids), ei[0], ei[1], None)
    state = {k: torch.as_tensor(np.asarray(v)) for k, v in state.items()}
    with torch.no_grad():
        return pyg_ref.geniepath(state, x, g, torch.float64, layers,
                                 dim).numpy()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "test", "fixtures"),
                    help="output directory (default: test/fixtures)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)

    graph = make_graph()
    write_graph(args.out, *graph)
    lines = []
    for name, (layers, uses_weight, options) in CASES.items():
        write_case(args.out, name, layers, uses_weight, options, graph)
        lines.append(name + (" relation" if uses_weight == "relation" else
                             " weight" if uses_weight else ""))
    for name, (layers, options) in PROGRAM_CASES.items():
        write_case(args.out, name, layers, False, options, graph)
        lines.append(name)
    with open(os.path.join(args.out, "cases.txt"), "w",
              encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {len(CASES) + len(PROGRAM_CASES)} cases to {args.out}")


if __name__ == "__main__":
    main()
