"""Deployment: SavedModel for TF Serving, TFLite (fp32/fp16/int8), ONNX, OpenVINO (fp32/int8), a REST server
and client, and the exported files as models (`load_runtime_model`).

`export_model` is what `fcn-keras export` calls; `serve` is what `fcn-keras serve` calls.
Each format is registered once (`register_export_format`, `fcn_keras.export.formats`).
Names load their modules on first use; the registry, `fcn_keras.export.options`, the client and
`load_runtime_model` need no TensorFlow under Keras' JAX or PyTorch backend. Exporting and serving
are TensorFlow's: under another Keras backend their names refuse in one line that says how (load the
`.keras` file under TensorFlow).
"""

from fcn_keras.lazy_imports import lazy_namespace

_getattr, __dir__, __all__ = lazy_namespace(__name__, {
    "fcn_keras.export.by_format": ["export_model"],
    "fcn_keras.export.client": ["ServingClient", "ServingError"],
    "fcn_keras.export.formats": ["BenchmarkRun", "ExportFormat", "export_formats", "get_export_format",
                                 "register_export_format"],
    "fcn_keras.export.onnx": ["export_onnx"],
    "fcn_keras.export.openvino": ["export_openvino"],
    "fcn_keras.export.options": ["DEFAULT_HOST", "DEFAULT_MODEL_NAME", "DEFAULT_PORT", "FORMATS", "QUANTIZATIONS"],
    "fcn_keras.export.runtime_models": ["RuntimeModel", "load_runtime_model"],
    "fcn_keras.export.saved_model": ["SIGNATURES", "export_saved_model", "saved_model_versions"],
    "fcn_keras.export.server": ["ModelServer", "serve"],
    "fcn_keras.export.tflite": ["export_tflite", "read_tflite_metadata"],
})
WITHOUT_TENSORFLOW = {"client", "formats", "options", "runtime_models", "ServingClient", "ServingError", "DEFAULT_HOST",
                      "DEFAULT_MODEL_NAME", "DEFAULT_PORT", "FORMATS", "QUANTIZATIONS", "RuntimeModel",
                      "load_runtime_model", "BenchmarkRun", "ExportFormat", "export_formats", "get_export_format",
                      "register_export_format"}


def __getattr__(name):
    if name not in WITHOUT_TENSORFLOW and not name.startswith("_"):
        from fcn_keras.backends import require_tensorflow_backend

        require_tensorflow_backend(f"fcn_keras.export.{name} (export and serving)")
    return _getattr(name)
