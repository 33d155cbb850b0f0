"""Class weights for imbalanced data: median-frequency balancing (as SegNet did).

Median-frequency balancing weighs class c by median(freq) / freq(c), where freq(c) is
the number of pixels of class c divided by the number of labelled pixels of the
images that contain c: rare classes weigh more than 1, frequent ones less.
"""

import warnings

import keras
import numpy as np

from fcn_keras.arguments import check_mask_heads, class_counts
from fcn_keras.labels import IGNORE_LABEL, invalid_labels
from fcn_keras.progress import progress_verbosity

_INFINITE_CARDINALITY = -1  # tf.data.INFINITE_CARDINALITY, read without importing TensorFlow


def median_frequency_weights(dataset, num_classes, verbose=1):
    """Median-frequency class weights of a segmentation data set, in one pass over it.

    Pixels labelled 255 count nowhere. freq(c) = pixels of class c / labelled pixels of
    the images where c appears; weight(c) = median of freq over the classes that appear
    (the mean of the middle two for an even count) / freq(c). A class that never
    appears gets weight 1.0 and a warning naming it.

    Args:
        dataset: a `tf.data.Dataset` of `(image, mask)` pairs
            (more elements, such as sample weights, are ignored); masks one per
            image `(H, W)` / `(H, W, 1)` or in batches `(N, H, W)` / `(N, H, W, 1)`
            (a trailing axis of size 1 is a channel); for a model with several heads,
            `{head: mask}`.
        num_classes: the classes of the masks, or `{head: classes}` for masks by head.
        verbose: 0 (silent), 1 (a progress bar), 2, or "auto" (see `progress_verbosity`).

    Returns:
        tuple of `num_classes` floats, or `{head: tuple}` for masks by head.

    Raises:
        ValueError: the data never ends, holds no labelled pixel (of some head), has a
            label outside `[0, num_classes)` other than 255, or masks that do not match
            the heads.

    Example:
        >>> masks = np.array([[[0, 0], [0, 1]], [[0, 0], [2, 2]]])  # freq 5/8, 1/4, 2/4: median 1/2
        >>> data = tf.data.Dataset.from_tensor_slices((np.zeros((2, 2, 2, 3)), masks))
        >>> median_frequency_weights(data, 3, verbose=0)
        (0.8, 2.0, 1.0)
    """
    known = int(dataset.cardinality())
    if known == _INFINITE_CARDINALITY:
        raise ValueError("The dataset never ends (it repeats): count the classes of one pass, before .repeat().")
    counts = {head: _ClassCounts(classes, "the dataset's masks" if head is None else f"the dataset's {head!r} masks")
              for head, classes in class_counts(num_classes).items()}
    heads = None if None in counts else list(counts)
    progress = keras.utils.Progbar(known if known >= 0 else None, verbose=progress_verbosity(verbose),
                                   unit_name="batch")
    for step, element in enumerate(dataset.as_numpy_iterator(), start=1):
        masks = element[1]
        if step == 1:
            check_mask_heads(list(masks) if isinstance(masks, dict) else None, heads, "the dataset")
        for head, count in counts.items():
            count.add(masks if head is None else masks[head])
        progress.update(step)
    weights = {head: count.weights() for head, count in counts.items()}
    return weights[None] if heads is None else weights


class _ClassCounts:
    """Running counts of one head's masks: pixels per class, and labelled pixels of the images holding each class."""

    def __init__(self, num_classes, subject):
        self.num_classes, self.subject = num_classes, subject
        self.pixels = np.zeros(num_classes, np.int64)
        self.image_pixels = np.zeros(num_classes, np.int64)

    def add(self, masks):
        """Counts one element's masks: one mask `(H, W)` / `(H, W, 1)`, or a batch `(N, H, W)` / `(N, H, W, 1)`."""
        masks = np.asarray(masks)
        if masks.ndim in (3, 4) and masks.shape[-1] == 1:
            masks = masks[..., 0]
        if masks.ndim not in (2, 3):
            raise ValueError(f"{self.subject}: expected masks (H, W) or batches (N, H, W), got shape {masks.shape}.")
        if masks.dtype.kind == "f":
            masks = np.round(masks)
        masks = masks.astype(np.int64).reshape(-1, masks.shape[-2] * masks.shape[-1])  # (images, pixels)
        bad = invalid_labels(masks, self.num_classes)
        if bad.size:
            raise ValueError(f"{self.subject} hold labels {bad[:10].tolist()} outside [0, {self.num_classes}) and "
                             f"not {IGNORE_LABEL} (ignore): fix the masks or give the right number of classes.")
        labelled = masks != IGNORE_LABEL
        image_of_pixel = np.broadcast_to(np.arange(len(masks))[:, None], masks.shape)
        per_image = np.bincount(image_of_pixel[labelled] * self.num_classes + masks[labelled],
                                minlength=len(masks) * self.num_classes).reshape(len(masks), self.num_classes)
        self.pixels += per_image.sum(axis=0)
        self.image_pixels += ((per_image > 0) * per_image.sum(axis=1, keepdims=True)).sum(axis=0)

    def weights(self):
        """median(freq) / freq(c) per class; 1.0 (and a warning) for the classes never seen."""
        present = self.pixels > 0
        if not present.any():
            raise ValueError(f"{self.subject} hold no labelled pixel (every pixel is {IGNORE_LABEL}): there is no "
                             "class frequency to balance; give labelled data, or class weights of your own.")
        if not present.all():
            absent = np.flatnonzero(~present).tolist()
            warnings.warn(f"{self.subject} never hold the classes {absent}: their weight is 1.0.", stacklevel=3)
        frequency = self.pixels[present] / self.image_pixels[present]
        weights = np.ones(self.num_classes)
        weights[present] = np.median(frequency) / frequency
        return tuple(float(weight) for weight in weights)
