"""What a model costs: multiply-add FLOPs of its convolutions at a fixed input size."""

import math

import keras


def convolution_flops(model):
    """FLOPs (2 per multiply-add) of every Conv2D/Conv2DTranspose of a fixed-size model.

    Pooling, activations and additions are left out: they are a rounding error
    next to the convolutions.

    Args:
        model: a model built with a fixed `input_shape`, e.g. (500, 500, 3).

    Returns:
        int, the FLOPs of one image.

    Example:
        >>> model = build_fcn8s(21, input_shape=(500, 500, 3))
        >>> round(convolution_flops(model) / 1e9)   # paper geometry
        363
    """
    total = 0
    for layer in model.layers:
        if not isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
            continue
        # A transposed convolution's work grows with its input, a convolution's with its output.
        transposed = isinstance(layer, keras.layers.Conv2DTranspose)
        spatial = (layer.input if transposed else layer.output).shape[1:3]
        if None in spatial:
            raise ValueError(
                f"Layer {layer.name!r} has an unknown size {tuple(spatial)}; build the model with a "
                "fixed input_shape, e.g. input_shape=(500, 500, 3)."
            )
        kernel_height, kernel_width = layer.kernel_size
        in_channels = layer.input.shape[-1]
        total += 2 * math.prod(spatial) * kernel_height * kernel_width * in_channels * layer.filters
    return total
