#!/usr/bin/env python3
"""Writes the generator test models as ONNX (tests/Engine.Tests/Onnx/GeneratorTests.cs):
GAN-style generators whose input is a latent vector, and the ConvTranspose variants.

    /usr/bin/python3 tools/export_generators.py OUTDIR [MODEL ...]

MODELS (default: all):
  dcgan          a DCGAN generator (Radford et al. 2016) with seeded random weights:
                 latent [N, 16, 1, 1] -> 4 ConvTranspose (the first 1 -> 4 px, then
                 stride 2, pads 1) with BatchNormalization (statistics of latents from the prior) and
                 ReLU -> Tanh image [N, 3, 32, 32]; opset 11.
  dcgan_fc       the same idea from a flat latent [N, 24]: Gemm (Linear) -> Reshape
                 (Unflatten) -> BatchNormalization -> ReLU -> ConvTranspose ... -> Tanh
                 image [N, 3, 16, 16]; opset 13.
  convtranspose  ConvTranspose variants written node by node on an image input
                 [1, 3, 8, 8], one branch each: output_padding, groups with asymmetric
                 pads, dilations, auto_pad SAME_UPPER and SAME_LOWER, output_shape, no
                 bias; opset 11.
An existing file is kept (the tests export once per cache folder named after this script's
hash). Needs Debian's python3-torch 1.13 and python3-onnx; nothing here runs at render time.
A trained generator to look at: tools/train_generator.py."""
import os
import sys

import torch
import torch.nn as nn

sys.dont_write_bytecode = True


class DCGAN(nn.Module):
    """Latent [N, Z, 1, 1] -> image [N, 3, 32, 32] in [-1, 1]."""

    def __init__(self, z=16, width=32):
        super().__init__()
        w = width

        def up(cin, cout):
            return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]

        self.net = nn.Sequential(
            nn.ConvTranspose2d(z, w, 4, 1, 0, bias=False), nn.BatchNorm2d(w), nn.ReLU(True),  # 4 x 4
            *up(w, w // 2),                                                                  # 8 x 8
            *up(w // 2, w // 4),                                                             # 16 x 16
            nn.ConvTranspose2d(w // 4, 3, 4, 2, 1), nn.Tanh())                               # 32 x 32

    def forward(self, z):
        return self.net(z)


class FlatLatentGenerator(nn.Module):
    """Latent [N, Z] -> Linear -> view as [N, C, 4, 4] -> image [N, 3, 16, 16] in [-1, 1]
    (torch 1.13 exports no aten::unflatten: the view is a Reshape)."""

    def __init__(self, z=24, width=16):
        super().__init__()
        self.width = width
        self.fc = nn.Linear(z, width * 4 * 4)
        self.net = nn.Sequential(
            nn.BatchNorm2d(width), nn.ReLU(True),
            nn.ConvTranspose2d(width, width // 2, 4, 2, 1), nn.BatchNorm2d(width // 2), nn.ReLU(True),  # 8 x 8
            nn.ConvTranspose2d(width // 2, 3, 4, 2, 1), nn.Tanh())                                      # 16 x 16

    def forward(self, z):
        return self.net(self.fc(z).view(-1, self.width, 4, 4))


def calibrate_batch_norms(model, latent_shape):
    """Batch-norm statistics as training leaves them (each layer's mean and variance over
    latents from the prior, so its outputs vary with the latent), then seeded affine
    parameters so no batch norm is an identity."""
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches below
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(torch.randn(64, *latent_shape[1:]))
        for m in norms:
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.2, 0.4)
    model.eval()


def export_generator(model, latent_shape, opset, path):
    model.eval()
    tmp = path + ".part"
    with torch.no_grad():
        torch.onnx.export(model, torch.randn(*latent_shape), tmp, opset_version=opset,
                          input_names=["z"], output_names=["image"], do_constant_folding=True,
                          dynamic_axes={"z": {0: "batch"}, "image": {0: "batch"}})
    os.replace(tmp, path)  # a killed export leaves no half file the tests would read


def convtranspose(path):
    """One branch per ConvTranspose variant, all reading the image."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits, nodes, outputs = [], [], []

    def branch(name, weight_shape, bias=True, **attributes):
        inits.append(numpy_helper.from_array(rng.normal(0, 0.3, weight_shape).astype(np.float32), name + "_w"))
        inputs = ["image", name + "_w"]
        if bias:
            out_channels = weight_shape[1] * attributes.get("group", 1)
            inits.append(numpy_helper.from_array(rng.normal(0, 0.2, (out_channels,)).astype(np.float32), name + "_b"))
            inputs.append(name + "_b")
        nodes.append(helper.make_node("ConvTranspose", inputs, [name], name=name, **attributes))
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["n", "c", "h", "w"]))

    branch("output_padding", (3, 4, 3, 3), strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1])
    branch("groups_asymmetric", (3, 2, 3, 3), group=3, strides=[2, 2], pads=[0, 1, 1, 0])
    branch("dilated", (3, 2, 3, 3), strides=[3, 2], dilations=[2, 2], pads=[2, 1, 2, 1], output_padding=[2, 1])
    branch("same_upper", (3, 2, 3, 3), strides=[2, 2], auto_pad="SAME_UPPER")
    branch("same_lower", (3, 2, 4, 4), strides=[2, 2], auto_pad="SAME_LOWER")
    branch("output_shape", (3, 2, 3, 3), strides=[2, 2], output_shape=[16, 16])
    branch("no_bias", (3, 5, 2, 2), bias=False, strides=[2, 2])
    graph = helper.make_graph(nodes, "convtranspose", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 8, 8])],
                              outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)], producer_name="export_generators.py")
    model.ir_version = 6
    onnx.checker.check_model(model)
    onnx.save(model, path + ".part")
    os.replace(path + ".part", path)


def main():
    out = sys.argv[1]
    names = sys.argv[2:] or ["dcgan", "dcgan_fc", "convtranspose"]
    os.makedirs(out, exist_ok=True)
    for name in names:
        path = os.path.join(out, name + ".onnx")
        if os.path.exists(path):
            continue
        torch.manual_seed(0)
        if name == "dcgan":
            model = DCGAN()
            calibrate_batch_norms(model, (1, 16, 1, 1))
            export_generator(model, (1, 16, 1, 1), 11, path)
        elif name == "dcgan_fc":
            model = FlatLatentGenerator()
            calibrate_batch_norms(model, (1, 24))
            export_generator(model, (1, 24), 13, path)
        elif name == "convtranspose":
            convtranspose(path)
        else:
            sys.exit(f"unknown model '{name}' (dcgan, dcgan_fc, convtranspose)")
        print(f"{name}: {os.path.getsize(path)} bytes", flush=True)


if __name__ == "__main__":
    main()
