"""Mask values: the ignore label and the one rule every mask obeys.

A mask holds class indices `0..num_classes-1` and `IGNORE_LABEL` (255, VOC's
"void") for pixels that count in neither the loss nor the scores. Data sources,
the loss, the metrics and training all check masks with the functions here; each
reports a violation in its own words (which file, which batch, what to fix).
"""

import numpy as np
import tensorflow as tf

IGNORE_LABEL = 255
"""Mask value for pixels that count in neither the loss nor the metrics."""


def invalid_labels(labels, num_classes, ignore_label=IGNORE_LABEL):
    """The distinct values of a mask that are neither class indices nor the ignore label.

    Args:
        labels: integer array of any shape.
        num_classes: number of classes; valid labels are `0..num_classes-1`.
        ignore_label: the label of unlabelled pixels.

    Returns:
        sorted 1-D NumPy array, empty when every value is valid.

    Example:
        >>> invalid_labels(np.array([[0, 7], [255, 3]]), num_classes=4)
        array([7])
    """
    values = np.unique(np.asarray(labels))
    return values[(values != ignore_label) & ((values < 0) | (values >= num_classes))]


def label_masks(labels, num_classes, ignore_label=IGNORE_LABEL):
    """In the graph: which pixels hold a class index, and which hold an invalid value.

    Args:
        labels: int32 tensor of any shape.
        num_classes: int or scalar int tensor.
        ignore_label: the label of unlabelled pixels.

    Returns:
        `(valid, invalid)`: bool tensors of `labels`' shape; pixels with the ignore
        label are in neither.

    Example:
        >>> valid, invalid = label_masks(tf.constant([0, 5, 255]), num_classes=3)
        >>> valid.numpy().tolist(), invalid.numpy().tolist()
        ([True, False, False], [False, True, False])
    """
    num_classes = tf.cast(num_classes, labels.dtype)
    in_range = tf.logical_and(labels >= 0, labels < num_classes)
    ignored = tf.equal(labels, ignore_label)
    return tf.logical_and(in_range, tf.logical_not(ignored)), tf.logical_not(tf.logical_or(in_range, ignored))


def check_ignore_label(ignore_label, num_classes):
    """Refuses an ignore label that is also a class index.

    Args:
        ignore_label: the label of unlabelled pixels.
        num_classes: number of classes.

    Raises:
        ValueError: `0 <= ignore_label < num_classes`.

    Example:
        >>> check_ignore_label(255, 21)
    """
    if 0 <= ignore_label < num_classes:
        raise ValueError(
            f"ignore_index={ignore_label} is also a class index (num_classes={num_classes}); "
            f"choose an ignore value outside [0, num_classes), e.g. {IGNORE_LABEL}."
        )
