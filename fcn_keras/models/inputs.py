"""What an FCN takes in: one colour image, or NYUDv2's modalities (colour, depth, HHA) fused early or late.

Early fusion (the authors' nyud-fcn32s-color-d): the modalities, each normalized
in the graph, are stacked as channels before the first convolution, which gets as
many input channels. Late fusion (nyud-fcn32s-color-hha): one FCN per modality,
their scores summed with weights (the authors': 0.5 each).

Each modality's channels, normalization and dtype rule are declared once, in
`fcn_keras.data.modalities.MODALITIES`.
"""

import keras
import numpy as np

from fcn_keras.arguments import modality_names, positive_number
from fcn_keras.data.modalities import MODALITIES, check_modality_dtype
from fcn_keras.layers import ImagePreprocessing
from fcn_keras.models.fcn_model import IMAGES, FCN, FCNConfig, fcn_config_of, modalities_of, takes_named_inputs


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
        ValueError: modalities `modality_names` refuses.

    Example:
        >>> {name: tensor.shape for name, tensor in model_inputs(("color", "depth")).items()}
        {'color': (None, None, None, 3), 'depth': (None, None, None, 1)}
    """
    modalities = modality_names(modalities)
    return {name: keras.Input((height, width, MODALITIES[name].channels),
                              name=IMAGES if modalities == ("color",) else name) for name in modalities}


def check_input_arrays(model, images):
    """Refuses arrays a model cannot take, before they reach it: its inputs by name, channels, sizes and batch.

    Args:
        model: an FCN.
        images: for a one-input model an image (H, W, C) or batch (N, H, W, C); for a model of
            several inputs {modality: image or batch}, all of one size (and batch).

    Raises:
        ValueError: naming the input, its shape and what the model takes.

    Example:
        >>> rgbd = fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", modalities=("color", "depth"))
        >>> check_input_arrays(rgbd, {"color": np.zeros((8, 8, 3)), "depth": np.zeros((8, 8, 1), np.float32)})
        >>> check_input_arrays(rgbd, {"color": np.zeros((8, 8, 3)), "depth": np.zeros((8, 8))})
        Traceback (most recent call last):
        ValueError: images['depth'] has shape (8, 8); ... takes depth of 1 channel (H, W, 1) or (N, H, W, 1) ...
    """
    inputs = getattr(model, "inputs", None)  # a subclassed model declares none: Keras checks its calls
    if not inputs:
        return
    takes = model.input if takes_named_inputs(model) else {None: inputs[0]}
    given = images if isinstance(images, dict) else {None: images}
    if set(given) != set(takes):
        raise ValueError(f"{model.name!r} takes {_takes_in_words(takes)}, got {_given_in_words(given)}.")
    for name, array in given.items():
        where, channels = ("images" if name is None else f"images[{name!r}]"), takes[name].shape[-1]
        if array.ndim not in (3, 4) or (channels is not None and array.shape[-1] != channels):
            raise ValueError(f"{where} has shape {array.shape}; {model.name!r} takes "
                             f"{_input_in_words(name, channels, array.shape)}.")
        check_modality_dtype(name, array.dtype.name, where)
    shapes = {name: array.shape[:-1] for name, array in given.items()}
    if len({len(shape) for shape in shapes.values()}) > 1 or len(set(shapes.values())) > 1:
        raise ValueError(f"The inputs differ in size or batch: {shapes}; give every input of one image (or batch) "
                         "the same height and width, and the same number of images.")


def _input_in_words(name, channels, shape):
    """What one input of a model is, with the fix for the usual mistakes (given an array of `shape`)."""
    shapes = f"(H, W, {channels}) or (N, H, W, {channels})"
    if name in (None, "color") and channels == 3:
        return f"RGB images {shapes} (convert grayscale or RGBA images to RGB first)"
    if channels == 1 and len(shape) in (2, 3):
        return f"{name} of 1 channel {shapes} (add a channel axis: {name}[..., None])"
    return f"{name} of {channels} channel{'s' * (channels != 1)} {shapes}"


def _takes_in_words(takes):
    if None in takes:
        return "one image array (H, W, C) or batch (N, H, W, C)"
    return "{" + ", ".join(f"{name!r}: (H, W, {tensor.shape[-1]})" for name, tensor in takes.items()) + "}"


def _given_in_words(given):
    return "one array" if None in given else f"a dict of {sorted(given)}"


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
        networks: {modality: one-headed FCN taking that modality alone}, two or more, e.g.
            {"color": ..., "hha": ...}; all score the same classes.
        weights: {modality: factor} for every modality; default equal factors summing to 1.
        name: the model's name.

    Returns:
        A model taking {modality: image} and giving the weighted sum of the logits: an `FCN` (its
        `backbone` {modality: the network's backbone}) when the networks are FCNs of one variant and
        geometry, else a plain Functional model.

    Raises:
        ValueError: fewer than two networks, a key that is no modality a network can take alone, a
            network that takes another input or has several heads, differing class counts, or
            weights that are not one finite positive number per modality.

    Example:
        >>> color = fcn_keras.build_fcn32s(4, backbone="vgg16_tiny", padding="same")
        >>> hha = fcn_keras.build_fcn32s(4, backbone="vgg16_tiny", padding="same", modalities=("hha",))
        >>> fused = late_fusion({"color": color, "hha": hha})
        >>> fused({"color": np.zeros((1, 8, 8, 3)), "hha": np.zeros((1, 8, 8, 3))}).shape
        TensorShape([1, 8, 8, 4])
        >>> late_fusion({"hha": color, "color": hha})
        Traceback (most recent call last):
        ValueError: late_fusion: networks['hha'] ('fcn32s_vgg16_tiny') takes colour images, not hha; ...
    """
    classes = _check_fusion_networks(networks)
    weights = _fusion_weights(weights, networks)
    inputs = {modality: keras.Input(network.input.shape[1:], name=modality) for modality, network in networks.items()}
    scores = [keras.layers.Rescaling(weights[modality], name=f"weight_{modality}")(
        keras.Model(network.input, network.output, name=f"{modality}_fcn")(inputs[modality]))
        for modality, network in networks.items()]
    fused = keras.layers.Add(name="score_fused", dtype="float32")(scores)
    config = _fused_config(networks, classes)
    return keras.Model(inputs, fused, name=name) if config is None else FCN(inputs, fused, name=name, config=config)


def _check_fusion_networks(networks):
    """The class count the networks share; refuses what `late_fusion` cannot sum: see its Raises."""
    if not isinstance(networks, dict) or len(networks) < 2:
        raise ValueError("late_fusion takes two or more FCNs, {modality: FCN of that modality}, e.g. "
                         f"{{'color': color_fcn, 'hha': hha_fcn}}; got {networks!r}.")
    classes = {}
    for modality, network in networks.items():
        where = f"late_fusion: networks[{modality!r}]"
        try:
            modality_names((modality,))  # a modality a network can take alone
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
        if not isinstance(network, keras.Model):
            raise ValueError(f"{where} must be an FCN (a keras.Model), got {type(network).__name__}.")
        takes = modalities_of(network) or ["color"]
        if takes != [modality]:
            raise ValueError(f"{where} ({network.name!r}) takes {_inputs_in_words(takes)}, not {modality}; key each "
                             "network by the one input it takes.")
        if isinstance(network.output, dict):
            raise ValueError(f"{where} ({network.name!r}) has heads {list(network.output)}; late_fusion sums "
                             "one-headed FCNs.")
        classes[modality] = int(network.output.shape[-1])
    if len(set(classes.values())) > 1:
        raise ValueError(f"late_fusion: the networks score different numbers of classes, {classes}; fuse networks "
                         "of the same classes.")
    return next(iter(classes.values()))


def _fused_config(networks, classes):
    """The `FCNConfig` of the fused model, or None where the networks are not FCNs of one variant and geometry."""
    try:
        configs = {modality: fcn_config_of(network) for modality, network in networks.items()}
    except ValueError:  # a network of your own
        return None
    variants, paddings = ({getattr(config, fact) for config in configs.values()} for fact in ("variant", "padding"))
    if len(variants) > 1 or len(paddings) > 1:
        return None
    return FCNConfig(variants.pop(), classes, {modality: config.backbone for modality, config in configs.items()},
                     paddings.pop(), tuple(networks))


def _inputs_in_words(modalities):
    return " and ".join("colour images" if name == "color" else name for name in modalities)


def _fusion_weights(weights, networks):
    """{modality: factor}: the given ones, checked (one finite positive number per network), or equal ones."""
    if weights is None:
        return {modality: 1.0 / len(networks) for modality in networks}
    if not isinstance(weights, dict) or set(weights) != set(networks):
        equal = {modality: round(1 / len(networks), 3) for modality in networks}
        raise ValueError(f"late_fusion: weights must give one factor per network, e.g. {equal}, got {weights!r}.")
    return {modality: positive_number(weights[modality], f"late_fusion: weights[{modality!r}]")
            for modality in networks}


def widen_first_convolution(kernel, channels):
    """A first convolution's kernel (kh, kw, 3, out) for `channels` inputs, the extra ones set to the mean of
    the colour channels' kernels, as the authors initialized their colour-depth net from VGG16.

    Example:
        >>> widen_first_convolution(np.arange(6.0).reshape(1, 1, 3, 2), 4)[0, 0].tolist()
        [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [2.0, 3.0]]
    """
    extra = np.repeat(kernel.mean(axis=2, keepdims=True), channels - kernel.shape[2], axis=2)
    return np.concatenate([kernel, extra], axis=2)
