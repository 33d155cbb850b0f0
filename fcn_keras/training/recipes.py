"""The training recipes as data: the reference's optimizer settings and a practical default.

- "paper": SGD, momentum 0.99, weight decay 5e-4, fixed lr 1e-10 / 1e-12 / 1e-14
  (32s / 16s / 8s) on the unnormalized (summed) loss, batch 1, as the reference.
- "paper_normalized": the same with the per-pixel mean loss and the lr scaled by
  the pixels of a 500x375 image, so it does not depend on the loss's scale.
- "practical": Adam with polynomial (power 0.9) decay from 1e-4 and the mean
  loss; for batched crops of your data. Its learning-rate schedule is one of
  `LR_SCHEDULES`: "decay" (the default, to 1% of the rate), "poly" (DeepLab's
  `(1 - step/steps) ** 0.9`, to zero) or "constant".

`fcn_keras.training.optimizers` turns a recipe into Keras objects. Needs no TensorFlow.
"""

from fcn_keras.loss_specs import parse_loss_spec

# The reference's fixed learning rates for its unnormalized (summed) loss, batch 1.
PAPER_LEARNING_RATES = {"fcn32s": 1e-10, "fcn16s": 1e-12, "fcn8s": 1e-14}
PAPER_MOMENTUM = 0.99
PAPER_WEIGHT_DECAY = 5e-4
# Pixels of a typical VOC image (500x375): the summed loss is about this many times the mean.
REFERENCE_PIXELS = 500 * 375
PRACTICAL_LEARNING_RATE = 1e-4
PRACTICAL_DECAY_POWER = 0.9
PRACTICAL_FINAL_FRACTION = 0.01  # the decay ends at 1% of the starting rate
DEFAULT_EPOCHS = 10

DEFAULT_LR_SCHEDULE = "decay"
LR_SCHEDULES = {
    "decay": f"polynomial (power {PRACTICAL_DECAY_POWER}) to {PRACTICAL_FINAL_FRACTION:.0%} of the rate (default)",
    "poly": f"DeepLab's poly, rate * (1 - step/steps) ** {PRACTICAL_DECAY_POWER}, to zero",
    "constant": "the rate throughout",
}
"""The practical recipe's learning-rate schedules (after any warm-up); the paper's recipes keep a fixed rate."""

DEFAULT_RECIPE = "practical"
RECIPES = {
    "paper": f"SGD, momentum {PAPER_MOMENTUM}, weight decay {PAPER_WEIGHT_DECAY}, lr "
             f"{'/'.join(str(rate) for rate in PAPER_LEARNING_RATES.values())} on the summed loss (the reference's)",
    "paper_normalized": "the paper's SGD on the mean loss, lr scaled by the pixels of a 500x375 image",
    "practical": f"Adam with polynomial (power {PRACTICAL_DECAY_POWER}) decay on the mean loss "
                 f"(default lr {PRACTICAL_LEARNING_RATE})",
}


def check_lr_schedule(lr_schedule):
    """Refuses a name that is not one of `LR_SCHEDULES`.

    Example:
        >>> check_lr_schedule("cosine")
        Traceback (most recent call last):
        ValueError: Unknown lr_schedule 'cosine'. Valid schedules: decay, poly, constant.
    """
    if lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"Unknown lr_schedule {lr_schedule!r}. Valid schedules: {', '.join(LR_SCHEDULES)}.")


def recipe_conflict(recipe, lr_schedule=DEFAULT_LR_SCHEDULE, loss="ce"):
    """Why `recipe` cannot train with `lr_schedule` or `loss`, in one line, or None.

    Only the practical recipe has schedules (the paper's keep a fixed rate), and the
    paper's recipe trains on the summed cross-entropy alone.

    Example:
        >>> recipe_conflict("practical", "poly", "ce+dice") is None
        True
        >>> recipe_conflict("paper", loss="ce+dice")
        "recipe='paper' trains on the summed cross-entropy, which is not a mean as loss='ce+dice' needs; ..."
    """
    if recipe != "practical" and lr_schedule != DEFAULT_LR_SCHEDULE:
        return (f"lr_schedule={lr_schedule!r} is a schedule of the practical recipe; recipe={recipe!r} keeps the "
                "paper's fixed rate. Use recipe='practical' or drop `lr_schedule`.")
    if recipe == "paper" and parse_loss_spec(loss) != [("ce", 1.0)]:
        return (f"recipe='paper' trains on the summed cross-entropy, which is not a mean as loss={loss!r} needs; "
                "use recipe='practical' or recipe='paper_normalized', or drop `loss`.")
    return None
