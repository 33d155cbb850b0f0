"""Losses by name, as the command line gives them: "ce", "dice", "focal", "lovasz", joined by "+", weighted by "*"."""

from fcn_keras.labels import IGNORE_LABEL
from fcn_keras.loss_specs import checked_class_weights, parse_loss_spec
from fcn_keras.losses.cross_entropy import SegmentationCrossEntropy
from fcn_keras.losses.dice import SoftDiceLoss
from fcn_keras.losses.focal import FocalLoss
from fcn_keras.losses.lovasz import LovaszSoftmaxLoss
from fcn_keras.losses.weighted_sum import WeightedSum

_BUILDERS = {  # name -> (class weights, ignore index, reduction) -> loss
    "ce": lambda weights, ignore_index, reduction: SegmentationCrossEntropy(ignore_index, reduction,
                                                                           class_weights=weights),
    "dice": lambda weights, ignore_index, _: SoftDiceLoss(class_weights=weights, ignore_index=ignore_index),
    "focal": lambda weights, ignore_index, _: FocalLoss(alpha=weights, ignore_index=ignore_index),
    "lovasz": lambda _, ignore_index, __: LovaszSoftmaxLoss(ignore_index=ignore_index),
}


def segmentation_loss(spec="ce", class_weights=None, ignore_index=IGNORE_LABEL, reduction="mean"):
    """The loss a spec names: one loss, or a `WeightedSum` of several.

    Args:
        spec: loss names (keys of `LOSSES`) joined by "+", each with an optional
            weight > 0 before a "*": "ce", "ce+dice", "ce+0.5*lovasz". Case and spaces
            do not matter.
        class_weights: None, or one weight per class (finite, >= 0, not all 0): the
            cross-entropy's `class_weights`, the focal loss's `alpha` and the Dice
            loss's `class_weights`. Lovasz-softmax takes none (it scores every class's
            IoU alike); a spec of Lovasz alone refuses them.
        ignore_index: the label of unlabelled pixels.
        reduction: "mean" (over the labelled pixels), or "sum", the paper recipe's
            summed cross-entropy, for "ce" alone.

    Returns:
        a Keras loss: the named loss itself for a spec of one name without a weight,
        else a `WeightedSum`.

    Raises:
        ValueError: a bad spec (naming the bad part and the valid forms), bad class
            weights, class weights for Lovasz alone, or "sum" for anything but "ce".

    Example:
        >>> loss = segmentation_loss("ce+0.5*dice", class_weights=[1.0, 4.0])
        >>> [type(part).__name__ for part in loss.losses], loss.weights
        (['SegmentationCrossEntropy', 'SoftDiceLoss'], [1.0, 0.5])
        >>> segmentation_loss("dice+")
        Traceback (most recent call last):
        ValueError: Bad loss 'dice+': it has an empty term; write names among ce, dice, focal and lovasz joined by ...
    """
    terms = parse_loss_spec(spec)
    names = [name for name, _ in terms]
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum' (the paper recipe's summed cross-entropy), got "
                         f"{reduction!r}.")
    if reduction == "sum" and names != ["ce"]:
        raise ValueError(f"The loss {spec!r} cannot be summed: the paper recipe trains on the summed cross-entropy "
                         "('ce' alone); use recipe practical or paper_normalized for other losses.")
    class_weights = checked_class_weights(class_weights)
    if class_weights is not None and names == ["lovasz"]:
        raise ValueError("Lovasz-softmax takes no class weights (it scores every class's IoU alike): drop the class "
                         "weights, or add a loss that takes them, e.g. 'ce+lovasz'.")
    losses = [_BUILDERS[name](class_weights, ignore_index, reduction) for name in names]
    if len(terms) == 1 and terms[0][1] == 1.0:
        return losses[0]
    return WeightedSum(losses, [weight for _, weight in terms])
