"""The FCN variants as data: which skips each fuses and the names of their layers.

The builder reads this table, `variant_of` reads a model back through it, and the
tests list layers from it; the names are the reference prototxts' (score_fr,
upscore2, score_pool4, score_pool4c, fuse_pool4, upscore_pool4, ..., upscore8),
so weights can be matched to the authors' files by name. Needs no TensorFlow.
"""

import dataclasses

PADDINGS = ("paper", "same")
SCORE_FR = "score_fr"  # scores fc7, the stride-32 map every variant starts from
OUTPUT = "score"  # the final crop to the input size


@dataclasses.dataclass(frozen=True)
class Skip:
    """A skip connection: a pooling layer's scores fused with the upsampled coarser scores.

    Attributes:
        stride: the pooling layer's stride, 16 (pool4) or 8 (pool3).
        pool: the backbone layer it scores, "pool4" or "pool3".
        upsample: the 2x upsampler of the coarser scores it is added to.
        at_once_scale: the factor on the pool features in the at-once variant (FCN §4.2).
    """

    stride: int
    pool: str
    upsample: str
    at_once_scale: float

    @property
    def score(self):
        """The 1x1 score layer, e.g. "score_pool4"."""
        return f"score_{self.pool}"

    @property
    def crop(self):
        """The crop that aligns the skip's scores in the paper geometry, e.g. "score_pool4c"."""
        return f"score_{self.pool}c"

    @property
    def fuse(self):
        """The sum of both score maps, e.g. "fuse_pool4"."""
        return f"fuse_{self.pool}"

    @property
    def upsample_crop(self):
        """The crop that trims the upsampled map's overhang in the "same" geometry, e.g. "upscore2c"."""
        return f"{self.upsample}c"

    @property
    def scale(self):
        """The at-once scaling layer, e.g. "scale_pool4"."""
        return f"scale_{self.pool}"


POOL4 = Skip(stride=16, pool="pool4", upsample="upscore2", at_once_scale=0.01)
POOL3 = Skip(stride=8, pool="pool3", upsample="upscore_pool4", at_once_scale=0.0001)


@dataclasses.dataclass(frozen=True)
class Variant:
    """One FCN: the skips it fuses (coarse to fine) and its final upsampler.

    Example:
        >>> VARIANTS["fcn16s"].score_layers
        ('score_fr', 'score_pool4')
    """

    name: str
    skips: tuple
    upscore: str

    @property
    def stride(self):
        """The stride of the map the final upsampler enlarges: 32, 16 or 8."""
        return self.skips[-1].stride if self.skips else 32

    @property
    def score_layers(self):
        return (SCORE_FR, *(skip.score for skip in self.skips))

    @property
    def upsamplers(self):
        return (*(skip.upsample for skip in self.skips), self.upscore)


VARIANTS = {
    variant.name: variant
    for variant in (
        Variant("fcn32s", (), "upscore"),
        Variant("fcn16s", (POOL4,), "upscore16"),
        Variant("fcn8s", (POOL4, POOL3), "upscore8"),
    )
}


def variant_of(model):
    """"fcn32s", "fcn16s" or "fcn8s", read off a model's score layers.

    Args:
        model: a model built by `fcn_keras.build_fcn` (or with the same layer names).

    Returns:
        The variant name.

    Raises:
        ValueError: the model's score layers are not those of any variant.

    Example:
        >>> variant_of(build_fcn16s(21, backbone="vgg16_tiny"))
        'fcn16s'
    """
    return variant_with_score_layers({layer.name for layer in model.layers}, f"{model.name!r}")


def variant_with_score_layers(names, what):
    """The variant whose score layers are exactly those among `names`.

    Args:
        names: layer names of a model or a weight file.
        what: what to call their owner in the error.

    Returns:
        The variant name.

    Raises:
        ValueError: the score layers are not those of any variant.

    Example:
        >>> variant_with_score_layers({"conv1_1", "score_fr", "score_pool4"}, "the weights")
        'fcn16s'
    """
    all_scores = {name for variant in VARIANTS.values() for name in variant.score_layers}
    scores = set(names) & all_scores
    for variant in VARIANTS.values():
        if scores == set(variant.score_layers):
            return variant.name
    expected = "; ".join(f"{variant.name}: {', '.join(variant.score_layers)}" for variant in VARIANTS.values())
    raise ValueError(f"{what} is not an FCN-32s, -16s or -8s: its score layers {sorted(scores)} are not those "
                     f"of a variant ({expected}).")


def num_classes_of(model):
    """The number of classes an FCN scores (the last dimension of its output).

    Args:
        model: an FCN `keras.Model`.

    Returns:
        int.

    Example:
        >>> num_classes_of(build_fcn8s(21, backbone="vgg16_tiny"))
        21
    """
    return int(model.output.shape[-1])
