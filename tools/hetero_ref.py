"""Reference forward pass of heterogeneous PyG models, in float64 plain torch.

The heterogeneous counterpart of pyg_ref.py (whose helpers it reuses):
PyG's eval-mode semantics for to_hetero() models, HeteroConv and HGTConv,
driven by a JSON spec

    {"metadata": {"node_types": ["author", "paper", "term"],
                  "edge_types": [["author", "writes", "paper"], ...]},
     "to_hetero": {"aggr": "sum"},          # optional
     "layers": [{"type": "SAGEConv", "prefix": "conv1", ...}, ...]}

Features and edge attributes (float32 in the CSVs) and weights (as stored)
are cast to float64.  Layer options are those of pyg_ref.py; channel counts
are read from the weight shapes ("in_channels" may be -1 or {type: width}
and is not used).  Edge weights are never used.

Node types are the keys of x_dict; a layer maps the dict of the node types
present to a new dict, and a node type that a message-passing layer gives
no output (it is the destination of no edge type) is gone from then on.

With "to_hetero" (torch_geometric.nn.to_hetero(model, metadata, aggr))
  * GCNConv/SAGEConv/GATConv run once per metadata edge type r = (s, rel, d)
    with the weights "<prefix>.<s>__<rel>__<d>.<param>", on the bipartite
    graph (x_s, x_d, edges of r); per destination type the outputs are
    combined in metadata order as PyG's generated code does: pairwise
    torch.add/max/min over a queue, then, for "mean", one division by the
    number of metadata edge types into d.  An edge type with no edges still
    contributes (SAGE: lin_l.bias + lin_r(x_d); GAT: its bias).
  * Linear and BatchNorm1d run per node type with "<prefix>.<type>.<param>";
    parameter-free layers run on every present node type.
Without "to_hetero"
  * {"type": "HeteroConv", "prefix": P, "aggr": "sum"|"mean"|"max"|"min"|
    "cat", "convs": {"s__rel__d": {layer spec, no prefix}, ...}} runs each
    conv on its edge type with "P.convs.<s___rel___d>.<param>" (PyG's
    ModuleDict key for a tuple) and groups the outputs per destination
    type like HeteroConv's group() (stack, then torch.sum/mean/max/min over
    the list in "convs" order).  Edge types not in "convs" are unused.
  * {"type": "HGTConv", "prefix": P, "out_channels": F, "heads": H} as
    PyG >= 2.4's hgt_conv.py (see hgt_conv below).
  * A bare GCNConv/SAGEConv/GATConv (a homogeneous model) needs metadata
    with a single edge type, and runs on it with "<prefix>.<param>".
  * Linear/BatchNorm1d use shared weights "<prefix>.<param>" on every
    present node type, or with "node_types": [...] on those types only, all
    others being dropped; parameter-free layers run on every present type.

GATConv weights: "lin.weight" (one matrix for source and target, PyG >= 2.5
for an int in_channels) or "lin_src.weight" and "lin_dst.weight" (a tuple
in_channels, as to_hetero/HeteroConv models on bipartite edge types have);
with "lin_edge.weight" [H*C, D_e] and "att_edge" [1, H, C] the edge_attr
column is used: alpha gains (lin_edge(edge_attr).view(-1, H, C) *
att_edge).sum(-1).  add_self_loops (only when source type == target type)
removes every self loop and appends one per node, whose attribute is
fill_value ("mean" by default: the mean of the attributes of the node's
remaining in-edges, 0 for a node that has none; see utils/loop.py).

A message-passing layer whose source type is gone (it was the destination
of no edge type in an earlier layer) is only defined while its edge type
has no edges: its source features are then never read (PyG itself cannot
run this case: to_hetero raises NotImplementedError for a node-wise op on a
node type that a conv gave no output, and HeteroConv/HGTConv get None or a
KeyError).  An edge type with edges and no source features raises here.

Command line:
    /usr/bin/python3 tools/hetero_ref.py --spec S.json --weights W.safetensors
        --graph DIR --out out.csv
DIR holds nodes_<type>.csv (id,features) and edges_<s>__<rel>__<d>.csv
(src,dst[,weight][,edge_attr]) for the spec's metadata; out.csv gets
node_type,id,embedding rows ordered by node type, then id.
"""

import argparse
import csv
import io
import json
import math
import os
import sys
from collections import deque, namedtuple

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyg_ref  # noqa: E402
import safetensors_io  # noqa: E402
from pyg_ref import (Params, edge_softmax, linear, scatter_extreme,  # noqa: E402
                     scatter_sum)

# Graph as read from the CSVs: nodes {type: (ids, float32 [N, F])},
# edges {(s, rel, d): EdgeList}.
HeteroGraph = namedtuple("HeteroGraph", "nodes edges")
EdgeList = namedtuple("EdgeList", "src dst weight attr")

# One edge type in row numbers: src/dst long [E], attr float [E, D_e] or
# None, node counts of the source and target types.
Rel = namedtuple("Rel", "src dst attr n_src n_dst")

MESSAGE_PASSING = ("GCNConv", "SAGEConv", "GATConv")


def edge_key(edge_type):
    """("author", "writes", "paper") -> "author__writes__paper"."""
    return "__".join(edge_type)


def to_hetero_key(key):
    """to_hetero's key2str: "__"-joined, ' ', '-', ':' replaced by '_'."""
    key = "__".join(key) if isinstance(key, tuple) else key
    return key.replace(" ", "_").replace("-", "_").replace(":", "_")


def module_dict_key(edge_type):
    """torch_geometric.nn.ModuleDict's internal key for a tuple key."""
    return f"<{'___'.join(edge_type)}>".replace(".", "#")


def shape_of(p, key):
    """Stored shape of "<prefix>.<key>" (KeyError if missing)."""
    name = p.name(key)
    if name not in p.state:
        raise KeyError(f"missing tensor {name}")
    return tuple(np.shape(p.state[name]))


def sub(p, key):
    """Params of a nested module."""
    return Params(p.state, p.name(key), p.dtype)


# ---------------------------------------------------------------------------
# Message passing on one (possibly bipartite) edge type
# ---------------------------------------------------------------------------

def aggregate(values, index, n, aggr):
    """PyG's sum/mean/max/min aggregation; empty targets get 0."""
    if aggr in ("sum", "add"):
        return scatter_sum(values, index, n)
    if aggr == "mean":
        total = scatter_sum(values, index, n)
        count = scatter_sum(values.new_ones(index.shape[0]), index, n)
        return total / count.clamp(min=1).view(-1, *[1] * (values.dim() - 1))
    if aggr in ("max", "min"):
        return scatter_extreme(values, index, n, "a" + aggr)
    raise ValueError(f"aggregation {aggr!r} not supported")


def missing_source(xs, rel, width):
    """Stand-in for the features of a vanished source type (no edges)."""
    if rel.src.numel():
        raise ValueError("an edge type with edges has no source features "
                         "(its source type was no destination earlier)")
    return torch.zeros((rel.n_src, width), dtype=torch.float64)


def sage_conv(cfg, p, xs, xd, rel):
    """SAGEConv on (x_s, x_d): lin_l(AGG_j x_j) + lin_r(x_i).

    lin_l.weight is [out, in_s], lin_r.weight [out, in_d]; with project the
    messages are relu(lin(x_j)) (lin on the source width) and the root term
    keeps x_i; normalize L2-normalises the rows.
    """
    fout, fin_l = shape_of(p, "lin_l.weight")
    project = cfg.get("project", False)
    if xs is None:
        width = shape_of(p, "lin.weight")[1] if project else fin_l
        xs = missing_source(xs, rel, width).to(xd.dtype)
    msg = xs
    if project:
        fin = xs.shape[1]
        msg = F.relu(linear(xs, p.get("lin.weight", (fin, fin)),
                            p.get("lin.bias", (fin,))))
    agg = aggregate(msg[rel.src], rel.dst, rel.n_dst, cfg.get("aggr", "mean"))
    bias = p.get("lin_l.bias", (fout,)) if cfg.get("bias", True) else None
    out = linear(agg, p.get("lin_l.weight", (fout, msg.shape[1])), bias)
    if cfg.get("root_weight", True):
        out = out + linear(xd, p.get("lin_r.weight", (fout, xd.shape[1])))
    if cfg.get("normalize", False):
        out = out / out.norm(p=2, dim=-1, keepdim=True).clamp(min=1e-12)
    return out


def gcn_conv(cfg, p, xs, xd, rel):
    """GCNConv (pyg_ref.gcn_conv); PyG's GCNConv takes no bipartite input."""
    if xs is not xd:
        raise ValueError("GCNConv needs an edge type whose source and "
                         "target types are the same")
    fout, fin = shape_of(p, "lin.weight")
    cfg = dict(cfg, in_channels=fin, out_channels=fout)
    g = pyg_ref.Graph(rel.n_dst, rel.src, rel.dst, None)
    return pyg_ref.gcn_conv(cfg, p, xd, g)


def self_loop_attr(attr, dst, n, fill):
    """add_self_loops' loop attributes for fill_value `fill` (loop.py)."""
    if fill is None:
        return attr.new_ones((n,) + tuple(attr.shape[1:]))
    if isinstance(fill, (int, float)) and not isinstance(fill, bool):
        return attr.new_full((n,) + tuple(attr.shape[1:]), float(fill))
    if isinstance(fill, list):
        return attr.new_tensor(fill).expand(n, -1).clone()
    if fill in ("add", "sum", "mean"):
        return aggregate(attr, dst, n, "sum" if fill == "add" else fill)
    if fill in ("max", "min"):
        return scatter_extreme(attr, dst, n, "a" + fill)
    raise ValueError(f"fill_value {fill!r} not supported")


def gat_conv(cfg, p, xs, xd, rel):
    """GATConv on (x_s, x_d), optionally with edge attributes.

    alpha_ij = softmax_i(leaky_relu(a_src·W_s x_j + a_dst·W_d x_i
    [+ att_edge·W_e e_ij])), out_i = Σ_j alpha_ij W_s x_j, heads
    concatenated or averaged, plus bias.
    """
    if cfg.get("residual", False):
        raise ValueError("GATConv residual is not supported")
    _, heads, c = shape_of(p, "att_src")
    if cfg.get("heads", heads) != heads or \
            cfg.get("out_channels", c) not in (c, -1):
        raise ValueError("GATConv heads/out_channels differ from att_src")
    hc = heads * c
    if p.has("lin.weight"):
        w_src = w_dst = p.get("lin.weight", (hc, xd.shape[1]))
    else:
        w_src = p.get("lin_src.weight", (hc, shape_of(p, "lin_src.weight")[1]))
        w_dst = p.get("lin_dst.weight", (hc, xd.shape[1]))
    if xs is None:
        xs = missing_source(xs, rel, w_src.shape[1]).to(xd.dtype)
    if xs.shape[1] != w_src.shape[1]:
        raise ValueError(f"GATConv {p.prefix}: source width {xs.shape[1]}, "
                         f"weight {tuple(w_src.shape)}")
    hs = linear(xs, w_src).view(-1, heads, c)
    hd = linear(xd, w_dst).view(-1, heads, c)
    a_src = (hs * p.get("att_src", (1, heads, c))).sum(-1)          # [Ns, H]
    a_dst = (hd * p.get("att_dst", (1, heads, c))).sum(-1)          # [Nd, H]

    src, dst, attr = rel.src, rel.dst, None
    if p.has("lin_edge.weight"):
        edge_dim = shape_of(p, "lin_edge.weight")[1]
        attr = rel.attr
        if attr is None and src.numel() == 0:
            attr = torch.zeros((0, edge_dim), dtype=xd.dtype)
        if attr is None or attr.shape[1] != edge_dim:
            raise ValueError(f"GATConv {p.prefix} needs edge attributes "
                             f"of width {edge_dim}")
    if cfg.get("add_self_loops", True):
        if xs is not xd:
            raise ValueError("GATConv add_self_loops needs an edge type "
                             "whose source and target types are the same")
        n = min(rel.n_src, rel.n_dst)
        keep = src != dst
        src, dst = src[keep], dst[keep]
        nodes = torch.arange(n)
        if attr is not None:
            attr = attr[keep]
            attr = torch.cat([attr, self_loop_attr(
                attr, dst, n, cfg.get("fill_value", "mean"))])
        src, dst = torch.cat([src, nodes]), torch.cat([dst, nodes])

    scores = a_src[src] + a_dst[dst]                                 # [E, H]
    if attr is not None:
        e = linear(attr, p.get("lin_edge.weight", (hc, attr.shape[1])))
        scores = scores + (e.view(-1, heads, c) *
                           p.get("att_edge", (1, heads, c))).sum(-1)
    scores = F.leaky_relu(scores, cfg.get("negative_slope", 0.2))
    alpha = edge_softmax(scores, dst, rel.n_dst)
    out = scatter_sum(alpha.unsqueeze(-1) * hs[src], dst, rel.n_dst)
    concat = cfg.get("concat", True)
    out = out.reshape(rel.n_dst, hc) if concat else out.mean(dim=1)
    if cfg.get("bias", True):
        out = out + p.get("bias", (hc if concat else c,))
    return out


CONVS = {"GCNConv": gcn_conv, "SAGEConv": sage_conv, "GATConv": gat_conv}


def run_conv(cfg, p, x, edge_type, rels):
    """One conv on one edge type; x maps present node types to features."""
    s, _, d = edge_type
    if d not in x:
        raise ValueError(f"{cfg['type']} on {edge_key(edge_type)}: target "
                         f"type {d!r} has no features")
    xs = x[d] if s == d else x.get(s)
    return CONVS[cfg["type"]](cfg, p, xs, x[d], rels[edge_type])


# ---------------------------------------------------------------------------
# Heterogeneous layers
# ---------------------------------------------------------------------------

def to_hetero_group(outs, aggr):
    """Combine per-edge-type outputs as to_hetero's generated code does."""
    ops = {"sum": torch.add, "mean": torch.add, "max": torch.maximum,
           "min": torch.minimum, "mul": torch.mul}
    if aggr not in ops:
        raise ValueError(f"to_hetero aggr {aggr!r} not supported")
    queue = deque(outs)
    while len(queue) >= 2:
        a, b = queue.popleft(), queue.popleft()
        queue.append(ops[aggr](a, b))
    out = queue[0]
    return out / len(outs) if aggr == "mean" and len(outs) > 1 else out


def hetero_conv_group(outs, aggr):
    """torch_geometric.nn.conv.hetero_conv.group."""
    if len(outs) == 1:
        return outs[0]
    if aggr == "cat":
        return torch.cat(outs, dim=-1)
    if aggr not in ("sum", "mean", "max", "min"):
        raise ValueError(f"HeteroConv aggr {aggr!r} not supported")
    out = getattr(torch, aggr)(torch.stack(outs, dim=0), dim=0)
    return out[0] if isinstance(out, tuple) else out


def hetero_conv(cfg, p, x, rels, edge_types):
    """HeteroConv: each conv on its edge type, grouped per target type."""
    grouped = {}
    for key, conv in cfg["convs"].items():
        edge_type = tuple(key.split("__"))
        if edge_type not in rels:
            raise ValueError(f"HeteroConv edge type {key!r} not in metadata")
        if conv["type"] not in CONVS:
            raise ValueError(f"HeteroConv conv {conv['type']!r} unsupported")
        cp = sub(p, f"convs.{module_dict_key(edge_type)}")
        out = run_conv(conv, cp, x, edge_type, rels)
        grouped.setdefault(edge_type[2], []).append(out)
    aggr = cfg.get("aggr", "sum")
    return {d: hetero_conv_group(outs, aggr) for d, outs in grouped.items()}


def hgt_conv(cfg, p, x, rels, edge_types):
    """HGTConv as PyG >= 2.4 (hgt_conv.py), written per edge type.

    k, q, v = tensor_split(kqv_lin[t](x_t), 3) viewed [N, H, D], D = F/H.
    For edge type number e (metadata order) and head h the relation
    matrices are k_rel.weight[h * E + e] and v_rel.weight[h * E + e]
    ([D, D], applied as x @ W): PyG's _construct_src_node_feat builds
    type_vec = arange(H) * num_edge_types + edge_type_offset.  Each edge
    j -> i of type e scores (q_i · k_j W) * p_rel[e][h] / sqrt(D); the
    softmax runs over all in-edges of i of every edge type; out_i =
    Σ alpha · (v_j W).  Every target type t of the metadata then gets
    out_lin[t](gelu(out)) and, only when that width equals x_t's,
    the skip blend a·out + (1 - a)·x_t with a = sigmoid(skip[t]).
    """
    heads = shape_of(p, f"p_rel.{edge_key(edge_types[0])}")[1]
    num_types = len(edge_types)
    k_rel_shape = shape_of(p, "k_rel.weight")
    dim = k_rel_shape[1]
    fout = heads * dim
    if k_rel_shape != (heads * num_types, dim, dim):
        raise ValueError(f"{p.prefix}.k_rel.weight: shape {k_rel_shape}")
    if cfg.get("heads", heads) != heads or \
            cfg.get("out_channels", fout) != fout:
        raise ValueError("HGTConv heads/out_channels differ from weights")
    k_rel = p.get("k_rel.weight", k_rel_shape)
    v_rel = p.get("v_rel.weight", k_rel_shape)

    k, q, v = {}, {}, {}
    for t, xt in x.items():
        lin = sub(p, f"kqv_lin.lins.{t}")
        kqv = linear(xt, lin.get("weight", (3 * fout, xt.shape[1])),
                     lin.get("bias", (3 * fout,)))
        k[t], q[t], v[t] = (part.reshape(-1, heads, dim)
                            for part in torch.tensor_split(kqv, 3, dim=1))

    per_dst = {}            # target type -> [(scores, messages, dst)]
    for e, edge_type in enumerate(edge_types):
        s, _, d = edge_type
        rel = rels[edge_type]
        if d not in q:
            raise ValueError(f"HGTConv: target type {d!r} has no features")
        if s not in k:
            missing_source(None, rel, 0)        # raises if it has edges
            per_dst.setdefault(d, [])
            continue
        idx = torch.arange(heads) * num_types + e
        k_e = torch.einsum("nhd,hde->nhe", k[s], k_rel[idx])
        v_e = torch.einsum("nhd,hde->nhe", v[s], v_rel[idx])
        p_rel = p.get(f"p_rel.{edge_key(edge_type)}", (1, heads))
        score = (q[d][rel.dst] * k_e[rel.src]).sum(-1) * p_rel
        score = score / math.sqrt(dim)
        per_dst.setdefault(d, []).append((score, v_e[rel.src], rel.dst))

    out = {}
    for d in dict.fromkeys(et[2] for et in edge_types):
        parts = per_dst[d]
        n = x[d].shape[0]
        if parts:
            score = torch.cat([part[0] for part in parts])
            msg = torch.cat([part[1] for part in parts])
            dst = torch.cat([part[2] for part in parts])
            alpha = edge_softmax(score, dst, n)
            agg = scatter_sum(alpha.unsqueeze(-1) * msg, dst, n)
        else:
            agg = x[d].new_zeros((n, heads, dim))
        lin = sub(p, f"out_lin.lins.{d}")
        o = linear(pyg_ref.gelu(agg.reshape(n, fout)),
                   lin.get("weight", (fout, fout)), lin.get("bias", (fout,)))
        if o.shape[-1] == x[d].shape[-1]:
            a = torch.sigmoid(p.get(f"skip.{d}", (1,)))
            o = a * o + (1 - a) * x[d]
        out[d] = o
    return out


# ---------------------------------------------------------------------------
# Dense and element-wise layers on every node type
# ---------------------------------------------------------------------------

def node_layer(cfg, p, xt):
    """Linear or BatchNorm1d on one node type, widths from the weights."""
    if cfg["type"] == "Linear":
        fout, fin = shape_of(p, "weight")
        if fin != xt.shape[1]:
            raise ValueError(f"{p.prefix}.weight: input width {xt.shape[1]}")
        return pyg_ref.linear_layer(dict(cfg, in_channels=fin,
                                         out_channels=fout), p, xt, None)
    c = shape_of(p, "running_mean")[0]
    return pyg_ref.batch_norm(dict(cfg, num_features=c), p, xt, None)


def elementwise(cfg, x):
    kind = cfg["type"]
    if kind == "Dropout":
        return dict(x)
    if kind not in pyg_ref.ELEMENTWISE:
        raise ValueError(f"unknown layer type {kind!r}")
    return {t: pyg_ref.ELEMENTWISE[kind](cfg, v) for t, v in x.items()}


def run_to_hetero(spec, state, x, rels, edge_types, dtype):
    aggr = spec["to_hetero"].get("aggr", "sum")
    for layer in spec["layers"]:
        kind, prefix = layer["type"], layer.get("prefix", "")
        if kind in CONVS:
            outs = {}
            for edge_type in edge_types:
                p = Params(state, f"{prefix}.{to_hetero_key(edge_type)}",
                           dtype)
                outs.setdefault(edge_type[2], []).append(
                    run_conv(layer, p, x, edge_type, rels))
            x = {d: to_hetero_group(o, aggr) for d, o in outs.items()}
        elif kind in ("Linear", "BatchNorm1d"):
            if "node_types" in layer:
                raise ValueError("node_types is not a to_hetero option")
            x = {t: node_layer(layer, Params(
                state, f"{prefix}.{to_hetero_key(t)}", dtype), v)
                for t, v in x.items()}
        else:
            x = elementwise(layer, x)
    return x


def run_layers(spec, state, x, rels, edge_types, dtype):
    for layer in spec["layers"]:
        kind = layer["type"]
        p = Params(state, layer.get("prefix", ""), dtype)
        if kind == "HeteroConv":
            x = hetero_conv(layer, p, x, rels, edge_types)
        elif kind == "HGTConv":
            x = hgt_conv(layer, p, x, rels, edge_types)
        elif kind in CONVS:
            if len(edge_types) != 1:
                raise ValueError(f"a bare {kind} needs metadata with one "
                                 "edge type (use to_hetero or HeteroConv)")
            edge_type = edge_types[0]
            x = {edge_type[2]: run_conv(layer, p, x, edge_type, rels)}
        elif kind in ("Linear", "BatchNorm1d"):
            types = layer.get("node_types", list(x))
            missing = [t for t in types if t not in x]
            if missing:
                raise ValueError(f"{kind} {p.prefix}: node types {missing} "
                                 "have no features")
            x = {t: node_layer(layer, p, x[t]) for t in types}
        else:
            x = elementwise(layer, x)
    return x


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

def metadata_of(spec, graph):
    """(node types, edge types as tuples) from the spec, else the graph."""
    meta = spec.get("metadata")
    if meta is None:
        return list(graph.nodes), [tuple(k) for k in graph.edges]
    return list(meta["node_types"]), [tuple(k) for k in meta["edge_types"]]


def forward_hetero(spec, state, x, rels, node_types, edge_types,
                   dtype=torch.float64):
    """Output dict {type: tensor} for features x {type: [N_t, F_t]} and rels
    {edge_type: Rel}; state maps names to tensors or numpy arrays."""
    x = {t: torch.as_tensor(x[t]).to(dtype) for t in node_types}
    if "to_hetero" in spec:
        return run_to_hetero(spec, state, x, rels, edge_types, dtype)
    return run_layers(spec, state, x, rels, edge_types, dtype)


def build_rels(graph, node_types, edge_types, dtype=torch.float64):
    """Row-number edge lists per edge type (ids mapped per node type)."""
    rows = {}
    for t in node_types:
        ids = graph.nodes[t][0]
        rows[t] = {node: i for i, node in enumerate(ids)}
        if len(rows[t]) != len(ids):
            raise ValueError(f"duplicate {t} id")
    rels = {}
    for edge_type in edge_types:
        s, _, d = edge_type
        el = graph.edges[edge_type]
        try:
            src = torch.tensor([rows[s][i] for i in el.src], dtype=torch.long)
            dst = torch.tensor([rows[d][i] for i in el.dst], dtype=torch.long)
        except KeyError as exc:
            raise ValueError(f"{edge_key(edge_type)}: unknown node id "
                             f"{exc}") from None
        attr = None
        if el.attr is not None and len(el.src):
            attr = torch.as_tensor(np.asarray(el.attr)).to(dtype)
        rels[edge_type] = Rel(src, dst, attr, len(rows[s]), len(rows[d]))
    return rels


def predict_hetero(spec, state, graph):
    """float64 reference outputs {node_type: (ids, ndarray [N, F])}.

    graph is a HeteroGraph; the output has the node types present after
    the last layer, each in its nodes' input order.
    """
    node_types, edge_types = metadata_of(spec, graph)
    rels = build_rels(graph, node_types, edge_types)
    x = {t: graph.nodes[t][1] for t in node_types}
    with torch.no_grad():
        out = forward_hetero(spec, state, x, rels, node_types, edge_types)
    return {t: (graph.nodes[t][0], v.numpy()) for t, v in out.items()}


# ---------------------------------------------------------------------------
# CSV files
# ---------------------------------------------------------------------------

def read_edge_list(path):
    """EdgeList from src,dst[,weight][,edge_attr] (missing columns: None)."""
    src, dst, weight, attr = [], [], [], []
    with pyg_ref.open_text(path) as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames or []
        for rec in reader:
            src.append(int(rec["src"]))
            dst.append(int(rec["dst"]))
            if "weight" in fields:
                weight.append(float(rec["weight"]))
            if "edge_attr" in fields:
                attr.append(pyg_ref.parse_array(rec["edge_attr"]))
    w = np.array(weight, np.float32) if "weight" in fields else None
    a = None
    if "edge_attr" in fields:
        a = np.stack(attr) if attr else np.zeros((0, 0), np.float32)
    return EdgeList(src, dst, w, a)


def read_hetero_graph(directory, node_types, edge_types):
    """nodes_<type>.csv and edges_<s>__<rel>__<d>.csv from a directory."""
    nodes = {t: pyg_ref.read_nodes(os.path.join(directory, f"nodes_{t}.csv"))
             for t in node_types}
    edges = {et: read_edge_list(os.path.join(
        directory, f"edges_{edge_key(et)}.csv")) for et in edge_types}
    return HeteroGraph(nodes, edges)


def output_text(result):
    """node_type,id,embedding CSV text, ordered by node type, then id."""
    text = io.StringIO(newline="")
    w = csv.writer(text, lineterminator="\n")
    w.writerow(["node_type", "id", "embedding"])
    for t in sorted(result):
        ids, out = result[t]
        for i in sorted(range(len(ids)), key=lambda i: ids[i]):
            w.writerow([t, ids[i], pyg_ref.format_array(out[i])])
    return text.getvalue()


def write_hetero_output(path, result):
    with open(path, "wb") as f:
        f.write(output_text(result).encode("utf-8"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spec", required=True, help="model spec JSON")
    ap.add_argument("--weights", required=True, help="safetensors file")
    ap.add_argument("--graph", required=True,
                    help="directory of nodes_<type>.csv/edges_<s>__<r>__<d>"
                         ".csv")
    ap.add_argument("--out", required=True, help="output CSV")
    args = ap.parse_args(argv)
    with open(args.spec, encoding="utf-8") as f:
        spec = json.load(f)
    if "metadata" not in spec:
        ap.error("the spec needs metadata to find the graph's files")
    state = safetensors_io.load(args.weights).tensors
    node_types, edge_types = metadata_of(spec, None)
    graph = read_hetero_graph(args.graph, node_types, edge_types)
    write_hetero_output(args.out, predict_hetero(spec, state, graph))


if __name__ == "__main__":
    main()
