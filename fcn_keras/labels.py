"""Mask values: the ignore label and the one rule every mask obeys.

A mask holds class indices `0..num_classes-1` and `IGNORE_LABEL` (255, VOC's
"void") for pixels that count in neither the loss nor the scores. Data sources,
the loss, the metrics and training all check masks with the functions here; each
reports a violation in its own words (which file, which batch, what to fix).
"""

import re

import numpy as np

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
    """Which pixels hold a class index, and which hold an invalid value.

    Only comparison operators are used, so it works alike on NumPy arrays, on the
    tensors of every Keras backend and on TensorFlow tensors in a tf.data pipeline.

    Args:
        labels: integer array or tensor of any shape.
        num_classes: int or scalar int tensor.
        ignore_label: the label of unlabelled pixels.

    Returns:
        `(valid, invalid)`: bool tensors of `labels`' shape; pixels with the ignore
        label are in neither.

    Example:
        >>> valid, invalid = label_masks(np.array([0, 5, 255]), num_classes=3)
        >>> valid.tolist(), invalid.tolist()
        ([True, False, False], [False, True, False])
    """
    in_range = (labels >= 0) & (labels < num_classes)
    ignored = labels == ignore_label
    return in_range & ~ignored, ~(in_range | ignored)


def assert_valid_labels(labels, invalid, num_classes, subject, ignore_label=IGNORE_LABEL):
    """In a TensorFlow graph: an assert that fails naming the first invalid label, the class count and the fix.

    The message reads "<subject> has the label 7 but the model predicts 3 classes
    (labels 0 to 2 and 255 = ignore); fix the masks ..."; `label_error` reads it back
    out of the `InvalidArgumentError` it becomes. XLA drops asserts: check labels in
    the input pipeline (as `fcn_keras.train` does), which XLA never compiles. It is
    the one function here that needs TensorFlow (a tf.data pipeline, or the
    TensorFlow backend's graph).

    Args:
        labels: int32 tensor of labels.
        invalid: bool tensor of `labels`' shape, from `label_masks`.
        num_classes: int or scalar int tensor.
        subject: what holds the labels, e.g. "train_data" or "A mask".
        ignore_label: the label of unlabelled pixels.

    Returns:
        The assert op (for `tf.control_dependencies` in graphs).

    Example:
        >>> labels = tf.constant([0, 1, 255])
        >>> _ = assert_valid_labels(labels, label_masks(labels, 3)[1], 3, "A mask")
    """
    import tensorflow as tf

    flat_invalid = tf.reshape(invalid, [-1])
    first = tf.gather(tf.reshape(labels, [-1]), tf.argmax(tf.cast(flat_invalid, tf.int32)))
    num_classes = tf.cast(num_classes, tf.int32)
    # Assert prints each part in brackets: "[<subject> has the label] [7] [but the model ...] ..."
    message = [f"{subject} has the label", first, "but the model predicts", num_classes, "classes (labels 0 to",
               num_classes - 1, "and", ignore_label, "= ignore); fix the masks (map colour masks to class indices, "
               "mark unlabelled pixels with the ignore label) or use the right number of classes."]
    return tf.debugging.Assert(tf.logical_not(tf.reduce_any(flat_invalid)), message, name="check_labels")


def label_error(error):
    """The one-line message of a failed `assert_valid_labels` inside a TensorFlow error, or None.

    Args:
        error: a `tf.errors.OpError` (also as several replicas report it).

    Returns:
        str, e.g. "train_data has the label 7 but the model predicts 3 classes (...)", or None.

    Example:
        >>> def check(mask):  # in a tf.data pipeline, as `fcn_keras.train` checks its batches
        ...     with tf.control_dependencies([assert_valid_labels(mask, label_masks(mask, 3)[1], 3, "train_data")]):
        ...         return tf.identity(mask)
        >>> checked = tf.data.Dataset.from_tensors(tf.constant([0, 7])).map(check)
        >>> try:
        ...     list(checked)
        ... except tf.errors.InvalidArgumentError as error:
        ...     label_error(error)
        'train_data has the label 7 but the model predicts 3 classes (labels 0 to 2 and 255 = ignore); ...'
    """
    for line in str(getattr(error, "message", error)).splitlines():
        found = re.search(r"assertion failed: (\[[^\[\]]* has the label\].*)", line)
        if found:
            return " ".join(re.findall(r"\[([^\[\]]*)\]", found.group(1)))
    return None


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
