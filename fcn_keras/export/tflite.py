"""TFLite export (fp32, float16 weights, full int8) with the facts a runtime needs in the file.

The file has one signature, `serving_default`: `images` float32 (N, H, W, 3) RGB
in [0, 255] -> `logits` float32 (N, H, W, C); take `argmax` over the last axis
for classes. Input and output stay float32 in every mode (int8 models quantize
and dequantize inside), so callers never change. By default the batch, height
and width are dynamic (resize the input tensor, or use `get_signature_runner()`
which resizes itself); `input_size=(H, W)` fixes them to (1, H, W, 3) for
delegates that need static shapes. The file carries a JSON metadata entry named
"fcn_keras" (read it with `read_tflite_metadata`) stating the input shape, the
quantization, the number of classes and their names.

A file of a fixed input size also carries the standard TFLite Metadata, which
MediaPipe's `ImageSegmenter` (Python, Android, iOS, web), the TFLite Task Library
and Android Studio read (see `fcn_keras.export.tflite_metadata`): an RGB image
input that MediaPipe feeds as float32 0..255, the class names as a label file,
and the output as segmentation masks, so MediaPipe runs the file as it is. It
needs mediapipe (`pip install 'fcn-keras[mediapipe]'`); without it the file is
written without that metadata and a warning says so. A dynamic-size file gets
none: MediaPipe resizes images to the input tensor's static shape, 1x1 there.
MediaPipe's segmenter reads one output, so a model with several heads gets none
either; export one head, `keras.Model(model.input, model.output["semantic"])`.
"""

import copy
import json
import os
import tempfile
import warnings

import numpy as np
import tensorflow as tf
from tensorflow.lite.python import schema_py_generated as schema
from tensorflow.lite.tools import flatbuffer_utils

import fcn_keras
from fcn_keras.export.calibration import calibration_images, check_input_size
from fcn_keras.export.formats import get_export_format
from fcn_keras.export.options import NEVER_OVERWRITE
from fcn_keras.export.saved_model import IMAGES, check_one_input, write_logits_saved_model
from fcn_keras.export.tflite_metadata import INSTALL_HINT, add_segmenter_metadata, mediapipe_installed
from fcn_keras.models import heads_of, load_fcn, num_classes_of
from fcn_keras.write_policy import claim_files, written_whole

METADATA_NAME = "fcn_keras"
QUANTIZATIONS = get_export_format("tflite").quantizations  # as registered in fcn_keras.export.formats


def export_tflite(
    model, path, quantization=None, representative_data=None, input_size=None, max_calibration_images=200,
    class_names=None,
):
    """Converts an FCN to a `.tflite` file with TensorFlow's TFLite converter.

    Args:
        model: an FCN `keras.Model` or the path of its `.keras` file.
        path: the `.tflite` file to write; must not exist (its folder is created).
        quantization: None (float32), "float16" (weights stored as float16, about
            half the size, computed in float32) or "int8" (weights and activations
            int8, about a quarter of the size; needs `representative_data`).
        representative_data: images that calibrate int8 activation ranges, RGB in
            [0, 255], ideally ~100-200 training images: an array (N, H, W, 3), an
            iterable of (H, W, 3) or (N, H, W, 3) arrays or of (images, labels)
            pairs (a `tf.data.Dataset` works), a function returning such an
            iterable (the converter's `representative_dataset` convention, e.g. a
            generator function), a `.npy` file or a folder of PNG/JPEG images (the
            files `fcn-keras predict FOLDER` reads).
        input_size: None for dynamic batch/height/width, or (H, W) to fix the
            input to (1, H, W, 3); a fixed size also writes the standard TFLite
            Metadata that MediaPipe needs (MediaPipe resizes images to it).
        max_calibration_images: at most this many images are used for calibration.
        class_names: the names of the classes in output order ({head: names}
            for a model with several heads), stored in the "fcn_keras" metadata
            and as the standard metadata's label file; None: no names there,
            and the label file names the classes "0", "1", ...

    Returns:
        `path`.

    Raises:
        ValueError: unknown quantization, int8 without representative data, a
            representative image that is not RGB, class names that do not name
            the model's classes, or the model is not an FCN.
            A representative folder without images, or with an unreadable image,
            raises `fcn_keras.data.DataError` (a ValueError) naming the file.
        FileNotFoundError: `representative_data` is a path to neither a `.npy`
            file nor a folder.
        FileExistsError: `path` exists.

    Example:
        >>> model = fcn_keras.build_fcn32s(21, backbone="vgg16_tiny", padding="same")
        >>> export_tflite(model, "fcn32s_int8.tflite", "int8",
        ...               representative_data=np.zeros((4, 64, 64, 3)))
        'fcn32s_int8.tflite'

        For MediaPipe: a fixed input size, and the class names for its labels.

        >>> model = fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", padding="same")
        >>> export_tflite(model, "pets.tflite", input_size=(64, 64), class_names=["pet", "background", "border"])
        'pets.tflite'
        >>> read_tflite_metadata("pets.tflite")["class_names"]
        ['pet', 'background', 'border']
    """
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"Unknown quantization {quantization!r}; choose None, 'float16' or 'int8'.")
    if quantization == "int8" and representative_data is None:
        raise ValueError(
            "int8 quantization calibrates activation ranges on real inputs and needs "
            "representative_data: ~100 training images, RGB 0..255, as an array (N, H, W, 3), "
            "a .npy file or a folder of images. "
            "Without images use quantization='float16'."
        )
    model = load_fcn(model)
    check_one_input(model, "TFLite")
    class_names = _checked_class_names(class_names, model)
    image_shape = (None, *model.input.shape[1:]) if input_size is None else (1, *check_input_size(input_size), 3)
    if quantization == "int8":
        images = calibration_images(representative_data, max_calibration_images, input_size)
    path, = claim_files([path], hint=NEVER_OVERWRITE)
    with tempfile.TemporaryDirectory(prefix="fcn_tflite_") as workdir:
        saved_model = write_logits_saved_model(model, os.path.join(workdir, "model"), image_shape)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
        if quantization == "float16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        elif quantization == "int8":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.representative_dataset = lambda: ([image[np.newaxis]] for image in images)
        flatbuffer = converter.convert()
    tflite_model = flatbuffer_utils.read_model_from_bytearray(bytearray(flatbuffer))
    _fix_int8_reverse(tflite_model)
    _add_metadata(tflite_model, _metadata(model, quantization, image_shape, class_names))
    flatbuffer = flatbuffer_utils.convert_object_to_bytearray(tflite_model)
    if input_size is not None:
        flatbuffer = _with_standard_metadata(flatbuffer, model, class_names, path)
    with written_whole(path) as partial, open(partial, "wb") as file:
        file.write(flatbuffer)
    return path


def read_tflite_metadata(path):
    """Reads the "fcn_keras" metadata that `export_tflite` stores in a `.tflite` file.

    Args:
        path: a `.tflite` file.

    Returns:
        A dict with "input" (name, shape with -1 for dynamic, dtype, range),
        "output" and "num_classes" ("outputs" and "heads" for a model with several
        heads), "class_names" (None when not given), "quantization", "model_name"
        and "fcn_keras_version".

    Raises:
        ValueError: the file has no fcn_keras metadata (not written by `export_tflite`).

    Example:
        >>> _ = export_tflite(fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", padding="same"), "fcn32s.tflite")
        >>> metadata = read_tflite_metadata("fcn32s.tflite")
        >>> metadata["input"]["shape"], metadata["num_classes"], metadata["quantization"]
        ([-1, -1, -1, 3], 3, 'none')
    """
    with open(path, "rb") as file:
        root = schema.Model.GetRootAsModel(bytearray(file.read()), 0)
    for index in range(root.MetadataLength()):
        entry = root.Metadata(index)
        if entry.Name().decode() == METADATA_NAME:
            return json.loads(root.Buffers(entry.Buffer()).DataAsNumpy().tobytes())
    raise ValueError(f"{path} has no '{METADATA_NAME}' metadata: it was not written by fcn_keras.export.export_tflite.")


def _metadata(model, quantization, image_shape, class_names):
    """What the file's readers need; a model with several heads has "heads" and one output per head."""
    dynamic = [-1 if size is None else int(size) for size in image_shape]
    heads = heads_of(model)

    def output(name, classes):
        return {"name": name, "shape": [*dynamic[:3], classes], "dtype": "float32"}

    if heads:
        described = {"heads": heads, "outputs": [output(f"{head}_logits", classes) for head, classes in heads.items()]}
    else:
        classes = num_classes_of(model)
        described = {"num_classes": classes, "output": output("logits", classes)}
    return {
        "model_name": model.name,
        **described,
        "class_names": class_names,
        "quantization": quantization or "none",
        "input": {"name": IMAGES, "shape": dynamic, "dtype": "float32", "range": "RGB 0..255"},
        "fcn_keras_version": fcn_keras.__version__,
    }


def _add_metadata(tflite_model, metadata):
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(json.dumps(metadata).encode(), np.uint8)
    tflite_model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = METADATA_NAME
    entry.buffer = len(tflite_model.buffers) - 1
    tflite_model.metadata = [*(tflite_model.metadata or []), entry]


def _with_standard_metadata(flatbuffer, model, class_names, path):
    """The file's bytes with the standard TFLite Metadata that MediaPipe reads, or as they are (and a warning
    saying why) for a model of several heads or where mediapipe is missing."""
    heads = heads_of(model)
    if heads:
        warnings.warn(f"{path} has no standard TFLite Metadata: MediaPipe's ImageSegmenter reads one output and "
                      f"the model has the heads {list(heads)}; for MediaPipe export one head, e.g. "
                      f"keras.Model(model.input, model.output[{next(iter(heads))!r}]).", stacklevel=3)
        return flatbuffer
    if not mediapipe_installed():
        warnings.warn(f"{path} has no standard TFLite Metadata, which MediaPipe needs: mediapipe is missing or "
                      f"fails to import ({INSTALL_HINT}); export again once it imports.", stacklevel=3)
        return flatbuffer
    return add_segmenter_metadata(flatbuffer, class_names or [str(index) for index in range(num_classes_of(model))])


def _checked_class_names(class_names, model):
    """`class_names` as lists, checked against the model's classes: a list for one head, {head: list} for several."""
    heads = heads_of(model)
    if class_names is None:
        return None
    if not heads:
        return _checked_names(class_names, num_classes_of(model), f"{model.name!r}")
    if not isinstance(class_names, dict) or set(class_names) != set(heads):
        raise ValueError(f"{model.name!r} has the heads {list(heads)}: give class_names as {{head: names}} for "
                         f"each of them, got {class_names!r}.")
    return {head: _checked_names(class_names[head], classes, f"head {head!r}") for head, classes in heads.items()}


def _checked_names(given, classes, scorer):
    """`given` as a list where it is `classes` one-line names; `scorer` says whose classes they name."""
    names = [] if isinstance(given, (str, dict)) else list(given)
    one_line = [isinstance(name, str) and name.strip() and not {"\r", "\n"} & set(name) for name in names]
    if len(names) != classes or not all(one_line):
        raise ValueError(f"class_names of {scorer} must be its {classes} classes' names in order, non-empty "
                         f"one-line strings, got {given!r}.")
    return names


def _fix_int8_reverse(tflite_model):
    """Gives each int8 REVERSE_V2 output its input's quantization, in place.

    The TF 2.21 converter calibrates the output of REVERSE_V2 (the RGB->BGR flip of
    CaffePreprocessing) separately, but the kernel only moves bytes, so the output
    was read with the wrong scale: on a trained demo FCN this alone cut int8 argmax
    agreement from 99.3% to 95.6%. Moving values keeps their scale, so copying the
    input's parameters is exact.
    """
    reverse = schema.BuiltinOperator.REVERSE_V2
    codes = [max(code.builtinCode, code.deprecatedBuiltinCode) for code in tflite_model.operatorCodes]
    for subgraph in tflite_model.subgraphs:
        for operator in subgraph.operators:
            if codes[operator.opcodeIndex] == reverse:
                source, target = (subgraph.tensors[operator.inputs[0]], subgraph.tensors[operator.outputs[0]])
                if source.type == target.type == schema.TensorType.INT8:
                    target.quantization = copy.deepcopy(source.quantization)
