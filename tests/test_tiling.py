"""Bounded memory: large images are scored in tiles that give the whole-image result, or refused with numbers.

The tests marked `backends` run under every Keras backend, on networks small enough for eager backends."""

import keras
import numpy as np
import pytest
from helpers import random_images, tiny_fcn

import fcn_keras
from fcn_keras.tiling import activation_bytes, context_margin, score_image, tile_side


@pytest.fixture(scope="module")
def model():
    return tiny_fcn(4, "fcn8s", padding="paper", seed=3)


def small_fcn():
    """Conv, pool, conv, learned 2x upsampling: a 16-pixel receptive field, so tiles are small (96-pixel margins)."""
    inputs = keras.Input((None, None, 3))
    features = keras.layers.Conv2D(6, 3, padding="same", activation="relu")(inputs)
    coarse = keras.layers.Conv2D(3, 3, padding="same")(keras.layers.MaxPooling2D(2)(features))
    return keras.Model(inputs, keras.layers.Conv2DTranspose(3, 4, strides=2, padding="same")(coarse))


def test_tiles_stitch_to_the_whole_image_result(model):
    margin = context_margin(model)
    assert margin % 32 == 0 and margin >= 404 // 2  # half of VGG16's 404-pixel receptive field, at least
    limit = activation_bytes(model, 96 + 2 * margin, 96 + 2 * margin)  # room for 96-pixel tiles, no more
    assert tile_side(model, limit) == 96
    image = random_images(1, 700, 650, seed=4)[0]
    assert activation_bytes(model, 700, 650) > limit  # so it really is tiled
    whole = score_image(model, image, memory_limit=None)
    tiled = score_image(model, image, memory_limit=limit)
    assert whole.shape == tiled.shape == (700, 650, 4) and np.abs(whole).max() > 1
    np.testing.assert_allclose(tiled, whole, rtol=1e-4, atol=1e-4 * np.abs(whole).max())
    classes = fcn_keras.predict(model, image, memory_limit=limit)
    assert (classes == whole.argmax(-1)).mean() > 0.999


@pytest.mark.backends
def test_tiles_of_a_small_network_stitch_to_the_whole_image_result():
    network = small_fcn()
    margin = context_margin(network)
    assert margin == 96  # 16 // 2 + 2 * 32 pixels, rounded up to the 32-pixel grid
    limit = activation_bytes(network, 128 + 2 * margin, 128 + 2 * margin)
    assert tile_side(network, limit) == 128
    image = random_images(1, 352, 320, seed=4)[0]  # 3 x 3 tiles
    assert activation_bytes(network, 352, 320) > limit
    whole = score_image(network, image, memory_limit=None)
    tiled = score_image(network, image, memory_limit=limit)
    assert whole.shape == tiled.shape == (352, 320, 3) and np.abs(whole).max() > 1
    np.testing.assert_allclose(tiled, whole, rtol=1e-4, atol=1e-4 * np.abs(whole).max())
    np.testing.assert_array_equal(fcn_keras.predict(network, image, memory_limit=limit), whole.argmax(-1))


@pytest.mark.backends
def test_memory_estimates_grow_with_pixels(model):
    # the two largest activations are conv1_1's and conv1_2's 4 float32 channels, on the 64 + 2 * 100 padded probe
    assert activation_bytes(model, 64, 64) == pytest.approx(2 * 262**2 * 4 * 4, abs=1)
    small, large = activation_bytes(model, 100, 100), activation_bytes(model, 8000, 8000)
    assert large > 1000 * small / 1.5 ** 2  # padding aside, proportional to the pixels


@pytest.mark.backends
def test_memory_estimates_count_the_two_largest_activations():
    keras.mixed_precision.set_global_policy("mixed_float16")  # the autouse fixture restores the policy
    inputs = keras.Input((None, None, 3))  # float32, 12 bytes a pixel
    features = keras.layers.Conv2D(8, 3, padding="same")(inputs)  # float16, 16 bytes a pixel
    logits = keras.layers.Conv2D(1, 1, dtype="float32")(features)  # casts its input: float32, 32 bytes a pixel
    assert activation_bytes(keras.Model(inputs, logits), 100, 50) == (32 + 16) * 5000
    normalized = keras.layers.BatchNormalization()(features)  # float32 inside: input and result, 32 bytes each
    assert activation_bytes(keras.Model(inputs, normalized), 100, 50) == (32 + 32) * 5000
    keras.mixed_precision.set_global_policy("float32")
    inner = keras.Input((None, None, 3))
    backbone = keras.Model(inner, keras.layers.Conv2D(8, 3, padding="same")(inner))  # nested: 32 bytes a pixel
    inputs = keras.Input((None, None, 3))
    dropped = keras.layers.Dropout(0.5)(backbone(inputs))  # at inference its input itself: not counted again
    logits = keras.layers.Conv2D(2, 1)(dropped)  # 8 bytes a pixel
    assert activation_bytes(keras.Model(inputs, logits), 100, 50) == (32 + 12) * 5000


def test_memory_estimates_of_a_full_network_refuse_with_numbers():
    full = fcn_keras.build_fcn8s(21, padding="paper")
    assert 20 * 2**30 < activation_bytes(full, 8000, 8000) < 60 * 2**30  # "tens of GB", as the issue measured
    with pytest.raises(MemoryError, match=r"smallest tile \(608 px square\) needs about .* GB .* limit of 0.01 GB"):
        fcn_keras.predict(full, np.zeros((2000, 2000, 3), np.uint8), memory_limit=0.01 * 2**30)
