"""Per-pixel softmax cross-entropy with an ignored label, as FCN is trained.

The reference (the authors' Caffe `SoftmaxWithLoss`, `ignore_label: 255`,
`normalize: false`) sums the loss over every labelled pixel of the batch. That
sum grows with the image size, which is why the paper's learning rates are as
small as 1e-10. The default here is the mean over labelled pixels instead, so
ordinary learning rates work; `reduction="sum"` gives the reference's loss.
"""

import keras
from keras import ops

from fcn_keras.labels import IGNORE_LABEL, assert_valid_labels, label_masks

REDUCTIONS = ("mean", "sum", "none")


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


@keras.saving.register_keras_serializable(package="fcn_keras")
class SegmentationCrossEntropy(keras.losses.Loss):
    """Softmax cross-entropy per pixel from logits, with one label ignored.

    Pixels labelled `ignore_index` contribute nothing: neither to the loss nor to
    its gradient nor to the pixel count of the mean. It is computed in float32
    even when the logits are float16/bfloat16 (mixed precision), with the backend's
    numerically stable log-softmax, alike on TensorFlow, JAX and PyTorch. A batch in
    which every pixel is ignored has loss 0.

    Args:
        ignore_index: label value to ignore (VOC: 255).
        reduction: `"mean"` (default), the mean over labelled pixels of the batch;
            `"sum"`, the reference's unnormalized sum over labelled pixels (use it
            with the paper's tiny learning rates); `"none"`, the per-pixel loss map
            `(N, H, W)` with zeros at ignored pixels.
        name: name of the loss.

    A label outside `[0, num_classes)` other than `ignore_index` fails an assert
    naming the value on the TensorFlow backend (see `prepare_labels`); under XLA,
    which drops asserts, and on JAX and PyTorch it makes the loss NaN instead of
    being skipped.

    Sample weights (shape `(N,)`, `(N, H, W)` or `(N, H, W, 1)`) multiply the
    per-pixel losses; the `"mean"` still divides by the number of labelled pixels. Under
    `tf.distribute`, `"mean"` averages the replicas' means, as Keras does for its
    own losses, and `"sum"` adds the replicas' sums.

    Example:
        >>> loss = SegmentationCrossEntropy()
        >>> logits = np.zeros((1, 2, 2, 3), np.float32)
        >>> labels = np.array([[[0, 1], [2, 255]]])
        >>> round(float(loss(labels, logits)), 4)  # log(3) over 3 labelled pixels
        1.0986
        >>> model = fcn_keras.build_fcn8s(3, backbone="vgg16_tiny", padding="same")
        >>> model.compile(optimizer="adam", loss=SegmentationCrossEntropy())
    """

    def __init__(self, ignore_index=IGNORE_LABEL, reduction="mean", name="segmentation_cross_entropy"):
        if reduction not in REDUCTIONS:
            raise ValueError(
                f"reduction must be one of {REDUCTIONS}, got {reduction!r}: 'mean' averages "
                "over labelled pixels, 'sum' is the reference's unnormalized loss."
            )
        # Keras' own reductions divide by all pixels, so the per-pixel rescale
        # in `call` turns its mean into a mean over labelled pixels.
        super().__init__(name=name, reduction=reduction, dtype="float32")
        self.ignore_index = int(ignore_index)

    def __call__(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            sample_weight = per_pixel_weights(sample_weight)
        return super().__call__(y_true, y_pred, sample_weight=sample_weight)

    def call(self, y_true, y_pred):
        logits = ops.cast(y_pred, "float32")
        labels, valid, out_of_range = prepare_labels(y_true, ops.shape(logits)[-1], self.ignore_index)
        if _rank(labels) is None:  # a graph's masks of unknown rank: (N, H, W) or (N, H, W, 1), as the logits' pixels
            labels, valid, out_of_range = (ops.reshape(mask, ops.shape(logits)[:-1])
                                           for mask in (labels, valid, out_of_range))
        per_pixel = ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)
        weights = ops.cast(valid, "float32")
        if self.reduction == "mean":
            total = ops.cast(ops.size(weights), "float32")
            weights *= ops.divide_no_nan(total, ops.sum(weights))
        per_pixel = ops.where(valid, per_pixel * weights, 0.0)
        # Reached only where no assert ran (XLA, JAX, PyTorch): a NaN loss, never a silent skip.
        return ops.where(out_of_range, float("nan"), per_pixel)

    def get_config(self):
        return {**super().get_config(), "ignore_index": self.ignore_index}
