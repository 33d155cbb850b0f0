"""The registry of backbones: name -> how to build its taps and load its classifier weights."""

import dataclasses
from typing import Callable, NamedTuple, Optional

from fcn_keras.geometry import Grid


class Tap(NamedTuple):
    """A backbone output for the FCN head: the feature tensor and its input grid."""

    tensor: object
    grid: Grid


@dataclasses.dataclass(frozen=True)
class BackboneSpec:
    """What the FCN builders need to know about a backbone.

    Attributes:
        name: the registry key, e.g. "vgg16".
        build: `build(images, padding, dropout) -> {stride: Tap}` taking the
            preprocessed image tensor; strides 8, 16 and 32 feed FCN-8s/16s/32s.
        mean_bgr: the per-channel mean the backbone's weights expect (BGR order).
        classifier: `classifier(weights) -> keras.Model`, the image classifier whose
            weights `convolutionalize` can load ("imagenet" or a local file), or None.
        classifier_layers: classifier layer name -> FCN layer name.
        description: one line for listings.
    """

    name: str
    build: Callable
    mean_bgr: tuple
    classifier: Optional[Callable] = None
    classifier_layers: dict = dataclasses.field(default_factory=dict)
    description: str = ""

    @property
    def mean_rgb(self):
        """`mean_bgr` in RGB order: the image value the backbone's preprocessing maps to zero."""
        return tuple(reversed(self.mean_bgr))


_BACKBONES = {}


def register_backbone(spec):
    """Adds a `BackboneSpec` to the registry (a name can be registered once).

    Args:
        spec: the `BackboneSpec`.

    Returns:
        `spec`.

    Raises:
        ValueError: the name is taken.

    Example:
        >>> register_backbone(BackboneSpec("my_net", build=my_build, mean_bgr=(0, 0, 0)))
    """
    if spec.name in _BACKBONES:
        raise ValueError(f"A backbone named {spec.name!r} is already registered.")
    _BACKBONES[spec.name] = spec
    return spec


def available_backbones():
    """Names of the registered backbones, sorted.

    Returns:
        list of str.

    Example:
        >>> "vgg16" in available_backbones()
        True
    """
    return sorted(_BACKBONES)


def get_backbone(name):
    """The `BackboneSpec` registered as `name`.

    Args:
        name: a registered name, e.g. "vgg16".

    Returns:
        The `BackboneSpec`.

    Raises:
        ValueError: naming the valid backbones when `name` is unknown.

    Example:
        >>> get_backbone("vgg16").mean_bgr
        (103.939, 116.779, 123.68)
    """
    try:
        return _BACKBONES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown backbone {name!r}. Valid backbones: {', '.join(available_backbones())}."
        ) from None
