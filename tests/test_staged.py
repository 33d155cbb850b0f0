"""Staged training: FCN-16s from FCN-32s and FCN-8s from FCN-16s (init_from=)."""

import keras
import numpy as np
import pytest
from helpers import randomize_scores

import fcn_keras

_RNG = np.random.default_rng(0)
# Blocks of colour plus noise: coarse score maps that vary, so argmax checks mean something.
IMAGES = (np.kron(_RNG.uniform(0, 255, (2, 6, 8, 3)), np.ones((1, 32, 32, 1)))
          + _RNG.normal(0, 10, (2, 192, 256, 3))).astype("float32")


def interior_agreement(new, old, margin):
    """Fraction of interior pixels where both predict the same class (old must vary)."""
    new = np.argmax(keras.ops.convert_to_numpy(new), -1)[:, margin:-margin, margin:-margin]
    old = np.argmax(keras.ops.convert_to_numpy(old), -1)[:, margin:-margin, margin:-margin]
    assert np.sort(np.bincount(old.ravel()))[-2] > 0.01 * old.size, "reference prediction is ~constant"
    return (new == old).mean()


@pytest.mark.parametrize("padding", ["paper", "same"])
def test_fcn16s_from_fcn32s_then_fcn8s_from_fcn16s(padding):
    fcn32s = fcn_keras.build_fcn32s(6, backbone="vgg16_tiny", padding=padding)
    randomize_scores(fcn32s)
    fcn16s = fcn_keras.build_fcn16s(6, backbone="vgg16_tiny", padding=padding, init_from=fcn32s)
    for layer in fcn32s.layers:
        if layer.weights and layer.name != "upscore":
            for old, new in zip(layer.get_weights(), fcn16s.get_layer(layer.name).get_weights()):
                np.testing.assert_array_equal(old, new)
    assert all(np.count_nonzero(w) == 0 for w in fcn16s.get_layer("score_pool4").get_weights())

    # The new skip contributes exactly nothing: fuse_pool4 == upscore2 (cropped to match).
    probe = keras.Model(fcn16s.input, [fcn16s.get_layer("fuse_pool4").output,
                                       fcn16s.get_layer("fuse_pool4").input[0]])
    fused, upsampled = probe(IMAGES)
    np.testing.assert_array_equal(fused, upsampled)
    # ... so the 16s predicts what the 32s did, up to interpolation detail at class borders
    # (2x then 16x bilinear is not exactly 32x bilinear next to the coarse samples).
    assert interior_agreement(fcn16s(IMAGES), fcn32s(IMAGES), margin=32) > 0.95

    randomize_scores(fcn16s)
    fcn8s = fcn_keras.build_fcn8s(6, backbone="vgg16_tiny", padding=padding, init_from=fcn16s)
    np.testing.assert_array_equal(fcn8s.get_layer("score_pool4").get_weights()[0],
                                  fcn16s.get_layer("score_pool4").get_weights()[0])
    probe = keras.Model(fcn8s.input, [fcn8s.get_layer("fuse_pool3").output,
                                      fcn8s.get_layer("fuse_pool3").input[0]])
    fused, upsampled = probe(IMAGES)
    np.testing.assert_array_equal(fused, upsampled)
    assert interior_agreement(fcn8s(IMAGES), fcn16s(IMAGES), margin=16) > 0.95


@pytest.mark.parametrize("padding", ["paper", "same"])
def test_staged_models_differ_from_unstaged(padding):
    # A control for the agreement threshold: an independently built model does not agree.
    fcn32s = fcn_keras.build_fcn32s(6, backbone="vgg16_tiny", padding=padding)
    randomize_scores(fcn32s)
    other = fcn_keras.build_fcn16s(6, backbone="vgg16_tiny", padding=padding)
    randomize_scores(other, seed=2)
    assert interior_agreement(other(IMAGES), fcn32s(IMAGES), margin=32) < 0.8


def test_init_from_rejects_other_class_counts():
    fcn32s = fcn_keras.build_fcn32s(6, backbone="vgg16_tiny")
    with pytest.raises(ValueError, match=r"score_fr.*same backbone \(and, between FCNs, the same num_classes\)"):
        fcn_keras.build_fcn16s(5, backbone="vgg16_tiny", init_from=fcn32s)


def test_init_from_rejects_unrelated_models():
    unrelated = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="dense_x")])
    with pytest.raises(ValueError, match="shares no layer names"):
        fcn_keras.build_fcn16s(5, backbone="vgg16_tiny", init_from=unrelated)


def test_init_from_and_backbone_weights_are_exclusive():
    fcn32s = fcn_keras.build_fcn32s(6, backbone="vgg16_tiny")
    with pytest.raises(ValueError, match="not both"):
        fcn_keras.build_fcn16s(6, backbone="vgg16_tiny", init_from=fcn32s, backbone_weights="imagenet")
