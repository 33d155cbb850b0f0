"""Segmentation losses from logits `(N, H, W, C)` and masks `(N, H, W)` with the ignore label 255.

- `SegmentationCrossEntropy`: the paper's per-pixel softmax cross-entropy, optionally class-weighted.
- `SoftDiceLoss`, `FocalLoss`, `LovaszSoftmaxLoss`: losses for imbalanced classes.
- `WeightedSum`: several of them at once, e.g. cross-entropy plus Dice.
- `segmentation_loss`: any of these from the command line's spec, e.g. "ce+0.5*dice".

Every loss is computed in float32 with `keras.ops` (TensorFlow, JAX, PyTorch), gives
ignored pixels neither value nor gradient, and saves with a compiled `.keras` model.
Importing this package registers them all with Keras.
"""

from fcn_keras.loss_specs import (
    CLASS_WEIGHTS_RULE,
    LOSSES,
    SPEC_FORMS,
    checked_class_weights,
    class_weight_problem,
    parse_loss_spec,
)
from fcn_keras.losses.by_name import segmentation_loss
from fcn_keras.losses.class_averaged import ClassAveragedLoss
from fcn_keras.losses.cross_entropy import SegmentationCrossEntropy
from fcn_keras.losses.dice import SoftDiceLoss
from fcn_keras.losses.focal import FocalLoss
from fcn_keras.losses.labels import logits_and_labels, per_pixel_weights, prepare_labels
from fcn_keras.losses.loss_arguments import class_weight_table, non_negative_number
from fcn_keras.losses.lovasz import LovaszSoftmaxLoss
from fcn_keras.losses.pixel_loss import REDUCTIONS, PixelLoss
from fcn_keras.losses.weighted_sum import WeightedSum

__all__ = ["CLASS_WEIGHTS_RULE", "ClassAveragedLoss", "FocalLoss", "LOSSES", "LovaszSoftmaxLoss", "PixelLoss",
           "REDUCTIONS", "SPEC_FORMS", "SegmentationCrossEntropy", "SoftDiceLoss", "WeightedSum",
           "checked_class_weights", "class_weight_problem", "class_weight_table", "logits_and_labels",
           "non_negative_number", "parse_loss_spec", "per_pixel_weights", "prepare_labels", "segmentation_loss"]
