"""Write the benchmark models: 2-layer SAGE, GCN and GAT, 128 hidden channels.

Each model reads 128 input features and writes 128 outputs; GAT uses 4 heads
of 32 channels in its first layer.  Weights are random (seeded) and follow
PyG's parameter names, written with tools/safetensors_io.py.

    /usr/bin/python3 bench/make_models.py [out_dir]    (default bench/models)
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import safetensors_io  # noqa: E402
from gen_fixtures import WeightMaker  # noqa: E402

WIDTH = 128

MODELS = {
    "sage": [dict(type="SAGEConv", prefix="convs.0", in_channels=WIDTH,
                  out_channels=WIDTH),
             dict(type="ReLU"),
             dict(type="SAGEConv", prefix="convs.1", in_channels=WIDTH,
                  out_channels=WIDTH)],
    "gcn": [dict(type="GCNConv", prefix="convs.0", in_channels=WIDTH,
                 out_channels=WIDTH),
            dict(type="ReLU"),
            dict(type="GCNConv", prefix="convs.1", in_channels=WIDTH,
                 out_channels=WIDTH)],
    "gat": [dict(type="GATConv", prefix="convs.0", in_channels=WIDTH,
                 out_channels=WIDTH // 4, heads=4),
            dict(type="ELU"),
            dict(type="GATConv", prefix="convs.1", in_channels=WIDTH,
                 out_channels=WIDTH, heads=1)],
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "models")
    os.makedirs(out, exist_ok=True)
    for i, (name, layers) in enumerate(sorted(MODELS.items())):
        maker = WeightMaker(np.random.default_rng(100 + i), {})
        maker.normal = lambda *shape, scale=0.5, m=maker: (
            m.rng.standard_normal(shape) * scale / np.sqrt(WIDTH))
        maker.layers(layers, lambda j, layer: layer.get("prefix"))
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump({"layers": layers}, f, indent=1)
        safetensors_io.save(os.path.join(out, name + ".safetensors"),
                            maker.tensors, metadata={"format": "pt"})


if __name__ == "__main__":
    main()
