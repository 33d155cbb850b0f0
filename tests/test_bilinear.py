"""Bilinear upsampling kernels: the reference formula and what the upsampler computes."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from fcn_keras.layers import BilinearUpsampling, bilinear_kernel


def reference_kernel(k):
    """The reference surgery formula, written out element by element."""
    factor = (k + 1) // 2
    center = factor - 1 if k % 2 == 1 else factor - 0.5
    return np.array(
        [[(1 - abs(i - center) / factor) * (1 - abs(j - center) / factor) for j in range(k)] for i in range(k)]
    )


@pytest.mark.backends
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 7, 16, 32, 64])
def test_kernel_matches_reference_formula(k):
    np.testing.assert_allclose(bilinear_kernel(k), reference_kernel(k), rtol=0, atol=1e-15)


@pytest.mark.backends
def test_kernel_known_values():
    np.testing.assert_allclose(bilinear_kernel(4)[0], [0.0625, 0.1875, 0.1875, 0.0625])
    np.testing.assert_allclose(bilinear_kernel(3)[0], [0.25, 0.5, 0.25])
    np.testing.assert_allclose(bilinear_kernel(3)[1], [0.5, 1.0, 0.5])


@pytest.mark.backends
@pytest.mark.parametrize("factor", [2, 8, 32])
def test_kernel_is_a_partition_of_unity(factor):
    # Every interior output pixel of a stride-`factor` upsampler gets weights summing to 1.
    kernel = bilinear_kernel(2 * factor)
    phases = kernel.reshape(2, factor, 2, factor).sum(axis=(0, 2))
    np.testing.assert_allclose(phases, np.ones((factor, factor)))


@pytest.mark.backends
def test_initializer_puts_kernel_on_channel_diagonal():
    weights = keras.ops.convert_to_numpy(BilinearUpsampling()((4, 4, 3, 3), dtype="float32"))
    for out_channel in range(3):
        for in_channel in range(3):
            expected = bilinear_kernel(4) if out_channel == in_channel else np.zeros((4, 4))
            np.testing.assert_array_equal(weights[:, :, out_channel, in_channel], expected)


@pytest.mark.backends
@pytest.mark.parametrize(
    "shape, message",
    [((4, 3, 2, 2), "square"), ((4, 4, 3, 2), "as many filters as input channels")],
)
def test_initializer_rejects_bad_shapes(shape, message):
    with pytest.raises(ValueError, match=message):
        BilinearUpsampling()(shape)


@pytest.mark.parametrize("factor", [2, 8])
def test_same_upsampler_equals_tf_image_resize_in_interior(factor):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 6, 7, 3)).astype("float32")
    layer = keras.layers.Conv2DTranspose(
        3, 2 * factor, strides=factor, padding="same", use_bias=False, kernel_initializer=BilinearUpsampling()
    )
    upsampled = keras.ops.convert_to_numpy(layer(x))
    resized = tf.image.resize(x, (6 * factor, 7 * factor), method="bilinear").numpy()
    assert upsampled.shape == resized.shape
    margin = factor  # the transposed convolution sees zeros beyond the border
    inner = np.s_[:, margin:-margin, margin:-margin, :]
    np.testing.assert_allclose(upsampled[inner], resized[inner], atol=1e-5)
    assert not np.allclose(upsampled[:, 0], resized[:, 0], atol=1e-3)  # the border does differ


@pytest.mark.backends
def test_initializer_serializes():
    config = keras.saving.serialize_keras_object(BilinearUpsampling())
    restored = keras.saving.deserialize_keras_object(config)
    assert isinstance(restored, BilinearUpsampling)
