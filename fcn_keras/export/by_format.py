"""`export_model`: one entry point for every export format, the one `fcn-keras export` calls."""

import os

from fcn_keras.export.onnx import export_onnx
from fcn_keras.export.openvino import export_openvino
from fcn_keras.export.options import FILE_EXTENSIONS, FORMATS
from fcn_keras.export.saved_model import export_saved_model
from fcn_keras.export.tflite import export_tflite

_SIZED = ("tflite", "openvino")  # the formats that take quantize, representative_data and input_size
_FILE_NAMES = (*FILE_EXTENSIONS.values(), ".bin")  # extensions of model files (.bin: OpenVINO's weights), not folders


def export_model(model, format, output, quantize=None, representative_data=None, input_size=None, class_names=None):
    """Exports an FCN in one format; the single entry point behind `fcn-keras export`.

    Args:
        model: the path of a `.keras` file (or a `keras.Model`).
        format: "saved_model", "tflite", "onnx" or "openvino".
        output: saved_model: the TF Serving model folder, which gets the next version
            `output/<n>/`. The others: the model file (`.tflite`, `.onnx`, or OpenVINO's
            `.xml`, whose weights go to the `.bin` beside it), or a folder, which gets
            `model.tflite` (`model_float16.tflite`, `model_int8.tflite`), `model.onnx` or
            `model.xml` (`model_int8.xml`). Existing files are never overwritten.
        quantize: tflite: None, "float16" or "int8"; openvino: None or "int8".
        representative_data: int8 only: calibration images (a `.npy` file, a folder of
            images, or an array (N, H, W, 3) RGB 0..255).
        input_size: tflite and openvino: (H, W) to fix the input size; None keeps it dynamic.
        class_names: tflite: the class names its standard metadata lists (see `export_tflite`).

    Returns:
        The path written: the version folder or the model file.

    Raises:
        ValueError: unknown format, options that the format does not take, a file name
            of another format, a model that is not an FCN or a corrupt file, or an
            output folder that holds something else.
        NotADirectoryError: `output` is an existing file not named like the format's files.
        FileExistsError: the target file or version exists.

    Example:
        >>> fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", padding="same").save("fcn32s.keras")
        >>> export_model("fcn32s.keras", "tflite", "exports", quantize="float16")
        'exports/model_float16.tflite'
        >>> export_model("fcn32s.keras", "tflite", "exports/fcn32s.tflite")
        'exports/fcn32s.tflite'
    """
    if format not in FORMATS:
        raise ValueError(f"Unknown export format {format!r}; choose one of {', '.join(FORMATS)}.")
    if format not in _SIZED and (quantize, representative_data, input_size) != (None, None, None):
        raise ValueError(f"quantize, representative_data and input_size apply to {' and '.join(_SIZED)} exports, "
                         f"not {format}.")
    if format != "tflite" and class_names is not None:
        raise ValueError(f"class_names apply to tflite exports (their standard metadata), not {format}.")
    output = os.fspath(output)
    if format == "saved_model":
        return export_saved_model(model, _folder(output, format))
    path = _model_file(output, format, quantize)
    if format == "onnx":
        return export_onnx(model, path)
    if format == "tflite":
        return export_tflite(model, path, quantize, representative_data, input_size, class_names=class_names)
    return export_openvino(model, path, quantize, representative_data, input_size)


def _model_file(output, format, quantize):
    """The file to write: `output` itself when it is named like the format's files, else a file in folder `output`."""
    extension = FILE_EXTENSIONS[format]
    if output.endswith(extension) and not os.path.isdir(output):
        return output
    return os.path.join(_folder(output, format), f"model_{quantize}{extension}" if quantize else f"model{extension}")


def _folder(output, format):
    """`output` as a folder to write in: refuses an existing file and the name of another model file."""
    if os.path.isdir(output):
        return output
    extension = os.path.splitext(output)[1]
    if extension in _FILE_NAMES:
        wanted = f"a path ending in {FILE_EXTENSIONS[format]}, or a folder" if format in FILE_EXTENSIONS else "a folder"
        raise ValueError(f"output={output} names a {extension} file, not an export of format={format}; give {wanted}.")
    if os.path.exists(output):
        raise NotADirectoryError(f"output={output} is a file; give a folder for the exported model.")
    return output
