"""What every weight-file reader returns: per layer, its kind and its arrays in the source's layout."""

from typing import NamedTuple

from fcn_keras.models.variants import VARIANTS

UPSAMPLERS = frozenset(name for variant in VARIANTS.values() for name in variant.upsamplers)


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
    """The kind of an FCN layer known only by name (formats that store no layer types).

    Example:
        >>> kind_by_name("upscore2"), kind_by_name("score_pool4")
        ('deconv', 'conv')
    """
    if name in UPSAMPLERS:
        return "deconv"
    return "scale" if name.startswith("scale_") else "conv"
