"""What a model costs: multiply-add FLOPs of its convolutions at a fixed input size."""

import math

import keras

from fcn_keras.geometry import layer_space
from fcn_keras.keras_internals import call_nodes


def convolution_flops(model):
    """FLOPs (2 per multiply-add) of every convolution of a fixed-size model, nested backbones included.

    Conv2D (grouped too), DepthwiseConv2D, SeparableConv2D and Conv2DTranspose
    count, and every layer whose `fcn_keras.geometry.register_layer_space`
    declaration gives multiply-adds; pooling, activations, normalization and
    additions are left out: they are a rounding error next to the convolutions.

    Args:
        model: a model built with a fixed `input_shape`, e.g. (500, 500, 3).

    Returns:
        int, the FLOPs of one image.

    Example:
        >>> model = build_fcn8s(21, input_shape=(500, 500, 3))
        >>> round(convolution_flops(model) / 1e9)   # paper geometry
        363
    """
    return sum(_layer_flops(layer) for layer in _layers(model))


def _layers(model):
    """The model's layers, with each nested model replaced by its layers at the size it is fed."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _layers(_at_fed_size(layer))
        else:
            yield layer


def _at_fed_size(nested):
    """A copy of a nested model (fresh weights, which the count ignores) whose input has the fixed shape its
    caller last fed it."""
    shape = call_nodes(nested)[-1].input_tensors[0].shape
    config = nested.get_config()
    for layer in config.get("layers", []):
        if layer["class_name"] == "InputLayer":
            layer["config"]["batch_shape"] = list(shape)
    return type(nested).from_config(config)


def _layer_flops(layer):
    space = layer_space(layer)
    multiply_adds = space.multiply_adds(layer) if space is not None else 0
    if not multiply_adds:
        return 0
    spatial = space.work_map(layer).shape[1:3]  # a convolution's output, a transposed convolution's input
    if None in spatial:
        raise ValueError(
            f"Layer {layer.name!r} has an unknown size {tuple(spatial)}; build the model with a "
            "fixed input_shape, e.g. input_shape=(500, 500, 3)."
        )
    return 2 * math.prod(spatial) * multiply_adds
