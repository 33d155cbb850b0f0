"""ONNX export, checked with onnxruntime against Keras before the file is kept.

The graph has input `images` float32 (N, H, W, 3) RGB in [0, 255] and output
`logits` float32 (N, H, W, C), all of N, H and W dynamic. Needs the optional
packages onnx, tf2onnx and onnxruntime (`pip install fcn-keras[deploy]`).

A model made only of layers `onnx_graph` knows (every FCN on the Caffe-layout
backbones: VGG16, AlexNet, GoogLeNet) is written by it, layer by layer, each
weight copied once; any other (a nested keras.applications backbone, batch
normalization) goes through Keras' `Model.export(format="onnx")`, i.e. tf2onnx.
Chosen by measuring the peak resident memory of a process that builds the full
VGG16 FCN-8s (134M parameters, 537 MB of weights; building it alone: 2.5 GiB) and
exports it (2-core Zen 5, benchmarks/RESULTS.md):

- tf2onnx through `Model.export` (from a function): past 10 GiB in 49 s and growing,
  stopped. With `large_model` (external data), from the function or from the
  SavedModel: the same, past 10 GiB in 36-47 s; its ONNX optimizers re-serialize
  every constant on each pass. With no ONNX optimizers at all: 6.2 GiB without the
  check, and 54 Transposes left in the graph.
- Keras on the torch backend (torch.onnx, TorchScript with dynamic axes): 3.1 GiB,
  but the trace freezes sizes: 1.8% off Keras at 64x80 (exact at 100x120).
- `onnx_graph`: 4.3 GiB and 13 s (building the network included) with the onnxruntime check, within 2e-6 of Keras
  (relative to the largest logit) at every size tried.

tf2onnx needs about 170 bytes per parameter (more than 22 GB for that network),
so convert big models of other layers on a large machine.
"""

import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from fcn_keras.export.extras import optional_module
from fcn_keras.export.onnx_graph import onnx_model, unwritable_layers
from fcn_keras.export.options import NEVER_OVERWRITE
from fcn_keras.export.saved_model import IMAGES, check_one_input
from fcn_keras.models import heads_of, load_fcn
from fcn_keras.write_policy import claim_files, written_whole

OUTPUT = "logits"


def export_onnx(model, path, check_size=(32, 32), atol=1e-4):
    """Converts an FCN to ONNX and checks the file with onnxruntime against Keras.

    Args:
        model: an FCN `keras.Model` or the path of its `.keras` file.
        path: the `.onnx` file to write; must not exist (its folder is created).
        check_size: (H, W) of the random image used for the onnxruntime check;
            None skips the check.
        atol: largest allowed absolute difference of logits in the check.

    Returns:
        `path`.

    Raises:
        ImportError: onnx, tf2onnx or onnxruntime is not installed (checked before
            converting, also when `check_size` is None).
        RuntimeError: onnxruntime's logits differ from Keras's by more than `atol`
            (nothing is written then).
        FileExistsError: `path` exists.

    Example:
        >>> model = fcn_keras.build_fcn32s(21, backbone="vgg16_tiny", padding="same")
        >>> export_onnx(model, "fcn32s.onnx", check_size=(64, 64))
        'fcn32s.onnx'
    """
    # all three before the conversion, which takes long and much memory for a big model
    onnx = optional_module("onnx", "ONNX export")
    optional_module("tf2onnx", "ONNX export")
    onnxruntime = optional_module("onnxruntime", "ONNX export")
    model = load_fcn(model)
    check_one_input(model, "ONNX")
    if heads_of(model):
        raise ValueError(f"ONNX export takes models of one head, and {model.name!r} has {', '.join(heads_of(model))}; "
                         "export it as a SavedModel or TFLite file, which give every head's outputs.")
    path, = claim_files([path], hint=NEVER_OVERWRITE)
    with tempfile.TemporaryDirectory(prefix="fcn_onnx_") as workdir:
        raw_path = os.path.join(workdir, "model.onnx")
        if unwritable_layers(model):
            _convert_with_tf2onnx(onnx, model, raw_path)
        else:
            onnx.save(onnx_model(model, IMAGES, OUTPUT), raw_path)
        onnx.checker.check_model(raw_path)
        if check_size is not None:
            _compare_with_keras(onnxruntime, model, raw_path, check_size, atol)
        with written_whole(path) as partial:
            shutil.move(raw_path, partial)
    return path


def _convert_with_tf2onnx(onnx, model, raw_path):
    """Keras' `Model.export(format="onnx")` to `raw_path`, its input and output then renamed."""
    image_spec = tf.TensorSpec((None, *model.input.shape[1:]), tf.float32, name=IMAGES)
    model.export(raw_path, format="onnx", input_signature=[image_spec], verbose=False)
    graph = onnx.load(raw_path)
    _rename_io(graph)
    onnx.save(graph, raw_path)


def _rename_io(graph):
    """Names the graph's input `images` and its output `logits` (tf2onnx says "Identity:0")."""
    renames = {graph.graph.input[0].name: IMAGES, graph.graph.output[0].name: OUTPUT}
    for value in (*graph.graph.input, *graph.graph.output):
        value.name = renames.get(value.name, value.name)
    for node in graph.graph.node:
        node.input[:] = [renames.get(name, name) for name in node.input]
        node.output[:] = [renames.get(name, name) for name in node.output]


def _compare_with_keras(onnxruntime, model, onnx_path, size, atol):
    session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    images = np.random.default_rng(0).uniform(0, 255, (1, *size, 3)).astype(np.float32)
    expected = np.asarray(model(images, training=False))
    (actual,) = session.run([OUTPUT], {IMAGES: images})
    difference = float(np.max(np.abs(actual - expected)))
    if difference > atol:
        raise RuntimeError(
            f"The ONNX conversion of {model.name} is wrong: onnxruntime's logits differ from Keras's by "
            f"{difference:.3g} (> atol={atol}). Report this with your tf2onnx/onnx versions."
        )
