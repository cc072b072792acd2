"""Microscope Farm weight layouts: safetensors I/O without the safetensors package, and the
mapping from the PyTorch state dicts people have to each zoo model's tensor names
(docs/models.md). Needs only numpy (and torch to read .pth files)."""
import json
import re
import struct

import numpy as np

_DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64}


def write_safetensors(path, arrays):
    """Writes {name: numpy array} as float32 safetensors, names in sorted order."""
    header, offset, blobs = {}, 0, []
    for name in sorted(arrays):
        a = np.ascontiguousarray(np.asarray(arrays[name], dtype=np.float32))
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        blobs.append(a.tobytes())
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # keep the data 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        out[name] = np.frombuffer(data[start:end], dtype=_DTYPES[info["dtype"]]).reshape(info["shape"])
    return out


def load_state_dict(path):
    """A .pth/.pt state dict (or a checkpoint holding one under 'state_dict') or a safetensors
    file, as {name: numpy array}."""
    if path.endswith(".safetensors"):
        return dict(read_safetensors(path))
    import torch
    obj = torch.load(path, map_location="cpu")
    if isinstance(obj, dict) and "state_dict" in obj:
        obj = obj["state_dict"]
    if hasattr(obj, "state_dict"):
        obj = obj.state_dict()
    return {k.removeprefix("module."): v.detach().cpu().numpy() for k, v in obj.items()}


def _drop(sd, pattern):
    return {k: v for k, v in sd.items() if not re.search(pattern, k)}


# ---- per model: source layout -> Microscope layout -------------------------------------------

def inceptionv1_from_lucent(sd):
    """lucent's InceptionV1 (inception5h.pth): the names are ours; the auxiliary heads go."""
    return _drop(sd, r"^(head[01]_|nn[01]_|softmax[01]_)|num_batches_tracked")


def caffe_names(sd):
    """caffemodel2pytorch-style dicts ("conv1/7x7_s2.weight", "inception_3a/1x1.bias",
    "loss3/classifier.weight"): '/' becomes '_'; auxiliary heads (loss1/, loss2/) go."""
    sd = _drop(sd, r"^loss[12][/_]")
    return {k[: k.rfind(".")].replace("/", "_") + k[k.rfind("."):]: v for k, v in sd.items()}


_VGG19_CONVS = ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3", "conv3_4",
                "conv4_1", "conv4_2", "conv4_3", "conv4_4", "conv5_1", "conv5_2", "conv5_3", "conv5_4"]
_VGG19_FEATURE_INDEX = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]


def vgg19_from_torchvision(sd):
    """torchvision's vgg19 layout (features.N / classifier.N) to Caffe layer names."""
    names = {f"features.{i}": n for i, n in zip(_VGG19_FEATURE_INDEX, _VGG19_CONVS)}
    names.update({"classifier.0": "fc6", "classifier.3": "fc7", "classifier.6": "fc8"})
    out = {}
    for k, v in sd.items():
        layer, _, kind = k.rpartition(".")
        if layer not in names:
            raise KeyError(f"unexpected tensor '{k}' in a torchvision vgg19 state dict")
        out[f"{names[layer]}.{kind}"] = v
    return out


def inceptionv3_from_torchvision(sd):
    """torchvision's Inception3 names are ours; the auxiliary head and BN counters go."""
    return _drop(sd, r"^AuxLogits\.|num_batches_tracked")


def inceptionv4_from_cadene(sd):
    """pretrainedmodels'/timm's inception_v4 names are ours ("features.N...", "last_linear").
    TF-slim's classifier has 1001 outputs (class 0 = background); a 1000-class one (timm)
    gets a zero background row so the file fits. Only the classifier changes: no op reads it."""
    sd = _drop(sd, r"num_batches_tracked")
    w, b = sd["last_linear.weight"], sd["last_linear.bias"]
    if w.shape[0] == 1000:
        sd["last_linear.weight"] = np.concatenate([np.zeros((1, w.shape[1]), w.dtype), w])
        sd["last_linear.bias"] = np.concatenate([np.zeros(1, b.dtype), b])
    return sd


def resnetv2_50_from_tf_slim(variables):
    """TF-slim resnet_v2_50 checkpoint variables ({"resnet_v2_50/block1/unit_1/bottleneck_v2/conv1/weights": HWIO})
    to ours: scope '/' → '.', weights HWIO → OIHW, BatchNorm gamma/beta/moving_* → weight/bias/running_*."""
    rename = {"weights": "weight", "biases": "bias", "gamma": "weight", "beta": "bias",
              "moving_mean": "running_mean", "moving_variance": "running_var"}
    out = {}
    for k, v in variables.items():
        if not k.startswith("resnet_v2_50/") or k.endswith("global_step"):
            continue
        scope, _, leaf = k[len("resnet_v2_50/"):].rpartition("/")
        if leaf not in rename:
            continue  # optimiser slots (Momentum, ExponentialMovingAverage)
        scope = scope.replace("/", ".")
        v = np.asarray(v)
        if leaf == "weights":
            v = v.transpose(3, 2, 0, 1)
            if scope == "logits":
                v = v.reshape(v.shape[0], v.shape[1])
        out[f"{scope}.{rename[leaf]}"] = v
    return out


CONVERTERS = {
    ("inceptionv1", "lucent"): inceptionv1_from_lucent,
    ("inceptionv1_places365", "caffe"): caffe_names,
    ("alexnet", "caffe"): caffe_names,
    ("alexnet_places365", "caffe"): caffe_names,
    ("vgg19", "caffe"): caffe_names,
    ("vgg19", "torchvision"): vgg19_from_torchvision,
    ("inceptionv3", "torchvision"): inceptionv3_from_torchvision,
    ("inceptionv4", "cadene"): inceptionv4_from_cadene,
    ("resnetv2_50", "tf-slim"): resnetv2_50_from_tf_slim,
}
