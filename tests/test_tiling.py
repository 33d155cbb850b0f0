"""Bounded memory: large images are scored in tiles that give the whole-image result, or refused with numbers."""

import numpy as np
import pytest
from helpers import random_images, tiny_fcn

import fcn_keras
from fcn_keras.tiling import activation_bytes, context_margin, score_image, tile_side


@pytest.fixture(scope="module")
def model():
    return tiny_fcn(4, "fcn8s", padding="paper", seed=3)


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


def test_memory_estimates_grow_with_pixels_and_refuse_with_numbers(model):
    small, large = activation_bytes(model, 100, 100), activation_bytes(model, 8000, 8000)
    assert large > 1000 * small / 1.5 ** 2  # padding aside, proportional to the pixels
    full = fcn_keras.build_fcn8s(21, padding="paper")
    assert 20 * 2**30 < activation_bytes(full, 8000, 8000) < 60 * 2**30  # "tens of GB", as the issue measured
    with pytest.raises(MemoryError, match=r"smallest tile \(608 px square\) needs about .* GB .* limit of 0.01 GB"):
        fcn_keras.predict(full, np.zeros((2000, 2000, 3), np.uint8), memory_limit=0.01 * 2**30)
