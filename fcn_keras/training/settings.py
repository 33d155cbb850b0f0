"""What a training run is: its data, model, schedule and folder, as `run_training` takes them.

Needs no TensorFlow, so the command line can refuse settings that contradict each other at once.
"""

import dataclasses
from typing import Any, Optional

from fcn_keras.defaults import DEFAULT_BACKBONE, DEFAULT_PADDING
from fcn_keras.loss_specs import checked_class_weights, parse_loss_spec
from fcn_keras.models.variants import VARIANTS
from fcn_keras.precision import DEFAULT_PRECISION
from fcn_keras.training.recipes import (
    DEFAULT_EPOCHS,
    DEFAULT_LR_SCHEDULE,
    DEFAULT_RECIPE,
    check_lr_schedule,
    recipe_conflict,
)


class ConflictingSettings(ValueError):
    """Settings that contradict each other; the message names them and what to drop."""


@dataclasses.dataclass(frozen=True)
class TrainingSettings:
    """A training run: what `run_training` opens, builds and trains, and where it writes.

    Attributes:
        data: the training data: a source spec (`fcn_keras.data.SPECS`, e.g.
            "voc:VOCdevkit/VOC2012") or a `tf.data.Dataset` of (image, mask) pairs.
        output: the run's folder (see `train`); its parent must exist.
        validation_data: the validation data, as `data`; None: `data`'s
            `val_split` (a spec only).
        validation: False trains without validation.
        train_split, val_split: the split names the specs are opened with.
        num_classes: classes of the data, for sources that do not define them
            (folder, tfrecord, a dataset).
        modalities: NYUDv2's inputs, e.g. ("color", "depth"); None: colour images.
        download: let a tfds: source download its data set.
        variant, backbone, padding, dropout, at_once, backbone_weights: see
            `build_fcn` (variant None: FCN-8s).
        staged: train FCN-32s, FCN-16s from it, then FCN-8s (`train_staged`).
        init_from: a .keras file of a trained coarser FCN to start from.
        recipe, learning_rate, warmup_steps, lr_schedule, epochs, steps_per_epoch:
            see `train`.
        loss: the loss, e.g. "ce" (the default) or "ce+dice" (see
            `fcn_keras.losses.segmentation_loss`).
        class_weights: one weight per class for the loss, "auto" for
            median-frequency balancing from the training data (one pass over
            it, with progress), or None.
        batch_size, crop_size, scale_range, flip, resized_crop, rotation,
            color_jitter: the training batches (see `fcn_keras.data.prepare`);
            validation batches are whole images.
        precision: "auto" or a Keras dtype policy (see `resolve_precision`).
        seed: seed of initialization, dropout, data order and augmentation.
        overwrite: replace a finished run in `output`.
        keep_finished: keep a finished run in `output` instead of refusing it
            (nothing is trained again), as `train_staged` keeps finished stages.

    Raises:
        ConflictingSettings: staged training with a variant, at_once, init_from
            or modalities; the paper's recipe with a loss other than "ce", or a
            recipe other than the practical one with another lr_schedule.
        ValueError: an unknown loss or lr_schedule, or bad class weights.

    Example:
        >>> TrainingSettings("synthetic:8", "runs/shapes", batch_size=4).variant is None
        True
        >>> TrainingSettings("synthetic:8", "runs/shapes", staged=True, at_once=True)
        Traceback (most recent call last):
        fcn_keras.training.settings.ConflictingSettings: staged=True trains fcn32s, fcn16s and fcn8s of ...
    """

    data: Any
    output: str
    validation_data: Any = None
    validation: bool = True
    train_split: str = "train"
    val_split: str = "val"
    num_classes: Any = None
    modalities: Optional[tuple] = None
    download: bool = True
    variant: Optional[str] = None
    backbone: str = DEFAULT_BACKBONE
    padding: str = DEFAULT_PADDING
    dropout: float = 0.5
    at_once: bool = False
    backbone_weights: Optional[str] = None
    staged: bool = False
    init_from: Optional[str] = None
    recipe: str = DEFAULT_RECIPE
    learning_rate: Optional[float] = None
    warmup_steps: int = 0
    lr_schedule: str = DEFAULT_LR_SCHEDULE
    loss: str = "ce"
    class_weights: Any = None
    epochs: int = DEFAULT_EPOCHS
    steps_per_epoch: Optional[int] = None
    batch_size: int = 1
    crop_size: Optional[tuple] = None
    scale_range: Optional[tuple] = None
    flip: bool = True
    resized_crop: Optional[tuple] = None
    rotation: Optional[float] = None
    color_jitter: Any = None
    precision: str = DEFAULT_PRECISION
    seed: int = 0
    overwrite: bool = False
    keep_finished: bool = False

    def __post_init__(self):
        if self.staged and (self.variant not in (None, list(VARIANTS)[-1]) or self.at_once or self.init_from or
                            self.modalities):
            raise ConflictingSettings(
                "staged=True trains fcn32s, fcn16s and fcn8s of colour images in turn; drop `variant`, `at_once`, "
                "`init_from` and `modalities`, or drop staged=True.")
        # bad names and weights are refused now, not after a pass over the data
        parse_loss_spec(self.loss)
        check_lr_schedule(self.lr_schedule)
        _check_class_weights(self.class_weights)
        conflict = recipe_conflict(self.recipe, self.lr_schedule, self.loss)
        if conflict:
            raise ConflictingSettings(conflict)


def _check_class_weights(class_weights):
    """Refuses class weights that are not None, "auto", one weight per class or {head: weights}."""
    if class_weights is None or (isinstance(class_weights, str) and class_weights == "auto"):
        return
    for weights in class_weights.values() if isinstance(class_weights, dict) else [class_weights]:
        checked_class_weights(weights, "`class_weights`")
