"""Coordinate maps of feature grids: where each feature pixel sits in the input image.

FCN fuses maps of different depths and must know how they line up. Like Caffe's
`coord_map`, every map carries an affine relation to the input,
`x_input = stride * i + offset` (same on both axes), and each layer updates it.
The crop offsets of the reference network (19; 5, 27; 5, 9, 31) all follow from it.
"""

import dataclasses

import keras


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


# Layers and keras.ops operations that act on each pixel alone (or merge same-grid maps).
POINTWISE = {
    "Activation", "Add", "Average", "BatchNormalization", "CaffePreprocessing", "Cast", "Concatenate", "Divide",
    "Dropout", "ELU", "GaussianDropout", "GaussianNoise", "GroupNormalization", "HardSigmoid", "HardSwish",
    "Identity", "ImagePreprocessing", "LayerNormalization", "LeakyReLU", "LocalResponseNormalization", "LogDepth",
    "Maximum", "Minimum", "Multiply", "Normalization", "PReLU", "ReLU", "Relu", "Relu6", "Rescaling", "Sigmoid", "Silu",
    "Softmax", "SpatialDropout2D", "Subtract", "Swish", "Dense", "EinsumDense", "Hard_swish", "HardSilu",
    "UnitNormalization", "Clip", "Tanh", "Gelu", "Mish", "Exp", "Sqrt", "Square", "Negative", "Absolute",
}
# Layers whose output is constant across pixels (broadcast back onto a map, as in squeeze-and-excitation).
GLOBAL = {"GlobalAveragePooling2D", "GlobalMaxPooling2D", "Mean", "Max"}
SHAPE_ONLY = {"Reshape", "ExpandDims", "Squeeze"}  # allowed on global (1x1) values only

WINDOWED = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D,
            keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)  # and their subclasses
_RULES = {}


def register_layer_geometry(layer_class, rule):
    """Teaches `tensor_grid` how a layer class of your own moves the grid.

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
    _RULES[layer_class] = rule


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
        operation, node_index, tensor_index = current._keras_history
        node = operation._inbound_nodes[node_index]
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
        raise GridError(f"{_describe(tensor._keras_history.operation)} gives one value for the whole image, not a map.")
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
    kind = type(layer).__name__
    if kind in GLOBAL:
        return None
    if not spatial:
        return None  # a function of global values stays global
    if kind in SHAPE_ONLY:
        raise GridError(f"{_describe(layer)} reshapes a feature map; the grid cannot follow it.")
    if len(set(spatial)) > 1:
        raise GridError(f"{_describe(layer)} merges maps on different grids: "
                        f"{', '.join(str(grid) for grid in spatial)}.")
    grid = spatial[0]
    if type(layer) in _RULES:
        return _RULES[type(layer)](layer, grid)
    if kind in POINTWISE:
        return grid
    if isinstance(layer, WINDOWED):
        kernel = _square(layer, getattr(layer, "kernel_size", None) or layer.pool_size, "kernel")
        stride = _square(layer, layer.strides, "stride")
        dilation = _square(layer, getattr(layer, "dilation_rate", 1), "dilation")
        extent = dilation * (kernel - 1) + 1
        return grid.conv(extent, stride, _leading_pad(extent, stride, layer.padding))
    if kind == "ZeroPadding2D":
        (top, _), (left, _) = layer.padding
        return grid.conv(1, 1, _square(layer, (top, left), "leading padding"))
    if kind == "Cropping2D":
        (top, _), (left, _) = layer.cropping
        return grid.conv(1, 1, -_square(layer, (top, left), "leading crop"))
    raise GridError(f"{_describe(layer)}: how it moves the feature grid is not known; use layers that "
                    "fcn_keras.geometry understands, or teach it with register_layer_geometry.")


def _leading_pad(extent, stride, padding):
    if padding == "valid":
        return 0
    return max(extent - stride, 0) // 2  # TensorFlow's "same" when the stride divides the size


def _square(layer, value, what):
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(set(values)) != 1:
        raise GridError(f"{_describe(layer)} has {what} {values}, different for height and width; an FCN grid "
                        "needs the same on both axes.")
    return values[0]


def _describe(layer):
    return f"layer {layer.name!r} ({type(layer).__name__})"
