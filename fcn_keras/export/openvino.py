"""OpenVINO export: an IR (`.xml` graph, `.bin` weights beside it) in float32, or int8 through NNCF.

The IR has input `images` float32 (N, H, W, 3) RGB in [0, 255] and output `logits`
float32 (N, H, W, C) (`<head>_logits` per head of a model with several); N, H and W
stay dynamic unless `input_size` fixes them to (1, H, W, 3). It is converted by
`openvino.convert_model` from the plain-graph SavedModel the TFLite files start from
(`write_logits_saved_model`). "int8" quantizes it after training with NNCF
(`nncf.quantize`, its default preset), which calibrates activation ranges on
representative images: weights and activations of the convolutions become int8,
input and output stay float32. The ranges are the calibration images' minimum and
maximum, as TFLite's converter takes them: NNCF's default (means of per-image
ranges) clips the large activations of the score path, and on a trained tiny FCN
agreed with Keras on 98.3% of pixels and lost 2.6 points of mean IU, against
99.5% and none with min/max ranges. Run a file with `load_runtime_model(path, "openvino")`
or `fcn-keras predict/serve --runtime openvino`. Needs the optional packages openvino
and nncf (`pip install "fcn-keras[openvino]"`).
"""

import contextlib
import io
import os
import tempfile

import numpy as np

from fcn_keras.export.calibration import calibration_images, check_input_size
from fcn_keras.export.formats import get_export_format
from fcn_keras.export.options import NEVER_OVERWRITE
from fcn_keras.export.extras import optional_module
from fcn_keras.export.saved_model import check_one_input, write_logits_saved_model
from fcn_keras.models import load_fcn
from fcn_keras.write_policy import claim_files, written_whole

OPENVINO_QUANTIZATIONS = get_export_format("openvino").quantizations  # as registered in fcn_keras.export.formats


def export_openvino(model, path, quantization=None, representative_data=None, input_size=None,
                    max_calibration_images=200):
    """Converts an FCN to an OpenVINO IR, float32 or int8.

    Args:
        model: an FCN `keras.Model` or the path of its `.keras` file; of one input
            (several heads are fine: one output each).
        path: the `.xml` file to write; it and its `.bin` must not exist (the folder is created).
        quantization: None (float32) or "int8" (NNCF post-training quantization, about a
            quarter of the size; needs `representative_data`).
        representative_data: images that calibrate int8 activation ranges, RGB in
            [0, 255], ideally ~100-200 training images, in any form `export_tflite` takes:
            an array (N, H, W, 3), an iterable of arrays or (images, labels) pairs, a
            function returning one, a `.npy` file or a folder of PNG/JPEG images.
        input_size: None for dynamic batch/height/width, or (H, W) to fix the input to (1, H, W, 3).
        max_calibration_images: at most this many images calibrate.

    Returns:
        `path`.

    Raises:
        ValueError: a path not ending in `.xml`, an unknown quantization, int8 without
            representative data, a representative image that is not RGB, a model of
            several inputs, or one that is not an FCN.
        FileExistsError: the `.xml` or the `.bin` exists.
        ImportError: openvino (or, for int8, nncf) is not installed.

    Example:
        >>> model = fcn_keras.build_fcn8s(3, backbone="vgg16_tiny", padding="same")
        >>> export_openvino(model, "fcn8s.xml")  # float32; "int8" with representative_data quantizes it
        'fcn8s.xml'
        >>> sorted(os.listdir("."))
        ['fcn8s.bin', 'fcn8s.xml']
    """
    openvino = optional_module("openvino", "OpenVINO export")
    if quantization not in OPENVINO_QUANTIZATIONS:
        raise ValueError(f"Unknown OpenVINO quantization {quantization!r}; choose None (float32) or 'int8'.")
    if quantization == "int8" and representative_data is None:
        raise ValueError("int8 quantization calibrates activation ranges on real inputs and needs "
                         "`representative_data`: ~100 training images, RGB 0..255, as an array (N, H, W, 3), a .npy "
                         "file or a folder of images. Without images, export float32 (no quantization).")
    path = os.fspath(path)
    if not path.endswith(".xml"):
        raise ValueError(f"{path} does not end in .xml: give the OpenVINO model's .xml path (its weights go to "
                         "the .bin beside it).")
    nncf = optional_module("nncf", "OpenVINO int8 export") if quantization == "int8" else None
    model = load_fcn(model)
    check_one_input(model, "OpenVINO")
    image_shape = (None, *model.input.shape[1:]) if input_size is None else (1, *check_input_size(input_size), 3)
    if quantization == "int8":
        images = calibration_images(representative_data, max_calibration_images, input_size)
    path, _ = claim_files([path, weights_path(path)], hint=NEVER_OVERWRITE)
    with tempfile.TemporaryDirectory(prefix="fcn_openvino_") as workdir:
        converted = openvino.convert_model(write_logits_saved_model(model, os.path.join(workdir, "model"),
                                                                    image_shape))
        if quantization == "int8":
            converted = _quantize(nncf, converted, images)
        with written_whole(path) as partial, written_whole(weights_path(path)):  # the .bin is renamed first
            openvino.save_model(converted, partial, compress_to_fp16=False)  # and its .bin, partial_path(.bin)
    return path


def _quantize(nncf, model, images):
    """NNCF's post-training int8 quantization of an OpenVINO model, activation ranges from min/max of `images`;
    its progress bars (printed on stdout) are kept out of the caller's output."""
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters
    from nncf.quantization.range_estimator import RangeEstimatorParametersSet

    ranges = AdvancedQuantizationParameters(activations_range_estimator_params=RangeEstimatorParametersSet.MINMAX)
    with contextlib.redirect_stdout(io.StringIO()):
        return nncf.quantize(model, nncf.Dataset(images, lambda image: image[np.newaxis]), subset_size=len(images),
                             advanced_parameters=ranges)


def weights_path(path):
    """The `.bin` an OpenVINO `.xml` keeps its weights in (OpenVINO finds it by name).

    Example:
        >>> weights_path("exports/model_int8.xml")
        'exports/model_int8.bin'
    """
    return os.path.splitext(os.fspath(path))[0] + ".bin"
