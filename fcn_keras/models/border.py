"""Skipping the zero border of the "paper" geometry: the same outputs without convolving the 100-pixel pad.

After the border (a `ZeroPadding2D` of at least `MIN_BORDER` pixels), each feature map equals,
outside the image's cone of influence, the *background*: the network run on an all-zero canvas,
which does not depend on the image. The background is a constant vector in the middle of each map
and differs only in bands near the map's outer edges (the later layers' zero padding, ceil-mode
pools), so it is computed per call on a small map that keeps those bands (of the same size modulo
each stride) and expanded by index gathering. Each layer then runs, with "valid" padding, only on
a window around the cone, its margins filled from the background, while the window stays inside
the map; where it would reach an edge, or a layer is not one whose locality is known
(`fcn_keras.geometry.register_layer_space` declares it), the full map is assembled (window +
background) and the original layers take over.

Each kind of step (the border itself, zero padding, a pointwise layer, a merge, a window:
convolution or pooling) is one class below: `plan` says, before any call, what is known of its
output (a `Layout`) or why the layer cannot be windowed, and `run` computes it during a call.
"""

import dataclasses
import functools
import warnings
from typing import NamedTuple

import keras

from fcn_keras.geometry import Merge, Pad, Pointwise, Window, layer_space
from fcn_keras.keras_internals import call_nodes, graph_model
from fcn_keras.models.fcn_model import FCN

MIN_BORDER = 16  # a smaller first ZeroPadding2D is a layer's own padding, not a border worth skipping


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
    skipper = BorderSkip(plan, name=f"{plan.entry.layer.name}_skip")
    outputs, windowed = {}, plan.layers

    def call(layer, *args, **kwargs):
        if layer is plan.entry.layer:
            outputs.update(zip(plan.boundary, skipper(args[0])))
        if layer in windowed:  # computed by `skipper`: its output if the rest of the graph needs it
            return outputs.get(layer, keras.tree.flatten(args)[0])
        return layer(*args, **kwargs)

    fast = keras.models.clone_model(model, clone_function=lambda layer: layer, call_function=call)
    if isinstance(model, FCN):  # the copy is built without the facts, and has no border to read them off
        return FCN(fast.input, fast.output, name=fast.name, config=model.fcn_config)
    return fast


class Span(NamedTuple):
    """Along one axis: a map's size and the rows [start, stop) of its window (Python ints or scalar tensors)."""

    size: object
    start: object
    stop: object


class Band(NamedTuple):
    """Along one axis: rows at the start and at the end of a map where its background may differ from its middle."""

    top: int
    end: int


class Cone(NamedTuple):
    """Along one axis, of a window layer: the output `Span` that an input window reaches, and the input rows
    [read_start, read_stop) it reads (negative or past the input where it reads padding)."""

    output: Span
    read_start: object
    read_stop: object


@dataclasses.dataclass(frozen=True)
class Layout:
    """What is known before any call of a map of the windowed part, per axis (rows, columns)."""

    bands: tuple  # per axis: `Band`
    zero: bool  # the background is zero everywhere
    spans: tuple  # per axis: its `Span` for every size class of the input, [Span]

    @property
    def small(self):
        """The sizes of the small background map: both bands and one middle row."""
        return tuple(band.top + band.end + 1 for band in self.bands)


@dataclasses.dataclass
class _Plan:
    steps: list  # the border's `EntryStep`, then the windowed layers' steps in graph order
    boundary: list  # layers whose (windowed) outputs the rest of the graph needs, assembled in full, in step order

    @property
    def entry(self):
        return self.steps[0]

    @property
    def layers(self):
        return {step.layer for step in self.steps}


class Step:
    """One layer of the windowed part: planned (`plan`: its output's `Layout`, or why it cannot be windowed)
    before any call, run (`run`) during one."""

    def __init__(self, layer, sources, layout):
        self.layer = layer
        self.sources = sources  # positions in the plan's steps of the steps giving its inputs
        self.layout = layout


class EntryStep(Step):
    """The border: a `ZeroPadding2D` around the image, whose background is zero."""

    @classmethod
    def plan(cls, layer, sizes):
        spans = tuple([_padded(Span(size, 0, size), pad) for size in sizes] for pad in layer.padding)
        return cls(layer, (), Layout((Band(0, 0), Band(0, 0)), True, spans))

    def run(self, images):
        shape = keras.ops.shape(images)
        spans = [_padded(Span(size, 0, size), pad) for size, pad in zip(shape[1:3], self.layer.padding)]
        zero = keras.ops.zeros((1, 1, 1, shape[3]), images.dtype)
        return WindowedMap(images, spans, zero, self.layout)


class PadStep(Step):
    """A later `ZeroPadding2D`: the window moves, the background gains zero bands (unless it is all zero)."""

    @classmethod
    def plan(cls, layer, sources, layouts):
        (layout,) = layouts
        bands = layout.bands if layout.zero else tuple(
            Band(band.top + pad[0], band.end + pad[1]) for band, pad in zip(layout.bands, layer.padding))
        spans = tuple([_padded(span, pad) for span in axis] for axis, pad in zip(layout.spans, layer.padding))
        return cls(layer, sources, Layout(bands, layout.zero, spans))

    def run(self, sources):
        (source,) = sources
        background = source.background
        if not source.layout.zero:
            background = keras.ops.pad(background, ((0, 0), *self.layer.padding, (0, 0)))
        spans = [_padded(span, pad) for span, pad in zip(source.spans, self.layer.padding)]
        return WindowedMap(source.window, spans, background, self.layout)


class PointwiseStep(Step):
    """A layer acting on each pixel alone: run on the window and on the background apart."""

    @classmethod
    def plan(cls, layer, sources, layouts):
        (layout,) = layouts
        return cls(layer, sources, Layout(layout.bands, False, layout.spans))

    def run(self, sources):
        (source,) = sources
        return WindowedMap(self.layer(source.window, training=False), source.spans,
                           self.layer(source.background, training=False), self.layout)


class MergeStep(Step):
    """A merge of maps (Add, Concatenate, ...): the union of their windows, each assembled to it."""

    @classmethod
    def plan(cls, layer, sources, layouts):
        spans = tuple([_union(spans) for spans in zip(*axis)] for axis in zip(*(layout.spans for layout in layouts)))
        bands = tuple(Band(*(max(rows) for rows in zip(*axis))) for axis in zip(*(layout.bands for layout in layouts)))
        return cls(layer, sources, Layout(bands, all(layout.zero for layout in layouts), spans))

    def run(self, sources):
        spans = [_union(axis) for axis in zip(*(source.spans for source in sources))]
        windows = [source.assemble([(span.start, span.stop) for span in spans]) for source in sources]
        backgrounds = [source.expand_background(self.layout.small) for source in sources]
        return WindowedMap(self.layer(windows), spans, self.layer(backgrounds), self.layout)


class WindowStep(Step):
    """A convolution or pooling (a `Window` that can run with "valid" padding): run on the input rows its output
    window reads, while they stay inside the input map."""

    @classmethod
    def plan(cls, layer, sources, layouts):
        (layout,) = layouts
        space, padding = layer_space(layer), layer.padding
        spans = []
        for axis, (extent, stride) in zip(layout.spans, space.axes(layer)):
            cones = [_cone(span, extent, stride, padding) for span in axis]
            if any(cone.read_start < 0 or cone.read_stop > span.size for cone, span in zip(cones, axis)):
                return f"layer {layer.name!r} reaches the edge of its input map"
            spans.append([cone.output for cone in cones])
        if all(span.start == 0 and span.stop == span.size for axis in spans for span in axis):
            return f"layer {layer.name!r} needs its whole map"  # windowing it would save nothing
        bands = []
        for band, small, (extent, stride) in zip(layout.bands, layout.small, space.axes(layer)):
            top, end = (0, 0) if layout.zero else _bands(band, extent, stride, padding)
            while (top + end) * stride + _least_input(extent, padding) < small:
                end += 1  # a small input map that holds the input's bands needs a longer output
            bands.append(Band(top, end))
        return cls(layer, sources, Layout(tuple(bands), False, tuple(spans)))

    def run(self, sources):
        (source,) = sources
        space, padding = layer_space(self.layer), self.layer.padding
        axes = space.axes(self.layer)
        cones = [_cone(span, extent, stride, padding) for span, (extent, stride) in zip(source.spans, axes)]
        if all(axis == (1, 1) for axis in axes):
            region = source.window  # a 1x1/1 layer reads exactly its window
        else:
            region = source.assemble([(cone.read_start, cone.read_stop) for cone in cones])
        window = space.run_valid(self.layer, region)
        # The background on a small map of the input's sizes modulo the strides, big enough for its bands.
        sizes = []
        for span, small, (extent, stride) in zip(source.spans, self.layout.small, axes):
            least = (small - 1) * stride + _least_input(extent, padding)
            sizes.append(least + (span.size - least) % stride)
        background = self.layer(source.expand_background(sizes), training=False)
        return WindowedMap(window, [cone.output for cone in cones], background, self.layout)


_STEP_KINDS = ((Window, WindowStep), (Merge, MergeStep), (Pointwise, PointwiseStep), (Pad, PadStep))  # first match


def _step_kind(layer):
    """The `Step` class that windows `layer`, or None: its own class's declared space must be local (and a window
    must run with "valid" padding)."""
    space = layer_space(layer, inherited=False)
    if space is None or not space.local(layer) or isinstance(space, Window) and space.run_valid is None:
        return None
    return next((step for space_kind, step in _STEP_KINDS if isinstance(space, space_kind)), None)


def _plan(model, min_border):
    """The windowed steps of `model`'s graph, or a str saying why there are none."""
    if not isinstance(model, keras.Model) or graph_model(model) is not model:
        return f"{model!r} is not a Functional model"
    stride_product = 1
    for layer in model.layers:
        space = layer_space(layer)
        if isinstance(space, Window) and space.run_valid is not None:
            stride_product *= max(stride for _, stride in space.axes(layer))
    sizes = range(1, 2 * stride_product + 1)  # every class of sizes modulo the strides, twice
    position, steps, stopped = {}, [], None  # position: id(tensor) -> the step making it
    for layer in model.layers:
        nodes = [node for node in call_nodes(layer) if not node.is_input]
        if not nodes:
            continue
        inputs, outputs = nodes[0].input_tensors, nodes[0].outputs
        if not steps:
            if isinstance(layer_space(layer), Pad) and min(min(layer.padding)) >= min_border:
                position[id(outputs[0])] = 0
                steps.append(EntryStep.plan(layer, sizes))
            continue
        if not inputs or any(id(tensor) not in position for tensor in inputs):
            continue
        sources = [position[id(tensor)] for tensor in inputs]
        step = _plan_step(layer, sources, [steps[i].layout for i in sources], len(nodes) > 1 or len(outputs) > 1)
        if isinstance(step, str):
            stopped = stopped or step
            continue
        position[id(outputs[0])] = len(steps)
        steps.append(step)
    if not steps:
        return f"no ZeroPadding2D of at least {min_border} pixels on every side (padding='same' has no border)"
    if not any(isinstance(step, WindowStep) for step in steps):
        return f"nothing to window after {steps[0].layer.name!r}: {stopped or 'no layer follows it'}"
    windowed = {id(step.layer) for step in steps}
    needed = {id(tensor) for layer in model.layers if id(layer) not in windowed
              for node in call_nodes(layer) for tensor in node.input_tensors}
    needed |= {id(tensor) for tensor in model.outputs}
    needed_steps = {position[tensor_id] for tensor_id in needed if tensor_id in position}
    return _Plan(steps, [step.layer for index, step in enumerate(steps) if index in needed_steps])


def _plan_step(layer, sources, layouts, shared):
    """The planned `Step` of a layer on windowed inputs, or why it cannot be windowed."""
    if shared:
        return f"layer {layer.name!r} is called more than once"
    kind = _step_kind(layer)
    if kind is None:
        return f"layer {layer.name!r} ({type(layer).__name__}) is not one whose locality is known"
    return kind.plan(layer, sources, layouts)


def _padded(span, pad):
    """`span` after (before, after) zeros are added around its map."""
    before, after = pad
    return Span(span.size + before + after, span.start + before, span.stop + before)


def _union(spans):
    """The span of maps of one size that holds every one of their windows."""
    return Span(spans[0].size, functools.reduce(_min, [span.start for span in spans]),
                functools.reduce(_max, [span.stop for span in spans]))


def _least_input(extent, padding):
    """The least input size giving one output."""
    return extent if padding == "valid" else 1


def _is_int(*values):
    return all(isinstance(value, int) for value in values)


def _max(a, b):
    return max(a, b) if _is_int(a, b) else keras.ops.maximum(a, b)


def _min(a, b):
    return min(a, b) if _is_int(a, b) else keras.ops.minimum(a, b)


def _clip(value, low, high):
    return _max(_min(value, high), low)


def _cone(span, extent, stride, padding):
    """The `Cone` along one axis of a window layer of `extent` every `stride` (padding as TensorFlow's) on an
    input map and window `span`."""
    if padding == "valid":
        out, lead = (span.size - extent) // stride + 1, 0
    else:
        out = -(-span.size // stride)
        lead = _max((out - 1) * stride + extent - span.size, 0) // 2
    first = _max(-(-(span.start + lead - extent + 1) // stride), 0)
    last = _min((span.stop - 1 + lead) // stride + 1, out)
    return Cone(Span(out, first, last), first * stride - lead, (last - 1) * stride - lead + extent)


def _bands(band, extent, stride, padding):
    """The output's `Band` along one axis, the most over the input sizes modulo the stride."""
    top, end = band
    bands = []
    for size in range(stride * (top + end + extent + 2), stride * (top + end + extent + 3)):
        cone = _cone(Span(size, 0, 1), extent, stride, padding)
        lead = -cone.read_start  # the leading padding
        bands.append((-(-(top + lead) // stride),
                      max(cone.output.size - -(-(size - end - extent + 1 + lead) // stride), 0)))
    return Band(*(max(rows) for rows in zip(*bands)))


class BorderSkip(keras.layers.Layer):
    """Runs the windowed steps of a `_Plan`; returns the full maps of its boundary layers (see `skip_border`)."""

    def __init__(self, plan, **kwargs):
        super().__init__(**kwargs)
        self.plan = plan
        self.windowed = [step.layer for step in plan.steps]  # tracked: their weights are this layer's too

    def compute_output_spec(self, inputs):
        return [keras.KerasTensor(layer.output.shape, layer.output.dtype) for layer in self.plan.boundary]

    def call(self, inputs, training=None):
        if training:
            raise ValueError("skip_border models are for inference; train the original model.")
        entry, *steps = self.plan.steps
        maps = [entry.run(inputs)]
        for step in steps:
            maps.append(step.run([maps[i] for i in step.sources]))
        by_layer = {step.layer: windowed for step, windowed in zip(self.plan.steps, maps)}
        return [by_layer[layer].assemble([(0, span.size) for span in by_layer[layer].spans])
                for layer in self.plan.boundary]


class WindowedMap:
    """A map during a call: its `window` (a tensor), per axis its `Span`, its small `background` map (batch 1)
    and its `Layout`."""

    def __init__(self, window, spans, background, layout):
        self.window, self.spans, self.background, self.layout = window, spans, background, layout

    def background_rows(self, axis, start, stop, size=None):
        """Indices into the small background map of rows [start, stop) of a map of `size` (default the map's)."""
        size = self.spans[axis].size if size is None else size
        top, small = self.layout.bands[axis].top, self.layout.small[axis]
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
        (row_start, row_stop), (column_start, column_stop) = region
        rows, columns = self.spans
        top, bottom = _clip(rows.start, row_start, row_stop), _clip(rows.stop, row_start, row_stop)
        left, right = _clip(columns.start, column_start, column_stop), _clip(columns.stop, column_start, column_stop)
        batch = keras.ops.shape(self.window)[0]

        def fill(first_row, stop_row, first_column, stop_column):
            piece = keras.ops.take(self.background, self.background_rows(0, first_row, stop_row), axis=1)
            piece = keras.ops.take(piece, self.background_rows(1, first_column, stop_column), axis=2)
            return keras.ops.broadcast_to(
                piece, (batch, stop_row - first_row, stop_column - first_column, piece.shape[-1]))

        inside = self.window[:, top - rows.start:bottom - rows.start, left - columns.start:right - columns.start]
        middle = keras.ops.concatenate(
            [fill(top, bottom, column_start, left), inside, fill(top, bottom, right, column_stop)], axis=2)
        above = fill(row_start, top, column_start, column_stop)
        below = fill(bottom, row_stop, column_start, column_stop)
        return keras.ops.concatenate([above, middle, below], axis=1)
