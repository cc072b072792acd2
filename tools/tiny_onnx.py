#!/usr/bin/python3
"""Writes a tiny seeded CNN as ONNX (the farm's tests add it to a running farm).

usage: tools/tiny_onnx.py OUT.onnx [--seed N] [--size PX] [--break unsupported-op|no-image-input]
Debian's python3-torch exports it; the weights are seeded, so the same seed gives the same
file (and the same model version). --break writes a file the farm must refuse (python3-onnx
edits the export): a ReLU node turned into an Einsum, or the image input made a vector."""
import argparse

import torch


class TinyNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(4, 6, 3, stride=2, padding=1)
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(6, 5)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        return self.fc(torch.flatten(self.pool(x), 1))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--break", dest="broken", choices=["unsupported-op", "no-image-input"])
    a = p.parse_args()
    torch.manual_seed(a.seed)
    model = TinyNet().eval()
    torch.onnx.export(model, torch.zeros(1, 3, a.size, a.size), a.out, opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    if a.broken:
        import onnx
        m = onnx.load(a.out)
        if a.broken == "unsupported-op":
            next(n for n in m.graph.node if n.op_type == "Relu").op_type = "Einsum"
        else:
            dims = m.graph.input[0].type.tensor_type.shape.dim
            del dims[2:]
        onnx.save(m, a.out)
    print(f"{a.out}: TinyNet, seed {a.seed}, {a.size} px{', broken: ' + a.broken if a.broken else ''}")


if __name__ == "__main__":
    main()
