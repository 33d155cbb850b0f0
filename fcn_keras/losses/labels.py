"""What every loss reads first: the logits in float32, the masks as class indices and which pixels are labelled."""

import keras
from keras import ops

from fcn_keras.labels import IGNORE_LABEL, assert_valid_labels, label_masks


def prepare_labels(y_true, num_classes, ignore_index=IGNORE_LABEL):
    """Turns a segmentation mask into class indices and a mask of labelled pixels.

    A trailing channel axis of size 1 is dropped, the labels are cast to int32,
    and ignored pixels get class 0 (so they can index a table) and `valid=False`.
    Any other label outside `[0, num_classes)` is a bug in the data or a wrong
    `num_classes`: on the TensorFlow backend it fails a `tf.debugging.Assert` whose
    message shows the bad value and the fix. (XLA compiles asserts away, and JAX and
    PyTorch have no graph asserts; callers that must never hide such labels also
    count them, see `out_of_range`.)

    Args:
        y_true: labels, shape `(N, H, W)` or `(N, H, W, 1)`, any int or float dtype.
        num_classes: int, the number of classes (a scalar tensor on TensorFlow where it
            is known only when the graph runs).
        ignore_index: the label of unlabelled pixels (255 in VOC).

    Returns:
        `(labels, valid, out_of_range)`: int32 labels of shape `(N, H, W)` with
        ignored and out-of-range pixels set to 0, a bool tensor of the same shape
        that is True on pixels with a label in `[0, num_classes)`, and a bool
        tensor that is True on pixels whose label is neither a class nor ignored.

    Example:
        >>> labels, valid, bad = prepare_labels(np.array([[[1, 255]]]), num_classes=3)
        >>> ops.convert_to_numpy(labels).tolist(), ops.convert_to_numpy(valid).tolist(), bool(ops.any(bad))
        ([[[1, 0]]], [[[True, False]]], False)
    """
    y_true = ops.convert_to_tensor(y_true)
    rank = _rank(y_true)
    if rank == 4:
        if y_true.shape[-1] != 1:
            raise ValueError(
                f"Labels must have shape (N, H, W) or (N, H, W, 1), got {y_true.shape}: "
                "pass class indices, not one-hot or colour masks."
            )
        y_true = ops.squeeze(y_true, axis=-1)
    elif rank is not None and rank != 3:
        raise ValueError(
            f"Labels must have shape (N, H, W) or (N, H, W, 1), got {y_true.shape}; "
            "add a batch axis to a single mask with mask[None]."
        )
    if "float" in keras.backend.standardize_dtype(y_true.dtype):
        # Floats hold every label value below 2**24 exactly; round guards 0.9999.
        y_true = ops.round(y_true)
    labels = ops.cast(y_true, "int32")
    valid, out_of_range = label_masks(labels, num_classes, ignore_index)
    if keras.backend.backend() == "tensorflow":
        assert_valid_labels(labels, out_of_range, num_classes, "A mask", ignore_index)
    return ops.where(valid, labels, 0), valid, out_of_range


def logits_and_labels(y_true, y_pred, ignore_index=IGNORE_LABEL):
    """The logits in float32 (also mixed precision ones) and `prepare_labels`' three maps, shaped as the logits' pixels.

    Masks of unknown rank (a TensorFlow graph's, from tf.data) are taken as `(N, H, W)`
    or `(N, H, W, 1)`: they are reshaped to the logits' `(N, H, W)`.

    Args:
        y_true: labels, shape `(N, H, W)` or `(N, H, W, 1)`.
        y_pred: logits, shape `(N, H, W, C)`.
        ignore_index: the label of unlabelled pixels.

    Returns:
        `(logits, labels, valid, out_of_range)`: float32 logits `(N, H, W, C)`, then
        `prepare_labels(y_true, C, ignore_index)`.

    Example:
        >>> logits, labels, valid, _ = logits_and_labels(np.array([[[2, 255]]]), np.zeros((1, 1, 2, 3), "float16"))
        >>> keras.backend.standardize_dtype(logits.dtype), ops.convert_to_numpy(valid).tolist()
        ('float32', [[[True, False]]])
    """
    logits = ops.cast(y_pred, "float32")
    labels, valid, out_of_range = prepare_labels(y_true, ops.shape(logits)[-1], ignore_index)
    if _rank(labels) is None:  # a graph's masks of unknown rank: (N, H, W) or (N, H, W, 1), as the logits' pixels
        labels, valid, out_of_range = (ops.reshape(mask, ops.shape(logits)[:-1])
                                       for mask in (labels, valid, out_of_range))
    return logits, labels, valid, out_of_range


def per_pixel_weights(sample_weight):
    """Shapes sample weights to broadcast over `(N, H, W)` pixel maps.

    Args:
        sample_weight: `(N,)` (one weight per image), `(N, H, W)` or `(N, H, W, 1)`.

    Returns:
        A float32 tensor of shape `(N, 1, 1)` or `(N, H, W)`.

    Example:
        >>> tuple(per_pixel_weights(np.array([1.0, 2.0])).shape)
        (2, 1, 1)
    """
    sample_weight = ops.cast(sample_weight, "float32")
    if _rank(sample_weight) == 1:
        return sample_weight[:, None, None]
    if _rank(sample_weight) == 4:
        return ops.squeeze(sample_weight, axis=-1)
    return sample_weight


def _rank(tensor):
    """The number of axes, or None where a TensorFlow graph leaves it unknown (tf.data masks of unknown rank)."""
    return tensor.shape.rank if hasattr(tensor.shape, "rank") else len(tensor.shape)
