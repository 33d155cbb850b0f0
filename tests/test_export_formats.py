"""The registry of export formats: one registration makes a format that export_model writes, the runtimes open and
every list and message names."""

import pytest

from fcn_keras.export import formats, options
from fcn_keras.export.by_format import export_model
from fcn_keras.export.formats import ExportFormat, get_export_format, register_export_format
from fcn_keras.export.runtime_models import load_runtime_model


def write_toy(model, path, quantization=None, representative_data=None, input_size=None):
    with open(path, "w") as file:
        file.write(f"{model} {quantization} {representative_data} {input_size}")
    return path


def open_toy(path):
    with open(path) as file:
        return file.read()


@pytest.fixture
def toy(monkeypatch):
    """A format "toy" of `.toy` files registered once, for this test only."""
    monkeypatch.setattr(formats, "_FORMATS", dict(formats._FORMATS))
    return register_export_format(ExportFormat(
        "toy", f"{__name__}:write_toy", (".toy",), (None, "int4"), takes_size_and_calibration=True,
        runtime=f"{__name__}:open_toy"))


def test_a_registered_format_is_exported_opened_and_listed(toy, tmp_path):
    written = export_model("net", "toy", tmp_path, quantize="int4", representative_data="calibration",
                           input_size=(4, 6))
    assert written == str(tmp_path / "model_int4.toy")
    assert load_runtime_model(written, "toy") == "net int4 calibration (4, 6)"
    assert options.FORMATS == ("saved_model", "tflite", "onnx", "openvino", "toy")
    assert options.QUANTIZATIONS == (None, "float16", "int8", "int4")
    assert options.RUNTIMES == ("tflite", "openvino", "toy")
    with pytest.raises(ValueError, match=r"^Unknown export format 'torch'; choose one of saved_model, tflite, onnx, "
                                         r"openvino, toy\.$"):
        export_model("net", "torch", tmp_path)
    with pytest.raises(ValueError, match=r"apply to tflite, openvino and toy exports, not onnx\.$"):
        export_model("net", "onnx", tmp_path, input_size=(4, 6))
    with pytest.raises(ValueError, match=r"names a \.toy file, not an export of format=onnx; give a path ending in "
                                         r"\.onnx, or a folder\.$"):
        export_model("net", "onnx", tmp_path / "other.toy")
    with pytest.raises(ValueError, match="An export format named 'toy' is already registered."):
        register_export_format(toy)


def test_the_lists_follow_the_registry():
    assert options.FORMATS == ("saved_model", "tflite", "onnx", "openvino")
    assert options.QUANTIZATIONS == (None, "float16", "int8")
    assert options.RUNTIMES == ("tflite", "openvino")
    assert get_export_format("openvino").quantizations == (None, "int8")
