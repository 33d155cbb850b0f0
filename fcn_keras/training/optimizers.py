"""Keras optimizers and losses from the training recipes, with an optional linear warm-up."""

import functools

import keras
from keras import ops

from fcn_keras.arguments import positive_number, whole_number
from fcn_keras.backends import distribution_scope
from fcn_keras.labels import IGNORE_LABEL
from fcn_keras.loss_specs import check_class_weight_counts
from fcn_keras.losses import segmentation_loss
from fcn_keras.metrics import MeanIoU
from fcn_keras.models.fcn_model import classes_of, heads_of, num_classes_of, variant_of
from fcn_keras.training.recipes import (
    DEFAULT_LR_SCHEDULE,
    DEFAULT_RECIPE,
    PAPER_LEARNING_RATES,
    PAPER_MOMENTUM,
    PAPER_WEIGHT_DECAY,
    PRACTICAL_DECAY_POWER,
    PRACTICAL_FINAL_FRACTION,
    PRACTICAL_LEARNING_RATE,
    RECIPES,
    REFERENCE_PIXELS,
    check_lr_schedule,
    recipe_conflict,
)


@keras.saving.register_keras_serializable(package="fcn_keras")
class LinearWarmUp(keras.optimizers.schedules.LearningRateSchedule):
    """Raises the learning rate linearly from 0 over `warmup_steps`, then follows `schedule`
    (counted from the end of the warm-up).

    Args:
        schedule: a `LearningRateSchedule` or a float, the rate after the warm-up.
        warmup_steps: steps of the linear ramp.

    Example:
        >>> rate = LinearWarmUp(0.01, warmup_steps=100)
        >>> round(float(rate(49)), 6), round(float(rate(500)), 6)
        (0.005, 0.01)
    """

    def __init__(self, schedule, warmup_steps):
        super().__init__()
        self.schedule, self.warmup_steps = schedule, int(warmup_steps)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        after = ops.maximum(step - self.warmup_steps, 0.0)
        target = self.schedule(after) if callable(self.schedule) else ops.convert_to_tensor(self.schedule, "float32")
        return target * ops.minimum(1.0, (step + 1.0) / max(self.warmup_steps, 1))

    def get_config(self):
        schedule = (keras.optimizers.schedules.serialize(self.schedule) if callable(self.schedule)
                    else self.schedule)
        return {"schedule": schedule, "warmup_steps": self.warmup_steps}

    @classmethod
    def from_config(cls, config):
        schedule = config["schedule"]
        if isinstance(schedule, dict):
            schedule = keras.optimizers.schedules.deserialize(schedule)
        return cls(schedule, config["warmup_steps"])


def recipe_optimizer_and_loss(recipe, variant, total_steps=None, learning_rate=None, warmup_steps=0,
                              lr_schedule=DEFAULT_LR_SCHEDULE, loss="ce", class_weights=None,
                              ignore_index=IGNORE_LABEL):
    """The optimizer and loss of a training recipe (see `fcn_keras.training.recipes`).

    Args:
        recipe, variant, total_steps, learning_rate, warmup_steps, lr_schedule: see
            `recipe_optimizer`.
        loss, class_weights, ignore_index: see `recipe_loss`.

    Returns:
        (keras.optimizers.Optimizer, keras.losses.Loss)

    Raises:
        ValueError: an unknown recipe or schedule, or a recipe that cannot train with
            the schedule or loss (`recipe_conflict`).

    Example:
        >>> optimizer, loss = recipe_optimizer_and_loss("paper", "fcn8s")
        >>> f"{float(optimizer.learning_rate):g}", loss.reduction
        ('1e-14', 'sum')
    """
    return (recipe_optimizer(recipe, variant, total_steps, learning_rate, warmup_steps, lr_schedule),
            recipe_loss(recipe, loss, class_weights, ignore_index))


def recipe_optimizer(recipe, variant, total_steps=None, learning_rate=None, warmup_steps=0,
                     lr_schedule=DEFAULT_LR_SCHEDULE):
    """The optimizer of a training recipe, with its learning rate or schedule.

    The practical recipe's learning rate follows `lr_schedule` over `total_steps`
    (after any warm-up): "decay", polynomial (power 0.9) to 1% of the rate; "poly",
    DeepLab's `rate * (1 - step/steps) ** 0.9`, to zero; or "constant". The paper's
    recipes keep their fixed rate.

    Keras applies weight decay decoupled from the gradient (w -= lr * wd * w),
    where Caffe adds wd * w to the gradient; at the paper's learning rates the
    difference is far below float precision.

    Args:
        recipe: a key of `RECIPES`.
        variant: "fcn32s", "fcn16s" or "fcn8s" (picks the paper's learning rate).
        total_steps: steps of the whole run, for the practical recipe's schedule.
        learning_rate: overrides the recipe's learning rate.
        warmup_steps: raise the rate linearly from 0 over this many first steps
            (`LinearWarmUp`); the schedule then runs over the remaining steps.
        lr_schedule: a key of `LR_SCHEDULES` (the practical recipe only).

    Returns:
        keras.optimizers.Optimizer

    Example:
        >>> optimizer = recipe_optimizer("practical", "fcn8s", total_steps=100, lr_schedule="poly")
        >>> f"{float(optimizer._learning_rate(50)):.4g}"  # 1e-4 * 0.5 ** 0.9
        '5.359e-05'
    """
    if recipe not in RECIPES:
        raise ValueError(f"Unknown recipe {recipe!r}. Valid recipes: {', '.join(RECIPES)}.")
    check_lr_schedule(lr_schedule)
    _refuse_conflict(recipe, lr_schedule)
    if learning_rate is not None:
        learning_rate = positive_number(learning_rate, "learning_rate")
    warmup_steps = whole_number(warmup_steps, "warmup_steps", minimum=0)
    if recipe == "practical":
        rate = learning_rate or PRACTICAL_LEARNING_RATE
        if total_steps and lr_schedule != "constant":
            final = rate * PRACTICAL_FINAL_FRACTION if lr_schedule == "decay" else 0.0
            rate = keras.optimizers.schedules.PolynomialDecay(rate, max(total_steps - warmup_steps, 1), final,
                                                              power=PRACTICAL_DECAY_POWER)
        optimizer = keras.optimizers.Adam
    else:
        normalized = recipe == "paper_normalized"
        rate = learning_rate or PAPER_LEARNING_RATES[variant] * (REFERENCE_PIXELS if normalized else 1)
        optimizer = functools.partial(keras.optimizers.SGD, momentum=PAPER_MOMENTUM,
                                      weight_decay=PAPER_WEIGHT_DECAY)
    return optimizer(LinearWarmUp(rate, warmup_steps) if warmup_steps else rate)


def recipe_loss(recipe, loss="ce", class_weights=None, ignore_index=IGNORE_LABEL):
    """The loss `loss` names, reduced as `recipe` trains: summed over the pixels for the paper's recipe, their mean
    for the others.

    Args:
        recipe: a key of `RECIPES`.
        loss: the loss, as `fcn_keras.losses.segmentation_loss` takes it ("ce",
            "ce+dice", "focal", ...); the paper's recipe trains on the summed "ce".
        class_weights: one weight per class for the loss, or None.
        ignore_index: the label the loss ignores.

    Example:
        >>> recipe_loss("paper").reduction, type(recipe_loss("practical", "ce+dice")).__name__
        ('sum', 'WeightedSum')
    """
    _refuse_conflict(recipe, loss=loss)
    return segmentation_loss(loss, class_weights=class_weights, ignore_index=ignore_index,
                             reduction="sum" if recipe == "paper" else "mean")


def _refuse_conflict(recipe, lr_schedule=DEFAULT_LR_SCHEDULE, loss="ce"):
    """Raises `recipe_conflict`'s reason as a ValueError, where there is one."""
    conflict = recipe_conflict(recipe, lr_schedule, loss)
    if conflict:
        raise ValueError(conflict)


def compile_for_training(model, recipe=DEFAULT_RECIPE, total_steps=None, learning_rate=None, ignore_index=IGNORE_LABEL,
                         warmup_steps=0, loss_weights=None, lr_schedule=DEFAULT_LR_SCHEDULE, loss="ce",
                         class_weights=None):
    """Compiles an FCN with a recipe's optimizer and loss and the mean IU metric.

    Compiles under the strategy the model was built in, so models built inside
    `strategy.scope()` (MirroredStrategy, TPUStrategy, ...) train distributed.

    Args:
        model: an FCN from the builders.
        recipe, total_steps, learning_rate, warmup_steps, lr_schedule, loss: see
            `recipe_optimizer_and_loss`.
        ignore_index: label that counts in neither loss nor metric.
        loss_weights: for a model with several heads, {head: weight} of each head's
            loss in their sum (default 1 each, as the authors' SIFT Flow nets).
        class_weights: one weight per class for the loss ({head: weights} for a
            model with several heads; a head left out has none), or None.

    Returns:
        The model, compiled.

    Example:
        >>> model = compile_for_training(build_fcn8s(21, backbone="vgg16_tiny"), "paper")
        >>> type(model.optimizer).__name__, float(model.optimizer.momentum), model.loss.reduction
        ('SGD', 0.99, 'sum')
    """
    heads = heads_of(model)
    _check_class_weights_form(class_weights, model)
    with distribution_scope(model):  # the optimizer binds to the strategy it is created in
        optimizer = recipe_optimizer(recipe, variant_of(model), total_steps, learning_rate, warmup_steps,
                                     lr_schedule)
        if heads:  # one loss and one mean IU per head; Keras logs them as <head>_loss, <head>_mean_iou
            metrics = {head: [MeanIoU(classes, ignore_index=ignore_index)] for head, classes in heads.items()}
            losses = {head: recipe_loss(recipe, loss, (class_weights or {}).get(head), ignore_index)
                      for head in heads}
            model.compile(optimizer=optimizer, loss=losses, loss_weights=loss_weights, metrics=metrics)
        else:
            model.compile(optimizer=optimizer, loss=recipe_loss(recipe, loss, class_weights, ignore_index),
                          metrics=[MeanIoU(num_classes_of(model), ignore_index=ignore_index)])
    return model


def _check_class_weights_form(class_weights, model):
    """Refuses class weights that do not fit the model's classes and heads, and "auto", which needs the data."""
    if class_weights is None:
        return
    if isinstance(class_weights, str):
        raise ValueError(f"class_weights={class_weights!r}: 'auto' is computed from the training data by "
                         "run_training; here, pass fcn_keras.training.median_frequency_weights(data, num_classes).")
    check_class_weight_counts(class_weights, classes_of(model), "the model")
