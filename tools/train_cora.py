"""Train a 2-layer GNN on Cora and export it for gnnjit.

Reads data/cora/nodes.csv.gz (id,label,split,features; features are the
1433 binary bag-of-words values, used as stored, without normalisation) and
data/cora/edges.csv.gz (src,dst), and trains, in plain torch with the layer
code of pyg_ref.py (float32), the model PyG would build as

    GCN:       GCNConv(1433, 64) -> ReLU -> Dropout(0.5) -> GCNConv(64, 7)
    GraphSAGE: SAGEConv(1433, 64) -> ReLU -> Dropout(0.5) -> SAGEConv(64, 7)

(PyG's GCN(1433, 64, 2, 7, dropout=0.5) and GraphSAGE(...) respectively),
for a fixed number of epochs with Adam (lr 0.01, weight decay 5e-4) on the
140 training nodes.  Nothing is selected by test accuracy: the model after
the last epoch is exported.  GCN is the default because it reached the
higher validation accuracy over eight seeds (GCN 0.765-0.776, GraphSAGE
0.760-0.782 with a wider spread).

Writes to data/cora/:
    model.json           the model spec
    model.safetensors    float32 weights with PyG parameter names
    accuracy.txt         test accuracy of the exported model, evaluated in
                         float32 eval mode (argmax of the output), as
                         "0.812" and "812/1000" on two lines
    expected.csv.gz      id,embedding: the exported model's output for every
                         node from the float64 reference (pyg_ref.py)

Usage:
    /usr/bin/python3 tools/train_cora.py [--model gcn|sage] [--seed 0]
        [--epochs 200] [--out data/cora]
Runs single-threaded so the result is reproducible; takes about a minute.
"""

import argparse
import csv
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyg_ref  # noqa: E402
import safetensors_io  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HIDDEN, DROPOUT = 64, 0.5


def load_cora(directory):
    """Features [N, 1433], labels, split names and edge_index of Cora."""
    path = os.path.join(directory, "nodes.csv.gz")
    ids, features = pyg_ref.read_nodes(path)
    meta = {}
    with pyg_ref.open_text(path) as f:
        for rec in csv.DictReader(f):
            meta[int(rec["id"])] = (int(rec["label"]), rec["split"])
    labels = np.array([meta[i][0] for i in ids], dtype=np.int64)
    splits = np.array([meta[i][1] for i in ids])
    src, dst, _ = pyg_ref.read_edges(os.path.join(directory, "edges.csv.gz"))
    edge_index = pyg_ref.edge_index_of(ids, src, dst)
    return ids, features, labels, splits, edge_index


def model_spec(kind, fin, classes):
    """Spec of the 2-layer model; prefixes follow PyG's BasicGNN (convs.i)."""
    conv = {"gcn": "GCNConv", "sage": "SAGEConv"}[kind]
    return {"layers": [
        {"type": conv, "prefix": "convs.0", "in_channels": fin,
         "out_channels": HIDDEN},
        {"type": "ReLU"},
        {"type": "Dropout", "p": DROPOUT},
        {"type": conv, "prefix": "convs.1", "in_channels": HIDDEN,
         "out_channels": classes},
    ]}


def init_params(kind, spec):
    """Parameters initialised as PyG does for that layer type.

    GCNConv: glorot weight, zero bias.  SAGEConv: torch.nn.Linear's default
    (kaiming-uniform weight, uniform bias in ±1/sqrt(fan_in)).
    """
    params = {}
    for layer in spec["layers"]:
        if "prefix" not in layer:
            continue
        p, fin, fout = (layer["prefix"], layer["in_channels"],
                        layer["out_channels"])
        if kind == "gcn":
            bound = math.sqrt(6.0 / (fin + fout))
            params[f"{p}.lin.weight"] = torch.empty(fout, fin).uniform_(
                -bound, bound)
            params[f"{p}.bias"] = torch.zeros(fout)
        else:
            for name in ("lin_l", "lin_r"):
                w = torch.empty(fout, fin)
                torch.nn.init.kaiming_uniform_(w, a=math.sqrt(5))
                params[f"{p}.{name}.weight"] = w
            b = 1.0 / math.sqrt(fin)
            params[f"{p}.lin_l.bias"] = torch.empty(fout).uniform_(-b, b)
    return {k: torch.nn.Parameter(v) for k, v in params.items()}


def accuracy(logits, labels, mask):
    """(correct, total) of argmax predictions on the masked nodes."""
    pred = logits.argmax(dim=1)
    correct = int((pred[mask] == labels[mask]).sum())
    return correct, int(mask.sum())


def train(kind, seed, epochs, data):
    """Train for a fixed number of epochs; return spec, params, logits."""
    ids, features, labels, splits, edge_index = data
    torch.manual_seed(seed)
    x = torch.from_numpy(features)
    y = torch.from_numpy(labels)
    ei = torch.from_numpy(edge_index)
    train_mask = torch.from_numpy(splits == "train")
    spec = model_spec(kind, x.shape[1], int(y.max()) + 1)
    params = init_params(kind, spec)
    opt = torch.optim.Adam(params.values(), lr=0.01, weight_decay=5e-4)
    for _ in range(epochs):
        opt.zero_grad()
        out = pyg_ref.forward(spec, params, x, ei, dtype=torch.float32,
                              training=True)
        loss = F.cross_entropy(out[train_mask], y[train_mask])
        loss.backward()
        opt.step()
    state = {k: v.detach().clone() for k, v in params.items()}
    with torch.no_grad():
        logits = pyg_ref.forward(spec, state, x, ei, dtype=torch.float32)
    return spec, state, logits


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=["gcn", "sage"], default="gcn")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--out", default=os.path.join(ROOT, "data", "cora"))
    ap.add_argument("--data", default=os.path.join(ROOT, "data", "cora"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    data = load_cora(args.data)
    spec, state, logits = train(args.model, args.seed, args.epochs, data)
    labels = torch.from_numpy(data[2])
    splits = data[3]
    val = accuracy(logits, labels, torch.from_numpy(splits == "val"))
    test = accuracy(logits, labels, torch.from_numpy(splits == "test"))

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "model.json"), "w",
              encoding="utf-8") as f:
        f.write(json.dumps(spec, indent=1) + "\n")
    safetensors_io.save(os.path.join(args.out, "model.safetensors"),
                        {k: v.numpy() for k, v in state.items()},
                        metadata={"format": "pt"})
    with open(os.path.join(args.out, "accuracy.txt"), "w",
              encoding="utf-8") as f:
        f.write("%.3f\n%d/%d\n" % (test[0] / test[1], test[0], test[1]))
    ids, features, _, _, edge_index = data
    with torch.no_grad():
        expected = pyg_ref.forward(spec, state, features, edge_index).numpy()
    pyg_ref.write_output(os.path.join(args.out, "expected.csv.gz"), ids,
                         expected)
    print(f"{args.model} seed {args.seed}: val {val[0]}/{val[1]}, "
          f"test {test[0]}/{test[1]}")


if __name__ == "__main__":
    main()
