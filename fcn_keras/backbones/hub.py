"""keras-hub backbones (the optional extra `pip install "fcn-keras[hub]"`): `backbone="hub:<preset>"`.

A keras-hub vision `Backbone` exposes `pyramid_outputs`; its levels P3, P4 and P5
(strides 8, 16 and 32) are the FCN's taps. The preset's `ImageConverter` (scale
and offset) becomes the FCN's own preprocessing, so the model still takes RGB in
[0, 255]. A `Backbone` instance you built yourself is a `keras.Model` with a
pyramid: pass it as `backbone=` directly.

A name that is no keras-hub preset is refused with the closest image presets; a
preset keras-hub would fetch from Kaggle is refused at once where Kaggle's host does
not resolve, naming kagglehub's cache, where keras-hub keeps the presets it fetched.
"""

import difflib
import functools
import os
import re

from fcn_keras.backbones.from_model import copy_network_weights, model_backbone
from fcn_keras.backbones.pretrained import load_checked_weights
from fcn_keras.backbones.registry import RAW_PIXELS, BackboneSpec, register_backbone_family
from fcn_keras.network import require_host

PREFIX = "hub:"
KAGGLE_API = "https://api.kaggle.com"  # where kagglehub fetches keras-hub's presets from
FORMS = (f"write {PREFIX}<preset> with a keras-hub preset, e.g. {PREFIX}resnet_50_imagenet (an image backbone; "
         "keras_hub.models.ImageClassifier.presets lists them), a handle such as "
         f"{PREFIX}kaggle://<owner>/<model>/keras/<variant> or {PREFIX}hf://<owner>/<model>, or "
         f"{PREFIX}<a local preset folder>")


@functools.lru_cache(maxsize=None)
def hub_backbone(name):
    """The `BackboneSpec` of the keras-hub preset `name` ("hub:<preset>").

    keras-hub fetches the preset's configuration (and, for
    `backbone_weights="imagenet"`, its weights) from Kaggle or Hugging Face on first
    use and caches it. `backbone_weights="imagenet"` means the preset's own weights;
    a path loads a `.weights.h5` saved from the same backbone.

    Args:
        name: "hub:" followed by a keras-hub preset, e.g. "hub:resnet_50_imagenet", a handle
            ("hub:kaggle://...", "hub:hf://...") or a local preset folder.

    Returns:
        `BackboneSpec`.

    Raises:
        ModuleNotFoundError: keras-hub is not installed (the message says how to install it).
        ValueError: `name` names no keras-hub preset (see `check_preset`).
        DownloadError: the preset is to be fetched from Kaggle and Kaggle's host does not resolve.
    """
    preset = name[len(PREFIX):]
    check_preset(preset)
    _require_preset_file(preset, "config.json")
    return BackboneSpec(
        name=preset_name(preset),
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


def check_preset(preset):
    """Refuses what is neither a keras-hub preset, a handle ("kaggle://...", "hf://...") nor a local folder.

    Args:
        preset: what follows "hub:".

    Raises:
        ValueError: saying how `hub:<preset>` is written, with the image presets closest to an unknown name.

    Example:
        >>> check_preset("")
        Traceback (most recent call last):
        ValueError: hub: names no keras-hub preset: write hub:<preset> with a keras-hub preset, e.g. ...
    """
    if "://" in preset or os.path.isdir(preset):
        return
    if not preset:
        raise ValueError(f"{PREFIX} names no keras-hub preset: {FORMS}.")
    if preset in keras_hub().models.Backbone.presets:
        return
    close = difflib.get_close_matches(preset, keras_hub().models.ImageClassifier.presets, n=3)
    suggestion = f"did you mean {' or '.join(PREFIX + name for name in close)}? Otherwise " if close else ""
    raise ValueError(f"{preset!r} is not a keras-hub preset: {suggestion}{FORMS}.")


def preset_name(preset):
    """The name of a preset's backbone: the preset's, or a handle's or folder's last part (Keras names hold no "/").

    Args:
        preset: a keras-hub preset, handle or local folder.

    Returns:
        str.

    Example:
        >>> preset_name("kaggle://keras/resnetv1/keras/resnet_50_imagenet/3"), preset_name("./presets/my_resnet/")
        ('resnet_50_imagenet', 'my_resnet')
    """
    parts = [part for part in re.split(r"[/\\]", preset.partition("://")[2] or preset)
             if part.strip(".") and not part.isdigit()]
    return parts[-1] if parts else preset


def kaggle_cache(handle):
    """The folder of kagglehub's cache where keras-hub keeps a Kaggle preset (`$KAGGLEHUB_CACHE`, by default
    `~/.cache/kagglehub`).

    Args:
        handle: "kaggle://<owner>/<model>/<framework>/<variant>[/<version>]".

    Returns:
        str; without a version, the folder of its versions.

    Example:
        >>> os.environ["KAGGLEHUB_CACHE"] = "/data/kagglehub"
        >>> kaggle_cache("kaggle://keras/resnetv1/keras/resnet_50_imagenet/3")
        '/data/kagglehub/models/keras/resnetv1/keras/resnet_50_imagenet/3'
    """
    root = os.path.expanduser(os.environ.get("KAGGLEHUB_CACHE", "~/.cache/kagglehub"))
    return os.path.join(root, "models", *handle.partition("://")[2].strip("/").split("/"))


def _require_preset_file(preset, file):
    """Refuses, before kagglehub tries, a Kaggle preset whose `file` is not in kagglehub's cache when Kaggle's
    host does not resolve; other handles and local folders pass. A handle without a version is never found
    cached: kagglehub asks Kaggle for its newest."""
    handle = preset if preset.startswith("kaggle://") else (
        keras_hub().models.Backbone.presets.get(preset, {}).get("kaggle_handle"))
    if handle is None or os.path.isfile(os.path.join(kaggle_cache(handle), file)):
        return
    require_host(KAGGLE_API, f"{file} of the keras-hub preset {preset!r} ({handle})",
                 f"copy the preset's folder, fetched where there is network, to {kaggle_cache(handle)} (keras-hub's "
                 f"cache: kagglehub's, under $KAGGLEHUB_CACHE when set), or give {PREFIX}<a local preset folder>")


def _build(preset, images, padding, dropout):
    network = keras_hub().models.Backbone.from_preset(preset, load_weights=False)
    return model_backbone(network).build(images, padding, dropout)


def _load_weights(preset, fcn, weights):
    if weights == "imagenet":
        _require_preset_file(preset, "model.weights.h5")
        network = keras_hub().models.Backbone.from_preset(preset)
    else:
        network = keras_hub().models.Backbone.from_preset(preset, load_weights=False)
        load_checked_weights(network, weights, f"the keras-hub preset {preset_name(preset)!r}")
    copy_network_weights(network, fcn, preset_name(preset))


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
    import numpy as np

    if scale is None and offset is None:
        return RAW_PIXELS
    scale = np.broadcast_to(np.asarray(1.0 if scale is None else scale, np.float64), (3,))
    offset = np.broadcast_to(np.asarray(0.0 if offset is None else offset, np.float64), (3,))
    return {"mean_rgb": tuple(float(m) + 0.0 for m in -offset / scale), "std_rgb": tuple(float(s) for s in 1 / scale)}


register_backbone_family(PREFIX, hub_backbone)
