"""The paper's four segmentation scores, from a confusion matrix over labelled pixels.

The formulas are those of the reference `score.py` (rows are the true classes,
columns the predicted ones):

- pixel accuracy = sum(diag) / sum(all)
- mean accuracy = nanmean(diag / row sums)
- mean IU = nanmean(diag / (row sums + column sums - diag))
- frequency-weighted IU = sum(freq * IU) over classes with freq > 0, freq = row sums / sum(all)

A class absent from both the truth and the predictions has IU 0/0 = NaN and is
left out of the means, as in the reference.

Labels outside `[0, num_classes)` that are not the ignore index are never
dropped silently (unlike `keras.metrics.MeanIoU`): the NumPy helpers raise a
`ValueError`, and the Keras metrics fail a `tf.debugging.Assert` naming the bad
value on the TensorFlow backend. Where no assert runs (XLA, JAX, PyTorch), the
metrics still count such pixels and then report every score as NaN, so a wrong
result is never shown as valid.
"""

import warnings

import keras
import numpy as np
from keras import ops

from fcn_keras.labels import IGNORE_LABEL, check_ignore_label, invalid_labels
from fcn_keras.losses import per_pixel_weights, prepare_labels

SCORE_NAMES = {
    "pixel_accuracy": "pixel accuracy",
    "mean_accuracy": "mean accuracy",
    "mean_iou": "mean IU",
    "frequency_weighted_iou": "frequency weighted IU",
}
"""The paper's four scores: result key -> the paper's name for it."""


def confusion_matrix(y_true, y_pred, num_classes, ignore_index=IGNORE_LABEL):
    """Counts labelled pixels by (true class, predicted class), ignoring one label.

    Args:
        y_true: integer labels of any shape, e.g. `(H, W)`, `(N, H, W)` or
            `(N, H, W, 1)`; pixels equal to `ignore_index` are skipped.
        y_pred: predicted class indices with the shape of `y_true` (a trailing
            axis of size 1 on either is dropped). Not logits: take the argmax first.
        num_classes: number of classes.
        ignore_index: label of unlabelled pixels (255 in VOC).

    Returns:
        An int64 array of shape `(num_classes, num_classes)`; entry `[i, j]` counts
        pixels of true class `i` predicted as `j`.

    Raises:
        ValueError: shapes differ, or a label (other than `ignore_index`) or a
            prediction lies outside `[0, num_classes)`.

    Example:
        >>> confusion_matrix(np.array([[0, 1], [1, 255]]), np.array([[0, 1], [0, 1]]), 2)
        array([[1, 0],
               [1, 1]])
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim and y_true.shape[-1:] == (1,) and y_true.ndim == y_pred.ndim + 1:
        y_true = y_true[..., 0]
    if y_pred.ndim and y_pred.shape[-1:] == (1,) and y_pred.ndim == y_true.ndim + 1:
        y_pred = y_pred[..., 0]
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"Labels have shape {y_true.shape} but predictions {y_pred.shape}; they must "
            "match pixel for pixel (pass class maps, e.g. logits.argmax(-1), not logits)."
        )
    check_ignore_label(ignore_index, num_classes)
    y_true, y_pred = y_true.reshape(-1).astype(np.int64), y_pred.reshape(-1).astype(np.int64)
    valid = y_true != ignore_index
    bad_labels = invalid_labels(y_true, num_classes, ignore_index)
    if bad_labels.size:
        raise ValueError(
            f"Labels {bad_labels[:10].tolist()} are outside [0, {num_classes}) and not the "
            f"ignore index {ignore_index}. Fix the masks (map colour masks to class indices, "
            "mark unlabelled pixels with the ignore index) or pass the right num_classes."
        )
    bad_preds = np.unique(y_pred[(y_pred < 0) | (y_pred >= num_classes)])
    if bad_preds.size:
        raise ValueError(
            f"Predictions {bad_preds[:10].tolist()} are outside [0, {num_classes}); the model "
            "predicts a different number of classes than num_classes."
        )
    counts = np.bincount(num_classes * y_true[valid] + y_pred[valid], minlength=num_classes**2)
    return counts.reshape(num_classes, num_classes)


def scores_from_confusion(confusion):
    """The paper's scores from a confusion matrix (rows: truth, columns: prediction).

    Args:
        confusion: square array `(num_classes, num_classes)` of non-negative counts
            with at least one counted pixel, e.g. from `confusion_matrix`.

    Returns:
        A dict with floats `pixel_accuracy`, `mean_accuracy`, `mean_iou`,
        `frequency_weighted_iou`, and `per_class_iou`, a float64 array of length
        `num_classes` that is NaN for classes absent from both truth and prediction.

    Raises:
        ValueError: the matrix is not square, has negative or non-finite entries,
            or counts no pixel.

    Example:
        >>> scores = scores_from_confusion(np.array([[3, 1], [0, 4]]))
        >>> round(scores["mean_iou"], 4), scores["per_class_iou"].round(2).tolist()
        (0.775, [0.75, 0.8])
    """
    hist = np.asarray(confusion, dtype=np.float64)
    if hist.ndim != 2 or hist.shape[0] != hist.shape[1]:
        raise ValueError(f"A confusion matrix must be square, got shape {hist.shape}.")
    if not np.all(np.isfinite(hist)) or np.any(hist < 0):
        raise ValueError("A confusion matrix must hold finite, non-negative counts.")
    total = hist.sum()
    if total == 0:
        raise ValueError(
            "The confusion matrix counts no pixel: every label was ignored or no data was seen."
        )
    diag, rows, cols = np.diag(hist), hist.sum(axis=1), hist.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nanmean of an all-NaN slice
        class_accuracy = diag / rows
        iou = diag / (rows + cols - diag)
        freq = rows / total
        return {
            "pixel_accuracy": float(diag.sum() / total),
            "mean_accuracy": float(np.nanmean(class_accuracy)),
            "mean_iou": float(np.nanmean(iou)),
            "frequency_weighted_iou": float((freq[freq > 0] * iou[freq > 0]).sum()),
            "per_class_iou": iou,
        }


def _nanmean(values):
    present = ops.logical_not(ops.isnan(values))
    return ops.divide_no_nan(ops.sum(ops.where(present, values, 0.0)), ops.sum(ops.cast(present, values.dtype)))


def _count_dtype():
    """float64, whose counts stay exact to 2**53 pixels and add on every device; float32 (exact to 2**24 pixels
    per cell) under JAX unless `jax_enable_x64` is set, as JAX has no float64 otherwise."""
    if keras.backend.backend() == "jax":
        import jax

        return "float64" if jax.config.jax_enable_x64 else "float32"
    return "float64"


@keras.saving.register_keras_serializable(package="fcn_keras")
class SegmentationScores(keras.metrics.Metric):
    """Streams the confusion matrix of (labels, logits) batches; reports the paper's scores.

    Works in `model.compile(metrics=[...])`, `model.evaluate(..., return_dict=True)`
    and under `tf.distribute` strategies (the matrix is summed over replicas), on
    every Keras backend. The counts are float64, or float32 under JAX without
    `jax_enable_x64` (exact up to 2**24 pixels per cell; `fcn_keras.evaluate` counts
    in int64 on every backend).
    `result()` is a dict of the four scalar scores, `pixel_accuracy`,
    `mean_accuracy`, `mean_iou` and `frequency_weighted_iou`, so they appear
    under those names in Keras logs (with `val_` for validation data; use it or
    `MeanIoU`, whose default name is also `mean_iou`, not both). Before any
    labelled pixel is seen they are 0. The accumulated matrix is `self.confusion`;
    `scores_from_confusion(metric.confusion.numpy())` adds the per-class IU.

    Labels outside `[0, num_classes)` other than `ignore_index` fail an assert
    that names the bad value on the TensorFlow backend; where no assert runs (XLA,
    JAX, PyTorch) they are counted and all scores become NaN.

    Args:
        num_classes: number of classes; logits have this many channels.
        ignore_index: label of unlabelled pixels, skipped (VOC: 255).
        name: metric name.
        dtype: dtype of the reported scores.

    Example:
        >>> metric = SegmentationScores(num_classes=3)
        >>> metric.update_state(np.array([[[0, 1, 255]]]), np.eye(3)[None, None] * 5.0)
        >>> {k: float(v) for k, v in metric.result().items()}["pixel_accuracy"]
        1.0
        >>> from fcn_keras.losses import SegmentationCrossEntropy
        >>> model = fcn_keras.build_fcn8s(21, backbone="vgg16_tiny", padding="same")
        >>> model.compile("adam", loss=SegmentationCrossEntropy(), metrics=[SegmentationScores(21)])
    """

    def __init__(self, num_classes, ignore_index=IGNORE_LABEL, name="segmentation_scores", dtype=None):
        super().__init__(name=name, dtype=dtype)
        check_ignore_label(ignore_index, num_classes)
        self.num_classes = int(num_classes)
        self.ignore_index = int(ignore_index)
        self.confusion = self.add_variable(
            shape=(self.num_classes, self.num_classes),
            initializer="zeros",
            dtype=_count_dtype(),
            aggregation="sum",
            name="confusion",
        )
        self.out_of_range = self.add_variable(
            shape=(), initializer="zeros", dtype=_count_dtype(), aggregation="sum", name="out_of_range"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds a batch. `y_true`: labels `(N, H, W[, 1])`; `y_pred`: logits `(N, H, W, C)`.

        `sample_weight` (shape `(N,)`, `(N, H, W)` or `(N, H, W, 1)`) scales each
        pixel's count; by default every labelled pixel counts once, as in the paper.
        """
        y_pred = ops.convert_to_tensor(y_pred)
        if y_pred.shape[-1] is not None and y_pred.shape[-1] != self.num_classes:
            raise ValueError(
                f"{self.name} expects logits with {self.num_classes} channels (num_classes), "
                f"got shape {y_pred.shape}; build the metric with the model's class count."
            )
        labels, valid, out_of_range = prepare_labels(y_true, self.num_classes, self.ignore_index)
        predictions = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
        weights = ops.cast(valid, "float32")
        if sample_weight is not None:
            weights *= ops.broadcast_to(per_pixel_weights(sample_weight), ops.shape(weights))
        cells = ops.reshape(labels * self.num_classes + predictions, [-1])
        counts = ops.segment_sum(ops.reshape(weights, [-1]), cells, num_segments=self.num_classes**2)
        count_dtype = self.confusion.dtype
        self.confusion.assign_add(ops.reshape(ops.cast(counts, count_dtype), (self.num_classes, self.num_classes)))
        self.out_of_range.assign_add(ops.sum(ops.cast(out_of_range, count_dtype)))

    def _scores(self):
        hist = ops.convert_to_tensor(self.confusion)
        diag, rows, cols = ops.diagonal(hist), ops.sum(hist, axis=1), ops.sum(hist, axis=0)
        total = ops.sum(hist)
        nan = ops.cast(float("nan"), hist.dtype)
        # 0/0 is NaN (class absent), as in the reference; rows+cols-diag is 0 only then.
        class_accuracy = ops.where(rows > 0, ops.divide_no_nan(diag, rows), nan)
        union = rows + cols - diag
        iou = ops.where(union > 0, ops.divide_no_nan(diag, union), nan)
        freq = ops.divide_no_nan(rows, total)
        scores = {
            "pixel_accuracy": ops.divide_no_nan(ops.sum(diag), total),
            "mean_accuracy": _nanmean(class_accuracy),
            "mean_iou": _nanmean(iou),
            "frequency_weighted_iou": ops.sum(ops.where(freq > 0, freq * iou, 0.0)),
        }
        poisoned = ops.convert_to_tensor(self.out_of_range) > 0
        return {key: ops.cast(ops.where(poisoned, nan, value), self.dtype) for key, value in scores.items()}

    def result(self):
        """The dict of the four scalar scores (NaN if out-of-range labels were seen)."""
        return self._scores()

    def get_config(self):
        config = super().get_config()
        return {**config, "num_classes": self.num_classes, "ignore_index": self.ignore_index}


@keras.saving.register_keras_serializable(package="fcn_keras")
class MeanIoU(SegmentationScores):
    """Mean IU alone, a scalar for progress bars and `ModelCheckpoint(monitor="val_mean_iou")`.

    The same streaming confusion matrix as `SegmentationScores` (and the same
    refusal of out-of-range labels); unlike `keras.metrics.MeanIoU` it takes
    logits directly and never drops bad labels silently.

    Args:
        num_classes: number of classes; logits have this many channels.
        ignore_index: label of unlabelled pixels, skipped (VOC: 255).
        name: metric name, the key in Keras logs.
        dtype: dtype of the reported score.

    Example:
        >>> from fcn_keras.losses import SegmentationCrossEntropy
        >>> model = fcn_keras.build_fcn8s(21, backbone="vgg16_tiny", padding="same")
        >>> model.compile("adam", loss=SegmentationCrossEntropy(),
        ...               metrics=[MeanIoU(21)])
        >>> checkpoint = keras.callbacks.ModelCheckpoint("best.keras", monitor="val_mean_iou",
        ...                                              mode="max", save_best_only=True)
    """

    def __init__(self, num_classes, ignore_index=IGNORE_LABEL, name="mean_iou", dtype=None):
        super().__init__(num_classes, ignore_index=ignore_index, name=name, dtype=dtype)

    def result(self):
        """The mean IU, a scalar (NaN if out-of-range labels were seen)."""
        return self._scores()["mean_iou"]
