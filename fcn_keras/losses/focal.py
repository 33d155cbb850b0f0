"""Focal loss (Lin et al., ICCV 2017): cross-entropy that weighs down the pixels the model already gets right."""

import keras
from keras import ops

from fcn_keras.labels import IGNORE_LABEL
from fcn_keras.losses.loss_arguments import non_negative_number
from fcn_keras.losses.pixel_loss import PixelLoss

_SMALLEST_MISS = 1e-30
"""Where 1 - p_y is floored before the power, so that a gamma below 1 keeps a finite gradient at p_y = 1."""


@keras.saving.register_keras_serializable(package="fcn_keras")
class FocalLoss(PixelLoss):
    """-alpha_y (1 - p_y)^gamma log p_y per pixel from logits, averaged over the labelled pixels.

    p_y is the softmax probability of the pixel's true class, computed from the
    log-softmax (stable for large logits, in float32 also under mixed precision).
    With `gamma=0` and no `alpha` it is the cross-entropy. Pixels labelled
    `ignore_index` count nowhere; a batch with every pixel ignored has loss 0. The
    mean divides by the number of labelled pixels, not by their alphas (as the paper's
    loss); sample weights multiply the pixels' losses, as `SegmentationCrossEntropy`'s.

    Args:
        gamma: the focusing exponent, a finite number >= 0 (the paper's default 2).
        alpha: None (every class weighs 1), or one weight per class (finite, >= 0,
            not all 0): the loss's `class_weights`.
        ignore_index: label value to ignore (VOC: 255).
        reduction: `"mean"` (default), `"sum"` or `"none"` (the per-pixel map).
        name: name of the loss.

    Example:
        >>> labels = np.array([[[0, 1, 255]]])
        >>> logits = np.log(np.array([[[[0.5, 0.5], [0.25, 0.75], [0.9, 0.1]]]], np.float32))
        >>> loss = FocalLoss(gamma=2.0)
        >>> expected = -(0.5**2 * np.log(0.5) + 0.25**2 * np.log(0.75)) / 2
        >>> bool(np.isclose(float(loss(labels, logits)), expected))
        True
    """

    weights_argument = "alpha"
    divides_by_class_weights = False

    def __init__(self, gamma=2.0, alpha=None, ignore_index=IGNORE_LABEL, reduction="mean", name="focal_loss"):
        super().__init__(ignore_index, reduction, name, alpha)
        self.gamma = non_negative_number(gamma, "gamma", "the paper's 2.0; 0 gives the cross-entropy")

    def pixel_losses(self, logits, labels):
        log_p = ops.take_along_axis(ops.log_softmax(logits, axis=-1), labels[..., None], axis=-1)[..., 0]
        miss = ops.maximum(-ops.expm1(log_p), _SMALLEST_MISS)  # 1 - p_y, exact also where p_y is near 1
        return -ops.power(miss, self.gamma) * log_p

    def get_config(self):
        return {**super().get_config(), "gamma": self.gamma}
