"""`export_model`: one entry point for every export format, the one `fcn-keras export` calls."""

import os

from fcn_keras.export.onnx import export_onnx
from fcn_keras.export.options import FORMATS
from fcn_keras.export.saved_model import export_saved_model
from fcn_keras.export.tflite import export_tflite


def export_model(model, format, output, quantize=None, representative_data=None, input_size=None):
    """Exports an FCN in one format; the single entry point behind `fcn-keras export`.

    Args:
        model: the path of a `.keras` file (or a `keras.Model`).
        format: "saved_model", "tflite" or "onnx".
        output: a folder. saved_model: the TF Serving model folder, which gets the
            next version `output/<n>/`. tflite: gets `model.tflite`,
            `model_float16.tflite` or `model_int8.tflite`. onnx: gets `model.onnx`.
            Existing files are never overwritten.
        quantize: tflite only: None, "float16" or "int8".
        representative_data: tflite int8 only: calibration images (a `.npy` file,
            a folder of images, or an array (N, H, W, 3) RGB 0..255).
        input_size: tflite only: (H, W) to fix the input size; None keeps it dynamic.

    Returns:
        The path written: the version folder or the model file.

    Raises:
        ValueError: unknown format, options that the format does not take, a model
            that is not an FCN or a corrupt file, or an output folder that holds
            something else.
        NotADirectoryError: `output` exists and is a file, not a folder.
        FileExistsError: the target file or version exists.

    Example:
        >>> fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", padding="same").save("fcn32s.keras")
        >>> export_model("fcn32s.keras", "tflite", "exports", quantize="float16")
        'exports/model_float16.tflite'
    """
    if format not in FORMATS:
        raise ValueError(f"Unknown export format {format!r}; choose one of {', '.join(FORMATS)}.")
    if format != "tflite" and (quantize, representative_data, input_size) != (None, None, None):
        raise ValueError(f"quantize, representative_data and input_size apply to tflite exports, not {format}.")
    output = os.fspath(output)
    if os.path.exists(output) and not os.path.isdir(output):
        raise NotADirectoryError(f"output={output} is a file; give a folder for the exported model.")
    if format == "saved_model":
        return export_saved_model(model, output)
    if format == "onnx":
        return export_onnx(model, os.path.join(output, "model.onnx"))
    filename = f"model_{quantize}.tflite" if quantize else "model.tflite"
    return export_tflite(model, os.path.join(output, filename), quantize, representative_data, input_size)
