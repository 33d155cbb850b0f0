"""A weighted sum of losses, e.g. cross-entropy plus Dice, that saves and loads as one loss."""

import keras

from fcn_keras.losses.loss_arguments import non_negative_number


@keras.saving.register_keras_serializable(package="fcn_keras")
class WeightedSum(keras.losses.Loss):
    """sum_i weights[i] * losses[i](y_true, y_pred, sample_weight), as one Keras loss.

    Its config holds each loss's own config (`keras.losses.serialize`), so a model
    compiled with it saves and loads (`.keras`) with every part and weight intact.

    Args:
        losses: a non-empty list of Keras losses (or their serialized configs).
        weights: one finite number >= 0 per loss; None weighs each 1.
        name: name of the loss.

    Example:
        >>> from fcn_keras.losses import SegmentationCrossEntropy, SoftDiceLoss
        >>> loss = WeightedSum([SegmentationCrossEntropy(), SoftDiceLoss()], [1.0, 0.5])
        >>> labels, logits = np.array([[[0, 1]]]), np.zeros((1, 1, 2, 2), np.float32)
        >>> parts = float(SegmentationCrossEntropy()(labels, logits)) + 0.5 * float(SoftDiceLoss()(labels, logits))
        >>> bool(np.isclose(float(loss(labels, logits)), parts))
        True
    """

    def __init__(self, losses, weights=None, name="weighted_sum"):
        super().__init__(name=name, dtype="float32")
        if isinstance(losses, keras.losses.Loss) or not losses:
            raise ValueError(f"losses must be a non-empty list of Keras losses, got {losses!r}.")
        self.losses = [keras.losses.deserialize(loss) if isinstance(loss, dict) else loss for loss in losses]
        weights = [1.0] * len(self.losses) if weights is None else list(weights)
        if len(weights) != len(self.losses):
            raise ValueError(f"WeightedSum has {len(self.losses)} losses but {len(weights)} weights: give one "
                             "weight per loss.")
        self.weights = [non_negative_number(weight, f"weights[{index}]", "one weight per loss")
                        for index, weight in enumerate(weights)]

    def __call__(self, y_true, y_pred, sample_weight=None):
        return sum(weight * loss(y_true, y_pred, sample_weight=sample_weight)
                   for loss, weight in zip(self.losses, self.weights))

    def get_config(self):
        return {"name": self.name, "losses": [keras.losses.serialize(loss) for loss in self.losses],
                "weights": list(self.weights)}
