"""Reference forward pass of PyG models in plain torch, computed in float64.

gnnjit must reproduce PyTorch Geometric's eval-mode forward pass within
float32 rounding.  PyG is not needed here: this module re-implements PyG's
semantics for the layer types gnnjit supports, one function per layer type,
driven by the same JSON model spec the extension reads:

    {"layers": [{"type": "SAGEConv", "prefix": "convs.0", ...}, ...]}

Parametrised layers look their tensors up as "<prefix>.<PyG name>"; a
GINConv's nested layers are "<prefix>.nn.<index>".  Features (float32) and
weights (after their storage dtype's rounding) are cast to float64, so the
expected outputs carry no float32 rounding of their own.  The same functions
run in float32 with autograd for training (see train_cora.py).

Graph convention: edge_index[0] is the source, edge_index[1] the target;
node i aggregates the edges whose target is i.

Command line (recompute expected outputs for any spec and graph):
    /usr/bin/python3 tools/pyg_ref.py --spec S.json --weights W.safetensors \\
        --nodes nodes.csv --edges edges.csv --out out.csv [--use-weight]

nodes.csv has columns id and features (a PostgreSQL array literal, e.g.
"{0.5,-1}"); other columns are ignored.  edges.csv has src, dst and
optionally weight, read only with --use-weight.  Files may be gzipped.
out.csv gets id,embedding rows ordered by id (gzipped if it ends in .gz).
"""

import argparse
import csv
import gzip
import io
import json
import math
import os
import sys
import warnings
from collections import namedtuple

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

Graph = namedtuple("Graph", "num_nodes src dst weight")

# torch 1.13 flags scatter_reduce as beta; its semantics are what we need.
warnings.filterwarnings("ignore", message="scatter_reduce")


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------

class Params:
    """The tensors of one layer, found under its prefix.

    Checks each shape against the spec, so that a spec/weights mismatch
    fails loudly instead of broadcasting, and converts to the compute dtype.
    """

    def __init__(self, state, prefix, dtype):
        self.state, self.prefix, self.dtype = state, prefix, dtype

    def name(self, key):
        return f"{self.prefix}.{key}" if self.prefix else key

    def has(self, key):
        return self.name(key) in self.state

    def get(self, key, shape):
        name = self.name(key)
        if name not in self.state:
            raise KeyError(f"missing tensor {name}")
        t = self.state[name]
        if not torch.is_tensor(t):
            t = torch.from_numpy(np.asarray(t))
        if tuple(t.shape) != tuple(shape):
            raise ValueError(f"{name}: shape {tuple(t.shape)}, "
                             f"expected {tuple(shape)}")
        return t.to(self.dtype)


def linear(x, weight, bias=None):
    """x·Wᵀ + b, W stored [out, in] as in torch and PyG."""
    out = x @ weight.t()
    return out if bias is None else out + bias


# ---------------------------------------------------------------------------
# Graph helpers
# ---------------------------------------------------------------------------

def scatter_sum(values, index, n):
    """Row-wise sum of values into n buckets (zero for empty buckets)."""
    out = values.new_zeros((n,) + tuple(values.shape[1:]))
    return out.index_add(0, index, values)


def scatter_extreme(values, index, n, reduce):
    """Row-wise max ("amax") or min ("amin"); empty buckets stay 0.

    PyG's max/min aggregation starts from zeros and reduces without the
    initial value, so a node with no in-edge gets 0, not -inf.
    """
    out = values.new_zeros((n,) + tuple(values.shape[1:]))
    idx = index.view(-1, *([1] * (values.dim() - 1))).expand_as(values)
    return out.scatter_reduce(0, idx, values, reduce=reduce,
                              include_self=False)


def add_remaining_self_loops(src, dst, weight, fill, n):
    """PyG's add_remaining_self_loops for a weighted graph.

    Every self loop is dropped and one loop per node appended; the new loop
    keeps the weight of the node's existing loop, the last one in edge order
    when there are several, else `fill`.
    """
    loop = src == dst
    loop_weight = weight.new_full((n,), fill)
    for k in torch.nonzero(loop).flatten().tolist():   # in order: last wins
        loop_weight[src[k]] = weight[k]
    nodes = torch.arange(n)
    keep = ~loop
    return (torch.cat([src[keep], nodes]), torch.cat([dst[keep], nodes]),
            torch.cat([weight[keep], loop_weight]))


def one_self_loop_each(src, dst, n):
    """remove_self_loops followed by add_self_loops (GATConv)."""
    keep = src != dst
    nodes = torch.arange(n)
    return torch.cat([src[keep], nodes]), torch.cat([dst[keep], nodes])


def edge_softmax(scores, dst, n):
    """Softmax of edge scores [E, H] over the in-edges of each target.

    As torch_geometric.utils.softmax: subtract the per-target max, exp,
    divide by the per-target sum + 1e-16.
    """
    top = scatter_extreme(scores, dst, n, "amax")
    ex = (scores - top[dst]).exp()
    total = scatter_sum(ex, dst, n) + 1e-16
    return ex / total[dst]


# ---------------------------------------------------------------------------
# Graph convolutions
# ---------------------------------------------------------------------------

def gcn_conv(cfg, p, x, g):
    """GCNConv: symmetric-normalised sum over in-edges (with self loops).

    With normalize, self loops are replaced by one per node (weight of the
    existing loop, else 2 if improved else 1), deg(i) sums the weights of
    i's in-edges and norm = deg(j)^-½·w·deg(i)^-½ with 0^-½ = 0.  Without
    normalize the raw weights are used and no loop is added (PyG ignores
    add_self_loops then; PyG ≥ 2.4 rejects an explicit True).
    """
    fin, fout = cfg["in_channels"], cfg["out_channels"]
    weight = p.get("lin.weight", (fout, fin))
    n, src, dst = g.num_nodes, g.src, g.dst
    w = g.weight.to(x.dtype) if g.weight is not None else \
        x.new_ones(src.shape[0])
    if cfg.get("normalize", True):
        if cfg.get("add_self_loops", True):
            fill = 2.0 if cfg.get("improved", False) else 1.0
            src, dst, w = add_remaining_self_loops(src, dst, w, fill, n)
        deg = scatter_sum(w, dst, n)
        inv_sqrt = deg.pow(-0.5)
        inv_sqrt = inv_sqrt.masked_fill(torch.isinf(inv_sqrt), 0.0)
        w = inv_sqrt[src] * w * inv_sqrt[dst]
    h = linear(x, weight)
    out = scatter_sum(w.view(-1, 1) * h[src], dst, n)
    if cfg.get("bias", True):
        out = out + p.get("bias", (fout,))
    return out


def sage_conv(cfg, p, x, g):
    """SAGEConv: lin_l(AGG of in-neighbours) + lin_r(x_i), edge weights ignored.

    With project the messages are relu(lin(x_j)) while the root term keeps
    the original x_i; with normalize the output rows are L2-normalised.
    """
    fin, fout = cfg["in_channels"], cfg["out_channels"]
    aggr = cfg.get("aggr", "mean")
    n, src, dst = g.num_nodes, g.src, g.dst
    msg = x
    if cfg.get("project", False):
        msg = F.relu(linear(x, p.get("lin.weight", (fin, fin)),
                            p.get("lin.bias", (fin,))))
    if aggr in ("sum", "add", "mean"):
        agg = scatter_sum(msg[src], dst, n)
        if aggr == "mean":
            count = scatter_sum(x.new_ones(src.shape[0]), dst, n)
            agg = agg / count.clamp(min=1).view(-1, 1)
    elif aggr in ("max", "min"):
        agg = scatter_extreme(msg[src], dst, n, "a" + aggr)
    else:
        raise ValueError(f"SAGEConv aggr {aggr!r} not supported")
    bias = p.get("lin_l.bias", (fout,)) if cfg.get("bias", True) else None
    out = linear(agg, p.get("lin_l.weight", (fout, fin)), bias)
    if cfg.get("root_weight", True):
        out = out + linear(x, p.get("lin_r.weight", (fout, fin)))
    if cfg.get("normalize", False):
        out = out / out.norm(p=2, dim=-1, keepdim=True).clamp(min=1e-12)
    return out


def gat_conv(cfg, p, x, g):
    """GATConv: per-head attention softmax over in-edges, concat or mean.

    PyG ≥ 2.5 stores one projection `lin.weight`; 2.3-2.4 store it as
    `lin_src.weight` and `lin_dst.weight` (the same matrix).  Dropout is
    inactive at inference.
    """
    if cfg.get("edge_dim") is not None:
        raise ValueError("GATConv edge_dim is not supported")
    fin, fout = cfg["in_channels"], cfg["out_channels"]
    heads = cfg.get("heads", 1)
    concat = cfg.get("concat", True)
    n = g.num_nodes
    if p.has("lin.weight"):
        w_src = w_dst = p.get("lin.weight", (heads * fout, fin))
    else:
        w_src = p.get("lin_src.weight", (heads * fout, fin))
        w_dst = p.get("lin_dst.weight", (heads * fout, fin))
    h = linear(x, w_src).view(n, heads, fout)
    h_dst = h if w_dst is w_src else linear(x, w_dst).view(n, heads, fout)
    a_src = (h * p.get("att_src", (1, heads, fout))).sum(-1)      # [N, H]
    a_dst = (h_dst * p.get("att_dst", (1, heads, fout))).sum(-1)  # [N, H]
    src, dst = g.src, g.dst
    if cfg.get("add_self_loops", True):
        src, dst = one_self_loop_each(src, dst, n)
    scores = F.leaky_relu(a_src[src] + a_dst[dst],
                          cfg.get("negative_slope", 0.2))
    alpha = edge_softmax(scores, dst, n)
    out = scatter_sum(alpha.unsqueeze(-1) * h[src], dst, n)       # [N, H, C]
    out = out.reshape(n, heads * fout) if concat else out.mean(dim=1)
    if cfg.get("bias", True):
        out = out + p.get("bias", (heads * fout if concat else fout,))
    return out


def rgcn_conv(cfg, p, x, g):
    """RGCNConv (PyG's per-relation loop): for each relation r in order,
    out += AGG_{j in N_r(i)} x_j @ W_r (mean by default, or add), then
    x @ root and bias.  Bases: W_r = comp[r] @ V; blocks: block-diagonal
    W_r.  The relation id of each edge is g.weight (the relation column)."""
    fin, fout = cfg["in_channels"], cfg["out_channels"]
    rels = cfg["num_relations"]
    bases, blocks = cfg.get("num_bases"), cfg.get("num_blocks")
    aggr = cfg.get("aggr", "mean")
    n = g.num_nodes
    rel = g.weight.round().long()
    if bases is not None:
        v = p.get("weight", (bases, fin, fout))
        comp = p.get("comp", (rels, bases))
        weight = (comp @ v.reshape(bases, -1)).view(rels, fin, fout)
    elif blocks is None:
        weight = p.get("weight", (rels, fin, fout))
    else:
        weight = p.get("weight", (rels, blocks, fin // blocks, fout // blocks))
    out = x.new_zeros(n, fout)
    for r in range(rels):
        mask = rel == r
        src, dst = g.src[mask], g.dst[mask]
        h = scatter_sum(x[src], dst, n)
        if aggr == "mean":
            count = scatter_sum(torch.ones_like(dst, dtype=x.dtype), dst, n)
            h = h / count.clamp(min=1).unsqueeze(-1)
        if blocks is None:
            out = out + h @ weight[r]
        else:
            h = h.view(-1, blocks, fin // blocks)
            out = out + torch.einsum("abc,bcd->abd", h, weight[r]).reshape(n, fout)
    if cfg.get("root_weight", True):
        out = out + x @ p.get("root", (fin, fout))
    if cfg.get("bias", True):
        out = out + p.get("bias", (fout,))
    return out


def gin_conv(cfg, p, x, g, dtype, training):
    """GINConv: nn((1 + eps)·x_i + Σ x_j), eps read from the state dict.

    The spec's "eps" is only the initial value; the trained (or buffered)
    value is the tensor `<prefix>.eps` of shape [1].
    """
    if p.has("eps"):
        eps = p.get("eps", (1,))[0]
    else:
        eps = torch.tensor(float(cfg.get("eps", 0.0)), dtype=x.dtype)
    agg = scatter_sum(x[g.src], g.dst, g.num_nodes)
    h = agg + (1 + eps) * x
    nested = [dict(layer, prefix=p.name(f"nn.{i}"))
              for i, layer in enumerate(cfg["nn"])]
    return run_layers(nested, p.state, h, g, dtype, training)


# ---------------------------------------------------------------------------
# Dense and element-wise layers
# ---------------------------------------------------------------------------

def linear_layer(cfg, p, x, g):
    """Linear with PyG (in/out_channels) or torch (in/out_features) names."""
    fin = cfg.get("in_channels", cfg.get("in_features"))
    fout = cfg.get("out_channels", cfg.get("out_features"))
    bias = p.get("bias", (fout,)) if cfg.get("bias", True) else None
    return linear(x, p.get("weight", (fout, fin)), bias)


def batch_norm(cfg, p, x, g):
    """BatchNorm1d in eval mode: running statistics, then the affine map."""
    c = cfg["num_features"]
    mean = p.get("running_mean", (c,))
    var = p.get("running_var", (c,))
    out = (x - mean) / torch.sqrt(var + cfg.get("eps", 1e-5))
    if cfg.get("affine", True):
        out = out * p.get("weight", (c,)) + p.get("bias", (c,))
    return out


def last_dim(cfg):
    """Softmax/LogSoftmax dimension: only the feature (last) axis is valid."""
    dim = cfg.get("dim", -1)
    if dim not in (-1, 1):
        raise ValueError(f"{cfg['type']} over dim {dim} is not supported")
    return -1


def gelu(x):
    """Exact GELU, x·Φ(x) with the error function (torch's default)."""
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


ELEMENTWISE = {
    "ReLU": lambda cfg, x: F.relu(x),
    "LeakyReLU": lambda cfg, x: F.leaky_relu(x, cfg.get("negative_slope",
                                                        0.01)),
    "ELU": lambda cfg, x: F.elu(x, cfg.get("alpha", 1.0)),
    "GELU": lambda cfg, x: gelu(x),
    "Sigmoid": lambda cfg, x: torch.sigmoid(x),
    "Tanh": lambda cfg, x: torch.tanh(x),
    "Softmax": lambda cfg, x: torch.softmax(x, dim=last_dim(cfg)),
    "LogSoftmax": lambda cfg, x: torch.log_softmax(x, dim=last_dim(cfg)),
    "Identity": lambda cfg, x: x,
}

PARAMETRISED = {
    "GCNConv": gcn_conv,
    "SAGEConv": sage_conv,
    "GATConv": gat_conv,
    "RGCNConv": rgcn_conv,
    "Linear": linear_layer,
    "BatchNorm1d": batch_norm,
}


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

def run_layers(layers, state, x, g, dtype, training=False):
    """Apply spec layers in order; each parametrised one uses its "prefix"."""
    for layer in layers:
        kind = layer["type"]
        p = Params(state, layer.get("prefix", ""), dtype)
        if kind in PARAMETRISED:
            x = PARAMETRISED[kind](layer, p, x, g)
        elif kind == "GINConv":
            x = gin_conv(layer, p, x, g, dtype, training)
        elif kind == "Dropout":
            # Identity at inference; training uses it as torch does.
            x = F.dropout(x, layer.get("p", 0.5), training=training)
        elif kind in ELEMENTWISE:
            x = ELEMENTWISE[kind](layer, x)
        else:
            raise ValueError(f"unknown layer type {kind!r}")
    return x


def forward(spec, state, x, edge_index, edge_weight=None,
            dtype=torch.float64, training=False):
    """Model output for node features x [N, F] on graph edge_index [2, E].

    state maps tensor names to torch tensors or numpy arrays; edge_weight
    [E] is used by GCNConv only (None means weight 1).  Computes in `dtype`
    (float64 for reference outputs); `training` enables Dropout and exists
    for train_cora.py only.
    """
    x = torch.as_tensor(x).to(dtype)
    edge_index = torch.as_tensor(edge_index, dtype=torch.long)
    if edge_weight is not None:
        edge_weight = torch.as_tensor(edge_weight).to(dtype)
    g = Graph(x.shape[0], edge_index[0], edge_index[1], edge_weight)
    return run_layers(spec["layers"], state, x, g, dtype, training)


def geniepath(state, x, g, dtype, num_layers, dim):
    """GeniePath as in PyG's examples/geniepath.py (not the Lazy variant).

    lin1; then per layer the breadth function tanh(GATConv(dim, dim,
    heads=1)) and the depth function, one step of torch.nn.LSTM(dim, dim,
    bias=False) carrying (h, c) from layer to layer, starting at zero;
    then lin2.  Parameter names are the example's state-dict names.
    """
    n = x.shape[0]
    x = linear(x, Params(state, "lin1", dtype).get("weight", (dim, x.shape[1])),
               Params(state, "lin1", dtype).get("bias", (dim,)))
    h = torch.zeros(1, n, dim, dtype=dtype)
    c = torch.zeros(1, n, dim, dtype=dtype)
    for i in range(num_layers):
        gat = Params(state, f"gplayers.{i}.breadth_func.gatconv", dtype)
        x = torch.tanh(gat_conv({"in_channels": dim, "out_channels": dim,
                                 "heads": 1}, gat, x, g))
        p = Params(state, f"gplayers.{i}.depth_func.lstm", dtype)
        lstm = torch.nn.LSTM(dim, dim, 1, bias=False).to(dtype)
        lstm.weight_ih_l0.data = p.get("weight_ih_l0", (4 * dim, dim))
        lstm.weight_hh_l0.data = p.get("weight_hh_l0", (4 * dim, dim))
        out, (h, c) = lstm(x[None, :], (h, c))
        x = out[0]
    lin2 = Params(state, "lin2", dtype)
    w2 = lin2.get("weight", (state["lin2.weight"].shape[0], dim))
    return linear(x, w2, lin2.get("bias", (w2.shape[0],)))


# ---------------------------------------------------------------------------
# CSV files
# ---------------------------------------------------------------------------

def open_text(path):
    """Open a CSV file for reading, gunzipping *.gz files."""
    if path.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8",
                                newline="")
    return open(path, encoding="utf-8", newline="")


def parse_array(text):
    """PostgreSQL array literal "{1.5,-2,0}" -> float32 array."""
    body = text.strip()
    if not (body.startswith("{") and body.endswith("}")):
        raise ValueError(f"not an array literal: {text[:40]!r}")
    body = body[1:-1].strip()
    if not body:
        return np.zeros(0, np.float32)
    return np.array([float(v) for v in body.split(",")], dtype=np.float32)


def format_array(values):
    """Array literal with 9 significant digits (round-trips float32)."""
    return "{" + ",".join("%.9g" % float(v) for v in values) + "}"


def read_nodes(path):
    """ids (list of int) and float32 features [N, F] from a nodes CSV."""
    ids, rows = [], []
    with open_text(path) as f:
        for rec in csv.DictReader(f):
            ids.append(int(rec["id"]))
            rows.append(parse_array(rec["features"]))
    return ids, np.stack(rows).astype(np.float32)


def read_edges(path):
    """src ids, dst ids and float32 weights (None without a weight column)."""
    src, dst, weight = [], [], []
    with open_text(path) as f:
        reader = csv.DictReader(f)
        has_weight = "weight" in (reader.fieldnames or [])
        for rec in reader:
            src.append(int(rec["src"]))
            dst.append(int(rec["dst"]))
            if has_weight:
                weight.append(float(rec["weight"]))
    w = np.array(weight, dtype=np.float32) if has_weight else None
    return src, dst, w


def edge_index_of(ids, src_ids, dst_ids):
    """Map node ids to row numbers: edge_index [2, E] as int64."""
    row = {node: i for i, node in enumerate(ids)}
    if len(row) != len(ids):
        raise ValueError("duplicate node id")
    try:
        return np.array([[row[s] for s in src_ids],
                         [row[d] for d in dst_ids]], dtype=np.int64)
    except KeyError as e:
        raise ValueError(f"edge refers to unknown node id {e}") from None


def predict(spec, state, ids, features, src_ids, dst_ids, weights=None):
    """float64 reference output [N, out] for the nodes in `ids` order."""
    ei = edge_index_of(ids, src_ids, dst_ids)
    with torch.no_grad():
        out = forward(spec, state, features, ei, weights)
    return out.numpy()


def write_output(path, ids, out):
    """id,embedding CSV with rows ordered by id; *.gz paths are gzipped.

    The gzip header carries no file name or time stamp, so the same output
    gives the same bytes.
    """
    order = sorted(range(len(ids)), key=lambda i: ids[i])
    text = io.StringIO(newline="")
    w = csv.writer(text, lineterminator="\n")
    w.writerow(["id", "embedding"])
    for i in order:
        w.writerow([ids[i], format_array(out[i])])
    data = text.getvalue().encode("utf-8")
    with open(path, "wb") as f:
        if path.endswith(".gz"):
            with gzip.GzipFile(filename="", mode="wb", fileobj=f,
                               mtime=0) as z:
                z.write(data)
        else:
            f.write(data)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spec", required=True, help="model spec JSON")
    ap.add_argument("--weights", required=True, help="safetensors file")
    ap.add_argument("--nodes", required=True, help="id,features CSV")
    ap.add_argument("--edges", required=True, help="src,dst[,weight] CSV")
    ap.add_argument("--out", required=True, help="output id,embedding CSV")
    ap.add_argument("--use-weight", action="store_true",
                    help="pass the edges' weight column to GCNConv layers")
    args = ap.parse_args(argv)

    with open(args.spec, encoding="utf-8") as f:
        spec = json.load(f)
    state = safetensors_io.load(args.weights).tensors
    ids, features = read_nodes(args.nodes)
    src, dst, weight = read_edges(args.edges)
    if args.use_weight and weight is None:
        ap.error("--use-weight given but the edges have no weight column")
    out = predict(spec, state, ids, features, src, dst,
                  weight if args.use_weight else None)
    write_output(args.out, ids, out)


if __name__ == "__main__":
    main()
