#!/usr/bin/env python3
"""The naive feature-visualisation loop the engine's speed is measured against (issue 11,
docs/performance.md): plain PyTorch, InceptionV1 (lucid's inception5h layout, the weights the
engine exports), the WHOLE network every step, weight gradients on (the default for an
nn.Module), lucid's Fourier image, standard transforms and Adam 0.05: what a researcher writes
first. It also scores images: the independent model that checks both loops reach the same
objective.

    /usr/bin/python3 tools/naive_reference.py render WEIGHTS OP --batch 8 --size 128 --steps 16 \
        [--warmup 2] [--threads 0] [--seed 0] [OUT.f32]
    /usr/bin/python3 tools/naive_reference.py score WEIGHTS OP IMAGES.f32 --batch 8 --size 128
    /usr/bin/python3 tools/naive_reference.py weights OUT.safetensors - [--seed 0]

`weights` writes seeded He-normal weights (zero biases) in the engine's names, for both
loops (`microscope bench --model inceptionv1 --weights OUT.safetensors`). `render` prints one JSON line: median and mean ms/step over the timed steps and the objective
(mean activation of channel b for image b, untransformed) before and after. `score` reads
float32 images (B, 3, S, S) in [0, 1] and prints the same objective for each. The unit of image
b is channel b of OP, as in `microscope bench`. Needs Debian's python3-torch (1.13)."""
import argparse
import json
import math
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.dont_write_bytecode = True
sys.path.insert(0, __file__.rsplit("/", 1)[0])
from mslayout import read_safetensors, write_safetensors  # noqa: E402


class ConvRelu(nn.Module):
    def __init__(self, cin, cout, k, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, padding)

    def forward(self, x):
        return F.relu(self.conv(x))


class Mixed(nn.Module):
    def __init__(self, cin, c1, c3b, c3, c5b, c5, pool):
        super().__init__()
        self.b1 = ConvRelu(cin, c1, 1)
        self.b3b, self.b3 = ConvRelu(cin, c3b, 1), ConvRelu(c3b, c3, 3, padding=1)
        self.b5b, self.b5 = ConvRelu(cin, c5b, 1), ConvRelu(c5b, c5, 5, padding=2)
        self.pool = ConvRelu(cin, pool, 1)

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(self.b3b(x)), self.b5(self.b5b(x)),
                          self.pool(F.max_pool2d(x, 3, 1, 1))], 1)


def max_pool_same(x):
    return F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=-math.inf), 3, 2)


def lrn(x):
    return F.local_response_norm(x, 9, alpha=9.99999974738e-05, beta=0.5, k=1)


MIXED = {
    "mixed3a": (192, 64, 96, 128, 16, 32, 32), "mixed3b": (256, 128, 128, 192, 32, 96, 64),
    "mixed4a": (480, 192, 96, 204, 16, 48, 64), "mixed4b": (508, 160, 112, 224, 24, 64, 64),
    "mixed4c": (512, 128, 128, 256, 24, 64, 64), "mixed4d": (512, 112, 144, 288, 32, 64, 64),
    "mixed4e": (528, 256, 160, 320, 32, 128, 128), "mixed5a": (832, 256, 160, 320, 48, 128, 128),
    "mixed5b": (832, 384, 192, 384, 48, 128, 128),
}


class InceptionV1(nn.Module):
    """The engine's InceptionV1 (src/Engine/Models/Zoo/InceptionV1.cs) written independently in
    PyTorch; forward returns every op's activation and the logits."""

    def __init__(self):
        super().__init__()
        self.conv2d0 = ConvRelu(3, 64, 7, stride=2)
        self.conv2d1 = ConvRelu(64, 64, 1)
        self.conv2d2 = ConvRelu(64, 192, 3)
        self.mixed = nn.ModuleDict({name: Mixed(*spec) for name, spec in MIXED.items()})
        self.fc = nn.Linear(1024, 1008)

    def forward(self, x):
        acts = {}
        x = acts["conv2d0"] = self.conv2d0(F.pad(x, (2, 3, 2, 3)))
        x = lrn(max_pool_same(x))
        x = acts["conv2d1"] = self.conv2d1(x)
        x = acts["conv2d2"] = self.conv2d2(F.pad(x, (1, 1, 1, 1)))
        x = max_pool_same(lrn(x))
        for name in MIXED:
            if name == "mixed4a":
                x = max_pool_same(x)
            if name == "mixed5a":
                x = max_pool_same(x)
            x = acts[name] = self.mixed[name](x)
        x = F.avg_pool2d(x, 7, 1, count_include_pad=False)
        acts["logits"] = self.fc(x.flatten(1))
        return acts

    def engine_layers(self):
        """Our modules under the engine's lucent-style names ("mixed4a_3x3_pre_relu_conv")."""
        own = {"conv2d0": self.conv2d0.conv, "conv2d1": self.conv2d1.conv, "conv2d2": self.conv2d2.conv}
        for name, m in self.mixed.items():
            own.update({f"{name}_1x1": m.b1.conv, f"{name}_3x3_bottleneck": m.b3b.conv, f"{name}_3x3": m.b3.conv,
                        f"{name}_5x5_bottleneck": m.b5b.conv, f"{name}_5x5": m.b5.conv, f"{name}_pool_reduce": m.pool.conv})
        layers = {f"{k}_pre_relu_conv": v for k, v in own.items()}
        layers["softmax2_pre_activation_matmul"] = self.fc
        return layers

    def save_engine_weights(self, path, seed):
        """He-normal weights (std sqrt(2 / fan_in)), zero biases, seeded."""
        g = torch.Generator().manual_seed(seed)
        arrays = {}
        for layer, module in self.engine_layers().items():
            w = module.weight
            arrays[f"{layer}.weight"] = (torch.randn(w.shape, generator=g) * math.sqrt(2.0 / w[0].numel())).numpy()
            arrays[f"{layer}.bias"] = np.zeros(module.bias.shape, np.float32)
        write_safetensors(path, arrays)

    def load_engine_weights(self, path):
        arrays = read_safetensors(path)
        loaded = 0
        with torch.no_grad():
            for layer, module in self.engine_layers().items():
                for p in ("weight", "bias"):
                    getattr(module, p).copy_(torch.from_numpy(arrays[f"{layer}.{p}"].copy()))
                    loaded += 1
        if loaded != len(arrays):
            raise SystemExit(f"{path}: {len(arrays)} tensors, {loaded} used: not the engine's InceptionV1")


# ---- lucid's parameterisation and transforms, written plainly ------------------------------

COLOR = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
COLOR = COLOR / COLOR.norm(dim=0).max()


def fourier_image(batch, size, seed, sd=0.01):
    g = torch.Generator().manual_seed(seed)
    fy = torch.fft.fftfreq(size)[:, None]
    fx = torch.fft.fftfreq(size)[: size // 2 + 1 + size % 2]
    scale = 1.0 / torch.maximum(torch.sqrt(fx * fx + fy * fy), torch.tensor(1.0 / size))
    spectrum = (torch.randn(batch, 3, size, size // 2 + 1 + size % 2, 2, generator=g) * sd).requires_grad_()

    def image():
        s = torch.view_as_complex(spectrum * scale[None, None, :, :, None])
        x = torch.fft.irfftn(s, s=(size, size), norm="ortho") / 4.0
        x = torch.einsum("bchw,dc->bdhw", x, COLOR)
        return torch.sigmoid(x)
    return spectrum, image


def transform(x, rng):
    x = F.pad(x, (12,) * 4, value=0.5)
    dx, dy = rng.randrange(8), rng.randrange(8)
    x = x[:, :, dy:dy + x.shape[2] - 8, dx:dx + x.shape[3] - 8]
    s = 1 + (rng.randrange(11) - 5) / 50
    x = F.interpolate(x, (int(x.shape[2] * s), int(x.shape[3] * s)), mode="bilinear", align_corners=False)
    a = math.radians(rng.choice(list(range(-10, 11)) + [0] * 5))
    theta = torch.tensor([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0]]).expand(x.shape[0], 2, 3)
    x = F.grid_sample(x, F.affine_grid(theta, list(x.shape), align_corners=False), align_corners=False)
    dx, dy = rng.randrange(4), rng.randrange(4)
    return x[:, :, dy:dy + x.shape[2] - 4, dx:dx + x.shape[3] - 4]


def model_input(x):
    return F.interpolate(x, (224, 224), mode="bilinear", align_corners=True) * 255 - 117


def objective(acts, op):
    a = acts[op]
    per_channel = a.mean((2, 3)) if a.dim() == 4 else a
    return per_channel[torch.arange(a.shape[0]), torch.arange(a.shape[0])]


def render(args):
    import random
    model = load(args)
    spectrum, image = fourier_image(args.batch, args.size, args.seed)
    adam = torch.optim.Adam([spectrum], lr=0.05)
    rng = random.Random(args.seed)
    with torch.no_grad():
        start = objective(model(model_input(image())), args.op).mean().item()
    times = []
    for step in range(args.warmup + args.steps):
        t = time.perf_counter()
        adam.zero_grad()
        model.zero_grad()  # the naive loop: weights keep requires_grad and get gradients
        acts = model(model_input(transform(image(), rng)))
        (-objective(acts, args.op).sum()).backward()
        adam.step()
        if step >= args.warmup:
            times.append((time.perf_counter() - t) * 1000)
    with torch.no_grad():
        final = image()
        end = objective(model(model_input(final)), args.op).mean().item()
    if args.images:
        final.numpy().astype(np.float32).tofile(args.images)
    print(json.dumps({"op": args.op, "batch": args.batch, "size": args.size, "steps": args.steps,
                      "threads": torch.get_num_threads(), "ms_per_step_median": statistics.median(times),
                      "ms_per_step_mean": statistics.fmean(times), "objective_start": start,
                      "objective_end": end}))


def score(args):
    model = load(args)
    images = np.fromfile(args.images, dtype=np.float32).reshape(args.batch, 3, args.size, args.size)
    with torch.no_grad():
        values = objective(model(model_input(torch.from_numpy(images))), args.op)
    print(json.dumps({"op": args.op, "objective": values.tolist(), "mean": values.mean().item()}))


def load(args):
    if args.threads > 0:  # 0: PyTorch's default, what a plain loop gets
        torch.set_num_threads(args.threads)
    model = InceptionV1()
    model.load_engine_weights(args.weights)
    return model


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", choices=["render", "score", "weights"])
    p.add_argument("weights")
    p.add_argument("op")
    p.add_argument("images", nargs="?")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.mode == "weights":
        return InceptionV1().save_engine_weights(args.weights, args.seed)
    if args.op not in ["conv2d0", "conv2d1", "conv2d2", *MIXED, "logits"]:
        raise SystemExit(f"unknown op '{args.op}'")
    if args.mode == "score" and not args.images:
        raise SystemExit("score needs an IMAGES file")
    render(args) if args.mode == "render" else score(args)


if __name__ == "__main__":
    main()
