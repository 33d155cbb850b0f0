"""What an FCN can take in, one declaration per modality: colour images, and NYUDv2's depth and HHA.

The model inputs (`fcn_keras.models.inputs`), the padding of augmented images
(`fcn_keras.data.transforms.pad_values`), the NYUDv2 reader and the command line's
`--modalities` all read `MODALITIES`. Needs neither TensorFlow, Keras nor NumPy: the
normalization layers are built, and the dtype rules imported, only when used.
"""

import dataclasses
import math
from typing import Callable, Optional

from fcn_keras.data.means import NYUD_HHA_MEAN, NYUD_LOG_DEPTH_MEAN


def _any_dtype(dtype, where):
    """Any dtype will do."""


def _millimetres(dtype, where):
    """Depth is millimetres: 8 bits cannot hold it (`fcn_keras.data.checks.check_depth_dtype`)."""
    from fcn_keras.data.checks import check_depth_dtype

    check_depth_dtype(dtype, where)


def _log_depth(name):
    from fcn_keras.layers import LogDepth

    return LogDepth(NYUD_LOG_DEPTH_MEAN, name=name)


def _hha_mean(name):
    from fcn_keras.layers import ImagePreprocessing

    return ImagePreprocessing(mean_rgb=NYUD_HHA_MEAN, name=name)  # in the PNG's own channel order


@dataclasses.dataclass(frozen=True)
class Modality:
    """One input kind.

    Attributes:
        name: the registry key, also the name of a model's input of it ("depth").
        channels: its channels (the last axis).
        dtype: the dtype sources give it in ("uint8", "float32").
        normalization: `normalization(layer_name) -> keras layer` normalizing it in the graph, or None for
            colour images, which get the backbone's preprocessing.
        pad_value: the pixel value, one per channel, that `normalization` maps to zero: what padding gives
            it; None for colour images (the backbone's mean).
        alone: whether a network may take it without colour images beside it.
        check_dtype: `check_dtype(dtype name, where)` refusing arrays of a dtype that cannot hold it.
    """

    name: str
    channels: int
    dtype: str = "uint8"
    normalization: Optional[Callable] = None
    pad_value: Optional[tuple] = None
    alone: bool = True
    check_dtype: Callable = _any_dtype

    def padding_value(self, color_pad_value):
        """The value, one per channel, that padded pixels of this modality get (`color_pad_value` for colour).

        Example:
            >>> MODALITIES["hha"].padding_value((1.0, 2.0, 3.0)), MODALITIES["color"].padding_value((1.0, 2.0, 3.0))
            ((132.431, 94.076, 118.477), (1.0, 2.0, 3.0))
        """
        return tuple(color_pad_value if self.pad_value is None else self.pad_value)


MODALITIES = {}
"""{name: Modality}, in the order registered: "color", "depth", "hha"."""


def register_modality(modality):
    """Adds a `Modality` to `MODALITIES` (a name can be registered once).

    Args:
        modality: the `Modality`.

    Returns:
        `modality`.

    Raises:
        ValueError: the name is taken.

    Example:
        >>> MODALITIES["depth"].channels, MODALITIES["depth"].alone
        (1, False)
    """
    if modality.name in MODALITIES:
        raise ValueError(f"A modality named {modality.name!r} is already registered.")
    MODALITIES[modality.name] = modality
    return modality


def check_modality_dtype(name, dtype, where):
    """Refuses an array of input `name` whose dtype cannot hold that modality (any dtype passes for other names).

    Args:
        name: the input's name, e.g. "depth".
        dtype: the array's dtype name, e.g. "uint8".
        where: what to call the array in the message.

    Raises:
        fcn_keras.data.DataError: the modality's `check_dtype` refuses it.

    Example:
        >>> check_modality_dtype("depth", "uint8", "images['depth']")
        Traceback (most recent call last):
        fcn_keras.data.checks.DataError: images['depth'] is uint8: depth must be millimetres (16-bit or float), ...
    """
    if name in MODALITIES:
        MODALITIES[name].check_dtype(dtype, where)


register_modality(Modality("color", 3))
register_modality(Modality("depth", 1, "float32", _log_depth, (math.exp(NYUD_LOG_DEPTH_MEAN),), alone=False,
                           check_dtype=_millimetres))  # millimetres, as the PNGs hold them
register_modality(Modality("hha", 3, "uint8", _hha_mean, NYUD_HHA_MEAN))  # disparity, height, angle
