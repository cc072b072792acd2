#!/usr/bin/env python3
"""Converts a public checkpoint into a Microscope Farm safetensors file (docs/models.md).

    convert_weights.py MODEL SOURCE_LAYOUT INPUT OUTPUT.safetensors

SOURCE_LAYOUT per model (see docs/models.md for where each checkpoint comes from):
  inceptionv1 lucent            lucent's inception5h.pth (or a safetensors file with its keys)
  inceptionv1_places365 caffe   caffemodel2pytorch-style dict of googlenet_places365
  alexnet caffe / alexnet_places365 caffe / vgg19 caffe
  vgg19 torchvision             torchvision vgg19 state dict (features.N / classifier.N)
  inceptionv3 torchvision       torchvision inception_v3 state dict
  inceptionv4 cadene            pretrainedmodels / timm inception_v4 state dict
  resnetv2_50 tf-slim           a TF-slim resnet_v2_50 checkpoint prefix (needs tensorflow)
                                or an .npz of its variables

The output is float32; the farm loads it strictly, so a wrong or partial checkpoint fails
there with the tensor names and shapes (`microscope describe MODEL --weights OUTPUT`)."""
import argparse
import sys

import numpy as np

from mslayout import CONVERTERS, load_state_dict, write_safetensors


def read_tf_variables(path):
    if path.endswith(".npz"):
        return dict(np.load(path))
    import tensorflow as tf  # only for TF checkpoints
    reader = tf.train.load_checkpoint(path)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("layout")
    p.add_argument("input")
    p.add_argument("output")
    a = p.parse_args(argv)
    convert = CONVERTERS.get((a.model, a.layout))
    if convert is None:
        known = ", ".join(f"{m} {l}" for m, l in CONVERTERS)
        sys.exit(f"no converter for model '{a.model}' from '{a.layout}'; known: {known}")
    source = read_tf_variables(a.input) if a.layout == "tf-slim" else load_state_dict(a.input)
    arrays = convert(source)
    write_safetensors(a.output, arrays)
    print(f"{a.output}: {len(arrays)} tensors, {sum(int(np.prod(v.shape)) for v in arrays.values()):,} values")


if __name__ == "__main__":
    main()
