"""`.keras` round trips need no custom_objects and give identical outputs."""

import keras
import numpy as np
import pytest
from helpers import random_images, tiny_fcn

import fcn_keras
from fcn_keras.models import VARIANTS


@pytest.mark.backends
@pytest.mark.parametrize("variant, padding, at_once", [("fcn32s", "paper", False), ("fcn16s", "same", False),
                                                       ("fcn8s", "paper", True)])
def test_keras_file_round_trip(tmp_path, variant, padding, at_once):
    model = tiny_fcn(4, variant, padding, at_once=at_once)  # non-zero scores: no trivial 0 == 0
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    images = random_images(1, 45, 51)
    expected = keras.ops.convert_to_numpy(model(images))
    assert np.abs(expected).max() > 0
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(images)), expected)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert not loaded.get_layer(VARIANTS[variant].upscore).trainable


@pytest.mark.backends
def test_layer_configs_round_trip():
    crop = fcn_keras.CropToReference(offset=(3, 5), name="c")
    assert fcn_keras.CropToReference.from_config(crop.get_config()).offset == (3, 5)
    pre = fcn_keras.CaffePreprocessing(mean_bgr=(1, 2, 3))
    restored = fcn_keras.CaffePreprocessing.from_config(pre.get_config())
    assert restored.mean_bgr == (1.0, 2.0, 3.0) and restored.dtype_policy.name == "float32"


@pytest.mark.parametrize("imports", ["import fcn_keras\nimport keras", "import keras\nimport fcn_keras",
                                     "import fcn_keras\nimport tensorflow as tf\nkeras = tf.keras"])
def test_a_fresh_process_loads_the_file_after_a_bare_import(tmp_path, imports):
    """`import fcn_keras` is lazy, yet `keras.models.load_model` finds its layers in either import order."""
    import subprocess
    import sys

    from fcn_keras.training import compile_for_training

    model = fcn_keras.build_fcn8s(3, backbone="vgg16_tiny", padding="same")
    # compiled as train() saves best.keras: the loss, the metric and the warm-up schedule must load too
    compile_for_training(model, total_steps=20, learning_rate=1e-3, warmup_steps=5)
    model.optimizer.build(model.trainable_variables)
    model.save(tmp_path / "model.keras")
    script = f"{imports}\nmodel = keras.models.load_model({str(tmp_path / 'model.keras')!r})\nprint(model.name)"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == model.name
