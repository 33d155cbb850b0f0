"""The registry of backbones: name -> how to build its feature taps, normalize its input, load its weights.

The backbone contract: `build(images, padding, dropout)` lays the backbone's
layers on the preprocessed image tensor and returns its taps, {stride: tensor}
for strides 8, 16 and 32. Nothing else: where each tap's pixels sit in the image
(its grid, hence every crop of the FCN head) is derived from the layers by
`fcn_keras.geometry.tensor_grid`.
"""

import dataclasses
from typing import Callable, Optional

PAPER_PAD = 100  # the "paper" geometry's zeros around the image, before the first convolution (the reference's)

# The input normalizations backbones' weights expect, as `ImagePreprocessing` arguments.
CAFFE_IMAGENET = {"mean_rgb": (123.68, 116.779, 103.939), "channel_order": "BGR"}  # VGG, keras.applications ResNet
INCEPTION = {"mean_rgb": (127.5,) * 3, "std_rgb": (127.5,) * 3}  # to [-1, 1]: MobileNet, Inception
TORCH_IMAGENET = {"mean_rgb": (123.675, 116.28, 103.53), "std_rgb": (58.395, 57.12, 57.375)}
RAW_PIXELS = {}  # the network normalizes its input itself (EfficientNet, most keras-hub backbones)


@dataclasses.dataclass(frozen=True)
class BackboneSpec:
    """What the FCN builders need to know about a backbone.

    Attributes:
        name: the registry key, e.g. "vgg16".
        build: `build(images, padding, dropout) -> {stride: tensor}` on the
            preprocessed image tensor; strides 8, 16 and 32 feed FCN-8s/16s/32s.
            `padding` is "paper" (the reference's: `PAPER_PAD` zeros around the
            image, so that the coarsest layers see all of it) or "same".
        preprocessing: the `ImagePreprocessing` arguments its weights expect
            (`mean_rgb`, `std_rgb`, `channel_order`).
        load_weights: `load_weights(fcn, weights)` loading pretrained weights
            ("imagenet" or a local file) into an FCN built on it, or None.
        description: one line for listings.
        layer_widths: {layer name: output channels} by which trained FCN weight
            files (Caffe, Chainer, PyTorch) of this backbone are recognized; its
            Keras layers carry the same names, so the weights load by name.
    """

    name: str
    build: Callable
    preprocessing: dict = dataclasses.field(default_factory=dict)
    load_weights: Optional[Callable] = None
    description: str = ""
    layer_widths: dict = dataclasses.field(default_factory=dict)

    @property
    def mean_rgb(self):
        """The RGB image value the preprocessing maps to zero (what padded pixels get)."""
        return tuple(self.preprocessing.get("mean_rgb", (0.0, 0.0, 0.0)))


_BACKBONES = {}
_FAMILIES = {}  # name prefix -> function building the spec of a prefixed name, e.g. "hub:" -> keras-hub presets


def register_backbone(spec):
    """Adds a `BackboneSpec` to the registry (a name can be registered once).

    Args:
        spec: the `BackboneSpec`.

    Returns:
        `spec`.

    Raises:
        ValueError: the name is taken.

    Example:
        >>> def my_build(images, padding, dropout):  # five stride-2 convolutions, taps at strides 8, 16, 32
        ...     taps, x = {}, images
        ...     for stride in (2, 4, 8, 16, 32):
        ...         x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
        ...         taps[stride] = x
        ...     return {stride: taps[stride] for stride in (8, 16, 32)}
        >>> spec = register_backbone(BackboneSpec("my_net", build=my_build))
        >>> fcn_keras.build_fcn8s(3, backbone="my_net", padding="same")(np.zeros((1, 64, 64, 3))).shape
        TensorShape([1, 64, 64, 3])
    """
    if spec.name in _BACKBONES:
        raise ValueError(f"A backbone named {spec.name!r} is already registered.")
    _BACKBONES[spec.name] = spec
    return spec


def register_backbone_family(prefix, make_spec):
    """Makes every name starting with `prefix` a backbone, its spec built on demand by `make_spec(name)`.

    Args:
        prefix: e.g. "hub:".
        make_spec: `make_spec(name) -> BackboneSpec`.
    """
    _FAMILIES[prefix] = make_spec


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
        name: a registered name, e.g. "vgg16", or a family's prefixed name, e.g. "hub:resnet_50_imagenet".

    Returns:
        The `BackboneSpec`.

    Raises:
        ValueError: naming the valid backbones when `name` is unknown.

    Example:
        >>> get_backbone("vgg16").preprocessing["channel_order"]
        'BGR'
    """
    for prefix, make_spec in _FAMILIES.items():
        if isinstance(name, str) and name.startswith(prefix):
            return make_spec(name)
    try:
        return _BACKBONES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown backbone {name!r}. Valid backbones: {', '.join(available_backbones())}, or "
            f"{' or '.join(f'{prefix}<name>' for prefix in _FAMILIES)}."
        ) from None
