"""What the exporters and the local server accept, and their defaults (no TensorFlow needed).

`FORMATS`, `QUANTIZATIONS` and `RUNTIMES` are read from the registry of export formats
(`fcn_keras.export.formats`) when asked for, so they list the formats registered by then:
`FORMATS` every format `export_model` writes; `QUANTIZATIONS` every quantization one of
them takes, None (float32) first; `RUNTIMES` the formats whose files `fcn-keras predict`
and `serve` run besides Keras models and SavedModels.
"""

from fcn_keras.export.formats import export_formats
from fcn_keras.limits import DEFAULT_MAX_IMAGE_PIXELS  # noqa: F401  (the server's default, kept with the others)

DEFAULT_MODEL_NAME = "fcn"  # the NAME in TF Serving's /v1/models/NAME
DEFAULT_HOST = "127.0.0.1"  # answer this machine only
DEFAULT_PORT = 8501  # TF Serving's REST port
DEFAULT_MAX_CONCURRENCY = 4  # requests the local server parses and predicts at once
DEFAULT_POLL_SECONDS = 2.0  # how often the local server looks for a new model version
NEVER_OVERWRITE = "exports never overwrite files: choose another output path or remove the old file yourself"


def __getattr__(name):
    formats = export_formats()
    if name == "FORMATS":
        return tuple(export_format.name for export_format in formats)
    if name == "QUANTIZATIONS":
        return tuple(dict.fromkeys(quantization for export_format in formats
                                   for quantization in export_format.quantizations))
    if name == "RUNTIMES":
        return tuple(export_format.name for export_format in formats if export_format.runtime)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
