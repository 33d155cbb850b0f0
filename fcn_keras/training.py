"""Training the Keras way: recipes (optimizer + loss), default callbacks and resumable `fit`.

`train` wraps `model.fit` with what a long segmentation run needs: the best model
by validation mean IU, a resumable backup (`BackupAndRestore`, resumed exactly:
the interrupted epoch is replayed on the same batches), a CSV log, TensorBoard
and a guard that stops on a NaN loss without overwriting the last good model.
"""

import csv
import functools
import json
import math
import os
import re
import shutil

import keras
import tensorflow as tf

from fcn_keras.losses import SegmentationCrossEntropy
from fcn_keras.metrics import MeanIoU

# The reference's fixed learning rates for its unnormalized (summed) loss, batch 1.
PAPER_LEARNING_RATES = {"fcn32s": 1e-10, "fcn16s": 1e-12, "fcn8s": 1e-14}
PAPER_MOMENTUM = 0.99
PAPER_WEIGHT_DECAY = 5e-4
# Pixels of a typical VOC image (500x375): the summed loss is about this many times the mean.
REFERENCE_PIXELS = 500 * 375
RECIPES = ("paper", "paper_normalized", "practical")
PRACTICAL_LEARNING_RATE = 1e-4

BEST_MODEL = "best.keras"
LAST_MODEL = "last.keras"
LOG_FILE = "log.csv"
BACKUP_DIR = "backup"
TENSORBOARD_DIR = "tensorboard"


def variant_of(model):
    """"fcn8s", "fcn16s" or "fcn32s", read off a model's skip layers.

    Args:
        model: a model built by `fcn_keras.build_fcn`.

    Returns:
        The variant name.

    Raises:
        ValueError: the model has no `score_fr` layer, so it is not such an FCN.

    Example:
        >>> variant_of(build_fcn16s(21))
        'fcn16s'
    """
    names = {layer.name for layer in model.layers}
    if "score_fr" not in names:
        raise ValueError(f"{model.name!r} is not an FCN built by fcn_keras (it has no 'score_fr' layer).")
    return "fcn8s" if "score_pool3" in names else "fcn16s" if "score_pool4" in names else "fcn32s"


@keras.saving.register_keras_serializable(package="fcn_keras")
class LinearWarmUp(keras.optimizers.schedules.LearningRateSchedule):
    """Raises the learning rate linearly from 0 over `warmup_steps`, then follows `schedule`
    (counted from the end of the warm-up).

    Args:
        schedule: a `LearningRateSchedule` or a float, the rate after the warm-up.
        warmup_steps: steps of the linear ramp.

    Example:
        >>> rate = LinearWarmUp(0.01, warmup_steps=100)
        >>> float(rate(49)), float(rate(500))
        (0.005, 0.01)
    """

    def __init__(self, schedule, warmup_steps):
        super().__init__()
        self.schedule, self.warmup_steps = schedule, int(warmup_steps)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        after = tf.maximum(step - self.warmup_steps, 0.0)
        target = self.schedule(after) if callable(self.schedule) else tf.constant(self.schedule, tf.float32)
        return target * tf.minimum(1.0, (step + 1.0) / max(self.warmup_steps, 1))

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


def recipe_optimizer_and_loss(recipe, variant, total_steps=None, learning_rate=None, warmup_steps=0):
    """The optimizer and loss of a training recipe.

    - "paper": SGD, momentum 0.99, weight decay 5e-4, fixed lr 1e-10 / 1e-12 / 1e-14
      (32s / 16s / 8s) on the unnormalized (summed) loss, batch 1, as the reference.
    - "paper_normalized": the same with the per-pixel mean loss and the lr scaled
      by the pixels of a 500x375 image, so it does not depend on the loss's scale.
    - "practical": Adam with polynomial (power 0.9) decay over `total_steps` from
      `learning_rate` (default 1e-4) and the mean loss; for batched crops of your data.

    Keras applies weight decay decoupled from the gradient (w -= lr * wd * w),
    where Caffe adds wd * w to the gradient; at the paper's learning rates the
    difference is far below float precision.

    Args:
        recipe: one of RECIPES.
        variant: "fcn32s", "fcn16s" or "fcn8s" (picks the paper's learning rate).
        total_steps: steps of the whole run, for the practical recipe's decay.
        learning_rate: overrides the recipe's learning rate.
        warmup_steps: raise the rate linearly from 0 over this many first steps
            (`LinearWarmUp`); the decay then runs over the remaining steps.

    Returns:
        (keras.optimizers.Optimizer, SegmentationCrossEntropy)

    Example:
        >>> optimizer, loss = recipe_optimizer_and_loss("paper", "fcn8s")
        >>> float(optimizer.learning_rate), loss.reduction
        (1e-14, 'sum')
    """
    if recipe not in RECIPES:
        raise ValueError(f"Unknown recipe {recipe!r}. Valid recipes: {', '.join(RECIPES)}.")
    if recipe == "practical":
        rate = learning_rate or PRACTICAL_LEARNING_RATE
        if total_steps:
            decay_steps = max(total_steps - warmup_steps, 1)
            rate = keras.optimizers.schedules.PolynomialDecay(rate, decay_steps, rate * 0.01, power=0.9)
        optimizer, loss = keras.optimizers.Adam, SegmentationCrossEntropy()
    else:
        normalized = recipe == "paper_normalized"
        rate = learning_rate or PAPER_LEARNING_RATES[variant] * (REFERENCE_PIXELS if normalized else 1)
        optimizer = functools.partial(keras.optimizers.SGD, momentum=PAPER_MOMENTUM,
                                      weight_decay=PAPER_WEIGHT_DECAY)
        loss = SegmentationCrossEntropy(reduction="mean" if normalized else "sum")
    return optimizer(LinearWarmUp(rate, warmup_steps) if warmup_steps else rate), loss


def compile_for_training(model, recipe="practical", total_steps=None, learning_rate=None, ignore_index=255,
                         warmup_steps=0):
    """Compiles an FCN with a recipe's optimizer and loss and the mean IU metric.

    Compiles under the strategy the model was built in, so models built inside
    `strategy.scope()` (MirroredStrategy, TPUStrategy, ...) train distributed.

    Args:
        model: an FCN from the builders.
        recipe, total_steps, learning_rate, warmup_steps: see `recipe_optimizer_and_loss`.
        ignore_index: label that counts in neither loss nor metric.

    Returns:
        The model, compiled.

    Example:
        >>> compile_for_training(build_fcn8s(21), "paper")  # doctest: +SKIP
    """
    with model.distribute_strategy.scope():  # the optimizer binds to the strategy it is created in
        optimizer, loss = recipe_optimizer_and_loss(recipe, variant_of(model), total_steps, learning_rate,
                                                    warmup_steps)
        loss.ignore_index = ignore_index
        model.compile(optimizer=optimizer, loss=loss,
                      metrics=[MeanIoU(model.output_shape[-1], ignore_index=ignore_index)])
    return model


class ResumableBackup(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` at epoch ends that also tells how many epochs are done."""

    def completed_epochs(self):
        """Epochs finished by the run this backup belongs to (0 if there is none)."""
        if not os.path.exists(self._training_metadata_path):
            return 0
        with open(self._training_metadata_path) as file:
            return int(json.load(file)["epoch"])


class GuardedCheckpoint(keras.callbacks.ModelCheckpoint):
    """`ModelCheckpoint` that saves nothing once `guard` (a `NaNGuard`) has seen a bad loss."""

    def __init__(self, guard, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.guard = guard

    def on_epoch_end(self, epoch, logs=None):
        if self.guard.failed_at is None:
            super().on_epoch_end(epoch, logs)


class NaNGuard(keras.callbacks.Callback):
    """Stops on a NaN/inf loss; saves `path` at each epoch end only while the loss is finite.

    So the saved model is always the last good one. `failed_at` is (epoch, batch)
    of the first bad loss, or None.
    """

    def __init__(self, path):
        super().__init__()
        self.path = path
        self.failed_at = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if self.failed_at is None and loss is not None and not math.isfinite(float(loss)):
            self.failed_at = (self._epoch + 1, batch + 1)
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.failed_at is None:
            self.model.save(self.path)


def train(
    model,
    train_data,
    validation_data=None,
    *,
    output_dir,
    epochs=10,
    steps_per_epoch=None,
    recipe="practical",
    learning_rate=None,
    warmup_steps=0,
    overwrite=False,
    callbacks=(),
    verbose="auto",
):
    """Trains an FCN with `model.fit` and the callbacks a real run needs; resumes if interrupted.

    Writes to `output_dir`: `best.keras` (highest validation mean IU, or lowest loss
    without validation data), `last.keras` (last epoch whose loss stayed finite),
    `log.csv`, `tensorboard/`, and while running `backup/` (under multi-worker
    training, tasks other than the chief write to `output_dir/workers/<task>-<id>/`).
    Run the same call again after an interruption and it resumes from the last
    finished epoch, replaying exactly the batches an uninterrupted run would have
    seen (for a deterministic `train_data`, e.g. `prepare(..., seed=0)` under the
    same global seed).

    Args:
        model: an FCN (built inside `strategy.scope()` to train distributed). An
            uncompiled model is compiled with `recipe`; if you compile it yourself,
            include `fcn_keras.metrics.MeanIoU`, which `best.keras` is chosen by.
        train_data: tf.data.Dataset of (images (N, H, W, 3), masks (N, H, W)) batches.
        validation_data: the same for validation, or None.
        output_dir: folder for the run; its parent must exist.
        epochs: epochs to train (in total, counting resumed ones).
        steps_per_epoch: batches per epoch; default: one pass over `train_data`.
        recipe, learning_rate, warmup_steps: see `recipe_optimizer_and_loss`.
        overwrite: replace a finished run in `output_dir` (otherwise an error).
        callbacks: extra Keras callbacks.
        verbose: Keras progress bar setting.

    Returns:
        The Keras `History`.

    Raises:
        FloatingPointError: the loss became NaN; `last.keras` holds the last good epoch.

    Example:
        >>> data = prepare(synthetic_shapes(256, (64, 64)), batch_size=8, training=True, seed=0)
        >>> model = build_fcn8s(5, backbone="vgg16_slim", padding="same")
        >>> train(model, data, output_dir="runs/shapes", epochs=5)  # doctest: +SKIP
    """
    num_classes = model.output_shape[-1]
    for name, data in (("train_data", train_data), ("validation_data", validation_data)):
        if data is not None:
            check_batches(data, num_classes, name)
    steps_per_epoch = steps_per_epoch or _count_batches(train_data)
    output_dir = _worker_output_dir(model, output_dir)
    _prepare_output_dir(output_dir, overwrite)

    backup = ResumableBackup(os.path.join(output_dir, BACKUP_DIR))
    done = backup.completed_epochs()
    if done:
        print(f"Resuming {output_dir} after epoch {done} of {epochs}.")
    monitor, mode = ("val_mean_iou", "max") if validation_data is not None else ("loss", "min")
    guard = NaNGuard(os.path.join(output_dir, LAST_MODEL))
    callback_list = [
        backup,
        guard,
        # A resumed run only replaces best.keras with something better than what it holds.
        GuardedCheckpoint(guard, os.path.join(output_dir, BEST_MODEL), monitor=monitor, mode=mode,
                          save_best_only=True, initial_value_threshold=_best_logged(output_dir, monitor, mode, done)),
        keras.callbacks.CSVLogger(os.path.join(output_dir, LOG_FILE), append=True),
        keras.callbacks.TensorBoard(os.path.join(output_dir, TENSORBOARD_DIR)),
        *callbacks,
    ]
    if not model.compiled:
        compile_for_training(model, recipe, epochs * steps_per_epoch, learning_rate, warmup_steps=warmup_steps)
    # One endless, deterministic stream of batches; a resumed run skips what was trained.
    stream = train_data.repeat().skip(done * steps_per_epoch)
    try:
        history = model.fit(stream, validation_data=validation_data, epochs=epochs,
                            steps_per_epoch=steps_per_epoch, callbacks=callback_list, shuffle=False, verbose=verbose)
    except tf.errors.InvalidArgumentError as error:
        message = _label_error(error)
        if message is None:
            raise
        raise ValueError(message) from None
    if guard.failed_at:
        epoch, batch = guard.failed_at
        raise FloatingPointError(
            f"The loss became NaN/inf at epoch {epoch}, batch {batch}; training stopped. The last good "
            f"epoch is in {os.path.join(output_dir, LAST_MODEL)} (if one finished). Lower the learning "
            "rate or check the data."
        )
    return history


def train_staged(num_classes, train_data, validation_data=None, *, output_dir, epochs=10, backbone="vgg16",
                 backbone_weights=None, padding="paper", dropout=0.5, **train_kwargs):
    """The paper's staged training: FCN-32s, then FCN-16s from it, then FCN-8s from that.

    Each stage trains in `output_dir/<variant>/` with `train`; a stage that finished
    before is not trained again (unless `overwrite=True`), so rerunning an
    interrupted call resumes it. Call it inside `strategy.scope()` to train distributed.

    Args:
        num_classes: classes of the data.
        train_data, validation_data: batched datasets, as for `train`.
        output_dir: folder of the three stages; its parent must exist.
        epochs: epochs of each stage.
        backbone, backbone_weights, padding, dropout: see `build_fcn` (the weights
            initialize FCN-32s; later stages start from the previous stage's best).
        **train_kwargs: passed to `train` (recipe, learning_rate, steps_per_epoch, ...).

    Returns:
        The trained FCN-8s (the best epoch of the last stage).

    Example:
        >>> fcn8s = train_staged(21, train, val, output_dir="runs/voc", backbone_weights="imagenet",
        ...                      recipe="paper")  # doctest: +SKIP
    """
    from fcn_keras.models import build_fcn

    previous = None
    os.makedirs(output_dir, exist_ok=True)
    for variant in ("fcn32s", "fcn16s", "fcn8s"):
        stage_dir = os.path.join(output_dir, variant)
        model = build_fcn(variant, num_classes, backbone=backbone, padding=padding, dropout=dropout,
                          backbone_weights=None if previous else backbone_weights, init_from=previous)
        best = os.path.join(_worker_output_dir(model, stage_dir), BEST_MODEL)
        finished = os.path.exists(best) and not os.path.isdir(os.path.join(os.path.dirname(best), BACKUP_DIR))
        if train_kwargs.get("overwrite") or not finished:
            train(model, train_data, validation_data, output_dir=stage_dir, epochs=epochs, **train_kwargs)
        previous = keras.models.load_model(best)
    return previous


def check_batches(dataset, num_classes, name="dataset"):
    """Checks, without reading it, that a dataset yields batches (images (N, H, W, 3), masks (N, H, W)).

    Labels are checked batch by batch in the graph, by the loss and the metric;
    `train` reports a bad one as a `ValueError`.

    Args:
        dataset: a `tf.data.Dataset`.
        num_classes: classes the model predicts (named in the error).
        name: what to call the dataset in errors.

    Raises:
        ValueError: the elements are not (images, masks) pairs of those shapes.

    Example:
        >>> check_batches(prepare(synthetic_shapes(4, (32, 32))), num_classes=5)
    """
    spec = dataset.element_spec
    shapes = [part.shape for part in spec] if isinstance(spec, tuple) and len(spec) == 2 else None
    if shapes is None or shapes[0].rank != 4 or shapes[0][-1] != 3 or shapes[1].rank not in (3, 4):
        raise ValueError(
            f"{name}: expected batches of (RGB images (N, H, W, 3), masks (N, H, W)) for a model with "
            f"{num_classes} classes, got elements {spec}; batch (image, mask) pairs, e.g. with "
            "fcn_keras.data.prepare."
        )


def _label_error(error):
    """The sentence of a failed in-graph label check (see `losses.prepare_labels`), or None."""
    for line in error.message.splitlines():
        if line.startswith("assertion failed: [The masks hold the label]"):
            return " ".join(re.findall(r"\[([^\[\]]*)\]", line))
    return None


def _best_logged(output_dir, monitor, mode, epochs):
    """Best `monitor` value in the first `epochs` rows of the run's CSV log, or None."""
    path = os.path.join(output_dir, LOG_FILE)
    if not epochs or not os.path.exists(path):
        return None
    with open(path, newline="") as file:
        values = [float(row[monitor]) for row in csv.DictReader(file) if int(row["epoch"]) < epochs]
    values = [value for value in values if math.isfinite(value)]
    return (max if mode == "max" else min)(values) if values else None


def _count_batches(dataset):
    count = int(dataset.cardinality())
    if count == tf.data.INFINITE_CARDINALITY:
        raise ValueError("train_data is endless; pass steps_per_epoch.")
    if count == tf.data.UNKNOWN_CARDINALITY:
        count = int(dataset.reduce(0, lambda total, _: total + 1))
    if count == 0:
        raise ValueError("train_data is empty: it yielded no batch.")
    return count


def _worker_output_dir(model, output_dir):
    """`output_dir` for the chief; `output_dir/workers/<task>-<id>` for other multi-worker tasks."""
    strategy = model.distribute_strategy
    resolver = getattr(strategy, "cluster_resolver", None)
    if strategy.extended.should_checkpoint or resolver is None:
        return output_dir
    worker_dir = os.path.join(output_dir, "workers", f"{resolver.task_type}-{resolver.task_id}")
    os.makedirs(os.path.dirname(worker_dir), exist_ok=True)
    return worker_dir


def _prepare_output_dir(output_dir, overwrite):
    parent = os.path.dirname(os.path.abspath(output_dir))
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"Cannot write the run to {output_dir}: its parent folder {parent} does not exist.")
    if os.path.isdir(os.path.join(output_dir, BACKUP_DIR)):
        return  # an interrupted run: resume it
    log = os.path.join(output_dir, LOG_FILE)
    results = [name for name in (BEST_MODEL, LAST_MODEL) if os.path.exists(os.path.join(output_dir, name))]
    if os.path.exists(log):
        with open(log) as file:
            if len(file.read().strip().splitlines()) > 1:  # a header alone: stopped in its first epoch
                results.append(LOG_FILE)
    if results and not overwrite:
        raise FileExistsError(
            f"{output_dir} already holds a finished run ({', '.join(results)}); pass overwrite=True "
            "(--overwrite) to replace it, or choose another folder."
        )
    for name in (BEST_MODEL, LAST_MODEL, LOG_FILE):
        if os.path.exists(os.path.join(output_dir, name)):
            os.remove(os.path.join(output_dir, name))
    shutil.rmtree(os.path.join(output_dir, TENSORBOARD_DIR), ignore_errors=True)
    os.makedirs(output_dir, exist_ok=True)
