#!/usr/bin/env python3
"""Exports torchvision CNN classifiers to ONNX with seeded random weights: the ONNX
importer's parity models (tests/Engine.Tests/Onnx).

    /usr/bin/python3 tools/export_onnx_zoo.py OUTDIR [MODEL ...]

Writes OUTDIR/MODEL.onnx for each MODEL (default: all below) with torch.onnx at the opset
listed beside it (spread over 9-17 so the importer sees each opset's spelling of the same
ops), batch 1 at the model's input size, plus OUTDIR/tiny.onnx: a small CNN that uses the
ops the classifiers do not (PRelu, LeakyRelu, Elu, HardSigmoid, Tanh, Sigmoid, Resize,
Pad, Split, Transpose, Gemm, Softmax, and torch's shape arithmetic for padding and
flattening), for the gradient and coverage tests, and OUTDIR/legacy.onnx, written node by
node with onnx.helper in opset 9 spellings torch does not produce (LRN, Upsample, Clip
with attributes, GlobalMaxPool, MatMul + Add, Dropout). An existing file is kept (the tests
export once per cache folder). Needs Debian's python3-torch and
python3-torchvision 1.13 / 0.14; nothing here runs at render time."""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.dont_write_bytecode = True

# name: (constructor, input size, opset)
MODELS = {
    "alexnet": (lambda: torchvision.models.alexnet(weights=None), 224, 9),
    "vgg16": (lambda: torchvision.models.vgg16(weights=None), 224, 10),
    "squeezenet1_1": (lambda: torchvision.models.squeezenet1_1(weights=None), 224, 11),
    "googlenet": (lambda: torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True), 224, 12),
    "resnet50": (lambda: torchvision.models.resnet50(weights=None), 224, 13),
    "inception_v3": (lambda: torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=True), 299, 13),
    "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(weights=None), 224, 14),
    "mobilenet_v3_small": (lambda: torchvision.models.mobilenet_v3_small(weights=None), 224, 15),
    "efficientnet_b0": (lambda: torchvision.models.efficientnet_b0(weights=None), 224, 16),
    "densenet121": (lambda: torchvision.models.densenet121(weights=None), 224, 17),
}


class Tiny(nn.Module):
    """A small CNN over the ops the torchvision classifiers do not export."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.prelu = nn.PReLU(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=2)
        self.conv3 = nn.Conv2d(4, 6, 1)
        self.fc = nn.Linear(6 * 4 * 4, 10)

    def forward(self, x):
        x = self.prelu(self.conv1(x))                     # 8 x 16 x 16
        x = F.leaky_relu(self.conv2(x), 0.1)
        x = F.pad(x, (1, 0, 0, 1))                        # asymmetric Pad, 8 x 17 x 17
        x = F.max_pool2d(x, 3, 2, ceil_mode=True)         # 8 x 8 x 8
        a, b = torch.split(x, 4, dim=1)
        x = F.elu(a) * torch.sigmoid(b) + torch.tanh(b) - F.hardsigmoid(a)
        x = self.conv3(x)
        x = F.interpolate(x, scale_factor=2, mode="nearest")           # 6 x 16 x 16
        x = F.avg_pool2d(x, 3, 4, padding=1, count_include_pad=False)  # 6 x 4 x 4
        x = x.transpose(2, 3).reshape(x.size(0), -1)
        return F.softmax(self.fc(x), dim=1)


def legacy(path):
    """Opset 9 spellings, node by node: Conv, LRN, Upsample, Clip(min, max attributes),
    GlobalMaxPool, Flatten, MatMul + Add, Dropout, Softmax."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32), "w"),
        numpy_helper.from_array(rng.normal(0, 0.1, (8,)).astype(np.float32), "b"),
        numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales"),
        numpy_helper.from_array(rng.normal(0, 0.3, (8, 5)).astype(np.float32), "fc_w"),
        numpy_helper.from_array(rng.normal(0, 0.1, (5,)).astype(np.float32), "fc_b"),
    ]
    nodes = [
        helper.make_node("Conv", ["image", "w", "b"], ["conv"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("LRN", ["conv"], ["lrn"], name="lrn", size=3, alpha=1e-2, beta=0.75, bias=1.0),
        helper.make_node("Upsample", ["lrn", "scales"], ["up"], name="up", mode="nearest"),
        helper.make_node("Clip", ["up"], ["clip"], name="clip", min=-0.5, max=0.8),
        helper.make_node("Dropout", ["clip"], ["drop"], name="drop", ratio=0.5),
        helper.make_node("GlobalMaxPool", ["drop"], ["gmax"], name="gmax"),
        helper.make_node("Flatten", ["gmax"], ["flat"], name="flat", axis=1),
        helper.make_node("MatMul", ["flat", "fc_w"], ["mm"], name="mm"),
        helper.make_node("Add", ["mm", "fc_b"], ["logits"], name="logits"),
        helper.make_node("Softmax", ["logits"], ["output"], name="softmax", axis=1),
    ]
    graph = helper.make_graph(nodes, "legacy", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 16, 16])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 5])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)], producer_name="export_onnx_zoo.py")
    model.ir_version = 4
    onnx.checker.check_model(model)
    onnx.save(model, path + ".part")
    os.replace(path + ".part", path)


def randomize_batch_norms(model):
    """Seeded non-trivial statistics and affine parameters, so no batch norm is an identity."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)


def export(model, size, opset, path):
    model.eval()
    tmp = path + ".part"
    with torch.no_grad():
        torch.onnx.export(model, torch.randn(1, 3, size, size), tmp, opset_version=opset,
                          input_names=["image"], output_names=["output"], do_constant_folding=True)
    os.replace(tmp, path)  # a killed export leaves no half file the tests would read


def main():
    out = sys.argv[1]
    names = sys.argv[2:] or [*MODELS, "tiny", "legacy"]
    os.makedirs(out, exist_ok=True)
    for name in names:
        path = os.path.join(out, name + ".onnx")
        if os.path.exists(path):
            continue
        torch.manual_seed(0)
        if name == "tiny":
            export(Tiny(), 32, 11, path)
            continue
        if name == "legacy":
            legacy(path)
            continue
        build, size, opset = MODELS[name]
        model = build()
        randomize_batch_norms(model)
        export(model, size, opset, path)
        print(f"{name}: opset {opset}, {os.path.getsize(path) // 1000000} MB", flush=True)


if __name__ == "__main__":
    main()
