"""Generate the heterogeneous test fixtures under test/fixtures/hetero/.

Writes one heterogeneous graph and, per case, a model spec, its weights
(PyG state-dict names, F32) and the expected output of PyG's eval-mode
forward pass computed by hetero_ref.py in float64:

    nodes_<type>.csv              id,features          features "{f1,...}"
    edges_<s>__<rel>__<d>.csv     src,dst,weight,edge_attr
                                  weight > 0 (unused by every case),
                                  edge_attr "{a1,a2,a3}"
    <case>.json                   spec (metadata, optional to_hetero, layers)
    <case>.safetensors            weights
    <case>.out.csv                node_type,id,embedding   rows ordered by
                                  node type, then id
    cases.txt                     one case name per line
    bad_<name>.json/.safetensors  models gnnjit (and PyG) must refuse

Floats in the inputs are float32 values written with 9 significant digits
(they read back as the same float32); outputs too ("%.9g" of the float64
result, as pyg_ref.write_output).

The graph (metadata order matters):
    node types  author (4 features, 25 nodes), paper (6, 30), term (3, 12)
    edge types  author-writes->paper, paper-cites->paper,
                paper-rev_writes->author, term-about->paper (no edges)
Ids are sparse, unsorted int64 (negative ones and ones above 2^40), unique
per type but shared across types: some author ids are paper ids too, and
one term id is a paper id.  Corner cases: authors that write nothing (so no
rev_writes in-edge), papers with no in-edge at all, papers cited only
(written by nobody), parallel writes and cites edges, single self loops,
one paper with two self loops and one whose only cites in-edge is its own
loop (GATConv's fill_value="mean" gives its new loop a zero attribute).

Every random draw comes from a generator seeded by a fixed number (the
graph) or by the crc32 of the case name, so adding a case leaves the others
unchanged and running the script twice gives byte-identical files.

Usage:
    /usr/bin/python3 tools/gen_hetero_fixtures.py [--out test/fixtures/hetero]
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
import hetero_ref  # noqa: E402
import safetensors_io  # noqa: E402
from gen_fixtures import f32  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GRAPH_SEED = 20240917
EDGE_DIM = 3

NODE_TYPES = ["author", "paper", "term"]
WIDTHS = {"author": 4, "paper": 6, "term": 3}
COUNTS = {"author": 25, "paper": 30, "term": 12}
WRITES = ("author", "writes", "paper")
CITES = ("paper", "cites", "paper")
REV_WRITES = ("paper", "rev_writes", "author")
ABOUT = ("term", "about", "paper")
EDGE_TYPES = [WRITES, CITES, REV_WRITES, ABOUT]
METADATA = {"node_types": NODE_TYPES,
            "edge_types": [list(et) for et in EDGE_TYPES]}
# Two message-passing layers need every source type of the second to be the
# target of an edge type of the first, or PyG cannot run the model (no edge
# type ends at "term"): those models leave term and about-edges out.
METADATA_NO_TERM = {"node_types": ["author", "paper"],
                    "edge_types": [list(WRITES), list(CITES),
                                   list(REV_WRITES)]}

# Roles of paper rows (row numbers in generation order).
PAPER_NO_IN_EDGE = [0, 1, 2, 3]     # neither written nor cited
PAPER_CITED_ONLY = [4, 5]           # cited, written by nobody
PAPER_LOOP_ONLY = 6                 # its only cites in-edge is a self loop
PAPER_ONE_LOOP = [7, 8]             # a self loop among other in-edges
PAPER_TWO_LOOPS = 9                 # two self loops
AUTHOR_SILENT = [0, 1, 2]           # write nothing


# ---------------------------------------------------------------------------
# Graph
# ---------------------------------------------------------------------------

def draw_ids(rng, count, forced=()):
    """`count` distinct int64 ids including `forced`, in shuffled order."""
    ids = set(forced)
    pools = [(-(2 ** 62), -(2 ** 40)), (-100000, 0), (0, 1000),
             (2 ** 40, 2 ** 41), (2 ** 41, 2 ** 62)]
    k = 0
    while len(ids) < count:
        low, high = pools[k % len(pools)]
        ids.add(int(rng.integers(low, high)))
        k += 1
    ids = sorted(ids)
    return [ids[i] for i in rng.permutation(len(ids))]


def make_graph():
    """(nodes {type: (ids, float32 features)}, edges {type: rows}).

    Edge rows are (src row, dst row) pairs in file order.
    """
    rng = np.random.default_rng(GRAPH_SEED)
    authors = draw_ids(rng, COUNTS["author"])
    # Ids repeat across types: three author ids are paper ids too (one of
    # them also a term id).
    papers = draw_ids(rng, COUNTS["paper"], forced=authors[3:6])
    terms = draw_ids(rng, COUNTS["term"], forced=[authors[4], papers[10]])
    ids = {"author": authors, "paper": papers, "term": terms}
    nodes = {t: (ids[t], rng.uniform(-1, 1, (COUNTS[t], WIDTHS[t]))
                 .astype(np.float32)) for t in NODE_TYPES}

    n_a, n_p = COUNTS["author"], COUNTS["paper"]
    writers = [a for a in range(n_a) if a not in AUTHOR_SILENT]
    written = [p for p in range(n_p)
               if p not in PAPER_NO_IN_EDGE + PAPER_CITED_ONLY]
    writes = [(int(rng.choice(writers)), int(rng.choice(written)))
              for _ in range(44)]
    writes += [writes[int(k)] for k in rng.choice(len(writes), 4,
                                                  replace=False)]
    writes = [writes[i] for i in rng.permutation(len(writes))]

    citing = list(range(n_p))
    cited = [p for p in range(n_p)
             if p not in PAPER_NO_IN_EDGE + [PAPER_LOOP_ONLY]]
    cites = []
    while len(cites) < 40:
        s, d = int(rng.choice(citing)), int(rng.choice(cited))
        if s != d:
            cites.append((s, d))
    cites += [cites[int(k)] for k in rng.choice(len(cites), 4,
                                                replace=False)]
    for d in PAPER_ONE_LOOP + [PAPER_TWO_LOOPS]:    # loops among in-edges
        others = [q for q in citing if q != d]
        cites += [(int(s), d) for s in rng.choice(others, 2, replace=False)]
    cites += [(p, p) for p in PAPER_ONE_LOOP + [PAPER_LOOP_ONLY]]
    cites += [(PAPER_TWO_LOOPS, PAPER_TWO_LOOPS)] * 2
    cites = [cites[i] for i in rng.permutation(len(cites))]

    rev = [(p, a) for a, p in writes]
    rev = [rev[i] for i in rng.permutation(len(rev))]
    edges = {WRITES: writes, CITES: cites, REV_WRITES: rev, ABOUT: []}
    # weights and attributes per edge type, drawn after all the structure
    values = {}
    for et in EDGE_TYPES:
        n = len(edges[et])
        values[et] = (rng.uniform(0.5, 2.0, n).astype(np.float32),
                      rng.uniform(-1, 1, (n, EDGE_DIM)).astype(np.float32))
    return nodes, edges, values


def as_hetero_graph(nodes, edges, values):
    out = {}
    for et, rows in edges.items():
        s, _, d = et
        weight, attr = values[et]
        out[et] = hetero_ref.EdgeList([nodes[s][0][i] for i, _ in rows],
                                      [nodes[d][0][j] for _, j in rows],
                                      weight, attr)
    return hetero_ref.HeteroGraph(nodes, out)


def literal(values):
    return "{" + ",".join(f32(v) for v in values) + "}"


def write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def write_graph(out_dir, graph):
    for t, (ids, x) in graph.nodes.items():
        write_csv(os.path.join(out_dir, f"nodes_{t}.csv"), ["id", "features"],
                  [[i, literal(row)] for i, row in zip(ids, x)])
    for et, el in graph.edges.items():
        write_csv(os.path.join(out_dir,
                               f"edges_{hetero_ref.edge_key(et)}.csv"),
                  ["src", "dst", "weight", "edge_attr"],
                  [[s, d, f32(w), literal(a)]
                   for s, d, w, a in zip(el.src, el.dst, el.weight, el.attr)])


# ---------------------------------------------------------------------------
# Specs
# ---------------------------------------------------------------------------

def conv(kind, prefix, fin, fout, **kw):
    layer = {"type": kind}
    if prefix is not None:
        layer["prefix"] = prefix
    layer.update(in_channels=fin, out_channels=fout, **kw)
    return layer


def act(kind, **kw):
    return dict(type=kind, **kw)


def spec(layers, metadata=None, to_hetero=None):
    out = {"metadata": metadata or METADATA}
    if to_hetero:
        out["to_hetero"] = {"aggr": to_hetero}
    out["layers"] = layers
    return out


def key(et):
    return hetero_ref.edge_key(et)


CASES = {
    # to_hetero([SAGEConv(-1, 8), ReLU, SAGEConv(8, 5)], aggr="sum")
    "het_sage_sum": spec([conv("SAGEConv", "conv1", -1, 8),
                          act("ReLU"),
                          conv("SAGEConv", "conv2", 8, 5)],
                         metadata=METADATA_NO_TERM, to_hetero="sum"),
    # to_hetero(..., aggr="mean") with max-aggregating SAGEConvs
    "het_sage_mean": spec([conv("SAGEConv", "conv1", -1, 8, aggr="max"),
                           act("ReLU"),
                           conv("SAGEConv", "conv2", 8, 5, aggr="max")],
                          metadata=METADATA_NO_TERM, to_hetero="mean"),
    # to_hetero: per node type BatchNorm1d and Linear, min over edge types
    "het_sage_bn": spec([conv("SAGEConv", "conv", -1, 6, aggr="sum"),
                         {"type": "BatchNorm1d", "prefix": "bn",
                          "num_features": 6},
                         act("LeakyReLU", negative_slope=0.1),
                         {"type": "Linear", "prefix": "lin",
                          "in_channels": 6, "out_channels": 4}],
                        to_hetero="min"),
    # to_hetero([GATConv((-1, -1), 4, heads=2, add_self_loops=False), ELU,
    #            Linear(8, 3)], aggr="max")
    "het_gat": spec([conv("GATConv", "conv", -1, 4, heads=2, concat=True,
                          add_self_loops=False),
                     act("ELU"),
                     {"type": "Linear", "prefix": "lin", "in_channels": 8,
                      "out_channels": 3}], to_hetero="max"),
    # HeteroConv with a different conv per edge type, then a shared ReLU
    "het_mix": spec([{"type": "HeteroConv", "prefix": "conv1", "aggr": "sum",
                      "convs": {
                          key(WRITES): conv("SAGEConv", None, -1, 6),
                          key(CITES): conv("GCNConv", None, -1, 6),
                          key(REV_WRITES): conv("SAGEConv", None, -1, 6),
                          key(ABOUT): conv("GATConv", None, -1, 3, heads=2,
                                           edge_dim=EDGE_DIM,
                                           add_self_loops=False)}},
                     act("ReLU")]),
    # HeteroConv of GATConvs with edge attributes (self loops with the
    # mean attribute on cites), mean over edge types, then a shared Linear
    "het_gat_edge": spec([{"type": "HeteroConv", "prefix": "conv",
                           "aggr": "mean",
                           "convs": {
                               key(WRITES): conv(
                                   "GATConv", None, -1, 3, heads=2,
                                   edge_dim=EDGE_DIM, add_self_loops=False),
                               key(CITES): conv(
                                   "GATConv", None, -1, 3, heads=2,
                                   edge_dim=EDGE_DIM, add_self_loops=True,
                                   fill_value="mean"),
                               key(REV_WRITES): conv(
                                   "GATConv", None, -1, 6, heads=2,
                                   concat=False, edge_dim=EDGE_DIM,
                                   add_self_loops=False)}},
                          act("ELU"),
                          {"type": "Linear", "prefix": "lin",
                           "in_channels": 6, "out_channels": 4}]),
    # HGTConv(in per type, 8, heads=2), ReLU, HGTConv(8, 8, heads=2)
    "het_hgt": spec([{"type": "HGTConv", "prefix": "conv1",
                      "in_channels": dict(WIDTHS), "out_channels": 8,
                      "heads": 2},
                     act("ReLU"),
                     {"type": "HGTConv", "prefix": "conv2", "in_channels": 8,
                      "out_channels": 8, "heads": 2}],
                    metadata=METADATA_NO_TERM),
    # HGTConv(-1, 6, heads=3) (skip blend for paper only: width 6), then a
    # Linear on paper only
    "het_hgt_lin": spec([{"type": "HGTConv", "prefix": "conv",
                          "in_channels": -1, "out_channels": 6, "heads": 3},
                         {"type": "Linear", "prefix": "lin",
                          "in_channels": 6, "out_channels": 4,
                          "node_types": ["paper"]}]),
    # Homogeneous GATConv(6, 4, heads=2, edge_dim=3) on paper-cites->paper
    "gat_edge": spec([conv("GATConv", "conv", 6, 4, heads=2, concat=True,
                           edge_dim=EDGE_DIM, add_self_loops=True,
                           fill_value="mean")],
                     metadata={"node_types": ["paper"],
                               "edge_types": [list(CITES)]}),
}

# Models that must be refused, written without an expected output: the
# second layer reads "term", which no edge type of the first ends at.
BAD_CASES = {
    "bad_vanished_type": spec([conv("SAGEConv", "conv1", -1, 8),
                               act("ReLU"),
                               conv("SAGEConv", "conv2", 8, 5)],
                              to_hetero="sum"),
}


# ---------------------------------------------------------------------------
# Random weights, PyG names
# ---------------------------------------------------------------------------

class WeightMaker:
    """Random PyG-named tensors for a spec, following the feature widths
    through the layers (outputs O(1)).  Modules are created as PyG creates
    them: to_hetero copies exist for every metadata edge or node type, and
    HGTConv has kqv/out/skip entries for every node type, even when the
    forward pass never reads them."""

    def __init__(self, rng):
        self.rng, self.tensors = rng, {}

    def normal(self, *shape, scale=0.5):
        return self.rng.standard_normal(shape) * scale

    def put(self, name, value):
        self.tensors[name] = value

    def linear(self, prefix, fin, fout, bias=True):
        self.put(f"{prefix}.weight", self.normal(fout, fin))
        if bias:
            self.put(f"{prefix}.bias", self.normal(fout, scale=0.2))

    def sage(self, cfg, p, fin_s, fin_d):
        fout = cfg["out_channels"]
        self.linear(f"{p}.lin_l", fin_s, fout, cfg.get("bias", True))
        if cfg.get("root_weight", True):
            self.linear(f"{p}.lin_r", fin_d, fout, bias=False)
        return fout

    def gcn(self, cfg, p, fin_s, fin_d):
        fout = cfg["out_channels"]
        self.linear(f"{p}.lin", fin_d, fout, bias=False)
        self.put(f"{p}.bias", self.normal(fout, scale=0.2))
        return fout

    def gat(self, cfg, p, fin_s, fin_d, shared=False):
        heads, c = cfg.get("heads", 1), cfg["out_channels"]
        if shared:
            self.linear(f"{p}.lin", fin_d, heads * c, bias=False)
        else:
            self.linear(f"{p}.lin_src", fin_s, heads * c, bias=False)
            self.linear(f"{p}.lin_dst", fin_d, heads * c, bias=False)
        self.put(f"{p}.att_src", self.normal(1, heads, c))
        self.put(f"{p}.att_dst", self.normal(1, heads, c))
        if cfg.get("edge_dim"):
            self.linear(f"{p}.lin_edge", cfg["edge_dim"], heads * c,
                        bias=False)
            self.put(f"{p}.att_edge", self.normal(1, heads, c))
        width = heads * c if cfg.get("concat", True) else c
        self.put(f"{p}.bias", self.normal(width, scale=0.2))
        return width

    def conv(self, cfg, p, fin_s, fin_d, shared=False):
        kind = cfg["type"]
        if kind == "GATConv":
            return self.gat(cfg, p, fin_s, fin_d, shared)
        return {"SAGEConv": self.sage, "GCNConv": self.gcn}[kind](
            cfg, p, fin_s, fin_d)

    def node_layer(self, cfg, p, fin):
        if cfg["type"] == "Linear":
            self.linear(p, fin, cfg["out_channels"])
            return cfg["out_channels"]
        c = cfg["num_features"]
        self.put(f"{p}.weight", 1 + self.normal(c, scale=0.2))
        self.put(f"{p}.bias", self.normal(c, scale=0.2))
        self.put(f"{p}.running_mean", self.normal(c, scale=0.3))
        self.put(f"{p}.running_var", self.rng.uniform(0.5, 2.0, c))
        self.put(f"{p}.num_batches_tracked", np.array(100, dtype=np.int64))
        return c

    def hgt(self, cfg, p, widths, node_types, edge_types):
        fout, heads = cfg["out_channels"], cfg["heads"]
        dim = fout // heads
        for t in node_types:
            fin = widths.get(t, cfg["in_channels"])
            self.linear(f"{p}.kqv_lin.lins.{t}", fin, 3 * fout)
        for t in node_types:
            self.linear(f"{p}.out_lin.lins.{t}", fout, fout)
        num = heads * len(edge_types)
        self.put(f"{p}.k_rel.weight", self.normal(num, dim, dim, scale=0.6))
        self.put(f"{p}.v_rel.weight", self.normal(num, dim, dim, scale=0.6))
        for t in node_types:
            self.put(f"{p}.skip.{t}", self.normal(1, scale=1.0))
        for et in edge_types:
            self.put(f"{p}.p_rel.{key(et)}", 1 + self.normal(1, heads,
                                                             scale=0.3))
        return {d: fout for _, _, d in edge_types}

    def model(self, case):
        """Weights of a whole spec; widths {type: int} follow the layers."""
        meta_nodes = case["metadata"]["node_types"]
        meta_edges = [tuple(et) for et in case["metadata"]["edge_types"]]
        widths = {t: WIDTHS[t] for t in meta_nodes}
        hetero = "to_hetero" in case
        for layer in case["layers"]:
            kind, p = layer["type"], layer.get("prefix")
            if kind in hetero_ref.CONVS and hetero:
                new = {}
                for et in meta_edges:
                    s, _, d = et
                    # a vanished source type is never read; its copy has
                    # the declared in_channels
                    fin_s = widths.get(s, layer["in_channels"])
                    new[d] = self.conv(layer,
                                       f"{p}.{hetero_ref.to_hetero_key(et)}",
                                       fin_s, widths[d])
                widths = new
            elif kind in hetero_ref.CONVS:
                (et,) = meta_edges
                widths = {et[2]: self.conv(layer, p, widths[et[0]],
                                           widths[et[2]], shared=True)}
            elif kind == "HeteroConv":
                new = {}
                for k, c in layer["convs"].items():
                    s, _, d = k.split("__")
                    name = hetero_ref.module_dict_key((s, _, d))
                    new[d] = self.conv(c, f"{p}.convs.{name}", widths[s],
                                       widths[d], shared=s == d)
                widths = new
            elif kind == "HGTConv":
                widths = self.hgt(layer, p, widths, meta_nodes, meta_edges)
            elif kind in ("Linear", "BatchNorm1d"):
                if hetero:
                    for t in meta_nodes:
                        # to_hetero copies the module for every node type
                        fin = widths.get(t, next(iter(widths.values())))
                        out = self.node_layer(
                            layer, f"{p}.{hetero_ref.to_hetero_key(t)}", fin)
                    widths = {t: out for t in widths}
                else:
                    types = layer.get("node_types", list(widths))
                    out = self.node_layer(layer, p, widths[types[0]])
                    widths = {t: out for t in types}
        return self.tensors


def case_weights(name, case):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    tensors = WeightMaker(rng).model(case)
    dtypes = {k: "F32" for k, v in tensors.items() if v.dtype.kind == "f"}
    return tensors, dtypes


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------

def case_graph(graph, case):
    """The part of the graph the case's metadata names."""
    meta = case["metadata"]
    return hetero_ref.HeteroGraph(
        {t: graph.nodes[t] for t in meta["node_types"]},
        {tuple(et): graph.edges[tuple(et)] for et in meta["edge_types"]})


def write_model(out_dir, name, case):
    with open(os.path.join(out_dir, name + ".json"), "w",
              encoding="utf-8") as f:
        f.write(json.dumps(case, indent=1) + "\n")
    tensors, dtypes = case_weights(name, case)
    path = os.path.join(out_dir, name + ".safetensors")
    safetensors_io.save(path, tensors, dtypes, metadata={"format": "pt"})
    return path


def write_case(out_dir, name, case, graph):
    path = write_model(out_dir, name, case)
    stored = safetensors_io.load(path).tensors     # weights as stored
    result = hetero_ref.predict_hetero(case, stored, case_graph(graph, case))
    hetero_ref.write_hetero_output(os.path.join(out_dir, name + ".out.csv"),
                                   result)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "test", "fixtures",
                                                  "hetero"),
                    help="output directory (default: test/fixtures/hetero)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    graph = as_hetero_graph(*make_graph())
    write_graph(args.out, graph)
    for name, case in CASES.items():
        write_case(args.out, name, case, graph)
    for name, case in BAD_CASES.items():
        write_model(args.out, name, case)
    with open(os.path.join(args.out, "cases.txt"), "w",
              encoding="utf-8") as f:
        f.write("\n".join(CASES) + "\n")
    print(f"wrote {len(CASES)} cases to {args.out}")


if __name__ == "__main__":
    main()
