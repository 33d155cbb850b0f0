"""Skipping the zero border of the "paper" geometry: the same outputs without convolving the 100-pixel pad.

After the border (a `ZeroPadding2D` of at least `MIN_BORDER` pixels), each feature map equals,
outside the image's cone of influence, the *background*: the network run on an all-zero canvas,
which does not depend on the image. The background is a constant vector in the middle of each map
and differs only in bands near the map's outer edges (the later layers' zero padding, ceil-mode
pools), so it is computed per call on a small map that keeps those bands (of the same size modulo
each stride) and expanded by index gathering. Each layer then runs, with "valid" padding, only on
a window around the cone, its margins filled from the background, while the window stays inside
the map; where it would reach an edge, or a layer is not one whose locality is known, the full map
is assembled (window + background) and the original layers take over.
"""

import dataclasses
import functools
import warnings

import keras

from fcn_keras.layers.grouped_conv import GroupedConv2D
from fcn_keras.layers.lrn import LocalResponseNormalization

MIN_BORDER = 16  # a smaller first ZeroPadding2D is a layer's own padding, not a border worth skipping
CONVS = (keras.layers.Conv2D, GroupedConv2D)
POOLS = {keras.layers.MaxPooling2D: keras.ops.max_pool, keras.layers.AveragePooling2D: keras.ops.average_pool}
# Layers acting on each pixel alone at inference (dropout and noise are then the identity).
POINTWISE = (keras.layers.ReLU, keras.layers.Activation, keras.layers.LeakyReLU, keras.layers.ELU,
             keras.layers.Rescaling, keras.layers.Dropout, keras.layers.SpatialDropout2D,
             keras.layers.GaussianDropout, keras.layers.GaussianNoise, LocalResponseNormalization)
MERGES = (keras.layers.Add, keras.layers.Subtract, keras.layers.Multiply, keras.layers.Average,
          keras.layers.Maximum, keras.layers.Minimum, keras.layers.Concatenate)


def skip_border(model, min_border=MIN_BORDER, warn=True):
    """A model computing `model`'s outputs without convolving its zero border (the "paper" pad 100).

    Outputs equal `model(x, training=False)` to float rounding (see the module docstring for how):
    for full VGG16 FCN-8s at 500x500, 254 instead of 363 GFLOP of convolutions. The layers (and so the weights)
    are `model`'s own: later training of `model` shows up. Inputs, outputs and their names are
    `model`'s; any batch and image size (H, W may be None), usable under `tf.function`, for
    `predict_on_batch` and export. Inference only (calling it with `training=True` raises);
    save `model`, not this one.

    Args:
        model: a Functional FCN, e.g. `build_fcn8s(21, padding="paper")`.
        min_border: the least padding on every side of the first `ZeroPadding2D` taken as the border.
        warn: say in a warning why `model` comes back unchanged (False: silently, as exports do).

    Returns:
        A `keras.Model`; `model` itself (with a warning saying why) when it has no border to skip
        or the layers right after it are not ones this module can window.

    Example:
        >>> model = build_fcn8s(21, backbone="vgg16_tiny", padding="paper")
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 45, 70, 3)).astype("float32")
        >>> fast = skip_border(model)
        >>> expected = model.predict_on_batch(images)
        >>> bool(np.abs(fast.predict_on_batch(images) - expected).max() <= 1e-5 * np.abs(expected).max())
        True
    """
    plan = _plan(model, min_border)
    if isinstance(plan, str):
        if warn:
            warnings.warn(f"skip_border: {plan}; returning the model unchanged.", stacklevel=2)
        return model
    skipper = BorderSkip(plan, name=f"{plan.entry.name}_skip")
    outputs = {}

    def call(layer, *args, **kwargs):
        if layer is plan.entry:
            outputs.update(zip(plan.boundary, skipper(args[0])))
        if layer in plan.layers:  # computed by `skipper`: its output if the rest of the graph needs it
            return outputs.get(layer, keras.tree.flatten(args)[0])
        return layer(*args, **kwargs)

    return keras.models.clone_model(model, clone_function=lambda layer: layer, call_function=call)


@dataclasses.dataclass
class _Info:
    """What is known before any call of a tensor of the windowed part, along each axis (rows, columns)."""

    bands: tuple  # per axis: (rows at the start, rows at the end) where the background may differ from its middle
    zero: bool  # the background is zero everywhere
    sims: tuple  # per axis: [(size, window start, window stop)] over every size class of the input

    @property
    def small(self):
        """The sizes of the small background map: both bands and one middle row."""
        return tuple(top + end + 1 for top, end in self.bands)


@dataclasses.dataclass
class _Plan:
    entry: keras.layers.Layer
    steps: list  # (kind, layer, indices of its inputs' steps, _Info of the output), in graph order
    boundary: list  # layers whose (windowed) outputs the rest of the graph needs, assembled in full
    layers: set = dataclasses.field(default_factory=set)


def _plan(model, min_border):
    """The windowed steps of `model`'s graph, or a str saying why there are none."""
    if not isinstance(model, keras.Model) or not hasattr(model, "_nodes_by_depth"):
        return f"{model!r} is not a Functional model"
    stride_product = 1
    for layer in model.layers:
        if isinstance(layer, CONVS + tuple(POOLS)):
            stride_product *= max(layer.strides)
    sizes = range(1, 2 * stride_product + 1)  # every class of sizes modulo the strides, twice
    index, steps, entry, stopped = {}, [], None, None
    for layer in model.layers:
        nodes = [node for node in layer._inbound_nodes if not node.is_input]
        if not nodes:
            continue
        ins, outs = nodes[0].input_tensors, nodes[0].outputs
        if entry is None:
            pads = getattr(layer, "padding", None)
            if isinstance(layer, keras.layers.ZeroPadding2D) and min(min(pads)) >= min_border:
                entry = layer
                sims = tuple([(size + sum(pad), pad[0], pad[0] + size) for size in sizes] for pad in pads)
                steps.append(("entry", layer, (), _Info(((0, 0), (0, 0)), True, sims)))
                index[id(outs[0])] = 0
            continue
        if not ins or any(id(tensor) not in index for tensor in ins):
            continue
        inputs = [index[id(tensor)] for tensor in ins]
        step = _step(layer, [steps[i][3] for i in inputs], len(nodes) > 1 or len(outs) > 1)
        if isinstance(step, str):
            stopped = stopped or step
            continue
        index[id(outs[0])] = len(steps)
        steps.append((step[0], layer, inputs, step[1]))
    if entry is None:
        return f"no ZeroPadding2D of at least {min_border} pixels on every side (padding='same' has no border)"
    if not any(kind in ("conv", "pool") for kind, *_ in steps):
        return f"nothing to window after {entry.name!r}: {stopped or 'no layer follows it'}"
    windowed = {id(layer) for _, layer, *_ in steps}
    needed = {id(tensor) for layer in model.layers if id(layer) not in windowed
              for node in layer._inbound_nodes for tensor in node.input_tensors}
    needed |= {id(tensor) for tensor in model.outputs}
    outputs = {index[id(node.outputs[0])]: layer for layer in model.layers if id(layer) in windowed
               for node in layer._inbound_nodes[:1]}
    boundary = [layer for position, layer in outputs.items()
                if any(index.get(tensor_id) == position for tensor_id in needed)]
    return _Plan(entry, steps, boundary, {layer for _, layer, *_ in steps})


def _step(layer, infos, shared):
    """(kind, _Info of the output) of a layer on windowed inputs, or why it cannot be windowed."""
    kind = _kind(layer)
    if shared:
        return f"layer {layer.name!r} is called more than once"
    if kind is None:
        return f"layer {layer.name!r} ({type(layer).__name__}) is not one whose locality is known"
    if kind == "merge":
        sims = tuple([(runs[0][0], min(a for _, a, _ in runs), max(b for _, _, b in runs)) for runs in zip(*axis)]
                     for axis in zip(*(info.sims for info in infos)))
        bands = tuple(tuple(max(values) for values in zip(*axis)) for axis in zip(*(info.bands for info in infos)))
        return kind, _Info(bands, all(info.zero for info in infos), sims)
    info = infos[0]
    if kind == "pointwise":
        return kind, _Info(info.bands, False, info.sims)
    if kind == "pad":
        return kind, _Info(info.bands if info.zero else tuple(
            (top + pad[0], end + pad[1]) for (top, end), pad in zip(info.bands, layer.padding)),
            info.zero, tuple([(size + sum(pad), a + pad[0], b + pad[0]) for size, a, b in axis]
                             for axis, pad in zip(info.sims, layer.padding)))
    sims = []
    for axis, (extent, stride) in enumerate(_windows(layer)):
        runs = []
        for size, a, b in info.sims[axis]:
            out, first, last, start, stop = _cone(size, a, b, extent, stride, layer.padding)
            if start < 0 or stop > size:
                return f"layer {layer.name!r} reaches the edge of its input map"
            runs.append((out, first, last))
        sims.append(runs)
    if all(first == 0 and last == out for runs in sims for out, first, last in runs):
        return f"layer {layer.name!r} needs its whole map"  # windowing it would save nothing
    bands = []
    for (top, end), small, (extent, stride) in zip(info.bands, info.small, _windows(layer)):
        top, end = (0, 0) if info.zero else _bands((top, end), extent, stride, layer.padding)
        while (top + end) * stride + _least_input(extent, layer.padding) < small:
            end += 1  # a small input map that holds the input's bands needs a longer output
        bands.append((top, end))
    return kind, _Info(tuple(bands), False, tuple(sims))


def _least_input(extent, padding):
    """The least input size giving one output."""
    return extent if padding == "valid" else 1


def _kind(layer):
    if type(layer) in CONVS and layer.data_format == "channels_last":
        return "conv"
    if type(layer) in POOLS and layer.data_format == "channels_last":
        return "pool"
    if type(layer) is keras.layers.ZeroPadding2D and layer.data_format == "channels_last":
        return "pad"
    if type(layer) in POINTWISE or type(layer) is keras.layers.BatchNormalization and layer.axis in (-1, 3):
        return "pointwise"
    if type(layer) in MERGES and getattr(layer, "axis", -1) in (-1, 3):
        return "merge"
    return None


def _windows(layer):
    """(extent, stride) of a convolution or pooling along each axis."""
    kernel = getattr(layer, "kernel_size", None) or layer.pool_size
    dilation = getattr(layer, "dilation_rate", (1, 1))
    return [(d * (k - 1) + 1, s) for k, s, d in zip(kernel, layer.strides, dilation)]


def _is_int(*values):
    return all(isinstance(value, int) for value in values)


def _max(a, b):
    return max(a, b) if _is_int(a, b) else keras.ops.maximum(a, b)


def _min(a, b):
    return min(a, b) if _is_int(a, b) else keras.ops.minimum(a, b)


def _cone(size, a, b, extent, stride, padding):
    """Along one axis: the output size, the outputs [first, last) that input rows [a, b) reach, and the input
    rows [start, stop) they read (padding as TensorFlow's). Python ints or scalar tensors."""
    if padding == "valid":
        out, lead = (size - extent) // stride + 1, 0
    else:
        out = -(-size // stride)
        lead = _max((out - 1) * stride + extent - size, 0) // 2
    first = _max(-(-(a + lead - extent + 1) // stride), 0)
    last = _min((b - 1 + lead) // stride + 1, out)
    return out, first, last, first * stride - lead, (last - 1) * stride - lead + extent


def _bands(band, extent, stride, padding):
    """The output's edge bands (rows at the start, at the end that may differ from its middle) along one axis,
    the most over the input sizes modulo the stride."""
    top, end = band
    bands = []
    for size in range(stride * (top + end + extent + 2), stride * (top + end + extent + 3)):
        out, _, _, start, _ = _cone(size, 0, 1, extent, stride, padding)  # start = -leading padding
        bands.append((-(-(top - start) // stride), max(out - -(-(size - end - extent + 1 - start) // stride), 0)))
    return tuple(max(values) for values in zip(*bands))


class BorderSkip(keras.layers.Layer):
    """Runs the windowed steps of a `_Plan`; returns the full maps of its boundary layers (see `skip_border`)."""

    def __init__(self, plan, **kwargs):
        super().__init__(**kwargs)
        self.plan = plan
        self.windowed = [layer for _, layer, *_ in plan.steps]  # tracked: their weights are this layer's too

    def compute_output_spec(self, inputs):
        return [keras.KerasTensor(layer.output.shape, layer.output.dtype) for layer in self.plan.boundary]

    def call(self, inputs, training=None):
        if training:
            raise ValueError("skip_border models are for inference; train the original model.")
        states, by_layer = [], {}
        for kind, layer, inputs_of, info in self.plan.steps:
            sources = [states[i] for i in inputs_of]
            if kind == "entry":
                shape = keras.ops.shape(inputs)
                axes = [(size + sum(pad), pad[0], pad[0] + size) for size, pad in zip(shape[1:3], layer.padding)]
                zero = keras.ops.zeros((1, 1, 1, shape[3]), inputs.dtype)
                states.append(_State(inputs, axes, zero, info))
            elif kind == "pad":
                source, background = sources[0], sources[0].background
                if not source.info.zero:
                    background = keras.ops.pad(background, ((0, 0), *layer.padding, (0, 0)))
                states.append(_State(source.x, [(size + sum(pad), a + pad[0], b + pad[0])
                                                for (size, a, b), pad in zip(source.axes, layer.padding)],
                                     background, info))
            elif kind == "pointwise":
                source = sources[0]
                states.append(_State(layer(source.x, training=False), source.axes,
                                     layer(source.background, training=False), info))
            elif kind == "merge":
                axes = [(group[0][0], functools.reduce(_min, [a for _, a, _ in group]),
                         functools.reduce(_max, [b for _, _, b in group]))
                        for group in zip(*(source.axes for source in sources))]
                x = [source.assemble([(a, b) for _, a, b in axes]) for source in sources]
                backgrounds = [source.expand_background(info.small) for source in sources]
                states.append(_State(layer(x), axes, layer(backgrounds), info))
            else:
                states.append(self._window(kind, layer, sources[0], info))
            by_layer[layer] = states[-1]
        return [by_layer[layer].assemble([(0, size) for size, _, _ in by_layer[layer].axes])
                for layer in self.plan.boundary]

    @staticmethod
    def _window(kind, layer, source, info):
        cones = [_cone(size, a, b, extent, stride, layer.padding)
                 for (size, a, b), (extent, stride) in zip(source.axes, _windows(layer))]
        if all(window == (1, 1) for window in _windows(layer)):
            region = source.x  # a 1x1/1 layer reads exactly its window
        else:
            region = source.assemble([(start, stop) for *_, start, stop in cones])
        if kind == "conv":
            x = _valid_conv(layer, region)
        else:
            x = POOLS[type(layer)](region, layer.pool_size, layer.strides, "valid")
        # The background on a small map of the input's sizes modulo the strides, big enough for its bands.
        sizes = []
        for (size, _, _), small, (extent, stride) in zip(source.axes, info.small, _windows(layer)):
            least = (small - 1) * stride + _least_input(extent, layer.padding)
            sizes.append(least + (size - least) % stride)
        background = layer(source.expand_background(sizes), training=False)
        return _State(x, [(out, first, last) for out, first, last, _, _ in cones], background, info)


def _valid_conv(layer, x):
    """`layer`'s convolution (with bias and activation) on `x`, with "valid" padding; any `groups`."""
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


class _State:
    """A windowed map during a call: the window `x`, per axis (map size, window start, stop), the small
    background map (batch 1) and the static `_Info`."""

    def __init__(self, x, axes, background, info):
        self.x, self.axes, self.background, self.info = x, axes, background, info

    def background_rows(self, axis, start, stop, size=None):
        """Indices into the small background map of rows [start, stop) of a map of `size` (default the map's)."""
        size = self.axes[axis][0] if size is None else size
        top, small = self.info.bands[axis][0], self.info.small[axis]
        rows = keras.ops.arange(start, stop, dtype="int32")
        return keras.ops.maximum(keras.ops.minimum(rows, top), rows - (size - small))

    def expand_background(self, sizes):
        """The background on a map of `sizes` (each at least the small map's), of the same edge bands."""
        x = self.background
        for axis, size in enumerate(sizes):
            x = keras.ops.take(x, self.background_rows(axis, 0, size, size), axis=axis + 1)
        return x

    def assemble(self, region):
        """The map on rows/columns [start, stop) of `region` (inside the map): window and background."""
        (g0, g1), (h0, h1) = region
        (_, a, b), (_, c, d) = self.axes
        lo, hi = _max(_min(a, g1), g0), _max(_min(b, g1), g0)
        left, right = _max(_min(c, h1), h0), _max(_min(d, h1), h0)
        batch = keras.ops.shape(self.x)[0]

        def fill(r0, r1, c0, c1):
            piece = keras.ops.take(self.background, self.background_rows(0, r0, r1), axis=1)
            piece = keras.ops.take(piece, self.background_rows(1, c0, c1), axis=2)
            return keras.ops.broadcast_to(piece, (batch, r1 - r0, c1 - c0, piece.shape[-1]))

        middle = keras.ops.concatenate(
            [fill(lo, hi, h0, left), self.x[:, lo - a:hi - a, left - c:right - c], fill(lo, hi, right, h1)], axis=2)
        return keras.ops.concatenate([fill(g0, lo, h0, h1), middle, fill(hi, g1, h0, h1)], axis=1)
