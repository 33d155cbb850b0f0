"""What `train` checks of its data before and while it trains: the batches' form, their labels and their count."""

import tensorflow as tf

from fcn_keras.arguments import check_mask_heads
from fcn_keras.labels import assert_valid_labels, label_masks


def check_batches(dataset, num_classes, name="dataset"):
    """Checks a dataset of (images (N, H, W, 3), masks (N, H, W)) batches, and adds a label check.

    Shapes are checked without reading the data (reading part of a `cache()`d
    pipeline would make TensorFlow drop the cache); what the spec leaves unknown
    is not refused. Labels are checked batch by batch in the input pipeline, where
    XLA never removes the check; `train` reports a bad label as a `ValueError`.

    Args:
        dataset: a `tf.data.Dataset`; for a model with several heads its masks are
            {head: masks}.
        num_classes: classes the model predicts, or {head: classes} (`classes_of(model)`).
        name: what to call the dataset in errors.

    Returns:
        The dataset, mapped through the label check.

    Raises:
        ValueError: the elements are not (images, masks) pairs of those shapes, or
            the dataset is known to be empty.

    Example:
        >>> data = check_batches(prepare(synthetic_shapes(4, (32, 32))), num_classes=5)
    """
    spec = dataset.element_spec
    if isinstance(spec, tuple) and len(spec) == 2:
        check_mask_heads(list(spec[1]) if isinstance(spec[1], dict) else None,
                         num_classes if isinstance(num_classes, dict) else None, name)
    if not _batches_fit(spec, num_classes):
        masks = "{head: masks (N, H, W)}" if isinstance(num_classes, dict) else "masks (N, H, W)"
        raise ValueError(
            f"{name}: expected batches of (RGB images (N, H, W, 3) or {{modality: images}}, {masks}) for a model with "
            f"{num_classes} classes, got elements {spec}; batch (image, mask) pairs, e.g. with "
            "fcn_keras.data.prepare."
        )
    if int(dataset.cardinality()) == 0:
        raise ValueError(f"{name} is empty: it yields no batch.")

    def checked(images, masks):
        if isinstance(num_classes, dict):
            return images, {head: _label_checked(masks[head], classes, f"{name} ({head} head)")
                            for head, classes in num_classes.items()}
        return images, _label_checked(masks, num_classes, name)

    return dataset.map(checked)


def _batches_fit(spec, num_classes):
    """Whether a dataset's element spec can be (images, masks) batches for `num_classes` (int, or {head: int})."""
    if not (isinstance(spec, tuple) and len(spec) == 2):
        return False
    images, masks = spec
    if isinstance(images, dict):  # several inputs (NYUDv2's modalities): batches of any channels
        if not images or not all(isinstance(part, tf.TensorSpec) and part.shape.rank in (None, 4)
                                 for part in images.values()):
            return False
    elif not isinstance(images, tf.TensorSpec) or (
            images.shape.rank is not None and (images.shape.rank != 4 or images.shape[-1] not in (3, None))):
        return False
    if isinstance(num_classes, dict):
        if not isinstance(masks, dict) or set(masks) != set(num_classes):
            return False
        masks = list(masks.values())
    else:
        masks = [masks]
    return all(isinstance(mask, tf.TensorSpec) and mask.shape.rank in (None, 3, 4) for mask in masks)


def _label_checked(masks, num_classes, name):
    """`masks` behind a check that every label is below `num_classes` or the ignore label."""
    labels = tf.cast(tf.round(masks) if masks.dtype.is_floating else masks, tf.int32)
    with tf.control_dependencies([assert_valid_labels(labels, label_masks(labels, num_classes)[1], num_classes,
                                                      name)]):
        return tf.identity(masks)


def count_batches(dataset):
    """Batches in one pass over the training data (read through once where tf.data cannot tell); refuses an
    endless or empty one."""
    count = int(dataset.cardinality())
    if count == tf.data.INFINITE_CARDINALITY:
        raise ValueError("train_data is endless; pass steps_per_epoch.")
    if count == tf.data.UNKNOWN_CARDINALITY:
        count = int(dataset.reduce(0, lambda total, _: total + 1))
    if count == 0:
        raise ValueError("train_data is empty: it yields no batch.")
    return count
