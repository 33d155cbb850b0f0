"""Lovasz-softmax loss (Berman, Rannen Triki, Blaschko, CVPR 2018): a smooth surrogate of the mean IU."""

import keras
from keras import ops

from fcn_keras.labels import IGNORE_LABEL
from fcn_keras.losses.class_averaged import ClassAveragedLoss


@keras.saving.register_keras_serializable(package="fcn_keras")
class LovaszSoftmaxLoss(ClassAveragedLoss):
    """The Lovasz extension of each class's Jaccard loss (1 - IoU), averaged over the classes present in the batch.

    For class c, each labelled pixel of the batch has the error e_i = |g_i - p_i|
    (g the one-hot truth, p the softmax probability of c). Sorted from the largest
    error down, the Jaccard loss of the set of the first k pixels taken as mispredicted
    is J_k = 1 - |G minus S_k| / |G union S_k| (G the pixels of class c, S_k those
    first k pixels); the loss of class c is the sum over k of e_(k) (J_k - J_(k-1)), J_0 = 0,
    a piecewise linear function of the errors that equals the Jaccard loss wherever the
    errors are 0 or 1. The classes averaged are those present in the batch's labels (the
    paper's "present" variant), over the whole batch's labelled pixels at once. Pixels
    labelled `ignore_index` count nowhere; a batch with every pixel ignored has loss 0.

    It takes no class weights: it already scores every class's IoU alike, however few
    its pixels (combine it with a weighted loss, e.g. `segmentation_loss("ce+lovasz",
    class_weights=...)`), and no sample weights. It sorts every labelled pixel of the
    batch once per class.

    Args:
        ignore_index: label value to ignore (VOC: 255).
        name: name of the loss.

    Example:
        >>> labels = np.array([[[0, 1, 255]]])
        >>> logits = np.log(np.array([[[[0.75, 0.25], [0.5, 0.5], [0.9, 0.1]]]], np.float32))
        >>> round(float(LovaszSoftmaxLoss()(labels, logits)), 4)  # (class 0: 0.5 * 0.5 + 0.25 * 0.5, class 1: 0.5) / 2
        0.4375
    """

    def __init__(self, ignore_index=IGNORE_LABEL, name="lovasz_softmax_loss"):
        super().__init__(ignore_index, name)

    def class_losses(self, probabilities, truth, valid):
        errors = ops.transpose(ops.abs(truth - probabilities))  # (C, M)
        truth, valid = ops.transpose(truth), ops.cast(valid, "float32")[None, :]
        order = ops.argsort(-ops.where(valid > 0, errors, -1.0), axis=-1)  # largest error first, ignored pixels last
        errors, truth = ops.take_along_axis(errors, order, axis=-1), ops.take_along_axis(truth, order, axis=-1)
        valid = ops.take_along_axis(ops.broadcast_to(valid, ops.shape(errors)), order, axis=-1)
        members = ops.sum(truth, axis=-1, keepdims=True)
        intersection = members - ops.cumsum(truth, axis=-1)
        union = members + ops.cumsum(valid * (1.0 - truth), axis=-1)
        jaccard = 1.0 - ops.divide_no_nan(intersection, union)  # J_k of the first k pixels, k = 1..M
        steps = ops.concatenate([jaccard[:, :1], jaccard[:, 1:] - jaccard[:, :-1]], axis=-1)
        return ops.sum(errors * ops.stop_gradient(steps), axis=-1)
