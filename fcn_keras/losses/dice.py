"""Soft Dice loss: one minus the overlap of the softmax probabilities with the truth, class by class."""

import keras
from keras import ops

from fcn_keras.labels import IGNORE_LABEL
from fcn_keras.losses.class_averaged import ClassAveragedLoss
from fcn_keras.losses.loss_arguments import non_negative_number


@keras.saving.register_keras_serializable(package="fcn_keras")
class SoftDiceLoss(ClassAveragedLoss):
    """1 - (2 sum(p_c g_c) + smooth) / (sum(p_c) + sum(g_c) + smooth) per class c, averaged over the classes present.

    p_c is the softmax probability of class c from the logits, g_c the one-hot truth;
    the sums run over all the labelled pixels of the batch. The mean runs over the
    classes present in the batch's labels: a class absent from the truth does not
    count (its Dice would only reward predicting none of it), weighted by
    `class_weights` where given. Pixels labelled `ignore_index` count nowhere; a batch
    with every pixel ignored has loss 0, never NaN. Computed in float32 (also under
    mixed precision). It takes no sample weights: it scores the whole batch at once.

    Args:
        smooth: a finite number >= 0 added to both sides of the ratio (keeps small classes' gradients tame).
        class_weights: None, or one weight per class (finite, >= 0, not all 0) of the classes' Dice in the mean.
        ignore_index: label value to ignore (VOC: 255).
        name: name of the loss.

    Example:
        >>> labels = np.array([[[0, 1], [1, 255]]])
        >>> logits = 20.0 * np.eye(2, dtype=np.float32)[[[[0, 1], [1, 0]]]]  # right where labelled
        >>> round(float(SoftDiceLoss()(labels, logits)), 4)
        0.0
        >>> round(float(SoftDiceLoss(smooth=0.0)(labels, -logits)), 4)  # every labelled pixel wrong
        1.0
    """

    def __init__(self, smooth=1.0, class_weights=None, ignore_index=IGNORE_LABEL, name="soft_dice_loss"):
        super().__init__(ignore_index, name, class_weights)
        self.smooth = non_negative_number(smooth, "smooth", "1.0 by default")

    def class_losses(self, probabilities, truth, valid):
        overlap = ops.sum(probabilities * truth, axis=0)
        total = ops.sum(probabilities, axis=0) + ops.sum(truth, axis=0)
        return 1.0 - ops.divide_no_nan(2.0 * overlap + self.smooth, total + self.smooth)

    def get_config(self):
        return {**super().get_config(), "smooth": self.smooth}
