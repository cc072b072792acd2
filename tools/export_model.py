#!/usr/bin/env python3
"""Bring your own model: turns a PyTorch CNN into a Microscope model (docs/models.md).

    python3 tools/export_model.py FILE.py:FACTORY --name mynet --input-size 224 \\
        [--weights checkpoint.pth] [--preprocessing imagenet] [--ops a,b,c] [--out DIR]

FACTORY is a class or function in FILE.py that returns the nn.Module (called without
arguments). The module is traced with torch.fx; every layer must be one Microscope runs
(Conv2d, Linear, BatchNorm2d, ReLU, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d(1),
LocalResponseNorm, +, torch.cat on channels, flatten or x.view(x.size(0), -1), dropout and
identity); anything else
is refused with its name. Writes DIR/NAME.model.json (the layers) and DIR/NAME.safetensors
(the weights, named as in the state dict), which `microscope describe`, `microscope render
--model DIR/NAME.model.json` and the farm (Models:Specs) load.

Ops (what Microscope shows) are the outputs of convolutions, linear layers, sums and
concatenations unless --ops names them. Needs python3-torch (Debian: 1.13)."""
import argparse
import importlib.util
import json
import operator
import sys

import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F

sys.dont_write_bytecode = True
sys.path.insert(0, __file__.rsplit("/", 1)[0])
from mslayout import load_state_dict, write_safetensors  # noqa: E402

FORMAT = "microscope-model/1"
PREPROCESSING = {
    "imagenet": {"description": "ImageNet mean/std", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
    "signed": {"description": "x in [-1, 1]", "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]},
    "unit": {"description": "x in [0, 1]", "mean": [0, 0, 0], "std": [1, 1, 1]},
    "caffe": {"description": "BGR x*255 minus the ImageNet BGR mean", "bgr": True, "scale": 255,
              "mean": [103.939, 116.779, 123.68], "std": [1, 1, 1]},
}
DEFAULT_OPS = {"conv", "linear", "add", "concat"}


class Unsupported(Exception):
    pass


def _square(value, what, layer):
    """An int, or a pair of equal ints (Microscope's kernels, strides and paddings are square)."""
    if isinstance(value, int):
        return value
    if isinstance(value, (tuple, list)) and len(value) == 2 and value[0] == value[1] and isinstance(value[0], int):
        return value[0]
    raise Unsupported(f"{layer}: {what} {value!r} is not square")


def _module_layer(m, name):
    """The spec fields for a module, or None for an identity."""
    if isinstance(m, nn.Conv2d):
        if _square(m.dilation, "dilation", name) != 1 or m.padding_mode != "zeros" or isinstance(m.padding, str):
            raise Unsupported(f"{name}: only zero padding given as numbers and no dilation are supported")
        return {"type": "conv", "in": m.in_channels, "out": m.out_channels, "kernel": _square(m.kernel_size, "kernel", name),
                "stride": _square(m.stride, "stride", name), "padding": _square(m.padding, "padding", name),
                "groups": m.groups, "bias": m.bias is not None}
    if isinstance(m, nn.Linear):
        if m.bias is None:
            raise Unsupported(f"{name}: a Linear without bias is not supported")
        return {"type": "linear", "in": m.in_features, "out": m.out_features, "bias": True}
    if isinstance(m, nn.BatchNorm2d):
        if not m.track_running_stats:
            raise Unsupported(f"{name}: batch norm without running statistics")
        return {"type": "batchnorm", "eps": m.eps, "scale": m.affine}
    if isinstance(m, nn.ReLU):
        return {"type": "relu"}
    if isinstance(m, nn.MaxPool2d):
        if _square(m.dilation, "dilation", name) != 1:
            raise Unsupported(f"{name}: dilated pooling")
        return {"type": "maxpool", "kernel": _square(m.kernel_size, "kernel", name), "stride": _square(m.stride, "stride", name),
                "padding": _square(m.padding, "padding", name), "ceil": m.ceil_mode}
    if isinstance(m, nn.AvgPool2d):
        if m.divisor_override is not None:
            raise Unsupported(f"{name}: divisor_override")
        return {"type": "avgpool", "kernel": _square(m.kernel_size, "kernel", name), "stride": _square(m.stride, "stride", name),
                "padding": _square(m.padding, "padding", name), "ceil": m.ceil_mode, "countIncludePad": m.count_include_pad}
    if isinstance(m, nn.AdaptiveAvgPool2d):
        if m.output_size not in (1, (1, 1)):
            raise Unsupported(f"{name}: AdaptiveAvgPool2d to {m.output_size!r} (only 1)")
        return {"type": "globalavgpool"}
    if isinstance(m, nn.LocalResponseNorm):
        return {"type": "lrn", "size": m.size, "alpha": m.alpha, "beta": m.beta, "k": m.k}
    if isinstance(m, (nn.Dropout, nn.Dropout2d, nn.Identity, nn.Flatten)):
        return None
    raise Unsupported(f"{name}: {type(m).__name__} is not a layer Microscope runs")


def _function_layer(node):
    """Spec fields for a call_function / call_method node, None for an identity."""
    t, args, kwargs = node.target, node.args, node.kwargs
    if t in (operator.add, operator.iadd, torch.add) or t == "add" or t == "add_":
        return {"type": "add"}
    if t is torch.cat:
        dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
        if dim != 1:
            raise Unsupported(f"{node.name}: torch.cat on dim {dim} (only channels, dim 1)")
        return {"type": "concat"}
    if t in (F.relu, torch.relu) or t in ("relu", "relu_"):
        return {"type": "relu"}
    if t in (torch.flatten, F.dropout) or t in ("flatten", "contiguous"):
        return None
    if t is F.adaptive_avg_pool2d and (args[1] if len(args) > 1 else kwargs.get("output_size")) in (1, (1, 1)):
        return {"type": "globalavgpool"}
    if t is F.max_pool2d:
        kernel = args[1] if len(args) > 1 else kwargs["kernel_size"]
        stride = args[2] if len(args) > 2 else kwargs.get("stride") or kernel
        padding = args[3] if len(args) > 3 else kwargs.get("padding", 0)
        return {"type": "maxpool", "kernel": _square(kernel, "kernel", node.name), "stride": _square(stride, "stride", node.name),
                "padding": _square(padding, "padding", node.name), "ceil": bool(kwargs.get("ceil_mode", False))}
    name = getattr(t, "__name__", str(t))
    raise Unsupported(f"{node.name}: {name} is not an operation Microscope runs (use modules or +, torch.cat, F.relu, torch.flatten)")


def export(module, name, input_size, preprocessing, ops=None, dataset=""):
    """Returns (spec dict, {tensor name: numpy array}, {fx node name: layer name})."""
    module.eval()
    graph = torch.fx.symbolic_trace(module)
    modules = dict(graph.named_modules())
    layer_of, layers, used = {}, [], {"input"}
    params_of = {}  # layer name -> the module whose parameters it uses (a module called twice: two layers)
    for node in graph.graph.nodes:
        if node.op == "placeholder":
            if layer_of:
                raise Unsupported(f"{node.name}: the model takes more than one input")
            layer_of[node.name] = "input"
            continue
        if node.op == "output":
            continue
        if node.op == "get_attr":
            raise Unsupported(f"{node.name}: reads a tensor attribute ({node.target}) in forward")
        if node.op == "call_method" and node.target == "size":
            continue  # a shape query (x.view(x.size(0), -1)): not a tensor
        if node.op in ("call_method", "call_function") and node.target in ("view", "reshape", torch.reshape):
            # Only the flattening view is allowed: linear layers flatten their input themselves.
            if len(node.args) != 3 or node.args[2] != -1:
                raise Unsupported(f"{node.name}: {node.target} to {node.args[1:]!r} (only x.view(x.size(0), -1))")
            layer_of[node.name] = layer_of[node.args[0].name]
            continue
        inputs = [a for a in node.args if isinstance(a, torch.fx.Node)]
        if node.op == "call_function" and node.target is torch.cat:
            inputs = list(node.args[0])
        if node.op == "call_module":
            fields, layer_name = _module_layer(modules[node.target], node.target), node.target
        else:
            fields, layer_name = _function_layer(node), node.name
        sources = [layer_of[i.name] for i in inputs]
        if fields is None:
            layer_of[node.name] = sources[0]
            continue
        if layer_name in used:  # a module called twice, or a clash with a function node's name
            layer_name = f"{layer_name}.{node.name}"
        used.add(layer_name)
        if node.op == "call_module":
            params_of[layer_name] = node.target
        layer = {"name": layer_name, **fields}
        if fields["type"] in ("add", "concat"):
            layer["inputs"] = sources
        else:
            layer["input"] = sources[0]
        layers.append(layer)
        layer_of[node.name] = layer_name
    wanted = set(ops) if ops else None
    for layer in layers:
        layer["op"] = layer["name"] in wanted if wanted else layer["type"] in DEFAULT_OPS
    if wanted:
        missing = wanted - {layer["name"] for layer in layers}
        if missing:
            raise Unsupported(f"--ops names no layer: {', '.join(sorted(missing))}; layers: {', '.join(l['name'] for l in layers)}")
    spec = {"format": FORMAT, "name": name, "dataset": dataset, "inputSize": input_size,
            "preprocessing": preprocessing, "layers": layers}
    state = module.state_dict()
    tensors = {}
    for layer in layers:
        keys = {"conv": ["weight", "bias"] if layer.get("bias") else ["weight"], "linear": ["weight", "bias"],
                "batchnorm": (["weight"] if layer.get("scale") else []) + ["bias", "running_mean", "running_var"]}.get(layer["type"], [])
        for key in keys:
            tensors[f"{layer['name']}.{key}"] = state[f"{params_of[layer['name']]}.{key}"].detach().cpu().float().numpy()
    return spec, tensors, layer_of


def _load(factory_ref):
    path, _, factory = factory_ref.rpartition(":")
    if not path or not factory:
        raise SystemExit(f"expected FILE.py:FACTORY, got {factory_ref!r}")
    spec = importlib.util.spec_from_file_location("user_model", path)
    if spec is None:
        raise SystemExit(f"cannot import {path}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    if not hasattr(mod, factory):
        raise SystemExit(f"{path} has no {factory}")
    return getattr(mod, factory)()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("factory", help="FILE.py:FACTORY returning the nn.Module")
    p.add_argument("--name", required=True, help="the model's slug in Microscope (lower-case letters, digits, _ and -)")
    p.add_argument("--input-size", type=int, required=True, help="the input's side in pixels")
    p.add_argument("--weights", help="a state dict (.pth/.pt, a checkpoint holding 'state_dict', or .safetensors); default: the module's own")
    p.add_argument("--preprocessing", default="imagenet", choices=sorted(PREPROCESSING))
    p.add_argument("--dataset", default="", help="what it was trained on (shown in the viewer)")
    p.add_argument("--ops", help="comma-separated layer names to show (default: conv, linear, sum and concat outputs)")
    p.add_argument("--out", default=".", help="folder for NAME.model.json and NAME.safetensors")
    a = p.parse_args()
    module = _load(a.factory)
    if a.weights:
        module.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in load_state_dict(a.weights).items()})
    try:
        spec, tensors, _ = export(module, a.name, a.input_size, PREPROCESSING[a.preprocessing],
                                  a.ops.split(",") if a.ops else None, a.dataset)
    except Unsupported as e:
        raise SystemExit(f"cannot export: {e}")
    with open(f"{a.out}/{a.name}.model.json", "w") as f:
        json.dump(spec, f, indent=2)
    write_safetensors(f"{a.out}/{a.name}.safetensors", tensors)
    ops = [layer["name"] for layer in spec["layers"] if layer["op"]]
    print(f"{a.out}/{a.name}.model.json: {len(spec['layers'])} layers, {len(ops)} ops ({', '.join(ops)}); "
          f"{a.out}/{a.name}.safetensors: {len(tensors)} tensors")


if __name__ == "__main__":
    main()
