"""The registry of export formats: name -> its files, the options it takes, its exporter and the runtimes that run it.

`export_model` (`fcn-keras export --format`), `load_runtime_model` (`fcn-keras predict/serve
--runtime`) and `fcn-keras benchmark --runtimes` read it, and so do their option lists and
messages: a new format is its module plus one `register_export_format`. Functions are named
as "module:function" and imported on use, so that the registry needs no TensorFlow (the
command line lists the formats before it picks a Keras backend).
"""

import dataclasses
import importlib

_DEPLOY = "fcn-keras[deploy]"
_OPENVINO = "fcn-keras[openvino]"


@dataclasses.dataclass(frozen=True)
class BenchmarkRun:
    """One way `fcn-keras benchmark` times a format's files.

    Attributes:
        name: what `--runtimes` calls it, e.g. "tflite_fp16".
        description: one line for the results.
        prepare: "module:function" of `function(build, workdir, images, **options) -> predict`
            (as `fcn_keras.benchmark.runtimes.Runtime.prepare`, with `options`).
        options: keyword arguments of `prepare`.
        needs: modules that must be importable, with the pip install that brings them.
    """

    name: str
    description: str
    prepare: str
    options: dict = dataclasses.field(default_factory=dict)
    needs: tuple = ()


@dataclasses.dataclass(frozen=True)
class ExportFormat:
    """What `export_model` and the runtimes need to know about an export format.

    Attributes:
        name: what `format=` and `--format` call it, e.g. "tflite".
        exporter: "module:function" of `function(model, output, **options) -> the path written`;
            `output` is the model file, or the folder of a format without `extensions`, and
            `options` are the keywords below that the format takes.
        extensions: its model file's extension, then those of files written beside it
            (OpenVINO's ".xml" and ".bin"); none for a format written as a folder.
        quantizations: what its `quantization` can be: None (float32) and the others.
        takes_size_and_calibration: whether it takes `quantization`, `representative_data`
            and `input_size`.
        takes_class_names: whether it takes `class_names`.
        runtime: "module:function" of `function(path) -> RuntimeModel` opening its model file
            for `predict` and `serve` (`load_runtime_model`), or None.
        benchmarks: the `BenchmarkRun`s that time its files.
    """

    name: str
    exporter: str
    extensions: tuple = ()
    quantizations: tuple = (None,)
    takes_size_and_calibration: bool = False
    takes_class_names: bool = False
    runtime: str = None
    benchmarks: tuple = ()

    def export(self, model, output, **options):
        """Writes `model` to `output` with the format's exporter; returns the path written."""
        return load_function(self.exporter)(model, output, **options)

    def open(self, path):
        """The `RuntimeModel` of the model file `path`, run by the format's runtime."""
        return load_function(self.runtime)(path)


_FORMATS = {}


def register_export_format(export_format):
    """Adds an `ExportFormat` to the registry (a name can be registered once).

    Args:
        export_format: the `ExportFormat`.

    Returns:
        `export_format`.

    Raises:
        ValueError: the name is taken.
    """
    if export_format.name in _FORMATS:
        raise ValueError(f"An export format named {export_format.name!r} is already registered.")
    _FORMATS[export_format.name] = export_format
    return export_format


def export_formats():
    """The registered `ExportFormat`s, in the order they were registered.

    Example:
        >>> [export_format.name for export_format in export_formats()]
        ['saved_model', 'tflite', 'onnx', 'openvino']
    """
    return tuple(_FORMATS.values())


def get_export_format(name):
    """The `ExportFormat` registered as `name`.

    Raises:
        ValueError: naming the registered formats when `name` is unknown.

    Example:
        >>> get_export_format("openvino").extensions
        ('.xml', '.bin')
    """
    try:
        return _FORMATS[name]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown export format {name!r}; choose one of {', '.join(_FORMATS)}.") from None


def load_function(reference):
    """The function a "module:function" reference names, its module imported now.

    Example:
        >>> load_function("os.path:basename")("exports/model.tflite")
        'model.tflite'
    """
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


_PREDICTORS = "fcn_keras.export.benchmark_predictors"  # how the benchmark runs the formats below
_LITERT = (("ai_edge_litert", _DEPLOY),)
_OPENVINO_RUNTIME = (("openvino", _OPENVINO),)

register_export_format(ExportFormat(
    "saved_model", "fcn_keras.export.saved_model:export_saved_model",
    benchmarks=(BenchmarkRun("saved_model", "the SavedModel `fcn-keras export` writes and `serve` runs, its logits "
                             "signature", f"{_PREDICTORS}:saved_model_predictor"),),
))
register_export_format(ExportFormat(
    "tflite", "fcn_keras.export.tflite:export_tflite", (".tflite",), (None, "float16", "int8"),
    takes_size_and_calibration=True, takes_class_names=True, runtime="fcn_keras.export.runtime_models:open_tflite",
    benchmarks=(
        BenchmarkRun("tflite_fp32", "TFLite float32 (XNNPack)", f"{_PREDICTORS}:tflite_predictor", {}, _LITERT),
        BenchmarkRun("tflite_fp16", "TFLite float16 weights", f"{_PREDICTORS}:tflite_predictor",
                     {"quantization": "float16"}, _LITERT),
        BenchmarkRun("tflite_int8", "TFLite int8 weights and activations", f"{_PREDICTORS}:tflite_predictor",
                     {"quantization": "int8"}, _LITERT),
    ),
))
register_export_format(ExportFormat(
    "onnx", "fcn_keras.export.onnx:export_onnx", (".onnx",),
    benchmarks=(BenchmarkRun("onnx", "ONNX Runtime (CPU) of the ONNX export", f"{_PREDICTORS}:onnx_predictor",
                             needs=(("onnxruntime", _DEPLOY), ("tf2onnx", _DEPLOY))),),
))
register_export_format(ExportFormat(
    "openvino", "fcn_keras.export.openvino:export_openvino", (".xml", ".bin"), (None, "int8"),
    takes_size_and_calibration=True, runtime="fcn_keras.export.runtime_models:open_openvino",
    benchmarks=(
        BenchmarkRun("openvino", "OpenVINO of the float32 IR `fcn-keras export` writes (from the plain graph)",
                     f"{_PREDICTORS}:openvino_predictor", {}, _OPENVINO_RUNTIME),
        BenchmarkRun("openvino_bf16", "OpenVINO, the float32 IR with the bfloat16 inference hint",
                     f"{_PREDICTORS}:openvino_predictor", {"precision": "bf16"}, _OPENVINO_RUNTIME),
        BenchmarkRun("openvino_int8", "OpenVINO of the int8 IR `fcn-keras export --quantize int8` writes (NNCF)",
                     f"{_PREDICTORS}:openvino_predictor", {"quantization": "int8"},
                     (*_OPENVINO_RUNTIME, ("nncf", _OPENVINO))),
    ),
))
