#!/usr/bin/env python3
"""Reference activations for the bring-your-own-model parity test (CustomModelTests).

    /usr/bin/python3 tests/Engine.Tests/Custom/custom_reference.py CLASS SEED OUTDIR

Builds user_model.CLASS (TinyNet or ViewNet) with seeded weights (and non-trivial
batch-norm statistics), exports it with tools/export_model.py's export() as
OUTDIR/net.model.json and OUTDIR/net.safetensors, and writes OUTDIR/activations.safetensors:
"input" (a seeded, already preprocessed batch) and PyTorch's output of every exported layer."""
import json
import os
import sys

import torch
import torch.fx

sys.dont_write_bytecode = True
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "..", "..", "tools"))
from export_model import PREPROCESSING, export  # noqa: E402
from mslayout import write_safetensors  # noqa: E402
from parity_reference import randomize_batch_norms  # noqa: E402
import user_model  # noqa: E402


class Recorder(torch.fx.Interpreter):
    def __init__(self, gm):
        super().__init__(gm)
        self.outputs = {}

    def run_node(self, n):
        out = super().run_node(n)
        if isinstance(out, torch.Tensor):
            self.outputs[n.name] = out.detach().clone()
        return out


def main():
    cls, seed, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    torch.manual_seed(seed)
    model = getattr(user_model, cls)()
    size = {"TinyNet": 64, "ViewNet": 16}[cls]
    randomize_batch_norms(model)
    model.eval()
    spec, tensors, layer_of = export(model, "net", size, PREPROCESSING["imagenet"], dataset="none (parity test)")
    with open(f"{out}/net.model.json", "w") as f:
        json.dump(spec, f, indent=2)
    write_safetensors(f"{out}/net.safetensors", tensors)
    x = torch.randn(2, 3, size, size)
    recorder = Recorder(torch.fx.symbolic_trace(model))
    with torch.no_grad():
        recorder.run(x)
    # The last fx node that produced each layer's output (identities map to their input).
    acts = {}
    for node_name, layer in layer_of.items():
        if layer != "input" and node_name in recorder.outputs:
            acts[layer] = recorder.outputs[node_name].numpy()
    write_safetensors(f"{out}/activations.safetensors", {"input": x.numpy(), **acts})
    print(f"{cls}: {len(spec['layers'])} layers, {len(acts)} activations")


if __name__ == "__main__":
    main()
