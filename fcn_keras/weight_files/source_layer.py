"""What every weight-file reader returns: per layer, its kind and its arrays in the source's layout."""

from typing import NamedTuple

UPSAMPLER_PREFIX = "upscore"  # the authors name every upsampler so: upscore, upscore2, upscore_pool4, upscore8, ...


class SourceLayer(NamedTuple):
    """One layer's weights as a file stores them.

    Attributes:
        kind: "conv" (arrays: weight (out, in, kh, kw) and bias (out,)), "deconv"
            (weight (in, out, kh, kw)), "scale" (per-channel factors), or the file's
            own type name for layers an FCN does not have.
        arrays: the NumPy arrays, weight first.
    """

    kind: str
    arrays: tuple


def kind_by_name(name):
    """The kind of an FCN layer known only by its name in the authors' nets (formats that store no layer types).

    Example:
        >>> kind_by_name("upscore2"), kind_by_name("score_pool4"), kind_by_name("scale_pool3")
        ('deconv', 'conv', 'scale')
    """
    if name.startswith(UPSAMPLER_PREFIX):
        return "deconv"
    return "scale" if name.startswith("scale_") else "conv"
