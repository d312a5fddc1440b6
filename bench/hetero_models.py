"""Write the heterogeneous benchmark models for bench/hetero.sh.

The graph of bench/hetero.sh has node types user and item (128 features
each) and the edge types of METADATA.  Two models, 128 hidden channels:

  het_sage  to_hetero(GraphSAGE, metadata, aggr="sum"): SAGEConv((-1, -1),
            128), ReLU, SAGEConv(128, 128), one copy per edge type
            ("conv1.user__follows__user.lin_l.weight", ...)
  het_hgt   HGTConv({user: 128, item: 128}, 128, heads=4), ReLU,
            HGTConv(128, 128, heads=4)

Specs are in the format of tools/gen_hetero_fixtures.py (its spec(),
conv() and act() build them) and the weights are made by its WeightMaker,
so they carry PyG's parameter names: random, seeded by the crc32 of the
model name, written F32 with tools/safetensors_io.py.  As in
bench/make_models.py, the draws are scaled down by the square root of the
fan-in (a tensor's last dimension) so that 128-wide layers keep their
outputs O(1).  Running the script twice writes byte-identical files.

    /usr/bin/python3 bench/hetero_models.py [out_dir]    (default bench/models)
"""

import json
import os
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tools"))
import gen_hetero_fixtures as ghf  # noqa: E402
import safetensors_io  # noqa: E402

HIDDEN = 128
HEADS = 4
WIDTHS = {"user": 128, "item": 128}
EDGE_TYPES = [("user", "follows", "user"), ("user", "clicks", "item"),
              ("item", "rev_clicks", "user"), ("item", "similar", "item")]
METADATA = {"node_types": list(WIDTHS),
            "edge_types": [list(et) for et in EDGE_TYPES]}


def hgt(prefix, fin):
    return {"type": "HGTConv", "prefix": prefix, "in_channels": fin,
            "out_channels": HIDDEN, "heads": HEADS}


MODELS = {
    "het_sage": ghf.spec([ghf.conv("SAGEConv", "conv1", -1, HIDDEN),
                          ghf.act("ReLU"),
                          ghf.conv("SAGEConv", "conv2", HIDDEN, HIDDEN)],
                         metadata=METADATA, to_hetero="sum"),
    "het_hgt": ghf.spec([hgt("conv1", dict(WIDTHS)),
                         ghf.act("ReLU"),
                         hgt("conv2", HIDDEN)],
                        metadata=METADATA),
}


def weights(name, spec):
    """PyG-named float32 tensors of one model (WeightMaker of the fixtures,
    reading the input widths of this graph)."""
    maker = ghf.WeightMaker(np.random.default_rng(zlib.crc32(name.encode())))
    maker.normal = lambda *shape, scale=0.5, m=maker: (
        m.rng.standard_normal(shape) * scale / np.sqrt(shape[-1]))
    saved, ghf.WIDTHS = ghf.WIDTHS, WIDTHS   # WeightMaker.model reads it
    try:
        tensors = maker.model(spec)
    finally:
        ghf.WIDTHS = saved
    return {k: np.asarray(v, np.float32) if v.dtype.kind == "f" else v
            for k, v in tensors.items()}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "models")
    os.makedirs(out, exist_ok=True)
    for name, spec in MODELS.items():
        with open(os.path.join(out, name + ".json"), "w",
                  encoding="utf-8") as f:
            f.write(json.dumps(spec, indent=1) + "\n")
        tensors = weights(name, spec)
        safetensors_io.save(os.path.join(out, name + ".safetensors"),
                            tensors, metadata={"format": "pt"})


if __name__ == "__main__":
    main()
