"""Keras backends: a `.keras` file trained under JAX or PyTorch runs and exports under TensorFlow, other backends
import no TensorFlow, and export refuses there in one line that says how."""

import importlib.util
import json
import os
import textwrap

import keras
import numpy as np
import pytest
from helpers import run_under

import fcn_keras

# Run under another backend: builds, trains (the package's recipe, loss and metric), evaluates, predicts and draws
# without TensorFlow (numpy data), then saves the model, its logits on fixed images and whether TensorFlow was
# imported before the save (Keras' own saving imports it where it is installed).
TRAIN_ELSEWHERE = textwrap.dedent("""
    import json, sys
    import numpy as np
    import fcn_keras
    from fcn_keras.training import compile_for_training
    from fcn_keras.visualize import comparison_grid

    folder = sys.argv[1]
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (4, 24, 24, 3)).astype("float32")
    masks = (images[..., 0] > 127).astype("uint8")
    masks[:, :2] = 255
    model = fcn_keras.build_fcn8s(3, backbone="vgg16_tiny", padding="same")
    compile_for_training(model, total_steps=4, learning_rate=1e-3, warmup_steps=2)
    model.fit(images, masks, batch_size=2, epochs=2, verbose=0)
    scores = fcn_keras.evaluate(model, list(zip(images, masks)), num_classes=3)
    comparison_grid(images[:2], masks[:2], fcn_keras.predict(model, images[:2]), path=folder + "/grid.png")
    tensorflow_imported = "tensorflow" in sys.modules  # before saving: Keras' saving imports it where installed
    model.save(folder + "/model.keras")
    np.save(folder + "/logits.npy", np.asarray(model.predict(images, verbose=0)))
    np.save(folder + "/images.npy", images)
    json.dump({"tensorflow_imported": tensorflow_imported, "mean_iou": scores["mean_iou"],
               "iterations": int(model.optimizer.iterations)}, open(folder + "/report.json", "w"))
""")


# Run under one backend with the folders of files trained under others: loads each compiled model.keras (as Keras and
# as the command line load it) and reports which frameworks the loads imported (beyond those imported with Keras),
# the logits' difference from those saved, the optimizer's steps and class.
LOAD_ELSEWHERE = textwrap.dedent("""
    import json, sys
    import numpy as np
    import keras
    import fcn_keras  # registers the package's Keras objects

    FRAMEWORKS = ("tensorflow", "jax", "torch")
    report = {}
    for folder in sys.argv[1:]:
        before = {name for name in FRAMEWORKS if name in sys.modules}
        model = keras.models.load_model(folder + "/model.keras")
        fcn_keras.models.load_fcn(folder + "/model.keras")  # what the command line loads with
        logits = np.asarray(model.predict(np.load(folder + "/images.npy"), verbose=0))
        report[folder] = {"imported": sorted({name for name in FRAMEWORKS if name in sys.modules} - before),
                          "difference": float(np.abs(logits - np.load(folder + "/logits.npy")).max()),
                          "iterations": int(model.optimizer.iterations),
                          "optimizer": type(model.optimizer).__module__}
    print(json.dumps(report))
""")
BACKENDS = ("tensorflow", "jax", "torch")


def available(backend):
    return backend == "tensorflow" or importlib.util.find_spec(backend) is not None  # not imported here


@pytest.fixture(scope="module")
def trained_on(tmp_path_factory):
    """{backend: folder} of a compiled tiny FCN trained and saved under each installed backend (TRAIN_ELSEWHERE)."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip("trains in subprocesses from the TensorFlow run")
    folders = {}
    for backend in filter(available, BACKENDS):
        folder = tmp_path_factory.mktemp(f"trained_on_{backend}")
        result = run_under(backend, TRAIN_ELSEWHERE, str(folder))
        assert result.returncode == 0, result.stderr
        folders[backend] = folder
    return folders


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_compiled_file_loads_on_any_backend_without_importing_the_framework_it_was_trained_with(backend,
                                                                                                   trained_on):
    """keras.models.load_model after `import fcn_keras`: a file trained under PyTorch made a TensorFlow process
    import torch to rebuild its optimizer (PyPI's default torch, with triton, crashes there)."""
    if not available(backend):
        pytest.skip(f"{backend} is not installed")
    others = {other: folder for other, folder in trained_on.items() if other != backend}
    if not others:
        pytest.skip("no other backend is installed to have trained a file")
    result = run_under(backend, LOAD_ELSEWHERE, *map(str, others.values()))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    for other, folder in others.items():
        loaded = report[str(folder)]
        assert loaded["imported"] == [], (other, loaded)
        assert loaded["difference"] <= 1e-5 and loaded["iterations"] == 4, (other, loaded)
        assert f"backend.{other}" not in loaded["optimizer"], (other, loaded)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_a_keras_file_trained_on_another_backend_runs_and_exports_under_tensorflow(backend, trained_on):
    if backend not in trained_on:
        pytest.skip(f"{backend} is not installed")
    folder = trained_on[backend]
    report = json.loads((folder / "report.json").read_text())
    assert report["tensorflow_imported"] is False
    assert report["iterations"] == 4 and 0 <= report["mean_iou"] <= 1 and (folder / "grid.png").exists()

    model = keras.models.load_model(folder / "model.keras")  # compiled: optimizer, warm-up, loss and metric
    images, expected = np.load(folder / "images.npy"), np.load(folder / "logits.npy")
    np.testing.assert_allclose(model.predict(images, verbose=0), expected, rtol=0, atol=1e-5)
    assert int(model.optimizer.iterations) == 4 and type(model.optimizer._learning_rate).__name__ == "LinearWarmUp"

    from fcn_keras.export import export_model

    version = export_model(str(folder / "model.keras"), "saved_model", str(folder / "serving"))
    import tensorflow as tf

    signatures = tf.saved_model.load(version).signatures
    served = signatures["logits"](images=tf.constant(images))["logits"].numpy()
    np.testing.assert_allclose(served, expected, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(signatures["serving_default"](images=tf.constant(images))["classes"].numpy(),
                                  expected.argmax(-1))
    lite = export_model(str(folder / "model.keras"), "tflite", str(folder / "lite"))
    assert os.path.getsize(lite) > 0


@pytest.mark.backends
@pytest.mark.skipif(keras.backend.backend() == "tensorflow", reason="exports on TensorFlow")
def test_export_and_serve_say_in_one_line_how_to_export_on_another_backend(tmp_path, capsys):
    backend = keras.backend.backend()
    with pytest.raises(ValueError, match=f"runs {backend} .*KERAS_BACKEND=tensorflow fcn-keras export"):
        fcn_keras.export.export_model
    with pytest.raises(ValueError, match="needs Keras' TensorFlow backend"):
        from fcn_keras.export import serve  # noqa: F401
    from fcn_keras import cli
    from fcn_keras.export import FORMATS, ServingClient  # noqa: F401  (need no TensorFlow)

    fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", padding="same").save(tmp_path / "m.keras")
    status = cli.main(["export", str(tmp_path / "m.keras"), "--format", "saved_model", "--output",
                       str(tmp_path / "out")])
    error = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(error) == 1 and "KERAS_BACKEND=tensorflow" in error[0], error
    assert not (tmp_path / "out").exists()
