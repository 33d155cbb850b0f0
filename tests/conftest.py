"""Shared fixtures: deterministic seeds and a clean mixed-precision policy per test."""

import keras
import numpy as np
import pytest
from PIL import Image


@pytest.fixture(autouse=True)
def _deterministic_keras():
    keras.utils.set_random_seed(0)
    policy = keras.mixed_precision.global_policy()
    yield
    keras.mixed_precision.set_global_policy(policy)


@pytest.fixture
def data_write_palette_png():
    """Returns ``write(path, mask)``: saves a uint8 index mask as a VOC-palette ("P") PNG."""
    from fcn_keras.data import VOC_PALETTE

    def write(path, mask):
        image = Image.fromarray(np.asarray(mask, np.uint8), mode="P")
        image.putpalette(VOC_PALETTE.ravel().tolist())
        image.save(path)
        return path

    return write
