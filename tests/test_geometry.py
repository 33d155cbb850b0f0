"""Coordinate maps: each layer's Grid update must say where its outputs really sit."""

import keras
import numpy as np
import pytest

from fcn_keras.geometry import Grid, keras_padding_before


def footprint_centre(layer, size, position):
    """Output index (fractional) at the centre of mass of a unit impulse's response."""
    x = np.zeros((1, size, 1, 1), "float32")
    x[0, position, 0, 0] = 1.0
    response = keras.ops.convert_to_numpy(layer(x))[0, :, 0, 0]
    indices = np.arange(response.size)
    return float((indices * response).sum() / response.sum())


def make(kind, kernel, stride, padding):
    ones = keras.initializers.Ones()
    if kind == "conv":
        return keras.layers.Conv2D(1, (kernel, 1), strides=(stride, 1), padding=padding,
                                   use_bias=False, kernel_initializer=ones)
    return keras.layers.Conv2DTranspose(1, (kernel, 1), strides=(stride, 1), padding=padding,
                                        use_bias=False, kernel_initializer=ones)


@pytest.mark.parametrize("kernel, padding", [(3, "same"), (3, "valid"), (7, "same"), (7, "valid"), (1, "valid")])
def test_conv_grid_predicts_where_an_impulse_lands(kernel, padding):
    grid = Grid().conv(kernel, pad=keras_padding_before(kernel, 1, padding))
    for position in (9, 12):
        centre = footprint_centre(make("conv", kernel, 1, padding), 24, position)
        assert grid.stride * centre + grid.offset == pytest.approx(position)


@pytest.mark.parametrize("kernel, stride, padding", [(4, 2, "valid"), (4, 2, "same"), (16, 8, "valid"), (16, 8, "same")])
def test_transposed_conv_grid_predicts_where_an_impulse_lands(kernel, stride, padding):
    coarse = Grid(stride=stride, offset=0.0)  # input index j sits at input pixel stride * j
    fine = coarse.transposed_conv(kernel, stride, keras_padding_before(kernel, stride, padding, transposed=True))
    assert fine.stride == 1
    for j in (3, 4):
        centre = footprint_centre(make("transposed", kernel, stride, padding), 8, j)
        assert fine.stride * centre + fine.offset == pytest.approx(stride * j)


def test_pool_grid_is_window_centre():
    grid = Grid().conv(2, stride=2)
    assert (grid.stride, grid.offset) == (2, 0.5)  # output i covers inputs 2i and 2i + 1


def test_shift_to_needs_a_common_grid():
    assert Grid(16, -11.5).shift_to(Grid(16, -91.5)) == -5
    with pytest.raises(ValueError, match="stride"):
        Grid(16, 0.0).shift_to(Grid(8, 0.0))
    with pytest.raises(ValueError, match="line up"):
        Grid(16, 0.0).shift_to(Grid(16, 4.0))


def test_same_padding_with_size_dependent_pad_is_refused():
    with pytest.raises(ValueError, match="depends on the input size"):
        keras_padding_before(3, 2, "same")
