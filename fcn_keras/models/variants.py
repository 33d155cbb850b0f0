"""The FCN variants as data: which skips each fuses and the names of their layers.

The builder reads this table, weight files are matched to a variant through it
(`variant_with_score_layers`), and the tests list layers from it; the names are the
reference prototxts' (score_fr, upscore2, score_pool4, score_pool4c, fuse_pool4,
upscore_pool4, ..., upscore8). A built model knows its variant itself
(`fcn_keras.models.fcn_model`). Needs no TensorFlow.
"""

import dataclasses

PADDINGS = ("paper", "same")
SCORE_FR = "score_fr"  # scores fc7, the stride-32 map every variant starts from
OUTPUT = "score"  # the final crop to the input size
HEAD_SUFFIXES = {"semantic": "_sem", "geometric": "_geo"}  # the authors' SIFT Flow layer names end so


def head_suffix(head):
    """What the layer names of head `head` end in: the authors' "_sem" and "_geo" for SIFT Flow's "semantic"
    and "geometric" heads, "_<head>" for others, "" for the one head of a one-headed FCN (`head` None).

    Example:
        >>> head_suffix("semantic"), head_suffix("depth"), head_suffix(None)
        ('_sem', '_depth', '')
    """
    return "" if head is None else HEAD_SUFFIXES.get(head, f"_{head}")


@dataclasses.dataclass(frozen=True)
class Skip:
    """A skip connection: a pooling layer's scores fused with the upsampled coarser scores.

    Attributes:
        stride: the pooling layer's stride, 16 (pool4) or 8 (pool3).
        pool: the backbone layer it scores, "pool4" or "pool3".
        upsample: the 2x upsampler of the coarser scores it is added to.
        at_once_scale: the factor on the pool features in the at-once variant (FCN §4.2).
        suffix: what a head's layer names end in ("" for a one-headed FCN, "_sem" for SIFT Flow's semantic head).
    """

    stride: int
    pool: str
    upsample: str
    at_once_scale: float
    suffix: str = ""

    @property
    def score(self):
        """The 1x1 score layer, e.g. "score_pool4" (a head's: "score_pool4_sem")."""
        return f"score_{self.pool}{self.suffix}"

    @property
    def crop(self):
        """The crop that aligns the skip's scores in the paper geometry, e.g. "score_pool4c"."""
        return f"{self.score}c"

    @property
    def fuse(self):
        """The sum of both score maps, e.g. "fuse_pool4"."""
        return f"fuse_{self.pool}{self.suffix}"

    @property
    def upsampler(self):
        """The 2x upsampler's layer, e.g. "upscore2" (a head's: "upscore2_sem")."""
        return f"{self.upsample}{self.suffix}"

    @property
    def upsample_crop(self):
        """The crop that trims the upsampled map's overhang in the "same" geometry, e.g. "upscore2c"."""
        return f"{self.upsampler}c"

    @property
    def scale(self):
        """The at-once scaling layer, e.g. "scale_pool4" (one for all heads: it scales the features)."""
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
    suffix: str = ""

    def for_head(self, suffix):
        """The variant with every layer name of the head ending in `suffix`.

        Example:
            >>> VARIANTS["fcn16s"].for_head("_sem").upsamplers
            ('upscore2_sem', 'upscore16_sem')
        """
        skips = tuple(dataclasses.replace(skip, suffix=suffix) for skip in self.skips)
        return dataclasses.replace(self, skips=skips, suffix=suffix)

    @property
    def score_fr(self):
        """The layer scoring the stride-32 map, "score_fr" (a head's: "score_fr_sem")."""
        return f"{SCORE_FR}{self.suffix}"

    @property
    def upscorer(self):
        """The final upsampler's layer, e.g. "upscore8" (a head's: "upscore8_sem")."""
        return f"{self.upscore}{self.suffix}"

    @property
    def output(self):
        """The final crop, the head's output: "score" (a head's: "score_sem")."""
        return f"{OUTPUT}{self.suffix}"

    @property
    def stride(self):
        """The stride of the map the final upsampler enlarges: 32, 16 or 8."""
        return self.skips[-1].stride if self.skips else 32

    @property
    def score_layers(self):
        return (self.score_fr, *(skip.score for skip in self.skips))

    @property
    def upsamplers(self):
        return (*(skip.upsampler for skip in self.skips), self.upscorer)


VARIANTS = {
    variant.name: variant
    for variant in (
        Variant("fcn32s", (), "upscore"),
        Variant("fcn16s", (POOL4,), "upscore16"),
        Variant("fcn8s", (POOL4, POOL3), "upscore8"),
    )
}


def head_suffixes(names):
    """{head: suffix} of the heads whose stride-32 score layers are among `names` ({None: ""} for one head),
    the authors' SIFT Flow heads first.

    Example:
        >>> head_suffixes({"fc7", "score_fr_geo", "score_fr_sem"})
        {'semantic': '_sem', 'geometric': '_geo'}
        >>> head_suffixes({"fc7", "score_fr"})
        {None: ''}
    """
    suffixes = {name[len(SCORE_FR):] for name in names if name.startswith(SCORE_FR + "_")}
    if not suffixes:
        return {None: ""}
    known = list(HEAD_SUFFIXES.values())
    ordered = sorted(suffixes, key=lambda suffix: (known.index(suffix) if suffix in known else len(known), suffix))
    named = {suffix: head for head, suffix in HEAD_SUFFIXES.items()}
    return {named.get(suffix, suffix[1:]): suffix for suffix in ordered}


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
        >>> variant_with_score_layers({"score_fr_sem", "score_pool4_sem", "score_fr_geo", "score_pool4_geo"}, "it")
        'fcn16s'
    """
    found = {_variant_of_head({name.removesuffix(suffix) for name in names if name.endswith(suffix)}, what)
             for suffix in head_suffixes(names).values()}
    if len(found) > 1:
        raise ValueError(f"The heads of {what} are different variants: {sorted(found)}.")
    return found.pop()


def _variant_of_head(names, what):
    all_scores = {name for variant in VARIANTS.values() for name in variant.score_layers}
    scores = set(names) & all_scores
    for variant in VARIANTS.values():
        if scores == set(variant.score_layers):
            return variant.name
    expected = "; ".join(f"{variant.name}: {', '.join(variant.score_layers)}" for variant in VARIANTS.values())
    raise ValueError(f"{what} is not an FCN-32s, -16s or -8s: its score layers {sorted(scores)} are not those "
                     f"of a variant ({expected}).")
