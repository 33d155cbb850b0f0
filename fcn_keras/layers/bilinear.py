"""Bilinear-interpolation kernels for `Conv2DTranspose` upsampling layers (FCN §3.3)."""

import keras
import numpy as np


def bilinear_kernel(kernel_size):
    """Returns the 2-D bilinear interpolation filter used by the reference FCN.

    factor = (k + 1) // 2; the centre is factor - 1 for odd k and factor - 0.5
    for even k; weight(i, j) = (1 - |i - c| / factor) * (1 - |j - c| / factor).

    Args:
        kernel_size: int, side of the square filter (2 * stride for an upsampler).

    Returns:
        float64 NumPy array of shape (kernel_size, kernel_size).

    Example:
        >>> bilinear_kernel(4)[0]
        array([0.0625, 0.1875, 0.1875, 0.0625])
    """
    if kernel_size < 1:
        raise ValueError(f"kernel_size must be >= 1, got {kernel_size}.")
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    profile = 1.0 - np.abs(np.arange(kernel_size) - center) / factor
    return np.outer(profile, profile)


@keras.saving.register_keras_serializable(package="fcn_keras")
class BilinearUpsampling(keras.initializers.Initializer):
    """Initializes a `Conv2DTranspose` kernel to per-channel bilinear upsampling.

    The kernel has Keras' transposed-convolution layout (kh, kw, out, in); the
    bilinear filter sits on the channel diagonal (channel c upsamples only into
    channel c) and every other entry is zero, so each class map is interpolated
    on its own.

    Example:
        >>> up = keras.layers.Conv2DTranspose(
        ...     21, 4, strides=2, use_bias=False,
        ...     kernel_initializer=BilinearUpsampling())
    """

    def __call__(self, shape, dtype=None):
        kh, kw, out_channels, in_channels = shape
        if kh != kw:
            raise ValueError(f"BilinearUpsampling needs a square kernel, got {kh}x{kw}.")
        if out_channels != in_channels:
            raise ValueError(
                "BilinearUpsampling maps each channel onto itself, so the layer needs as "
                f"many filters as input channels; got {out_channels} filters for "
                f"{in_channels} input channels."
            )
        kernel = np.zeros(shape, dtype="float64")
        channels = np.arange(in_channels)
        kernel[:, :, channels, channels] = bilinear_kernel(kh)[:, :, None]
        return keras.ops.convert_to_tensor(kernel, dtype=dtype or "float32")

    def get_config(self):
        return {}
