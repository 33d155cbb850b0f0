"""SavedModel export: TF Serving layout, signatures checked in a TensorFlow-only process, validation."""

import json
import os
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import NUM_CLASSES, png_bytes, tiny_fcn

from fcn_keras.export import export_model, export_saved_model, saved_model_versions
from fcn_keras.export import saved_model as saved_model_module
from fcn_keras.models import skip_border

# Runs in a fresh interpreter that imports TensorFlow only: what a serving host has.
TENSORFLOW_ONLY_CHECK = """
import glob
import os
import sys
import numpy as np
import tensorflow as tf

export_dir, inputs_path, outputs_path = sys.argv[1:]
inputs = np.load(inputs_path)
pngs = [open(path, "rb").read() for path in sorted(glob.glob(os.path.join(os.path.dirname(inputs_path), "*.png")))]
loaded = tf.saved_model.load(export_dir)
signatures = loaded.signatures
outputs = {}
for key, value in signatures["serving_default"](images=tf.constant(inputs["images"])).items():
    outputs["serving_default/" + key] = value.numpy()
for key, value in signatures["predict_image_bytes"](image_bytes=tf.constant(pngs)).items():
    outputs["predict_image_bytes/" + key] = value.numpy()
outputs["logits/logits"] = signatures["logits"](images=tf.constant(inputs["images"]))["logits"].numpy()
outputs["signature_names"] = np.array(sorted(signatures))
assert not any(name.startswith("fcn_keras") for name in sys.modules), "fcn_keras was imported"
np.savez(outputs_path, **outputs)
"""


@pytest.fixture(scope="module")
def exported(served_fcn, tmp_path_factory):
    base_dir = tmp_path_factory.mktemp("serving") / "fcn"
    written = export_saved_model(served_fcn, base_dir)
    assert written == str(base_dir / "1")  # a new folder starts at version 1
    return written


def test_signatures_match_keras_in_a_tensorflow_only_process(served_fcn, exported, tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (2, 24, 40, 3)).astype(np.uint8)
    np.savez(tmp_path / "inputs.npz", images=images.astype(np.float32))
    for index, image in enumerate(images):
        (tmp_path / f"{index}.png").write_bytes(png_bytes(image))
    subprocess.run(
        [sys.executable, "-c", TENSORFLOW_ONLY_CHECK, exported, tmp_path / "inputs.npz", tmp_path / "outputs.npz"],
        check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    outputs = np.load(tmp_path / "outputs.npz")
    logits = keras.ops.convert_to_numpy(served_fcn(images.astype(np.float32)))
    probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(logits))
    assert list(outputs["signature_names"]) == ["logits", "predict_image_bytes", "serving_default"]
    assert len(np.unique(logits.argmax(-1))) > 1  # a bug returning one class everywhere would pass otherwise
    for signature in ("serving_default", "predict_image_bytes"):
        assert np.max(np.abs(outputs[f"{signature}/probabilities"] - probabilities)) < 1e-5
        assert outputs[f"{signature}/classes"].dtype == np.int32
        np.testing.assert_array_equal(outputs[f"{signature}/classes"], logits.argmax(-1))
    np.testing.assert_allclose(outputs["logits/logits"], logits, atol=1e-5)


def test_saved_model_cli_lists_every_signature_with_dynamic_shapes(exported):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    shown = subprocess.run(
        [cli, "show", "--dir", exported, "--all"],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    ).stdout
    for expected in (
        "signature_def['serving_default']",
        "signature_def['predict_image_bytes']",
        "signature_def['logits']",
        "inputs['images'] tensor_info:\n        dtype: DT_FLOAT\n        shape: (-1, -1, -1, 3)",
        "inputs['image_bytes'] tensor_info:\n        dtype: DT_STRING\n        shape: (-1)",
        f"outputs['probabilities'] tensor_info:\n        dtype: DT_FLOAT\n        shape: (-1, -1, -1, {NUM_CLASSES})",
        "outputs['classes'] tensor_info:\n        dtype: DT_INT32\n        shape: (-1, -1, -1)",
    ):
        assert expected in shown


def test_image_bytes_of_different_sizes_in_one_batch_fail_clearly(exported):
    loaded = tf.saved_model.load(exported)
    batch = [png_bytes(np.zeros((16, 16, 3), np.uint8)), png_bytes(np.zeros((16, 24, 3), np.uint8))]
    with pytest.raises(tf.errors.InvalidArgumentError, match="must have the same size"):
        loaded.signatures["predict_image_bytes"](image_bytes=tf.constant(batch))


def test_an_empty_image_bytes_batch_fails_clearly(exported):
    loaded = tf.saved_model.load(exported)
    with pytest.raises(tf.errors.InvalidArgumentError, match="needs at least one image"):
        loaded.signatures["predict_image_bytes"](image_bytes=tf.constant([], tf.string))


def test_versions_count_up_and_never_overwrite(served_fcn, tmp_path):
    base_dir = tmp_path / "fcn"
    assert export_saved_model(served_fcn, base_dir, version=5) == str(base_dir / "5")
    assert export_saved_model(served_fcn, base_dir) == str(base_dir / "6")
    assert saved_model_versions(base_dir) == [5, 6]
    before = (base_dir / "5" / "saved_model.pb").read_bytes()
    with pytest.raises(FileExistsError, match="Version 5 already exists"):
        export_saved_model(served_fcn, base_dir, version=5)
    assert (base_dir / "5" / "saved_model.pb").read_bytes() == before
    assert sorted(os.listdir(base_dir)) == ["5", "6"]  # no staging folder left behind
    with pytest.raises(ValueError, match="positive int"):
        export_saved_model(served_fcn, base_dir, version=0)


def test_output_folder_that_holds_something_else_is_refused(served_fcn, tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match=r"not a TF Serving model folder: it holds notes.txt"):
        export_saved_model(served_fcn, tmp_path)
    saved_model_dir = tmp_path / "plain"
    served_fcn.export(str(saved_model_dir), verbose=False)
    with pytest.raises(ValueError, match="looks like a SavedModel itself"):
        export_saved_model(served_fcn, saved_model_dir)
    assert sorted(os.listdir(tmp_path)) == ["notes.txt", "plain"]


def test_models_that_are_not_fcns_or_not_loadable_are_refused(tmp_path):
    classifier = keras.Sequential(
        [keras.Input((32, 32, 3)), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(4)]
    )
    with pytest.raises(ValueError, match=r"not an FCN segmentation model: its output has shape \(None, 4\)"):
        export_saved_model(classifier, tmp_path / "a")
    grayscale = keras.Sequential([keras.Input((None, None, 1)), keras.layers.Conv2D(2, 1)])
    with pytest.raises(ValueError, match=r"an FCN takes RGB images"):
        export_saved_model(grayscale, tmp_path / "b")
    corrupt = tmp_path / "broken.keras"
    corrupt.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="broken.keras is not a Keras model file"):
        export_model(corrupt, "saved_model", tmp_path / "c")
    not_a_model = tmp_path / "empty.keras"
    with zipfile.ZipFile(not_a_model, "w") as archive:
        archive.writestr("config.json", json.dumps({"class_name": "Nothing"}))
    with pytest.raises(ValueError, match="Cannot load"):
        export_model(not_a_model, "saved_model", tmp_path / "d")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export_model(tmp_path / "missing.keras", "saved_model", tmp_path / "e")
    assert not any((tmp_path / name).exists() for name in "abcde")


def test_export_model_loads_a_keras_file(served_fcn, tmp_path):
    served_fcn.save(tmp_path / "fcn.keras")
    written = export_model(tmp_path / "fcn.keras", "saved_model", tmp_path / "serving")
    assert written == str(tmp_path / "serving" / "1")
    with pytest.raises(ValueError, match="Unknown export format 'torch'"):
        export_model(tmp_path / "fcn.keras", "torch", tmp_path / "x")
    with pytest.raises(ValueError, match="apply to tflite and openvino exports, not saved_model"):
        export_model(tmp_path / "fcn.keras", "saved_model", tmp_path / "serving", quantize="int8")


def test_paper_geometry_exports_without_its_border_work_and_the_same_outputs(tmp_path, monkeypatch):
    """The SavedModel's signatures run `skip_border` of a "paper" model: fewer convolutions, the same logits (random
    biases make the border's background non-zero, so a wrong background would show)."""
    served = []

    def spy(model, **kwargs):
        served.append(skip_border(model, **kwargs))
        return served[-1]

    monkeypatch.setattr(saved_model_module, "skip_border", spy)
    model = tiny_fcn(padding="paper")
    rng = np.random.default_rng(1)
    for layer in model.layers:
        if getattr(layer, "bias", None) is not None:
            layer.bias.assign(rng.normal(0, 0.1, layer.bias.shape).astype("float32"))
    logits = tf.saved_model.load(export_saved_model(model, str(tmp_path / "fcn"))).signatures["logits"]
    for shape in ((2, 45, 70, 3), (1, 33, 97, 3)):
        images = rng.uniform(0, 255, shape).astype("float32")
        expected = np.asarray(model.predict_on_batch(images))
        scale = np.abs(expected).max()
        assert np.abs(logits(images=tf.constant(images))["logits"].numpy() - expected).max() <= 1e-5 * scale
    assert len(served) == 1 and served[0] is not model
