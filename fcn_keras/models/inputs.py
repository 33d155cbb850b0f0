"""What an FCN takes in: one colour image, or NYUDv2's modalities (colour, depth, HHA) fused early or late.

Early fusion (the authors' nyud-fcn32s-color-d): the modalities, each normalized
in the graph, are stacked as channels before the first convolution, which gets as
many input channels. Late fusion (nyud-fcn32s-color-hha): one FCN per modality,
their scores summed with weights (the authors': 0.5 each).
"""

import dataclasses

import keras
import numpy as np

from fcn_keras.data.means import NYUD_HHA_MEAN, NYUD_LOG_DEPTH_MEAN
from fcn_keras.layers import ImagePreprocessing, LogDepth

IMAGES = "images"  # the input of a model with one input


@dataclasses.dataclass(frozen=True)
class Modality:
    """An input kind: its channels, and its normalization (None: the backbone's, for colour images)."""

    channels: int
    normalization: object = None


MODALITIES = {
    "color": Modality(3),
    "depth": Modality(1, lambda name: LogDepth(NYUD_LOG_DEPTH_MEAN, name=name)),  # millimetres, as the PNGs
    # HHA images (disparity, height, angle) minus the authors' mean, in the PNG's own channel order
    "hha": Modality(3, lambda name: ImagePreprocessing(mean_rgb=NYUD_HHA_MEAN, name=name)),
}


def model_inputs(modalities, height=None, width=None):
    """The Keras inputs of an FCN taking `modalities`: {modality: keras.Input}.

    Colour images alone are one input named "images"; another single modality's
    input ("hha") and several inputs are named by modality (see `modalities_of`).
    Colour comes first where there is colour (its channels take a colour network's
    first kernels when ImageNet weights load), and depth needs colour beside it.

    Args:
        modalities: names in `MODALITIES`, in the order they are stacked.
        height, width: fixed sizes, or None for any.

    Returns:
        dict {modality: KerasTensor}.

    Raises:
        ValueError: an unknown or repeated modality.

    Example:
        >>> {name: tensor.shape for name, tensor in model_inputs(("color", "depth")).items()}
        {'color': (None, None, None, 3), 'depth': (None, None, None, 1)}
    """
    modalities = tuple(modalities)
    unknown = [name for name in modalities if name not in MODALITIES]
    if unknown or not modalities or len(set(modalities)) != len(modalities):
        raise ValueError(f"modalities must be distinct names among {', '.join(MODALITIES)}, got {modalities!r}.")
    if "color" in modalities[1:] or modalities == ("depth",):
        raise ValueError(f"modalities {modalities!r}: give colour first, and depth with colour, e.g. "
                         "('color', 'depth') as the authors' colour-depth net.")
    return {name: keras.Input((height, width, MODALITIES[name].channels),
                              name=IMAGES if modalities == ("color",) else name) for name in modalities}


def modalities_of(model):
    """The modalities a model takes, from its input names: None for colour images alone.

    Example:
        >>> modalities_of(fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", modalities=("hha",)))
        ['hha']
        >>> modalities_of(fcn_keras.build_fcn32s(3, backbone="vgg16_tiny")) is None
        True
    """
    names = list(model.input) if isinstance(model.input, dict) else [model.inputs[0].name]
    return None if names == [IMAGES] else names


def normalized_inputs(inputs, color_preprocessing):
    """The inputs normalized in the graph and stacked as channels (early fusion), for the backbone.

    Args:
        inputs: {modality: tensor}, from `model_inputs`.
        color_preprocessing: the `ImagePreprocessing` arguments of colour images (the backbone's).

    Returns:
        The stacked tensor (N, H, W, channels of all modalities).

    Example:
        >>> normalized_inputs(model_inputs(("color", "depth")), {"mean_rgb": (1, 2, 3), "channel_order": "BGR"}).shape
        (None, None, None, 4)
    """
    single = len(inputs) == 1
    normalized = []
    for modality, tensor in inputs.items():
        name = "preprocess" if single else f"preprocess_{modality}"
        normalization = MODALITIES[modality].normalization
        layer = normalization(name) if normalization else ImagePreprocessing(**color_preprocessing, name=name)
        normalized.append(layer(tensor))
    return normalized[0] if single else keras.layers.Concatenate(name="stack_inputs")(normalized)


def late_fusion(networks, weights=None, name="late_fusion"):
    """One model summing the logits of one FCN per modality (the authors' colour-HHA net: 0.5 each).

    Each FCN becomes a layer named "<modality>_fcn" (its own layers, not copies).
    Summing the final logits equals the authors' sum of the stride-32 scores before
    one upsampling: the fixed bilinear upsampler and the crop are linear.

    Args:
        networks: {modality: FCN taking that modality alone}, e.g. {"color": ..., "hha": ...}.
        weights: {modality: factor}; default equal factors summing to 1.
        name: the model's name.

    Returns:
        A `keras.Model` taking {modality: image} and giving the weighted sum of the logits.

    Example:
        >>> color = fcn_keras.build_fcn32s(4, backbone="vgg16_tiny", padding="same")
        >>> hha = fcn_keras.build_fcn32s(4, backbone="vgg16_tiny", padding="same", modalities=("hha",))
        >>> fused = late_fusion({"color": color, "hha": hha})
        >>> fused({"color": np.zeros((1, 8, 8, 3)), "hha": np.zeros((1, 8, 8, 3))}).shape
        TensorShape([1, 8, 8, 4])
    """
    weights = weights or {modality: 1.0 / len(networks) for modality in networks}
    inputs = {modality: keras.Input(network.input.shape[1:], name=modality) for modality, network in networks.items()}
    scores = [keras.layers.Rescaling(weights[modality], name=f"weight_{modality}")(
        keras.Model(network.input, network.output, name=f"{modality}_fcn")(inputs[modality]))
        for modality, network in networks.items()]
    fused = keras.layers.Add(name="score_fused", dtype="float32")(scores)
    return keras.Model(inputs, fused, name=name)


def widen_first_convolution(kernel, channels):
    """A first convolution's kernel (kh, kw, 3, out) for `channels` inputs, the extra ones set to the mean of
    the colour channels' kernels, as the authors initialized their colour-depth net from VGG16.

    Example:
        >>> widen_first_convolution(np.arange(6.0).reshape(1, 1, 3, 2), 4)[0, 0].tolist()
        [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [2.0, 3.0]]
    """
    extra = np.repeat(kernel.mean(axis=2, keepdims=True), channels - kernel.shape[2], axis=2)
    return np.concatenate([kernel, extra], axis=2)
