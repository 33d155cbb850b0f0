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
import tensorflow as tf

from fcn_keras.limits import DEFAULT_MEMORY_LIMIT

NETWORK_STRIDE = 32  # the coarsest map's stride: tile origins stay on its grid
PROBE_SIZE = 64  # the input side at which activations per pixel are measured
_BYTES_PER_PIXEL = weakref.WeakKeyDictionary()


def input_padding(model):
    """Pixels the network pads its input with on each side (100 in the paper geometry, else 0)."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.ZeroPadding2D):
            return max(max(pair) for pair in layer.padding)
    return 0


def activation_bytes(model, height, width, batch=1):
    """Estimated peak activation memory of one forward pass on `batch` images of `height` x `width`.

    The two largest activations of the graph traced at a small probe size (a
    batch of 2, which tells activations from weights: no kernel is 2 wide), per
    (padded) input pixel, scaled to the given size.

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
    if model not in _BYTES_PER_PIXEL:
        traced = tf.function(lambda images: model(images, training=False)).get_concrete_function(
            tf.TensorSpec((2, PROBE_SIZE, PROBE_SIZE, 3), tf.float32))
        sizes = sorted(int(np.prod(tensor.shape)) * tensor.dtype.size // 2
                       for op in traced.graph.get_operations() for tensor in op.outputs
                       if tensor.shape.is_fully_defined() and tensor.shape.rank == 4 and tensor.shape[0] == 2
                       and tensor.dtype.is_floating)
        pad = input_padding(model)
        _BYTES_PER_PIXEL[model] = sum(sizes[-2:]) / (PROBE_SIZE + 2 * pad) ** 2
    pad = input_padding(model)
    return int(math.ceil(_BYTES_PER_PIXEL[model] * batch * (height + 2 * pad) * (width + 2 * pad)))


def context_margin(model):
    """How far (pixels, a multiple of 32) the scores of a pixel can depend on input around it:
    half the receptive field of the coarsest map plus its upsampling's reach."""
    field, jump = 1, 1
    for layer in _all_layers(model):  # every layer in a row: more than the deepest path, never less
        if isinstance(layer, keras.layers.Conv2DTranspose):
            continue
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)):
            field += layer.dilation_rate[0] * (layer.kernel_size[0] - 1) * jump
            jump *= layer.strides[0]
        elif isinstance(layer, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)):
            field += (layer.pool_size[0] - 1) * jump
            jump *= layer.strides[0]
    reach = field // 2 + 2 * NETWORK_STRIDE
    return -(-reach // NETWORK_STRIDE) * NETWORK_STRIDE


def _all_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)
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
    return np.asarray(model.predict_on_batch(tf.cast(image[None], tf.float32)))[0]
