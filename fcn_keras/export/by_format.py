"""`export_model`: one entry point for every export format, the one `fcn-keras export` calls."""

import os

from fcn_keras.export.formats import export_formats, get_export_format


def export_model(model, format, output, quantize=None, representative_data=None, input_size=None, class_names=None):
    """Exports an FCN in one format; the single entry point behind `fcn-keras export`.

    Args:
        model: the path of a `.keras` file (or a `keras.Model`).
        format: a registered format (`fcn_keras.export.formats`): "saved_model", "tflite",
            "onnx" or "openvino".
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
    export_format = get_export_format(format)
    if not export_format.takes_size_and_calibration and (quantize, representative_data, input_size) != (None,) * 3:
        raise ValueError(f"quantize, representative_data and input_size apply to "
                         f"{_names_of(lambda each: each.takes_size_and_calibration)} exports, not {format}.")
    if not export_format.takes_class_names and class_names is not None:
        raise ValueError(f"class_names apply to {_names_of(lambda each: each.takes_class_names)} exports (their "
                         f"standard metadata), not {format}.")
    output = os.fspath(output)
    options = {}
    if export_format.takes_size_and_calibration:
        options.update(quantization=quantize, representative_data=representative_data, input_size=input_size)
    if export_format.takes_class_names:
        options.update(class_names=class_names)
    written_as_file = bool(export_format.extensions)
    target = _model_file(output, export_format, quantize) if written_as_file else _folder(output, export_format)
    return export_format.export(model, target, **options)


def _names_of(takes):
    """The registered formats for which `takes(format)` holds, as "a and b" or "a, b and c"."""
    *others, last = [each.name for each in export_formats() if takes(each)]
    return f"{', '.join(others)} and {last}" if others else last


def _model_file(output, export_format, quantize):
    """The file to write: `output` itself when it is named like the format's files, else a file in folder `output`."""
    extension = export_format.extensions[0]
    if output.endswith(extension) and not os.path.isdir(output):
        return output
    return os.path.join(_folder(output, export_format),
                        f"model_{quantize}{extension}" if quantize else f"model{extension}")


def _folder(output, export_format):
    """`output` as a folder to write in: refuses an existing file and the name of another format's file."""
    if os.path.isdir(output):
        return output
    extension = os.path.splitext(output)[1]
    if extension in (each_extension for each in export_formats() for each_extension in each.extensions):
        extensions = export_format.extensions
        wanted = f"a path ending in {extensions[0]}, or a folder" if extensions else "a folder"
        raise ValueError(f"output={output} names a {extension} file, not an export of format={export_format.name}; "
                         f"give {wanted}.")
    if os.path.exists(output):
        raise NotADirectoryError(f"output={output} is a file; give a folder for the exported model.")
    return output
