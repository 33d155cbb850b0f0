"""ONNX export checked with onnxruntime against Keras, at several sizes of one dynamic graph."""

import os
import sys

import keras
import numpy as np
import pytest
from helpers import random_images, tiny_fcn

from fcn_keras.export import export_model, export_onnx

onnx = pytest.importorskip("onnx")
pytest.importorskip("tf2onnx")
onnxruntime = pytest.importorskip("onnxruntime")


def test_onnx_matches_keras_with_dynamic_batch_and_size(tmp_path):
    model = tiny_fcn()
    path = export_onnx(model, tmp_path / "fcn.onnx")
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    assert [node.name for node in session.get_inputs()] == ["images"]
    assert [node.name for node in session.get_outputs()] == ["logits"]
    for shape in ((1, 16, 16), (2, 24, 40)):
        images = random_images(*shape)
        (logits,) = session.run(["logits"], {"images": images})
        np.testing.assert_allclose(logits, keras.ops.convert_to_numpy(model(images)), atol=1e-4)


def test_onnx_never_overwrites_and_export_model_names_the_file(tmp_path):
    model = tiny_fcn()
    model.save(tmp_path / "fcn.keras")
    output = tmp_path / "out"
    output.mkdir()
    (output / "model.onnx").write_bytes(b"keep")
    with pytest.raises(FileExistsError, match="model.onnx already exists"):
        export_model(tmp_path / "fcn.keras", "onnx", output)
    assert (output / "model.onnx").read_bytes() == b"keep"
    assert export_model(tmp_path / "fcn.keras", "onnx", tmp_path / "new") == os.path.join(tmp_path, "new", "model.onnx")
    onnx.checker.check_model(os.path.join(tmp_path, "new", "model.onnx"))


def test_missing_onnxruntime_is_reported_before_the_conversion(tmp_path, monkeypatch):
    import fcn_keras.export.onnx as onnx_export

    def no_conversion(model):
        raise AssertionError("the model was loaded for conversion before the package check")

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` raises ImportError
    monkeypatch.setattr(onnx_export, "load_fcn", no_conversion)
    with pytest.raises(ImportError, match="optional package 'onnxruntime'"):
        export_onnx(tmp_path / "fcn.keras", tmp_path / "fcn.onnx")
    assert not (tmp_path / "fcn.onnx").exists()
