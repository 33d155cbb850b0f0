"""Every backbone family the whole way: `fcn-keras summary` and `train --backbone NAME`, then SavedModel and TFLite.

One small member per family module stands for the family: its layers are the
family's layers (grouped convolutions and LRN, concatenated branches, a nested
keras.applications model with depthwise convolutions and batch norm), only narrower.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import random_images

import fcn_keras
from fcn_keras import cli
from fcn_keras.backbones import get_backbone

Interpreter = pytest.importorskip("ai_edge_litert.interpreter").Interpreter
REPRESENTATIVES = ["vgg16_tiny", "alexnet_tiny", "googlenet_tiny", "mobilenetv2"]


def family(name):
    """The module that builds backbone `name` (the registry's families are one module each)."""
    build = get_backbone(name).build
    return getattr(build, "func", build).__module__


def test_every_registered_family_has_a_representative_here():
    assert {family(name) for name in fcn_keras.available_backbones()} == {family(name) for name in REPRESENTATIVES}


@pytest.mark.parametrize("backbone", REPRESENTATIVES)
def test_a_backbone_trains_from_the_command_line_and_exports(backbone, tmp_path, capsys):
    assert cli.main(["summary", "--backbone", backbone, "--num-classes", "3", "--size", "64", "64"]) == 0
    parameters = fcn_keras.build_fcn8s(3, backbone=backbone, input_shape=(64, 64, 3)).count_params()
    assert f"{parameters:,} parameters" in capsys.readouterr().out

    run = tmp_path / "run"
    assert cli.main(["train", "--data", "synthetic:4", "--backbone", backbone, "--padding", "same", "--epochs", "1",
                     "--batch-size", "2", "--crop-size", "32", "32", "--precision", "float32", "--at-once",
                     "--output", str(run)]) == 0
    model = keras.models.load_model(run / "best.keras")
    assert {"scale_pool4", "scale_pool3", "upscore8"} <= {layer.name for layer in model.layers}  # FCN-8s at once
    assert cli.main(["export", str(run / "best.keras"), "--format", "saved_model", "--output",
                     str(tmp_path / "serving")]) == 0
    assert cli.main(["export", str(run / "best.keras"), "--format", "tflite", "--output",
                     str(tmp_path / "lite")]) == 0

    serving = tf.saved_model.load(str(tmp_path / "serving" / "1")).signatures["logits"]
    tflite = Interpreter(model_path=str(tmp_path / "lite" / "model.tflite")).get_signature_runner()
    for shape in ((1, 37, 45), (2, 32, 32)):
        images = random_images(*shape)
        expected = keras.ops.convert_to_numpy(model(images))
        np.testing.assert_allclose(serving(images=tf.constant(images))["logits"].numpy(), expected, atol=1e-4)
        np.testing.assert_allclose(tflite(images=images)["logits"], expected, atol=1e-4)
