"""The base of losses scored pixel by pixel (cross-entropy, focal): ignored pixels, class and sample weights."""

import keras
from keras import ops

from fcn_keras.losses.labels import logits_and_labels, per_pixel_weights
from fcn_keras.loss_specs import checked_class_weights
from fcn_keras.losses.loss_arguments import class_weight_table

REDUCTIONS = ("mean", "sum", "none")


class PixelLoss(keras.losses.Loss):
    """A loss that scores each labelled pixel from its logits; subclasses give `pixel_losses`.

    Pixels labelled `ignore_index` contribute nothing: neither to the loss nor to its
    gradient nor to the divisor of the mean. A pixel's loss is multiplied by its class's
    weight (when the loss has class weights) and by its sample weight (`(N,)`,
    `(N, H, W)` or `(N, H, W, 1)`). `"mean"` divides by the labelled pixels' summed
    class weights where `divides_by_class_weights` (else by their count); sample
    weights never enter the divisor. A batch with every pixel ignored has loss 0. A
    label outside `[0, num_classes)` fails an assert on TensorFlow (see
    `prepare_labels`) and makes the loss NaN where no assert runs.

    Args:
        ignore_index: label value to ignore (VOC: 255).
        reduction: `"mean"`, `"sum"` or `"none"` (the per-pixel map `(N, H, W)`, zeros where ignored).
        name: name of the loss.
        class_weights: None, or one weight per class (see `checked_class_weights`).

    Example:
        >>> class Squared(PixelLoss):  # the squared logit of the true class, as a toy
        ...     def pixel_losses(self, logits, labels):
        ...         return ops.take_along_axis(logits, labels[..., None], axis=-1)[..., 0] ** 2
        >>> loss = Squared(ignore_index=255, reduction="mean", name="squared", class_weights=[1.0, 3.0])
        >>> float(loss(np.array([[[0, 1, 255]]]), np.full((1, 1, 3, 2), 2.0)))  # (1*4 + 3*4) / (1 + 3)
        4.0
    """

    weights_argument = "class_weights"
    """The name of the per-class weights among the subclass' arguments, its config and its errors."""
    divides_by_class_weights = True
    """Whether `"mean"` divides by the labelled pixels' summed class weights (True) or by their count."""

    def __init__(self, ignore_index, reduction, name, class_weights=None):
        if reduction not in REDUCTIONS:
            raise ValueError(
                f"reduction must be one of {REDUCTIONS}, got {reduction!r}: 'mean' averages "
                "over labelled pixels, 'sum' is the reference's unnormalized loss."
            )
        # Keras' own reductions divide by all pixels, so the per-pixel rescale
        # in `call` turns its mean into a mean over labelled pixels.
        super().__init__(name=name, reduction=reduction, dtype="float32")
        self.ignore_index = int(ignore_index)
        self.class_weights = checked_class_weights(class_weights, self.weights_argument)

    def pixel_losses(self, logits, labels):
        """The loss of every pixel, `(N, H, W)`, from float32 `logits` `(N, H, W, C)` and int32 `labels` `(N, H, W)`
        (ignored pixels hold label 0 here; their losses are dropped afterwards)."""
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            sample_weight = per_pixel_weights(sample_weight)
        return super().__call__(y_true, y_pred, sample_weight=sample_weight)

    def call(self, y_true, y_pred):
        logits, labels, valid, out_of_range = logits_and_labels(y_true, y_pred, self.ignore_index)
        per_pixel = self.pixel_losses(logits, labels)
        labelled = ops.cast(valid, "float32")
        weights = labelled
        if self.class_weights is not None:
            weights = weights * ops.take(class_weight_table(self.class_weights, logits, self.weights_argument), labels)
        if self.reduction == "mean":
            total = ops.cast(ops.size(weights), "float32")
            weights *= ops.divide_no_nan(total, ops.sum(weights if self.divides_by_class_weights else labelled))
        per_pixel = ops.where(valid, per_pixel * weights, 0.0)
        # Reached only where no assert ran (XLA, JAX, PyTorch): a NaN loss, never a silent skip.
        return ops.where(out_of_range, float("nan"), per_pixel)

    def get_config(self):
        config = {**super().get_config(), "ignore_index": self.ignore_index}
        if self.class_weights is not None:
            config[self.weights_argument] = list(self.class_weights)
        return config
