"""Convolutionalization (§3.1): fc layers of a classifier become fc6/fc7 convolutions."""

import keras
import numpy as np
import pytest

import fcn_keras
from fcn_keras.backbones.vgg import VGG16_CLASSIFIER_LAYERS


def vgg_classifier(widths, fc_units, classes=10):
    """A VGG16-layout classifier with keras.applications' layer names, at any width."""
    inputs = keras.Input((224, 224, 3))
    x = inputs
    for block, (width, convs) in enumerate(zip(widths, (2, 2, 3, 3, 3)), start=1):
        for index in range(1, convs + 1):
            x = keras.layers.Conv2D(width, 3, padding="same", activation="relu",
                                    name=f"block{block}_conv{index}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(fc_units, activation="relu", name="fc1")(x)
    x = keras.layers.Dense(fc_units, activation="relu", name="fc2")(x)
    outputs = keras.layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs)


def assert_fc7_centre_equals_fc2(fcn, classifier):
    images = np.random.default_rng(0).uniform(0, 255, (2, 224, 224, 3)).astype("float32")
    fc2 = keras.Model(classifier.input, classifier.get_layer("fc2").output)
    expected = keras.ops.convert_to_numpy(fc2(keras.applications.vgg16.preprocess_input(images.copy())))
    fc7 = keras.Model(fcn.input, fcn.get_layer("fc7").output)
    got = keras.ops.convert_to_numpy(fc7(images))
    assert got.shape[1:3] == (7, 7)
    assert np.abs(expected).max() > 0.1  # non-trivial activations
    np.testing.assert_allclose(got[:, 3, 3], expected, atol=1e-4, rtol=1e-4)


def test_convolutionalize_tiny_vgg_classifier():
    classifier = vgg_classifier((4, 8, 16, 32, 32), 64)
    fcn = fcn_keras.build_fcn32s(5, backbone="vgg16_tiny", padding="same", input_shape=(224, 224, 3))
    copied = fcn_keras.convolutionalize(classifier, fcn, VGG16_CLASSIFIER_LAYERS)
    assert copied[-2:] == ["fc6", "fc7"] and len(copied) == 15
    assert fcn.get_layer("fc6").get_weights()[0].shape == (7, 7, 32, 64)
    np.testing.assert_array_equal(fcn.get_layer("conv3_2").get_weights()[0],
                                  classifier.get_layer("block3_conv2").get_weights()[0])
    assert_fc7_centre_equals_fc2(fcn, classifier)


def test_convolutionalize_reports_width_mismatch():
    classifier = vgg_classifier((4, 8, 16, 32, 32), 64)
    fcn = fcn_keras.build_fcn32s(5, backbone="vgg16_slim", padding="same")
    with pytest.raises(ValueError, match="'block1_conv1'.*'conv1_1'.*same widths"):
        fcn_keras.convolutionalize(classifier, fcn, VGG16_CLASSIFIER_LAYERS)


def test_convolutionalize_reports_missing_layers():
    classifier = vgg_classifier((4, 8, 16, 32, 32), 64)
    fcn = fcn_keras.build_fcn32s(5, backbone="vgg16_tiny")
    with pytest.raises(ValueError, match="classifier model has no layer named 'fc9'"):
        fcn_keras.convolutionalize(classifier, fcn, {"fc9": "fc6"})


def test_backbone_without_classifier_refuses_weights():
    with pytest.raises(ValueError, match=r"'vgg16_tiny' has no pretrained weights; .* \(alexnet, alexnet_tiny, "
                                         r"efficientnetv2b0, googlenet, googlenet_tiny, mobilenetv2, resnet101, "
                                         r"resnet50, vgg16\)"):
        fcn_keras.build_fcn32s(5, backbone="vgg16_tiny", backbone_weights="imagenet")


def test_missing_weights_file_is_named(tmp_path):
    missing = tmp_path / "nope.weights.h5"
    with pytest.raises(FileNotFoundError, match="nope.weights.h5"):
        fcn_keras.build_fcn32s(5, backbone_weights=str(missing))


@pytest.mark.slow
def test_keras_vgg16_weights_file_is_convolutionalized(tmp_path):
    classifier = keras.applications.VGG16(include_top=True, weights=None)
    path = tmp_path / "vgg16.weights.h5"
    classifier.save_weights(path)
    fcn = fcn_keras.build_fcn32s(21, padding="same", input_shape=(224, 224, 3), backbone_weights=str(path))
    assert fcn.get_layer("fc6").get_weights()[0].shape == (7, 7, 512, 4096)
    assert fcn.get_layer("fc7").get_weights()[0].shape == (1, 1, 4096, 4096)
    assert_fc7_centre_equals_fc2(fcn, classifier)
