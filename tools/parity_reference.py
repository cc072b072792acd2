#!/usr/bin/env python3
"""Independent reference activations for the zoo's parity tests (tests/Engine.Tests/Zoo).

    /usr/bin/python3 tools/parity_reference.py MODEL SEED OUTDIR

Builds MODEL (vgg19 or inceptionv3) with torchvision, seeds its weights (and gives every
batch norm non-trivial running statistics), converts them to our layout with mslayout,
and writes OUTDIR/weights.safetensors plus OUTDIR/activations.safetensors holding "input"
(a seeded, already preprocessed batch) and the activation at every catalogue op.
Needs Debian's python3-torch and python3-torchvision (1.13 / 0.14)."""
import sys
import types

import torch
import torch.nn.functional as F
import torchvision

sys.dont_write_bytecode = True  # run from the tests: leave no __pycache__ in the checkout
sys.path.insert(0, __file__.rsplit("/", 1)[0])
from mslayout import inceptionv3_from_torchvision, vgg19_from_torchvision, write_safetensors  # noqa: E402


def vgg19():
    model = torchvision.models.vgg19(weights=None)
    relus = [1, 3, 6, 8, 11, 13, 15, 17, 20, 22, 24, 26, 29, 31, 33, 35]
    names = ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3", "conv3_4",
             "conv4_1", "conv4_2", "conv4_3", "conv4_4", "conv5_1", "conv5_2", "conv5_3", "conv5_4"]
    ops = {name: model.features[i] for name, i in zip(names, relus)}
    return model, ops, 224, vgg19_from_torchvision


def inceptionv3():
    # TF-slim's (and our) average pools exclude the padding; torchvision's count it. Give
    # torchvision TensorFlow's rule so the two implementations compute the same function.
    inception = sys.modules["torchvision.models.inception"]
    patched = types.SimpleNamespace(**{k: getattr(F, k) for k in dir(F) if not k.startswith("__")})
    patched.avg_pool2d = lambda x, kernel_size, stride=None, padding=0, **_: F.avg_pool2d(
        x, kernel_size, stride, padding, ceil_mode=False, count_include_pad=False)
    inception.F = patched
    model = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=True)
    names = ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3",
             "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
             "Mixed_7a", "Mixed_7b", "Mixed_7c"]
    return model, {n: getattr(model, n) for n in names}, 299, inceptionv3_from_torchvision


def randomize_batch_norms(model):
    """Seeded non-trivial statistics and affine parameters, so no batch norm is an identity."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)


def main():
    model_name, seed, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    torch.manual_seed(seed)
    model, ops, size, convert = {"vgg19": vgg19, "inceptionv3": inceptionv3}[model_name]()
    randomize_batch_norms(model)
    model.eval()
    acts = {}
    for name, module in ops.items():
        module.register_forward_hook(lambda _m, _i, o, name=name: acts.__setitem__(name, o.detach().clone()))
    x = torch.randn(1, 3, size, size)
    with torch.no_grad():
        model(x)
    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    write_safetensors(f"{out}/weights.safetensors", convert(state))
    write_safetensors(f"{out}/activations.safetensors", {"input": x.numpy(), **{k: v.numpy() for k, v in acts.items()}})
    print(f"{model_name}: {len(acts)} ops")


if __name__ == "__main__":
    main()
