"""What the exporters and the local server accept, and their defaults (no TensorFlow needed)."""

from fcn_keras.limits import DEFAULT_MAX_IMAGE_PIXELS  # noqa: F401  (the server's default, kept with the others)

FORMATS = ("saved_model", "tflite", "onnx", "openvino")
FILE_EXTENSIONS = {"tflite": ".tflite", "onnx": ".onnx", "openvino": ".xml"}
"""The formats written as one model file, by its extension (OpenVINO's `.xml` has its weights in a `.bin` beside it)."""
QUANTIZATIONS = (None, "float16", "int8")
"""TFLite weight and activation precisions: None (float32), "float16" or "int8"."""
OPENVINO_QUANTIZATIONS = (None, "int8")
"""OpenVINO precisions: None (float32) or "int8" (NNCF post-training quantization)."""
RUNTIMES = ("tflite", "openvino")
"""The exported files `fcn-keras predict` and `serve` run besides Keras models and SavedModels."""

DEFAULT_MODEL_NAME = "fcn"  # the NAME in TF Serving's /v1/models/NAME
DEFAULT_HOST = "127.0.0.1"  # answer this machine only
DEFAULT_PORT = 8501  # TF Serving's REST port
DEFAULT_MAX_CONCURRENCY = 4  # requests the local server parses and predicts at once
NEVER_OVERWRITE = "exports never overwrite files: choose another output path or remove the old file yourself"
