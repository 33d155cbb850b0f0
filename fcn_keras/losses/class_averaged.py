"""The base of losses scored class by class over a whole batch (soft Dice, Lovasz-softmax), averaged over the classes
present in the batch's labels."""

import keras
from keras import ops

from fcn_keras.losses.labels import logits_and_labels
from fcn_keras.loss_specs import checked_class_weights
from fcn_keras.losses.loss_arguments import class_weight_table


class ClassAveragedLoss(keras.losses.Loss):
    """A loss scored per class over all the labelled pixels of a batch; subclasses give `class_losses`.

    The softmax probabilities and the one-hot truth of the labelled pixels, flattened
    over the batch, give one loss per class; the loss is their mean over the classes
    present in the batch's labels (a class absent from the truth does not count),
    weighted by `class_weights` where given. Pixels labelled `ignore_index` count
    nowhere, neither in the value nor in the gradient; a batch with every pixel ignored
    has loss 0. A label outside `[0, num_classes)` fails an assert on TensorFlow (see
    `prepare_labels`) and makes the loss NaN where no assert runs. Such a loss does not
    split into per-pixel parts, so it takes no sample weights; under `tf.distribute`
    each replica scores its own share of the batch and Keras averages the replicas' losses.

    Args:
        ignore_index: label value to ignore (VOC: 255).
        name: name of the loss.
        class_weights: None, or one weight per class (see `checked_class_weights`).

    Example:
        >>> class Missed(ClassAveragedLoss):  # the probability a class's pixels miss, as a toy
        ...     def class_losses(self, probabilities, truth, valid):
        ...         return 1.0 - ops.divide_no_nan(ops.sum(probabilities * truth, axis=0), ops.sum(truth, axis=0))
        >>> logits = np.log(np.array([[[[0.5, 0.5, 1e-9], [0.25, 0.75, 1e-9]]]], np.float32))
        >>> round(float(Missed(255, "missed")(np.array([[[0, 1]]]), logits)), 3)  # ((1 - 0.5) + (1 - 0.75)) / 2
        0.375
    """

    def __init__(self, ignore_index, name, class_weights=None):
        super().__init__(name=name, dtype="float32")
        self.ignore_index = int(ignore_index)
        self.class_weights = checked_class_weights(class_weights)

    def class_losses(self, probabilities, truth, valid):
        """The loss of each class, `(C,)`, from the softmax `probabilities` and the one-hot `truth` (both `(M, C)`,
        float32, zero at ignored pixels) and `valid` (bool `(M,)`, the labelled pixels), M the batch's pixels."""
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            raise ValueError(f"{type(self).__name__} scores the whole batch at once and takes no sample_weight: "
                             "weigh classes with class_weights, or pixels with SegmentationCrossEntropy.")
        return super().__call__(y_true, y_pred)

    def call(self, y_true, y_pred):
        logits, labels, valid, out_of_range = logits_and_labels(y_true, y_pred, self.ignore_index)
        classes = ops.shape(logits)[-1]
        valid = ops.reshape(valid, (-1,))
        truth = ops.cast(valid[:, None] & (ops.reshape(labels, (-1, 1)) == ops.arange(classes)), "float32")  # one-hot
        probabilities = ops.where(valid[:, None], ops.reshape(ops.softmax(logits, axis=-1), (-1, classes)), 0.0)
        weights = ops.cast(ops.sum(truth, axis=0) > 0, "float32")  # the classes present in the labels
        if self.class_weights is not None:
            weights *= class_weight_table(self.class_weights, logits)
        losses = self.class_losses(probabilities, truth, valid)
        loss = ops.divide_no_nan(ops.sum(weights * losses), ops.sum(weights))
        # Reached only where no assert ran (XLA, JAX, PyTorch): a NaN loss, never a silent skip.
        loss = ops.where(ops.any(out_of_range), float("nan"), loss)
        # Shape (1,): Keras divides a loss by tf.distribute's replicas in its reduction, which skips scalars.
        return ops.reshape(loss, (1,))

    def get_config(self):
        config = {"name": self.name, "ignore_index": self.ignore_index}
        if self.class_weights is not None:
            config["class_weights"] = list(self.class_weights)
        return config
