"""Scoring images of any size in bounded memory: whole when the activations fit, else in overlapping tiles.

An FCN's activations grow with the pixels it scores (a full VGG16 FCN-8s needs
about 0.5 kB per pixel, some 30 GB for an 8000x8000 photo). Above `memory_limit`
an image is scored in tiles whose origins lie on the network's 32-pixel grid and
that overlap by more than the receptive field, so each kept pixel sees exactly
what it would see in the whole image: the stitched result equals the
whole-image one (up to float rounding).
"""

import math
import weakref

import keras
import numpy as np
from keras import tree

from fcn_keras.geometry import Pad, Window, layer_space
from fcn_keras.keras_internals import converts_inputs, graph_model, run_graph
from fcn_keras.limits import DEFAULT_MEMORY_LIMIT

NETWORK_STRIDE = 32  # the coarsest map's stride: tile origins stay on its grid
PROBE_SIZE = 64  # the input side at which activations per pixel are measured
_BYTES_PER_PIXEL = weakref.WeakKeyDictionary()
_FLOAT_BYTES = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8}
_HALF = ("float16", "bfloat16")
# Layers that return their input at inference: no tensor of their own.
_INFERENCE_IDENTITY = (keras.layers.Dropout, keras.layers.SpatialDropout1D, keras.layers.SpatialDropout2D,
                       keras.layers.SpatialDropout3D, keras.layers.GaussianNoise, keras.layers.GaussianDropout,
                       keras.layers.AlphaDropout, keras.layers.Identity, keras.layers.InputLayer)
# Layers that compute in float32 whatever their inputs (Keras upcasts half precision inside them).
_FLOAT32_INSIDE = (keras.layers.BatchNormalization, keras.layers.GroupNormalization)


def input_padding(model):
    """Pixels the network pads its input with on each side (100 in the paper geometry, else 0).

    Example:
        >>> input_padding(build_fcn32s(3, backbone="vgg16_tiny")), input_padding(build_fcn32s(3, padding="same"))
        (100, 0)
    """
    for layer in all_layers(model):  # a late fusion's networks each pad their own input
        if isinstance(layer_space(layer), Pad):
            return max(max(pair) for pair in layer.padding)
    return 0


def activation_bytes(model, height, width, batch=1):
    """Estimated peak activation memory of one forward pass on `batch` images of `height` x `width`.

    The two largest activations of the model at a small probe size, per
    (padded) input pixel, scaled to the given size. They are found by Keras'
    shape inference on symbolic tensors of the probe size, layer by layer
    through the model's graph (nested models walked inside): nothing is
    computed, and every backend gives the same number. Each layer's outputs
    count, and so do the copies of its inputs it casts to its compute dtype
    (mixed precision) and the two float32 tensors (input and result) batch
    normalization makes of half-precision inputs. A model that is no graph
    (subclassed) counts its inputs and outputs only.

    Args:
        model: an FCN.
        height, width: the input size.
        batch: images per pass.

    Returns:
        int, bytes.

    Example:
        >>> round(activation_bytes(build_fcn8s(21, backbone="vgg16_tiny"), 8000, 8000) / 2**30, 1)  # GiB
        2.7
    """
    pad = input_padding(model)
    if model not in _BYTES_PER_PIXEL:
        inputs = _probe_inputs(model)
        sizes = sorted(math.prod(tensor.shape) * _FLOAT_BYTES[tensor.dtype]
                       for tensor in _activations(model, inputs)
                       if len(tensor.shape) == 4 and None not in tensor.shape and tensor.dtype in _FLOAT_BYTES)
        probe_height, probe_width = inputs[0].shape[1:3]
        _BYTES_PER_PIXEL[model] = sum(sizes[-2:]) / ((probe_height + 2 * pad) * (probe_width + 2 * pad))
    return int(math.ceil(_BYTES_PER_PIXEL[model] * batch * (height + 2 * pad) * (width + 2 * pad)))


def _probe_inputs(model):
    """One symbolic image per model input: a batch of 1, `PROBE_SIZE` square unless the input's size is fixed."""
    specs = getattr(model, "inputs", None) or [keras.KerasTensor((None, None, None, 3))]  # subclassed: RGB
    return [keras.KerasTensor((1, *(side or PROBE_SIZE for side in spec.shape[1:3]), *spec.shape[3:]), spec.dtype)
            for spec in specs]


def _activations(model, inputs):
    """The symbolic tensors a forward pass on `inputs` makes, the inputs included."""
    tensors = list(inputs)
    graph = graph_model(model)
    if graph is not None:
        _walk(graph, inputs, tensors)
    else:
        tensors.extend(tree.flatten(model.compute_output_spec(inputs[0] if len(inputs) == 1 else inputs)))
    return tensors


def _walk(graph, inputs, tensors):
    """Runs a model's graph (`graph_model`) on symbolic `inputs` (its `inputs` order), appending the tensors its
    layers make to `tensors`; returns its symbolic outputs."""
    def run(operation, *args, **kwargs):
        if (nested := graph_model(operation)) is not None:  # a nested model (a backbone): its own layers count
            return _walk(nested, tree.flatten(args[0] if args else kwargs["inputs"]), tensors)
        kwargs.pop("training", None)
        if isinstance(operation, keras.layers.Layer) and converts_inputs(operation):
            def convert(tensor):  # what Layer.__call__ does: floats cast to the compute dtype, a new tensor
                converted = operation.dtype_policy.convert_input(tensor, operation.autocast, operation.input_dtype)
                if converted is not tensor:
                    tensors.append(converted)
                return converted
            args, kwargs = tree.map_structure(convert, (args, kwargs))
        if isinstance(operation, _FLOAT32_INSIDE):  # a half-precision input in float32, and the float32 result
            halves = [tensor for tensor in tree.flatten(args) if getattr(tensor, "dtype", None) in _HALF]
            tensors.extend(keras.KerasTensor(tensor.shape, "float32") for tensor in halves for _ in range(2))
        outputs = operation.compute_output_spec(*args, **kwargs)
        if not isinstance(operation, _INFERENCE_IDENTITY):
            tensors.extend(tree.flatten(outputs))
        return outputs

    return run_graph(graph, inputs, run)


def context_margin(model):
    """How far (pixels, a multiple of 32) the scores of a pixel can depend on input around it:
    half the receptive field of the coarsest map plus its upsampling's reach.

    The field grows with every convolution and pooling (every `Window` of
    `fcn_keras.geometry`'s declarations), taken along the rows.

    Example:
        >>> context_margin(build_fcn8s(21, backbone="vgg16_tiny"))
        288
    """
    field, jump = 1, 1
    for layer in all_layers(model):  # every layer in a row: more than the deepest path, never less
        space = layer_space(layer)
        if isinstance(space, Window):
            (extent, stride), _ = space.axes(layer)
            field += (extent - 1) * jump
            jump *= stride
    reach = field // 2 + 2 * NETWORK_STRIDE
    return -(-reach // NETWORK_STRIDE) * NETWORK_STRIDE


def all_layers(model):
    """The layers of a model, each nested model's (a backbone, a late fusion's networks) replaced by its own."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from all_layers(layer)
        else:
            yield layer


def tile_side(model, memory_limit):
    """The largest kept square (a multiple of 32) whose tile, margins included, fits `memory_limit`.

    Raises:
        MemoryError: not even a 32-pixel core fits (names the need and the limit).
    """
    margin, side = context_margin(model), 0
    while activation_bytes(model, side + NETWORK_STRIDE + 2 * margin, side + NETWORK_STRIDE + 2 * margin) \
            <= memory_limit:
        side += NETWORK_STRIDE
    if side == 0:
        need = activation_bytes(model, NETWORK_STRIDE + 2 * margin, NETWORK_STRIDE + 2 * margin)
        raise MemoryError(f"Even the smallest tile ({NETWORK_STRIDE + 2 * margin} px square) needs about "
                          f"{need / 2**30:.2f} GB of activations, above the limit of {memory_limit / 2**30:.2f} "
                          "GB; raise `memory_limit`.")
    return side


def score_image(model, image, memory_limit=DEFAULT_MEMORY_LIMIT, reduce=None):
    """Scores one image (H, W, 3), in tiles where the whole would exceed `memory_limit`.

    Args:
        model: an FCN (RGB in [0, 255] -> logits).
        image: float RGB (H, W, 3).
        memory_limit: bytes of activations a pass may use; None for no limit.
        reduce: `reduce(logits (h, w, C)) -> array (h, w, ...)` applied to each tile's
            logits before stitching (e.g. argmax, so full-size logits never exist);
            default: keep the logits.

    Returns:
        The stitched (H, W, ...) array.

    Example:
        >>> model = build_fcn8s(3, backbone="vgg16_tiny", padding="same")
        >>> photo = np.random.default_rng(0).uniform(0, 255, (300, 400, 3)).astype(np.float32)
        >>> classes = score_image(model, photo, reduce=lambda logits: logits.argmax(-1))
        >>> classes.shape
        (300, 400)
    """
    reduce = reduce or (lambda logits: logits)
    height, width = image.shape[:2]
    if memory_limit is None or activation_bytes(model, height, width) <= memory_limit:
        return reduce(_logits(model, image))
    side, margin = tile_side(model, memory_limit), context_margin(model)
    result = None
    for top in range(0, height, side):
        for left in range(0, width, side):
            y0, x0 = max(top - margin, 0), max(left - margin, 0)
            y1, x1 = min(top + side + margin, height), min(left + side + margin, width)
            scores = reduce(_logits(model, image[y0:y1, x0:x1]))
            if result is None:
                result = np.empty((height, width, *scores.shape[2:]), scores.dtype)
            bottom, right = min(top + side, height), min(left + side, width)
            result[top:bottom, left:right] = scores[top - y0:bottom - y0, left - x0:right - x0]
    return result


def _logits(model, image):
    return np.asarray(model.predict_on_batch(np.asarray(image, np.float32)[None]))[0]
