#!/usr/bin/env python3
"""Trains a small generator on 32 x 32 crops of the real photo folder and exports it to ONNX:
a trained model to look at with the generator lens (docs/models.md, "Generators").

    scripts/photos.sh out/photos
    /usr/bin/python3 tools/train_generator.py out/photos out/gen.onnx [--steps 3000] [--seed 0]
    ./microscope describe out/gen.onnx
    ./microscope render --model out/gen.onnx --op net/net.4/Relu --all-units --size 64 --sheet --out out/gen

The generator is the decoder of a variational autoencoder (Kingma & Welling 2014): latent
[N, 32] -> Linear -> [N, 128, 4, 4] -> three ConvTranspose (stride 2) with BatchNormalization
and ReLU -> Tanh image [N, 3, 32, 32]. A VAE's decoder is trained so that latents drawn from
the standard normal prior make images, as a GAN generator's are, and trains stably in a few
minutes on a CPU (a GAN would need tuning); its images are blurry colour and texture patches
of the photos. Debian's python3-torch 1.13 and Pillow (python3-skimage brings it); seeded; not used by the tests."""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

sys.dont_write_bytecode = True
Z = 32


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(Z, 128 * 4 * 4)
        self.net = nn.Sequential(
            nn.BatchNorm2d(128), nn.ReLU(True),
            nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(True),   # 8 x 8
            nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.BatchNorm2d(32), nn.ReLU(True),    # 16 x 16
            nn.ConvTranspose2d(32, 3, 4, 2, 1), nn.Tanh())                              # 32 x 32

    def forward(self, z):
        return self.net(self.fc(z).view(-1, 128, 4, 4))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 32, 4, 2, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(32, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.LeakyReLU(0.2, True),
            nn.Conv2d(64, 128, 4, 2, 1), nn.BatchNorm2d(128), nn.LeakyReLU(0.2, True))
        self.stats = nn.Linear(128 * 4 * 4, 2 * Z)

    def forward(self, x):
        mu, logvar = self.stats(self.net(x).flatten(1)).chunk(2, 1)
        return mu, logvar


def photos(folder, side=96):
    """Every photo shrunk so its short side is `side` px (crops then see objects, not pixels)."""
    images = []
    for name in sorted(os.listdir(folder)):
        try:
            img = Image.open(os.path.join(folder, name)).convert("RGB")
        except OSError:
            continue
        scale = side / min(img.size)
        img = img.resize((max(32, round(img.width * scale)), max(32, round(img.height * scale))), Image.BILINEAR)
        images.append(torch.from_numpy(np.asarray(img, np.float32) / 127.5 - 1).permute(2, 0, 1))
    if len(images) < 5:
        sys.exit(f"{folder}: only {len(images)} images (run scripts/photos.sh {folder})")
    return images


def crops(images, n, rng):
    out = []
    for _ in range(n):
        img = images[rng.integers(len(images))]
        y, x = rng.integers(img.shape[1] - 31), rng.integers(img.shape[2] - 31)
        c = img[:, y:y + 32, x:x + 32]
        out.append(c.flip(2) if rng.random() < 0.5 else c)
    return torch.stack(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("photos")
    p.add_argument("out")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    images = photos(a.photos)
    encoder, decoder = Encoder(), Decoder()
    optimiser = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], 2e-3)
    for step in range(1, a.steps + 1):
        x = crops(images, 64, rng)
        mu, logvar = encoder(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        reconstruction = F.mse_loss(decoder(z), x, reduction="sum") / len(x)
        kl = -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum() / len(x)
        loss = reconstruction + kl
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step % 250 == 0 or step == a.steps:
            print(f"step {step}: reconstruction {reconstruction.item():.1f}, kl {kl.item():.1f}", flush=True)
    decoder.eval()
    with torch.no_grad():
        torch.onnx.export(decoder, torch.randn(1, Z), a.out + ".part", opset_version=13, input_names=["z"], output_names=["image"],
                          dynamic_axes={"z": {0: "batch"}, "image": {0: "batch"}})
    os.replace(a.out + ".part", a.out)
    with open(a.out + ".json", "w") as f:
        f.write('{ "name": "photovae", "dataset": "32 px crops of the real photo folder (scripts/photos.sh)",\n'
                '  "latent": { "prior": "normal", "range": [-1, 1] } }\n')
    print(f"{a.out}: the decoder of a VAE, latent [N, {Z}] -> [N, 3, 32, 32], {a.steps} steps; sidecar {a.out}.json")


if __name__ == "__main__":
    main()
