"""Coordinate maps: the grid derived for each layer must say where its outputs really sit; a layer taught once
works in every reader of its declaration."""

import math

import keras
import numpy as np
import pytest

from fcn_keras.geometry import Grid, GridError, Window, register_layer_space, tensor_grid
from fcn_keras.models import border, convolution_flops, skip_border
from fcn_keras.tiling import context_margin

SIZE = 24


def impulse_rows(layer, position, size=SIZE):
    """The response of each output row to a unit impulse at (position, position)."""
    x = np.zeros((1, size, size, 1), "float32")
    x[0, position, position, 0] = 1.0
    return np.abs(keras.ops.convert_to_numpy(layer(x))[0, :, :, 0]).sum(axis=1)


def impulse_centre(layer, position, size=SIZE):
    """Output (row) index, fractional, at the centre of mass of the response to a unit impulse."""
    response = impulse_rows(layer, position, size)
    return float(np.average(np.arange(response.size), weights=response))


def grid_of(layer, size=SIZE):
    return tensor_grid(layer(keras.Input((size, size, 1))))


ONES = {"use_bias": False, "kernel_initializer": "ones"}


def chain(*layers):
    inputs = keras.Input((None, None, 1))
    x = inputs
    for layer in layers:
        x = layer(x)
    return keras.Model(inputs, x)


# name: (layer, its window's extent)
LAYERS = {
    "3x3 same": (keras.layers.Conv2D(1, 3, padding="same", **ONES), 3),
    "7x7 valid": (keras.layers.Conv2D(1, 7, **ONES), 7),
    "1x1 stride 2": (keras.layers.Conv2D(1, 1, strides=2, **ONES), 1),
    "3x3 stride 2 same": (keras.layers.Conv2D(1, 3, strides=2, padding="same", **ONES), 3),
    "4x4 stride 2 same": (keras.layers.Conv2D(1, 4, strides=2, padding="same", **ONES), 4),
    "3x3 dilated 2 same": (keras.layers.Conv2D(1, 3, dilation_rate=2, padding="same", **ONES), 5),
    "depthwise 5x5 stride 2 same": (keras.layers.DepthwiseConv2D(5, strides=2, padding="same", use_bias=False,
                                                                 depthwise_initializer="ones"), 5),
    "average 3x3 stride 2 valid": (keras.layers.AveragePooling2D(3, 2), 3),
    "max 2x2 stride 2 same": (keras.layers.MaxPooling2D(2, 2, padding="same"), 2),
    "max 3x3 stride 2 same": (keras.layers.MaxPooling2D(3, 2, padding="same"), 3),
    "zero padding 3, 3x3": (chain(keras.layers.ZeroPadding2D(3), keras.layers.Conv2D(1, 3, **ONES)), 3),
    "cropping 2, 3x3": (chain(keras.layers.Cropping2D(2), keras.layers.Conv2D(1, 3, **ONES)), 3),
    "sequential pad 1, 3x3 stride 2": (keras.Sequential([keras.layers.ZeroPadding2D(1),
                                                         keras.layers.Conv2D(1, 3, strides=2, **ONES)]), 3),
}


@pytest.mark.parametrize("name", LAYERS)
def test_the_derived_grid_puts_each_output_where_the_layer_reads_it(name):
    layer, extent = LAYERS[name]
    grid = grid_of(layer)
    for position in (10, 12):  # the size (24) is a multiple of every stride, as the grid assumes for "same"
        rows = np.nonzero(impulse_rows(layer, position))[0]
        assert len(rows) > 0
        # every output that sees the impulse is centred within half its window of it...
        assert all(abs(grid.stride * row + grid.offset - position) <= (extent - 1) / 2 for row in rows), rows
        if grid.stride == 1:  # ...and without striding its response is centred on it
            assert grid.offset + impulse_centre(layer, position) == pytest.approx(position)


def test_a_chain_composes_and_nested_models_are_walked_into():
    inner_input = keras.Input((None, None, 3))
    inner = keras.Model(inner_input, keras.layers.MaxPooling2D(2, 2)(keras.layers.ZeroPadding2D(100)(inner_input)))
    images = keras.Input((None, None, 3))
    x = keras.layers.Rescaling(1 / 255)(images)
    x = inner(x)
    x = keras.layers.Conv2D(4, 3, padding="same")(x)
    assert tensor_grid(x) == Grid(2, -99.5)  # pad 100, then pool 2x2/2: (1 - 1) / 2 + 0.5 - 100


def test_a_value_broadcast_from_global_pooling_keeps_the_map_grid():
    images = keras.Input((None, None, 3))
    features = keras.layers.Conv2D(8, 3, strides=2, padding="same")(images)
    squeezed = keras.layers.GlobalAveragePooling2D(keepdims=True)(features)
    excited = keras.layers.Conv2D(8, 1, activation="sigmoid")(squeezed)
    assert tensor_grid(keras.layers.Multiply()([features, excited])) == tensor_grid(features)
    with pytest.raises(GridError, match="gives one value for the whole image"):
        tensor_grid(excited)


@pytest.mark.parametrize("build, message", [
    (lambda x: keras.layers.UpSampling2D(name="up")(x), r"layer 'up' \(UpSampling2D\): how it moves the feature"),
    (lambda x: keras.layers.Add(name="sum")([x, keras.layers.Conv2D(3, 3, name="c")(x)]),
     r"layer 'sum' \(Add\) merges maps on different grids"),
    (lambda x: keras.layers.Conv2D(3, (3, 1), name="tall")(x), r"layer 'tall' \(Conv2D\) has kernel \(3, 1\)"),
    (lambda x: keras.layers.ZeroPadding2D(((1, 1), (2, 2)), name="pad")(x), r"'pad' .* leading padding \(1, 2\)"),
])
def test_what_the_grid_cannot_follow_is_named(build, message):
    with pytest.raises(GridError, match=message):
        tensor_grid(build(keras.Input((None, None, 3))))


def test_pool_grid_is_window_centre():
    grid = Grid().conv(2, stride=2)
    assert (grid.stride, grid.offset) == (2, 0.5)  # output i covers inputs 2i and 2i + 1


def test_transposed_conv_grid_predicts_where_an_impulse_lands():
    for kernel, stride in ((4, 2), (3, 2), (16, 8), (15, 8)):
        layer = keras.layers.Conv2DTranspose(1, kernel, strides=stride, **ONES)
        fine = Grid(stride=stride, offset=0.0).transposed_conv(kernel, stride)  # input j sits at pixel stride * j
        for j in (3, 4):
            assert fine.stride * impulse_centre(layer, j, size=8) + fine.offset == pytest.approx(stride * j)


def test_shift_to_needs_a_common_grid():
    assert Grid(16, -11.5).shift_to(Grid(16, -91.5)) == -5
    with pytest.raises(ValueError, match="stride"):
        Grid(16, 0.0).shift_to(Grid(8, 0.0))
    with pytest.raises(ValueError, match="line up"):
        Grid(16, 0.0).shift_to(Grid(16, 4.0))


@pytest.mark.parametrize("kernel", [2, 3, 4, 5, 16])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_a_transposed_convolution_puts_each_output_where_its_input_writes(kernel, padding):
    upsampler = chain(keras.layers.Conv2D(1, 1, strides=2, **ONES),  # coarse pixel j is the input's 2j
                      keras.layers.Conv2DTranspose(1, kernel, strides=2, padding=padding, **ONES))
    grid = grid_of(upsampler)
    for position in (10, 12):
        assert grid.stride * impulse_centre(upsampler, position) + grid.offset == pytest.approx(position)


class Blur(keras.layers.Layer):
    """A box blur of each channel, `size` x `size` with "valid" padding: a window the library does not know."""

    def __init__(self, size, **kwargs):
        super().__init__(**kwargs)
        self.kernel_size, self.strides, self.padding = (size, size), (1, 1), "valid"

    def call(self, x):
        return keras.ops.average_pool(x, self.kernel_size, 1, "valid")


register_layer_space(Blur, Window(run_valid=lambda layer, x: layer(x),
                                  multiply_adds=lambda layer: math.prod(layer.kernel_size) * layer.input.shape[-1]))


def test_a_layer_taught_once_works_for_grids_border_skipping_margins_and_flops():
    assert grid_of(Blur(3)) == Grid(1, 1.0)
    images = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", bias_initializer="ones")(keras.layers.ZeroPadding2D(24)(images))
    blur = Blur(3)
    x = keras.layers.Conv2D(3, 3, padding="same", bias_initializer="ones")(blur(x))
    model = keras.Model(images, keras.layers.Cropping2D(22)(x))
    fast = skip_border(model)
    assert blur in next(layer for layer in fast.layers if isinstance(layer, border.BorderSkip)).plan.layers
    batch = np.random.default_rng(0).uniform(0, 255, (2, 30, 23, 3)).astype("float32")
    expected = keras.ops.convert_to_numpy(model(batch))
    assert np.abs(keras.ops.convert_to_numpy(fast(batch, training=False)) - expected).max() <= 1e-5 * np.abs(
        expected).max()
    assert context_margin(chain(Blur(65))) == 96  # half its 65-pixel field and the upsampling's 64, on the grid
    fixed = keras.Input((8, 8, 2))
    assert convolution_flops(keras.Model(fixed, Blur(3)(fixed))) == 2 * 6 * 6 * 9 * 2
