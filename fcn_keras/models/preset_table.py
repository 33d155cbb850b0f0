"""The registry of the FCN authors' trained networks and where they are cached: no TensorFlow, no Keras.

`PRESETS` maps each name to a `Preset` (what the network is, the authors' scores, the
`WeightSource`s its weights come from); `fcn_keras_home`, `preset_path` and
`download_path` say where its files go. `fcn-keras presets` lists them from here at
once; `fcn_keras.models.presets.from_preset` downloads and converts them.
"""

import dataclasses
import os

from fcn_keras.data.classes import NYUD_CLASSES, PASCAL_CONTEXT_CLASSES, SIFTFLOW_HEADS, VOC_CLASSES
from fcn_keras.data.means import CAFFE_MEAN_BGR, NYUD_COLOR_MEAN_BGR, PASCAL_CONTEXT_MEAN_BGR, SIFTFLOW_MEAN_BGR

HOME_VARIABLE = "FCN_KERAS_HOME"
DEFAULT_HOME = os.path.join("~", ".keras", "fcn_keras")
CAFFE_LICENCE = "BSD-2-Clause code, BVLC model licence (unrestricted use)"


@dataclasses.dataclass(frozen=True)
class WeightSource:
    """One place a preset's weights can be downloaded from.

    Attributes:
        url: the download address.
        filename: the name it is stored under (its extension picks the reader).
        checksum: "md5:<hex>" where the publisher gave one, else None (then a
            file that does not parse counts as corrupt).
        publisher: who converted or released the file.
    """

    url: str
    filename: str
    checksum: str = None
    publisher: str = ""


@dataclasses.dataclass(frozen=True)
class Preset:
    """A released FCN: what it is, how good its authors found it, where to get it.

    Attributes:
        name: the registry key, e.g. "fcn8s-heavy-pascal".
        variant: "fcn32s", "fcn16s" or "fcn8s".
        at_once: the skips are scaled (FCN-8s at-once).
        class_names: the classes in output order ({head: classes} for several heads).
        mean_bgr: the mean the weights expect subtracted from colour images (built into
            the model; other inputs bring their own normalization).
        scores: the authors' reported results, {name: value}.
        sources: `WeightSource`s, tried in order.
        size_mb: download size.
        licence: terms of use.
        description: one line.
        modalities: the inputs, where the weights cannot tell (the HHA net's: ("hha",)).
    """

    name: str
    variant: str
    at_once: bool
    class_names: tuple
    mean_bgr: tuple
    scores: dict
    sources: tuple
    size_mb: int
    licence: str
    description: str
    modalities: tuple = None

    @property
    def num_classes(self):
        """The class count, or {head: class count} for several heads (as `heads_of` gives a model's)."""
        if isinstance(self.class_names, dict):
            return {head: len(names) for head, names in self.class_names.items()}
        return len(self.class_names)


def _drive(file_id, filename, md5, publisher):
    """A Google Drive file, by the direct-download address that skips Drive's confirmation page."""
    return WeightSource(f"https://drive.usercontent.google.com/download?id={file_id}&export=download&confirm=t",
                        filename, f"md5:{md5}", publisher)


def _caffe(filename):
    return WeightSource(f"http://dl.caffe.berkeleyvision.org/{filename}", filename, None,
                        "the FCN authors (shelhamer/fcn.berkeleyvision.org)")


CHAINER, TORCH = "wkentaro/fcn (Chainer port)", "wkentaro/pytorch-fcn"
# name: (variant, at-once, the authors' scores, (PyTorch Drive id, md5), (Chainer Drive id, md5), what it is).
# pytorch-fcn re-uploaded its files in 2021 (the ids below); the Chainer and at-once .pth ids are older ones.
VOC_RELEASES = {
    "fcn32s-heavy-pascal": ("fcn32s", False, {"seg11valid mean IU": 63.6},
                            ("11k2Q0bvRQgQbT6-jYWeh6nmAsWlSCY3f", "d3eb467a80e7da0468a20dfcbc13e6c8"),
                            ("0B9P1L--7Wd2vTElpa1p3WFNDczQ", "b7f0a2e66229ccdb099c0a60b432e8cf"),
                            "FCN-32s, VGG16, PASCAL VOC (SBD train), single stream, stride 32"),
    "fcn16s-heavy-pascal": ("fcn16s", False, {"seg11valid mean IU": 65.0},
                            ("1bctu58B6YH9bu6lBBSBB2rUeGlGhYLoP", "a2d4035f669f09483b39c9a14a0d6670"),
                            ("0B9P1L--7Wd2vcnBiXzZTcG9FU3c", "7c9b50a1a8c6c20d3855d4823bbea61e"),
                            "FCN-16s, VGG16, PASCAL VOC, from FCN-32s, stride 16"),
    "fcn8s-heavy-pascal": ("fcn8s", False, {"seg11valid mean IU": 65.5, "seg12test mean IU": 67.2},
                           ("1ieXWyoG68xqoHJPWdyrDyaIaaWlfmUxI", "de93e540ec79512f8770033849c8ae89"),
                           ("0B9P1L--7Wd2vb0cxV0VhcG1Lb28", "256c2a8235c1c65e62e48d3284fbd384"),
                           "FCN-8s, VGG16, PASCAL VOC, from FCN-16s, stride 8"),
    "fcn8s-atonce-pascal": ("fcn8s", True, {"seg11valid mean IU": 65.4},
                            ("0B9P1L--7Wd2vblE1VUIxV1o2d2M", "bfed4437e941fef58932891217fe6464"),
                            ("0B9P1L--7Wd2vZ1RJdXotZkNhSEk", "5f3ffdc7fae1066606e1ef45cfda548f"),
                            "FCN-8s at-once, VGG16, PASCAL VOC, skips scaled, trained in one stage"),
}


def _voc_preset(name, variant, at_once, scores, torch, chainer, description):
    stem = name.split("-pascal")[0].replace("-heavy", "")  # "fcn8s-atonce", "fcn32s": the ports' file names
    sources = (_caffe(f"{name}.caffemodel"), _drive(torch[0], f"{stem}_from_caffe.pth", torch[1], TORCH),
               _drive(chainer[0], f"{stem}_from_caffe.npz", chainer[1], CHAINER))
    return Preset(name, variant, at_once, VOC_CLASSES, CAFFE_MEAN_BGR, scores, sources, 540, CAFFE_LICENCE,
                  description)


PRESETS = {name: _voc_preset(name, *release) for name, release in VOC_RELEASES.items()}
PRESETS["fcn-alexnet-pascal"] = Preset(
    "fcn-alexnet-pascal", "fcn32s", False, VOC_CLASSES, CAFFE_MEAN_BGR, {"seg11valid mean IU": 48.0},
    (_caffe("fcn-alexnet-pascal.caffemodel"),), 227, CAFFE_LICENCE,
    "FCN-AlexNet (FCN-32s), PASCAL VOC; the authors' later training (gradient accumulation, normalized loss)")

# name: (variant, classes, the data set's mean (BGR) as the authors' data layer subtracts it, the CVPR paper's
# scores, what it is). All VGG16, "heavy" (unnormalized loss, momentum 0.99).
OTHER_RELEASES = {
    "siftflow-fcn32s-heavy": ("fcn32s", SIFTFLOW_HEADS, SIFTFLOW_MEAN_BGR, {},
                              "FCN-32s, SIFT Flow, two heads: 33 semantic and 3 geometric classes"),
    "siftflow-fcn16s-heavy": ("fcn16s", SIFTFLOW_HEADS, SIFTFLOW_MEAN_BGR,
                              {"test semantic mean IU": 39.5, "test geometric pixel accuracy": 94.3},
                              "FCN-16s, SIFT Flow, two heads: 33 semantic and 3 geometric classes (Table 5)"),
    "siftflow-fcn8s-heavy": ("fcn8s", SIFTFLOW_HEADS, SIFTFLOW_MEAN_BGR, {},
                             "FCN-8s, SIFT Flow, two heads: 33 semantic and 3 geometric classes"),
    "nyud-fcn32s-color-heavy": ("fcn32s", NYUD_CLASSES, NYUD_COLOR_MEAN_BGR, {"test mean IU": 29.2},
                                "FCN-32s, NYUDv2 colour images, 40 classes (Table 4, RGB)"),
    "nyud-fcn32s-hha-heavy": ("fcn32s", NYUD_CLASSES, NYUD_COLOR_MEAN_BGR, {"test mean IU": 24.2},
                              "FCN-32s, NYUDv2 HHA images (disparity, height, angle), 40 classes (Table 4, HHA)"),
    "nyud-fcn32s-color-hha-heavy": ("fcn32s", NYUD_CLASSES, NYUD_COLOR_MEAN_BGR, {"test mean IU": 32.8},
                                    "FCN-32s, NYUDv2 colour and HHA nets, late fusion, 40 classes (Table 4)"),
    "pascalcontext-fcn32s-heavy": ("fcn32s", PASCAL_CONTEXT_CLASSES, PASCAL_CONTEXT_MEAN_BGR, {},
                                   "FCN-32s, PASCAL-Context, 59 classes and background"),
    "pascalcontext-fcn16s-heavy": ("fcn16s", PASCAL_CONTEXT_CLASSES, PASCAL_CONTEXT_MEAN_BGR, {},
                                   "FCN-16s, PASCAL-Context, 59 classes and background"),
    "pascalcontext-fcn8s-heavy": ("fcn8s", PASCAL_CONTEXT_CLASSES, PASCAL_CONTEXT_MEAN_BGR, {},
                                  "FCN-8s, PASCAL-Context, 59 classes and background"),
}
INPUTS = {"nyud-fcn32s-hha-heavy": ("hha",)}  # what the weights cannot tell
for _name, (_variant, _classes, _mean, _scores, _description) in OTHER_RELEASES.items():
    PRESETS[_name] = Preset(_name, _variant, False, _classes, _mean, _scores, (_caffe(f"{_name}.caffemodel"),),
                            1080 if "color-hha" in _name else 540, CAFFE_LICENCE, _description, INPUTS.get(_name))
"""name -> `Preset`. The authors released no weights of their colour-depth net (nyud-fcn32s-color-d has no
caffemodel-url); `build_fcn32s(40, modalities=("color", "depth"))` builds it, and its file converts."""


def fcn_keras_home():
    """The cache folder.

    Returns:
        `$FCN_KERAS_HOME`, else `~/.keras/fcn_keras`, with `~` expanded.

    Example:
        >>> os.environ["FCN_KERAS_HOME"] = "/data/fcn_keras"
        >>> fcn_keras_home()
        '/data/fcn_keras'
        >>> del os.environ["FCN_KERAS_HOME"]
        >>> fcn_keras_home()
        '.../.keras/fcn_keras'
    """
    return os.path.expanduser(os.environ.get(HOME_VARIABLE) or DEFAULT_HOME)


def preset_path(name):
    """Where the converted preset is cached.

    Args:
        name: a preset name.

    Returns:
        `<home>/presets/<name>.keras` (see `fcn_keras_home`).

    Example:
        >>> os.environ["FCN_KERAS_HOME"] = "/data/fcn_keras"
        >>> preset_path("fcn8s-heavy-pascal")
        '/data/fcn_keras/presets/fcn8s-heavy-pascal.keras'
    """
    return os.path.join(fcn_keras_home(), "presets", f"{name}.keras")


def download_path(source):
    """Where a source's file is looked for before any download, and downloaded to.

    A file put there by hand is used as it is and never deleted or overwritten; a file
    downloaded there is removed once converted.

    Args:
        source: a `WeightSource`.

    Returns:
        `<home>/downloads/<filename>`.

    Example:
        >>> os.environ["FCN_KERAS_HOME"] = "/data/fcn_keras"
        >>> download_path(PRESETS["fcn8s-heavy-pascal"].sources[0])
        '/data/fcn_keras/downloads/fcn8s-heavy-pascal.caffemodel'
    """
    return os.path.join(fcn_keras_home(), "downloads", source.filename)


def get_preset(name):
    """The `Preset` registered as `name`.

    Args:
        name: a key of `PRESETS`, e.g. "fcn8s-heavy-pascal".

    Returns:
        The `Preset`.

    Raises:
        ValueError: naming the presets when `name` is unknown.

    Example:
        >>> get_preset("fcn8s-heavy-pascal").scores["seg11valid mean IU"]
        65.5
    """
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}. Presets: {', '.join(PRESETS)} (see `fcn-keras presets`).")
    return PRESETS[name]
