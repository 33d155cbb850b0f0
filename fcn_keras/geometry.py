"""Coordinate maps of feature grids: where each feature pixel sits in the input image.

FCN fuses maps of different depths and must know how they line up. Like Caffe's
`coord_map`, every map carries an affine relation to the input,
`x_input = stride * i + offset` (same on both axes), and each layer updates it.
The crop offsets of the reference network (19; 5, 27; 5, 9, 31) all follow from it.

What each kind of layer does to space (keeps the grid, reads a window, pads, crops,
merges, ...) is declared once here, in a registry of `LayerSpace`s that
`register_layer_space` extends; the grid walk, border skipping
(`fcn_keras.models.skip_border`), tiling margins (`fcn_keras.tiling.context_margin`)
and FLOP counts (`fcn_keras.models.convolution_flops`) all read it.
"""

import dataclasses
import math
from collections.abc import Callable

import keras

from fcn_keras.keras_internals import tensor_history
from fcn_keras.layers.grouped_conv import GroupedConv2D


@dataclasses.dataclass(frozen=True)
class Grid:
    """Affine map from feature-map index to input pixel: `x = stride * i + offset`.

    Example:
        >>> Grid().conv(3, pad=100).conv(2, stride=2)   # conv1_1 (pad 100), pool1
        Grid(stride=2, offset=-98.5)
    """

    stride: float = 1
    offset: float = 0.0

    def conv(self, kernel, stride=1, pad=0):
        """The grid after a convolution or pooling with leading padding `pad`.

        Args:
            kernel, stride: the layer's kernel size and stride.
            pad: zeros added before the first row/column.

        Returns:
            The new `Grid`.
        """
        return Grid(self.stride * stride, self.offset + self.stride * ((kernel - 1) / 2 - pad))

    def transposed_conv(self, kernel, stride):
        """The grid after a "valid" transposed convolution (every output kept).

        Args:
            kernel, stride: the layer's kernel size and stride (the upsampling factor).

        Returns:
            The new `Grid`.
        """
        new_stride = self.stride / stride
        if new_stride != int(new_stride):
            raise ValueError(f"Cannot upsample a stride-{self.stride} map by {stride}.")
        return Grid(int(new_stride), self.offset - new_stride * (kernel - 1) / 2)

    def shift_to(self, other):
        """Index in this map of `other`'s first pixel (both maps share one stride).

        Args:
            other: a `Grid` of the same stride.

        Returns:
            int; negative when `other` starts first.

        Raises:
            ValueError: the strides differ or the maps do not line up on whole pixels.
        """
        if self.stride != other.stride:
            raise ValueError(f"Cannot align stride {self.stride} with stride {other.stride}.")
        shift = (other.offset - self.offset) / self.stride
        if shift != int(shift):
            raise ValueError(
                f"Maps with offsets {self.offset} and {other.offset} do not line up on a "
                f"common stride-{self.stride} grid."
            )
        return int(shift)


class GridError(ValueError):
    """A layer between the input and a tap whose effect on the grid cannot be derived."""


def _channels_last(layer):
    return getattr(layer, "data_format", "channels_last") == "channels_last"


def _never(layer):
    return False


def _always(layer):
    return True


def _no_work(layer):
    return 0


def _on_channels(layer):
    return getattr(layer, "axis", -1) in (-1, 3)


class LayerSpace:
    """What a kind of layer does to space: the kinds below declare it, `register_layer_space` gives it to a class.

    Four readers share each declaration: the grid walk (`tensor_grid`), border skipping
    (`fcn_keras.models.skip_border`), tiling margins (`fcn_keras.tiling.context_margin`) and
    FLOP counts (`fcn_keras.models.convolution_flops`). A subclass inherits its parent's
    declaration, except for border skipping, which re-runs the layer's computation and so takes
    only classes declared themselves.
    """

    def grid(self, layer, grid):
        """The output's `Grid`, the input being on `grid` (None: one value for the whole image)."""
        raise NotImplementedError

    def local(self, layer):
        """At inference, each output pixel is the same function of its own pixel or window, on channels-last maps
        (border skipping may then run the layer on a window and on the background apart)."""
        return False

    def multiply_adds(self, layer):
        """Multiply-adds per pixel of `work_map` (0: none counted)."""
        return 0

    def work_map(self, layer):
        """The map whose pixels each cost `multiply_adds`: the output (a transposed convolution's: its input)."""
        return layer.output


@dataclasses.dataclass(frozen=True)
class Pointwise(LayerSpace):
    """Acts on each pixel alone: keeps the grid.

    Args:
        local: `local(layer) -> bool`, whether border skipping may run it (default: no).
    """

    local: Callable = _never

    def grid(self, layer, grid):
        return grid


@dataclasses.dataclass(frozen=True)
class Merge(Pointwise):
    """Combines maps of one grid pixel by pixel (Add, Concatenate, ...); local (default) when it combines channels."""

    local: Callable = _on_channels


class Global(LayerSpace):
    """Gives a value that is the same at every pixel (global pooling), which may be broadcast back onto a map."""

    def grid(self, layer, grid):
        return None


class ShapeOnly(LayerSpace):
    """Reshapes; allowed on global (1x1) values only."""

    def grid(self, layer, grid):
        raise GridError(f"{_describe(layer)} reshapes a feature map; the grid cannot follow it.")


@dataclasses.dataclass(frozen=True)
class _Kernel(LayerSpace):
    """A layer with a kernel: its `kernel_size` (or `pool_size`), `strides`, `dilation_rate` (default 1) and
    `padding` ("valid" or "same") say where it reads."""

    multiply_adds: Callable = _no_work

    def kernel(self, layer):
        return _pair(getattr(layer, "kernel_size", None) or layer.pool_size)

    def dilation(self, layer):
        return _pair(getattr(layer, "dilation_rate", 1))

    def axes(self, layer):
        """Per axis (rows, columns): (extent, stride)."""
        strides = _pair(layer.strides)
        return tuple((dilation * (kernel - 1) + 1, stride)
                     for kernel, stride, dilation in zip(self.kernel(layer), strides, self.dilation(layer)))


@dataclasses.dataclass(frozen=True)
class Window(_Kernel):
    """A convolution or pooling: along each axis, every `stride` inputs an output reads a window of `extent`
    (the dilated kernel).

    Args:
        multiply_adds: `multiply_adds(layer)` per output pixel (default none, as for pooling).
        run_valid: `run_valid(layer, x)`, the layer on `x` with "valid" padding, which border skipping runs
            on a window (default None: not skipped).
        local: as `Pointwise`'s (default: on channels-last maps).
    """

    run_valid: Callable = None
    local: Callable = _channels_last

    def grid(self, layer, grid):
        kernel = _square(layer, self.kernel(layer), "kernel")
        stride = _square(layer, layer.strides, "stride")
        extent = _square(layer, self.dilation(layer), "dilation") * (kernel - 1) + 1
        return grid.conv(extent, stride, leading_pad(extent, stride, layer.padding))


@dataclasses.dataclass(frozen=True)
class TransposedWindow(_Kernel):
    """A transposed convolution (learned upsampling): each input pixel writes a window of `kernel` outputs
    every `stride`; `multiply_adds` per input pixel."""

    def work_map(self, layer):
        return layer.input

    def grid(self, layer, grid):
        kernel = _square(layer, self.kernel(layer), "kernel")
        stride = _square(layer, layer.strides, "stride")
        try:
            grid = grid.transposed_conv(kernel, stride)
        except ValueError as error:
            raise GridError(f"{_describe(layer)}: {error}") from None
        return grid.conv(1, 1, -leading_pad(kernel, stride, layer.padding))


class Pad(LayerSpace):
    """Adds zeros around the map: `layer.padding` is ((top, bottom), (left, right))."""

    def grid(self, layer, grid):
        (top, _), (left, _) = layer.padding
        return grid.conv(1, 1, _square(layer, (top, left), "leading padding"))

    def local(self, layer):
        return _channels_last(layer)


class Crop(LayerSpace):
    """Drops rows and columns at the map's edges: `layer.cropping` is ((top, bottom), (left, right))."""

    def grid(self, layer, grid):
        (top, _), (left, _) = layer.cropping
        return grid.conv(1, 1, -_square(layer, (top, left), "leading crop"))


@dataclasses.dataclass(frozen=True)
class GridRule(LayerSpace):
    """A layer known by its grid alone: `rule(layer, grid) -> Grid` (see `register_layer_geometry`)."""

    rule: Callable

    def grid(self, layer, grid):
        return self.rule(layer, grid)


def valid_convolution(layer, x):
    """A `Conv2D`'s convolution (with bias and activation) on `x`, with "valid" padding; any `groups`."""
    def conv(inputs, kernel):
        return keras.ops.conv(inputs, kernel, layer.strides, "valid", dilation_rate=layer.dilation_rate)

    kernel = keras.ops.cast(layer.kernel, x.dtype)
    if layer.groups == 1:
        x = conv(x, kernel)
    else:
        parts = zip(keras.ops.split(x, layer.groups, axis=-1), keras.ops.split(kernel, layer.groups, axis=-1))
        x = keras.ops.concatenate([conv(*part) for part in parts], axis=-1)
    if layer.use_bias:
        x = x + keras.ops.cast(layer.bias, x.dtype)
    return layer.activation(x) if layer.activation is not None else x


def _valid_pooling(pool):
    def run_valid(layer, x):
        return pool(x, layer.pool_size, layer.strides, "valid")
    return run_valid


def _convolution_multiply_adds(layer):
    return math.prod(layer.kernel_size) * layer.input.shape[-1] // getattr(layer, "groups", 1) * layer.filters


def _depthwise_multiply_adds(layer):
    channels = layer.input.shape[-1] * layer.depth_multiplier
    return math.prod(layer.kernel_size) * channels + channels * getattr(layer, "filters", 0)  # SeparableConv2D


_SPACES = {}  # layer class, or class name (keras.ops operations, layers of other packages) -> LayerSpace


def register_layer_space(layer_class, space):
    """Declares what a layer class of your own does to space, for the grid, border skipping, tiling and FLOPs.

    Args:
        layer_class: the layer (or operation) class, or its class name.
        space: a `LayerSpace`: `Pointwise(local=...)`, `Merge()`, `Window(run_valid=..., multiply_adds=...)`,
            `TransposedWindow(...)`, `Pad()`, `Crop()`, `Global()`, `ShapeOnly()` or `GridRule(rule)`.

    Example:
        >>> class Blur(keras.layers.Layer):  # a 3x3 box blur of each channel, stride 2
        ...     kernel_size, strides, padding = (3, 3), (2, 2), "valid"
        ...     def call(self, x):
        ...         return keras.ops.average_pool(x, 3, 2, "valid")
        >>> register_layer_space(Blur, Window(run_valid=lambda layer, x: layer(x)))
        >>> tensor_grid(Blur()(keras.Input((None, None, 3))))
        Grid(stride=2, offset=1.0)
    """
    _SPACES[layer_class] = space


def register_layer_geometry(layer_class, rule):
    """Teaches `tensor_grid` how a layer class of your own moves the grid (`register_layer_space` teaches more).

    Args:
        layer_class: the layer (or operation) class.
        rule: `rule(layer, grid) -> Grid`, the output grid for the input grid.

    Example:
        >>> class MyShift(keras.layers.Layer):  # drops the first row and column: pixel i is the input's i + 1
        ...     def call(self, x):
        ...         return x[:, 1:, 1:]
        >>> register_layer_geometry(MyShift, lambda layer, grid: Grid(grid.stride, grid.offset + grid.stride))
        >>> images = keras.Input((None, None, 3))
        >>> tensor_grid(MyShift()(keras.layers.MaxPooling2D(2)(images)))
        Grid(stride=2, offset=2.5)
    """
    register_layer_space(layer_class, GridRule(rule))


def layer_space(layer, inherited=True):
    """The `LayerSpace` declared for `layer`'s class (by class, then by name), or None.

    Args:
        layer: a layer or operation.
        inherited: also look at its parent classes (False: its own class only, as border skipping does).
    """
    for layer_class in type(layer).__mro__ if inherited else (type(layer),):
        space = _SPACES.get(layer_class) or _SPACES.get(layer_class.__name__)
        if space is not None:
            return space
    return None


# Layers (by class name, as keras.ops operations too) that act on each pixel alone, the ones border
# skipping may run marked `local`: dropout and noise are the identity at inference.
for _name in ("Activation", "ELU", "GaussianDropout", "GaussianNoise", "LeakyReLU", "LocalResponseNormalization",
              "ReLU", "Rescaling", "Dropout", "SpatialDropout2D"):
    register_layer_space(_name, Pointwise(local=_always))
register_layer_space("BatchNormalization", Pointwise(local=_on_channels))
for _name in ("CaffePreprocessing", "Cast", "GroupNormalization", "HardSigmoid", "HardSwish", "Identity",
              "ImagePreprocessing", "LayerNormalization", "LogDepth", "Normalization", "PReLU", "Relu", "Relu6",
              "Sigmoid", "Silu", "Softmax", "Swish", "Dense", "EinsumDense", "Hard_swish", "HardSilu",
              "UnitNormalization", "Clip", "Tanh", "Gelu", "Mish", "Exp", "Sqrt", "Square", "Negative", "Absolute"):
    register_layer_space(_name, Pointwise())
for _name in ("Add", "Average", "Concatenate", "Divide", "Maximum", "Minimum", "Multiply", "Subtract"):
    register_layer_space(_name, Merge())
for _name in ("GlobalAveragePooling2D", "GlobalMaxPooling2D", "Mean", "Max"):
    register_layer_space(_name, Global())
for _name in ("Reshape", "ExpandDims", "Squeeze"):
    register_layer_space(_name, ShapeOnly())
for _class in (keras.layers.Conv2D, GroupedConv2D):
    register_layer_space(_class, Window(run_valid=valid_convolution, multiply_adds=_convolution_multiply_adds))
register_layer_space(keras.layers.DepthwiseConv2D, Window(multiply_adds=_depthwise_multiply_adds))
register_layer_space(keras.layers.SeparableConv2D, Window(multiply_adds=_depthwise_multiply_adds))
register_layer_space(keras.layers.Conv2DTranspose, TransposedWindow(multiply_adds=_convolution_multiply_adds))
register_layer_space(keras.layers.MaxPooling2D, Window(run_valid=_valid_pooling(keras.ops.max_pool)))
register_layer_space(keras.layers.AveragePooling2D, Window(run_valid=_valid_pooling(keras.ops.average_pool)))
register_layer_space(keras.layers.ZeroPadding2D, Pad())
register_layer_space(keras.layers.Cropping2D, Crop())


def tensor_grid(tensor):
    """The `Grid` of a tensor of a Keras Functional graph, derived from the layers between it and the input.

    Like Caffe's `coord_map`: convolutions and pooling (any padding, dilation),
    `ZeroPadding2D` and `Cropping2D` move and scale the grid, per-pixel layers
    keep it, nested models are walked into, and merges (Add, Concatenate, ...)
    check that their inputs share one grid. Global pooling gives a value that is
    the same at every pixel, which may be broadcast back onto a map (squeeze-and-
    excitation blocks). For "same" layers whose kernel exceeds their stride,
    TensorFlow's padding depends on the input size; the grid assumes sizes that
    the stride divides (the exact case for inputs that are multiples of the
    network's stride).

    Args:
        tensor: a symbolic Keras tensor (a layer's output in a Functional graph).

    Returns:
        `Grid`: where the tensor's pixel (i, j) sits in the graph's input image.

    Raises:
        GridError: a layer on the way is not understood (named, with its class),
            or merges maps of different grids, or treats height and width differently.

    Example:
        >>> images = keras.Input((None, None, 3))
        >>> x = keras.layers.ZeroPadding2D(100)(images)
        >>> x = keras.layers.Conv2D(4, 3)(x)
        >>> tensor_grid(keras.layers.MaxPooling2D(2, 2, padding="same")(x))
        Grid(stride=2, offset=-98.5)
    """
    grids = {}  # id(tensor) -> Grid, or None for a value that is the same at every pixel
    stack = [tensor]
    while stack:
        current = stack[-1]
        if id(current) in grids:
            stack.pop()
            continue
        operation, node, tensor_index = tensor_history(current)
        missing = [t for t in node.input_tensors if id(t) not in grids]
        if missing:  # their grids first
            stack.extend(missing)
            continue
        inputs = [grids[id(t)] for t in node.input_tensors]
        if node.is_input:
            grids[id(current)] = Grid()
        elif _is_model(operation):
            grids[id(current)] = _model_grid(operation, operation.outputs[tensor_index], inputs)
        else:
            grids[id(current)] = _layer_grid(operation, inputs)
        stack.pop()
    if grids[id(tensor)] is None:
        raise GridError(f"{_describe(tensor_history(tensor)[0])} gives one value for the whole image, not a map.")
    return grids[id(tensor)]


def _is_model(operation):
    return isinstance(operation, keras.Model)


def _model_grid(model, inner_output, input_grids):
    """The grid of a nested model's output, its inputs being on `input_grids`."""
    if len(set(input_grids)) != 1 or input_grids[0] is None:
        raise GridError(f"{_describe(model)} takes inputs on different grids; give it one image input.")
    if isinstance(model, keras.Sequential):
        grid = input_grids[0]
        for layer in model.layers:
            grid = _model_grid(layer, layer.outputs[0], [grid]) if _is_model(layer) else _layer_grid(layer, [grid])
        return grid
    inner, outer = tensor_grid(inner_output), input_grids[0]
    return Grid(outer.stride * inner.stride, outer.offset + outer.stride * inner.offset)


def _layer_grid(layer, input_grids):
    spatial = [grid for grid in input_grids if grid is not None]
    space = layer_space(layer)
    if isinstance(space, Global) or not spatial:
        return None  # and a function of global values stays global
    if isinstance(space, ShapeOnly):
        return space.grid(layer, spatial[0])
    if len(set(spatial)) > 1:
        raise GridError(f"{_describe(layer)} merges maps on different grids: "
                        f"{', '.join(str(grid) for grid in spatial)}.")
    if space is None:
        raise GridError(f"{_describe(layer)}: how it moves the feature grid is not known; use layers that "
                        "fcn_keras.geometry understands, or teach it with register_layer_space.")
    return space.grid(layer, spatial[0])


def leading_pad(extent, stride, padding):
    """Rows a window of `extent` every `stride` reads before the map's first, for "valid" or "same" `padding`
    (TensorFlow's, for sizes the stride divides)."""
    if padding == "valid":
        return 0
    return max(extent - stride, 0) // 2


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _square(layer, value, what):
    values = _pair(value)
    if len(set(values)) != 1:
        raise GridError(f"{_describe(layer)} has {what} {values}, different for height and width; an FCN grid "
                        "needs the same on both axes.")
    return values[0]


def _describe(layer):
    return f"layer {layer.name!r} ({type(layer).__name__})"
