"""ONNX export checked with onnxruntime against Keras, at several sizes of one dynamic graph, by both routes:
the package's own graph writer (Caffe-layout backbones) and tf2onnx (the other layers)."""

import os
import sys

import keras
import numpy as np
import pytest
from helpers import randomize_scores, random_images, tiny_fcn

import fcn_keras
import fcn_keras.export.onnx as onnx_export
from fcn_keras.export import export_model, export_onnx
from fcn_keras.export.onnx_graph import onnx_model, unwritable_layers

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
    def no_conversion(model):
        raise AssertionError("the model was loaded for conversion before the package check")

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` raises ImportError
    monkeypatch.setattr(onnx_export, "load_fcn", no_conversion)
    with pytest.raises(ImportError, match="optional package 'onnxruntime'"):
        export_onnx(tmp_path / "fcn.keras", tmp_path / "fcn.onnx")
    assert not (tmp_path / "fcn.onnx").exists()


def relative_difference(actual, expected):
    """Largest |difference| over the largest |expected logit|, as the benchmark measures it."""
    return float(np.abs(actual - expected).max() / np.abs(expected).max())


def scramble_upsampling_and_biases(model, seed=0):
    """Random biases and transposed-convolution kernels: the bilinear kernels are symmetric (in space and in
    their two channel axes) and the biases zero, so a kernel transposed the wrong way would pass unseen."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2DTranspose):
            layer.kernel.assign(rng.normal(0, 0.1, layer.kernel.shape).astype("float32"))
        if getattr(layer, "use_bias", False):
            layer.bias.assign(rng.normal(0, 0.1, layer.bias.shape).astype("float32"))
    return model


@pytest.mark.parametrize("backbone, padding, variant, at_once", [
    ("vgg16_tiny", "paper", "fcn8s", True),  # ZeroPadding2D by 100, crops at the paper's offsets, Rescaling
    ("alexnet_tiny", "paper", "fcn16s", False),  # grouped convolutions, LRN, strided convolutions
    ("googlenet_tiny", "same", "fcn32s", False),  # concatenated branches, pools rounding up
])
def test_caffe_backbones_are_written_by_the_graph_writer_and_match_keras(backbone, padding, variant, at_once,
                                                                         tmp_path):
    keras.utils.set_random_seed(0)
    model = randomize_scores(fcn_keras.build_fcn(variant, 3, backbone=backbone, padding=padding, at_once=at_once))
    scramble_upsampling_and_biases(model)
    graph = onnx.load(export_onnx(model, tmp_path / "fcn.onnx"))
    assert graph.producer_name == "fcn_keras"
    assert [node.op_type for node in graph.graph.node].count("Transpose") == 2  # NHWC in and out, NCHW between
    session = onnxruntime.InferenceSession(str(tmp_path / "fcn.onnx"), providers=["CPUExecutionProvider"])
    for shape in ((1, 37, 45), (2, 64, 80)):
        images = random_images(*shape)
        (logits,) = session.run(["logits"], {"images": images})
        assert relative_difference(logits, keras.ops.convert_to_numpy(model(images))) < 1e-5


def test_layers_the_writer_does_not_know_go_through_tf2onnx(tmp_path):
    keras.utils.set_random_seed(0)
    images = keras.Input((None, None, 3))
    features = keras.layers.Conv2D(4, 3, padding="same", activation="tanh", name="conv")(images)
    model = keras.Model(images, keras.layers.BatchNormalization(name="norm")(features))
    assert unwritable_layers(model) == ["conv (Conv2D: activation tanh)", "norm (BatchNormalization)"]
    graph = onnx.load(export_onnx(model, tmp_path / "model.onnx"))
    assert graph.producer_name == "tf2onnx"
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [node.name for node in session.get_inputs()] == ["images"]
    for shape in ((1, 9, 13), (2, 16, 16)):
        batch = random_images(*shape)
        (logits,) = session.run(["logits"], {"images": batch})
        np.testing.assert_allclose(logits, keras.ops.convert_to_numpy(model(batch)), atol=1e-4)


def test_a_written_graph_that_differs_from_keras_is_refused_and_not_kept(tmp_path, monkeypatch):
    other = tiny_fcn(seed=1)
    monkeypatch.setattr(onnx_export, "onnx_model", lambda model, *names: onnx_model(other, *names))
    with pytest.raises(RuntimeError, match="onnxruntime's logits differ from Keras's"):
        export_onnx(tiny_fcn(seed=0), tmp_path / "fcn.onnx")
    assert not (tmp_path / "fcn.onnx").exists()


@pytest.mark.slow
@pytest.mark.parametrize("padding", ["paper", "same"])
def test_the_full_vgg16_fcn8s_exports_and_matches_keras(padding, tmp_path):
    from fcn_keras.benchmark.inference import ModelCase

    model = ModelCase("fcn8s", "vgg16", padding).build()  # 134M parameters, score layers made non-zero
    session = onnxruntime.InferenceSession(export_onnx(model, tmp_path / "fcn8s.onnx"),
                                           providers=["CPUExecutionProvider"])
    for size in ((64, 80), (100, 120)):
        images = random_images(1, *size)
        (logits,) = session.run(["logits"], {"images": images})
        assert relative_difference(logits, keras.ops.convert_to_numpy(model(images))) < 1e-5


def test_an_export_that_fails_while_writing_leaves_no_file(tmp_path, monkeypatch):
    """Exports are written whole or not at all: a failure while the file is being moved into place (a full disk,
    say) leaves neither the file nor its temporary name, so the next try is not refused as an overwrite."""
    import shutil

    def full_disk(source, destination):
        with open(destination, "wb") as file:
            file.write(b"half a model")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "move", full_disk)
    with pytest.raises(OSError, match="No space left on device"):
        export_onnx(fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", padding="same"), tmp_path / "fcn.onnx")
    assert os.listdir(tmp_path) == []
