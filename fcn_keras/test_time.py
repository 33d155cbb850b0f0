"""Test-time augmentation: class probabilities averaged over mirrored and rescaled views of each image.

Each view is the image resized (bilinear) by a scale and, with `flip`, also
mirrored left to right. The model's logits of a view become probabilities
(softmax), are mirrored back, resized (bilinear) to the image's size, and
averaged over the views; their argmax is the class map. The scale 1 view is the
image itself (no resize). Arrays only (NumPy and `keras.ops`): it runs under
every Keras backend. Keras is imported where views are scored, so the command line
reads `--tta-scales` without starting a backend.
"""

import dataclasses
import functools
import math
import numbers
from collections.abc import Iterable

import numpy as np

SCALES_FORM = "e.g. 0.75,1,1.25"


@dataclasses.dataclass(frozen=True)
class TestTimeAugmentation:
    """The views `fcn_keras.predict(..., tta=)`, `evaluate` and `write_predictions` average.

    Views: each of `scales`, and with `flip` each of them mirrored left to right too,
    so `len(scales) * (1 + flip)` forward passes per image. Every input of a model
    of several inputs is resized and mirrored alike: depth and HHA bilinearly too,
    which blends missing (zero) depth into its neighbours at the edges of holes.
    `TestTimeAugmentation()` (scale 1, no flip) is the plain prediction.

    Attributes:
        flip: also score each view mirrored left to right.
        scales: the sizes to score the image at, relative to its own: positive
            finite numbers, each once. A view is `round(H * s)` x `round(W * s)`
            pixels (at least 1).

    Raises:
        ValueError: a scale is no positive finite number or is given twice, or
            `flip` is no bool.

    Example:
        >>> tta = TestTimeAugmentation(flip=True, scales=(0.75, 1, 1.25))
        >>> tta.views
        ((0.75, False), (0.75, True), (1.0, False), (1.0, True), (1.25, False), (1.25, True))
        >>> TestTimeAugmentation(scales=(1, 0))
        Traceback (most recent call last):
        ValueError: Test-time scales (1, 0): 0 is no positive finite number; give distinct positive numbers, ...
    """

    __test__ = False  # not a test class, whatever pytest makes of its name

    flip: bool = False
    scales: tuple = (1.0,)

    def __post_init__(self):
        if not isinstance(self.flip, bool):
            raise ValueError(f"flip must be True or False, got {self.flip!r}.")
        given = self.scales
        scales = tuple(given) if isinstance(given, Iterable) and not isinstance(given, (str, bytes)) else ()
        if not scales:
            raise ValueError(f"Test-time scales must be a non-empty sequence of numbers, got {given!r}; give e.g. "
                             "scales=(0.75, 1.0, 1.25).")
        for index, scale in enumerate(scales):
            problem = _scale_problem(scale, scales[:index])
            if problem:
                raise ValueError(f"Test-time scales {given!r}: {scale!r} {problem}; give distinct positive numbers, "
                                 "e.g. scales=(0.75, 1.0, 1.25).")
        object.__setattr__(self, "scales", tuple(float(scale) for scale in scales))

    @property
    def views(self):
        """(scale, mirrored) of each view, in the order they are scored."""
        return tuple((scale, mirrored) for scale in self.scales for mirrored in (False, True)[:1 + self.flip])

    @property
    def is_plain(self):
        """Whether the only view is the image as it is (scale 1, no flip): the plain prediction."""
        return self.views == ((1.0, False),)

    def probabilities(self, score, images):
        """Class probabilities of a batch averaged over the views.

        Args:
            score: `score(images) -> logits` of a batch `(N, h, w, ...)`, or {modality:
                batch} for a model of several inputs; logits `(N, h, w, C)`, or {head: that}.
            images: the batch `(N, H, W, ...)`, or {modality: batch}.

        Returns:
            float32 `(N, H, W, C)`, or {head: that} for several heads (each averaged on its own).

        Example:
            >>> row = np.array([0.0, 1.0, 2.0], np.float32).reshape(1, 1, 3, 1)  # a batch of one 1x3 image
            >>> def logits_of(images):  # two classes per pixel, (0, value): a mirrored image, mirrored logits
            ...     return np.concatenate([np.zeros_like(images), images], -1)
            >>> TestTimeAugmentation(flip=True).probabilities(logits_of, row)[0, 0, :, 1].round(3)
            array([0.5  , 0.731, 0.881], dtype=float32)
        """
        import keras

        height, width = keras.tree.flatten(images)[0].shape[1:3]
        total = None
        for scale, mirrored in self.views:
            size = (max(1, round(height * scale)), max(1, round(width * scale)))
            view = keras.tree.map_structure(lambda part: _mirrored(_resized(part, size), mirrored), images)
            restored = keras.tree.map_structure(
                lambda logits: _resized(_mirrored(softmax(np.asarray(logits)), mirrored), (height, width)),
                score(view))
            total = restored if total is None else keras.tree.map_structure(np.add, total, restored)
        return keras.tree.map_structure(lambda summed: summed / np.float32(len(self.views)), total)

    def check_model(self, model):
        """Refuses a model of a fixed input size when a scale would change the size.

        Raises:
            ValueError: naming the model's size and the fix.
        """
        fixed = [tuple(spec.shape[1:3]) for spec in getattr(model, "inputs", None) or []
                 if any(side is not None for side in spec.shape[1:3])]
        other = [scale for scale in self.scales if scale != 1]
        if fixed and other:
            raise ValueError(f"{model.name!r} takes images of {fixed[0][0]}x{fixed[0][1]} pixels only (its input size "
                             f"is fixed), and the test-time scales {other} would change their size; use scale 1 "
                             "alone (flip still works), or a model of any input size (export without input_size).")


def parse_scales(text):
    """The scales of the command line's `--tta-scales 0.75,1,1.25`.

    Args:
        text: scales separated by commas.

    Returns:
        tuple of floats.

    Raises:
        ValueError: a part is no positive finite number or is given twice.

    Example:
        >>> parse_scales("0.75, 1,1.25")
        (0.75, 1.0, 1.25)
        >>> parse_scales("0.75,,1")
        Traceback (most recent call last):
        ValueError: Test-time scales '0.75,,1': '' is no positive finite number; give scales separated by commas, ...
    """
    scales = []
    for part in text.split(","):
        try:
            scale = float(part)
        except ValueError:
            scale = None
        problem = _scale_problem(scale, scales)
        if problem:
            raise ValueError(f"Test-time scales {text!r}: {part!r} {problem}; give scales separated by commas, "
                             f"{SCALES_FORM}.")
        scales.append(scale)
    return tuple(scales)


def test_time_augmentation(flip=False, scales=None):
    """The `TestTimeAugmentation` of the command line's `--tta flip` and `--tta-scales` (`parse_scales`).

    Args:
        flip: whether `--tta flip` was given.
        scales: the scales of `--tta-scales`, or None if not given.

    Returns:
        A `TestTimeAugmentation`, or None when neither is given (the plain prediction).

    Example:
        >>> test_time_augmentation(flip=True, scales=(0.75, 1.0, 1.25))
        TestTimeAugmentation(flip=True, scales=(0.75, 1.0, 1.25))
        >>> test_time_augmentation() is None
        True
    """
    if not flip and scales is None:
        return None
    return TestTimeAugmentation(flip=flip) if scales is None else TestTimeAugmentation(flip=flip, scales=scales)


def check_test_time(model, tta):
    """Refuses a `tta` that is neither None nor a `TestTimeAugmentation`, or that `model` cannot run.

    Raises:
        TypeError: `tta` is of another type.
        ValueError: `model` has a fixed input size and `tta` scales other than 1.

    Example:
        >>> check_test_time(None, "flip")
        Traceback (most recent call last):
        TypeError: tta must be None or a fcn_keras.test_time.TestTimeAugmentation, e.g. ...
    """
    if tta is None:
        return
    if not isinstance(tta, TestTimeAugmentation):
        raise TypeError(f"tta must be None or a fcn_keras.test_time.TestTimeAugmentation, e.g. "
                        f"TestTimeAugmentation(flip=True); got {tta!r}.")
    tta.check_model(model)


def softmax(logits):
    """Probabilities of logits along the last axis, in float32.

    Example:
        >>> softmax(np.array([0.0, np.log(3.0)]))
        array([0.25, 0.75], dtype=float32)
    """
    logits = np.asarray(logits, np.float32)
    # class by class: NumPy's reductions along a short last axis are several times slower
    exponentials = logits - functools.reduce(np.maximum, np.moveaxis(logits, -1, 0))[..., None]
    np.exp(exponentials, out=exponentials)
    return exponentials / functools.reduce(np.add, np.moveaxis(exponentials, -1, 0))[..., None]


def _scale_problem(scale, earlier):
    """What is wrong with a scale (a phrase), given the scales before it; None when nothing is."""
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not math.isfinite(scale) or scale <= 0:
        return "is no positive finite number"
    if scale in earlier:
        return "is given twice"
    return None


def _resized(batch, size):
    """A batch `(N, H, W, C)` resized bilinearly to `size` in float32; the batch itself when of that size."""
    if tuple(batch.shape[1:3]) == size:
        return batch
    import keras

    resized = keras.ops.image.resize(np.asarray(batch, np.float32), size, interpolation="bilinear",
                                     antialias=False, data_format="channels_last")
    return keras.ops.convert_to_numpy(resized)


def _mirrored(batch, mirrored):
    """A batch `(N, H, W, C)` mirrored left to right when `mirrored`."""
    return np.ascontiguousarray(batch[:, :, ::-1]) if mirrored else batch
