"""The optional packages of exports and runtimes, imported with a refusal that names their pip extra.

Needs no TensorFlow.
"""

import importlib

EXTRAS = {"ai_edge_litert": "deploy", "onnx": "deploy", "tf2onnx": "deploy", "onnxruntime": "deploy",
          "openvino": "openvino", "nncf": "openvino"}
"""Each optional package's extra of setup.py (`pip install 'fcn-keras[<extra>]'`)."""


def optional_module(package, what):
    """Imports an optional package, or refuses in one line naming the pip extra that brings it.

    Args:
        package: the module to import, e.g. "ai_edge_litert.interpreter".
        what: what needs it, the subject of the refusal ("Running OpenVINO files").

    Returns:
        The module.

    Raises:
        ImportError: e.g. "ONNX export needs the optional package 'onnx': pip install 'fcn-keras[deploy]'."

    Example:
        >>> optional_module("importlib", "This example").__name__
        'importlib'
    """
    top = package.split(".")[0]
    try:
        return importlib.import_module(package)
    except ImportError as error:
        install = f"pip install 'fcn-keras[{EXTRAS[top]}]'" if top in EXTRAS else f"pip install {top}"
        raise ImportError(f"{what} needs the optional package {top!r}: {install}.") from error
