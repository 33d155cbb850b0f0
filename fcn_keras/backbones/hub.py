"""keras-hub backbones (the optional extra `pip install "fcn-keras[hub]"`): `backbone="hub:<preset>"`.

A keras-hub vision `Backbone` exposes `pyramid_outputs`; its levels P3, P4 and P5
(strides 8, 16 and 32) are the FCN's taps. The preset's `ImageConverter` (scale
and offset) becomes the FCN's own preprocessing, so the model still takes RGB in
[0, 255]. A `Backbone` instance you built yourself is a `keras.Model` with a
pyramid: pass it as `backbone=` directly.
"""

import functools

import numpy as np

from fcn_keras.backbones.from_model import copy_network_weights, model_backbone
from fcn_keras.backbones.registry import RAW_PIXELS, BackboneSpec, register_backbone_family

PREFIX = "hub:"


@functools.lru_cache(maxsize=None)
def hub_backbone(name):
    """The `BackboneSpec` of the keras-hub preset `name` ("hub:<preset>").

    keras-hub fetches the preset's configuration (and, for
    `backbone_weights="imagenet"`, its weights) from Kaggle or Hugging Face on first
    use and caches it. `backbone_weights="imagenet"` means the preset's own weights;
    a path loads a `.weights.h5` saved from the same backbone.

    Args:
        name: "hub:" followed by a keras-hub preset, e.g. "hub:resnet_50_imagenet".

    Returns:
        `BackboneSpec`.

    Raises:
        ModuleNotFoundError: keras-hub is not installed (the message says how to install it).
    """
    preset = name[len(PREFIX):]
    return BackboneSpec(
        name=preset,
        build=functools.partial(_build, preset),
        preprocessing=_preset_preprocessing(preset),
        load_weights=functools.partial(_load_weights, preset),
        description=f"the keras-hub preset {preset!r}",
    )


def keras_hub():
    """The `keras_hub` module, or an error saying how to install it."""
    try:
        import keras_hub as module
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError('keras-hub backbones need keras-hub: pip install "fcn-keras[hub]"') from error
    return module


def _build(preset, images, padding, dropout):
    network = keras_hub().models.Backbone.from_preset(preset, load_weights=False)
    return model_backbone(network).build(images, padding, dropout)


def _load_weights(preset, fcn, weights):
    if weights == "imagenet":
        network = keras_hub().models.Backbone.from_preset(preset)
    else:
        network = keras_hub().models.Backbone.from_preset(preset, load_weights=False)
        network.load_weights(weights)
    copy_network_weights(network, fcn, preset)


def _preset_preprocessing(preset):
    """The preset's image converter, x * scale + offset, as `ImagePreprocessing` arguments (x - mean) / std."""
    try:
        converter = keras_hub().layers.ImageConverter.from_preset(preset)
    except (ValueError, FileNotFoundError):  # the preset has no image converter: the backbone takes raw pixels
        return RAW_PIXELS
    return converter_preprocessing(converter.scale, converter.offset)


def converter_preprocessing(scale, offset):
    """`ImagePreprocessing` arguments equal to keras-hub's `x * scale + offset` (either may be None).

    Args:
        scale: a number or one per channel, or None (1).
        offset: a number or one per channel, or None (0).

    Returns:
        {"mean_rgb": ..., "std_rgb": ...}, or {} when the converter changes nothing.

    Example:
        >>> converter_preprocessing(1 / 255, None)
        {'mean_rgb': (0.0, 0.0, 0.0), 'std_rgb': (255.0, 255.0, 255.0)}
    """
    if scale is None and offset is None:
        return RAW_PIXELS
    scale = np.broadcast_to(np.asarray(1.0 if scale is None else scale, np.float64), (3,))
    offset = np.broadcast_to(np.asarray(0.0 if offset is None else offset, np.float64), (3,))
    return {"mean_rgb": tuple(float(m) + 0.0 for m in -offset / scale), "std_rgb": tuple(float(s) for s in 1 / scale)}


register_backbone_family(PREFIX, hub_backbone)
