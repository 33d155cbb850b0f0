"""`train` and `train_staged`: `model.fit` with what a long segmentation run needs.

`train` adds the best model by validation mean IU, the last good model, a CSV log,
TensorBoard, a guard that stops on a NaN loss, and an epoch backup that makes a
rerun after a crash resume exactly where the run stopped (see `EpochBackup`).
"""

import functools
import os

import keras
import tensorflow as tf

from fcn_keras.arguments import whole_number
from fcn_keras.defaults import DEFAULT_BACKBONE, DEFAULT_PADDING
from fcn_keras.error_text import library_exception
from fcn_keras.keras_internals import symbolic_build
from fcn_keras.models.fcn import build_fcn
from fcn_keras.models.fcn_model import classes_of, heads_of
from fcn_keras.models.variants import VARIANTS
from fcn_keras.progress import progress_verbosity
from fcn_keras.training.batches import check_batches, count_batches
from fcn_keras.training.callbacks import BestModel, EpochBackup, NaNGuard
from fcn_keras.training.optimizers import compile_for_training
from fcn_keras.training.recipes import DEFAULT_EPOCHS, DEFAULT_LR_SCHEDULE, DEFAULT_RECIPE
from fcn_keras.training.resume import best_logged, check_same_run, data_fingerprint, interrupted_state
from fcn_keras.training.run_folder import (
    BACKUP_DIR,
    BEST_MODEL,
    LAST_MODEL,
    LOG_FILE,
    TENSORBOARD_DIR,
    training_run,
    worker_output_dir,
)
from fcn_keras.write_policy import RunState


def train(
    model,
    train_data,
    validation_data=None,
    *,
    output_dir,
    epochs=DEFAULT_EPOCHS,
    steps_per_epoch=None,
    recipe=DEFAULT_RECIPE,
    learning_rate=None,
    warmup_steps=0,
    lr_schedule=DEFAULT_LR_SCHEDULE,
    loss="ce",
    class_weights=None,
    overwrite=False,
    callbacks=(),
    verbose="auto",
):
    """Trains an FCN with `model.fit` and the callbacks a real run needs; resumes if interrupted.

    Writes to `output_dir`: `best.keras` (highest validation mean IU, or lowest loss
    without validation data), `last.keras` (last epoch whose loss stayed finite),
    `log.csv`, `tensorboard/`, and while running `backup/` (under multi-worker
    training, tasks other than the chief write to `output_dir/workers/<task>-<id>/`).
    Every file is written whole or not at all. Run the same call again after an
    interruption, even a killed process, and it resumes after the last finished
    epoch and ends with the weights an uninterrupted run would have, if the run is
    reproducible: set the global seed first (`keras.utils.set_random_seed(seed)`,
    before building the model and the data) and give `train_data` seeded, e.g.
    `lambda epoch: prepare(source, ..., training=True, seed=seed, epoch=epoch)`.
    That is bit-exact with CPU kernels; on GPUs also call
    `tf.config.experimental.enable_op_determinism()`. A resumed run must keep its
    precision, steps per epoch and data (batches per pass and their shapes): a
    resume that differs is refused. A run stopped before it finished its first
    epoch left nothing to resume and starts over.

    Args:
        model: an FCN (built inside `strategy.scope()` to train distributed). An
            uncompiled model is compiled with `recipe`; if you compile it yourself,
            include `fcn_keras.metrics.MeanIoU`, which `best.keras` is chosen by.
        train_data: batches of (images (N, H, W, 3), masks (N, H, W)): a function
            `epoch -> tf.data.Dataset` (a resumed run builds only the epochs left),
            or one `tf.data.Dataset` iterated again and again (a resumed run then
            replays the finished epochs' batches to skip them).
        validation_data: a `tf.data.Dataset` for validation, or None.
        output_dir: folder for the run; its parent must exist.
        epochs: epochs to train (in total, counting resumed ones).
        steps_per_epoch: batches per epoch; default: one pass over the training data.
        recipe, learning_rate, warmup_steps, lr_schedule, loss: see
            `recipe_optimizer_and_loss`.
        class_weights: one weight per class for the loss ({head: weights} for
            several heads; see `fcn_keras.training.class_weights` to compute them).
        overwrite: replace a finished run in `output_dir` (otherwise an error).
        callbacks: extra Keras callbacks.
        verbose: Keras progress setting; "auto" shows a live bar on a terminal and
            one line per epoch when the output goes to a file or a pipe.

    Returns:
        The Keras `History` (of the epochs this call trained).

    Raises:
        FloatingPointError: the loss became NaN; `last.keras` holds the last good epoch.

    Example:
        >>> source = synthetic_shapes(8, (32, 32))
        >>> data = lambda epoch: prepare(source, batch_size=4, training=True, seed=0, epoch=epoch)
        >>> model = build_fcn8s(5, backbone="vgg16_tiny", padding="same")
        >>> history = train(model, data, output_dir="shapes", epochs=1, verbose=0)
        >>> sorted(history.history), sorted(os.listdir("shapes"))
        (['loss', 'mean_iou'], ['best.keras', 'last.keras', 'log.csv', 'tensorboard'])
    """
    epochs = whole_number(epochs, "epochs")
    if steps_per_epoch is not None:
        steps_per_epoch = whole_number(steps_per_epoch, "steps_per_epoch")
    num_classes = classes_of(model)
    epoch_data = _epoch_data(train_data, num_classes)
    if validation_data is not None:
        validation_data = check_batches(validation_data, num_classes, "validation_data")
    output_dir = worker_output_dir(model, output_dir)
    run = training_run(output_dir)
    starts_over = overwrite or run.check(overwrite) is not RunState.INTERRUPTED
    first_data = epoch_data(0) if starts_over else None  # data of the wrong form is refused before a folder is made
    run.claim(overwrite)
    backup_dir = os.path.join(output_dir, BACKUP_DIR)
    state = interrupted_state(output_dir, backup_dir)
    done = state["epoch"] if state else 0
    if first_data is None:
        first_data = epoch_data(min(done, epochs))  # the first epoch this call trains (built once)
    data = data_fingerprint(first_data)
    if state is not None:
        check_same_run(state, steps_per_epoch, data, output_dir)
    steps_per_epoch = steps_per_epoch or (state and state["steps_per_epoch"]) or count_batches(first_data)
    if not model.compiled:
        compile_for_training(model, recipe, epochs * steps_per_epoch, learning_rate, warmup_steps=warmup_steps,
                             lr_schedule=lr_schedule, loss=loss, class_weights=class_weights)
    guard = NaNGuard(os.path.join(output_dir, LAST_MODEL))
    backup = EpochBackup(backup_dir, steps_per_epoch, guard, data)
    backup.restore(model)
    if state is not None:
        print(f"Resuming {output_dir} after epoch {done} of {epochs}.")
    callback_list = [*_run_callbacks(output_dir, guard, _monitored(model, validation_data is not None), done),
                     *callbacks,
                     backup]  # last: an epoch is done once everything before it has been written for it
    stream = _batch_stream(train_data, epoch_data, first_data, done, epochs, steps_per_epoch)
    _build_from_spec(model, stream)
    history = _fit(model, stream, validation_data=validation_data, epochs=epochs, initial_epoch=done,
                   steps_per_epoch=steps_per_epoch, callbacks=callback_list, shuffle=False,
                   verbose=progress_verbosity(verbose))
    if guard.failed_at:
        epoch, batch = guard.failed_at
        raise FloatingPointError(
            f"The loss became NaN/inf at epoch {epoch}, batch {batch}; training stopped. The last good "
            f"epoch is in {os.path.join(output_dir, LAST_MODEL)} (if one finished). Lower the learning "
            "rate or check the data."
        )
    return history


def _monitored(model, validating):
    """What best.keras is chosen by: the validation mean IU (of the first head, for several), else the loss."""
    if not validating:
        return "loss", "min"
    heads = heads_of(model)
    return (f"val_{next(iter(heads))}_mean_iou" if heads else "val_mean_iou"), "max"


def _run_callbacks(output_dir, guard, monitored, done):
    """The callbacks every run has: the NaN guard, the best model (`monitored`: (logged value, "max" or "min")),
    the CSV log and TensorBoard. A resumed run (`done` epochs) only replaces best.keras with something better."""
    monitor, mode = monitored
    return [
        guard,
        BestModel(guard, os.path.join(output_dir, BEST_MODEL), monitor, mode,
                  best=best_logged(output_dir, monitor, mode, done)),
        keras.callbacks.CSVLogger(os.path.join(output_dir, LOG_FILE), append=True),
        keras.callbacks.TensorBoard(os.path.join(output_dir, TENSORBOARD_DIR)),
    ]


def _build_from_spec(model, stream):
    """Builds the model's loss and metrics from the stream's element spec, as TensorFlow's `fit` does. JAX's and
    PyTorch's `fit` would read a batch from a fresh iterator to build them, which advances the seeds of a pipeline
    that reshuffles on each pass and so breaks exact resume."""
    if keras.backend.backend() == "tensorflow":
        return
    batch = tf.nest.map_structure(lambda spec: keras.KerasTensor(tuple(spec.shape), spec.dtype.name),
                                  stream.element_spec)
    symbolic_build(model, batch)  # Keras' own build step (Trainer), fed no data


def _fit(model, stream, **fit_kwargs):
    """`model.fit`, with a bad label or file found inside the pipeline reported in its own words."""
    try:
        return model.fit(stream, **fit_kwargs)
    except tf.errors.InvalidArgumentError as error:
        if (own := library_exception(error)) is None:
            raise
        raise own from None


def _epoch_data(train_data, num_classes):
    """`epoch -> checked dataset` for either form of `train_data`."""
    if callable(train_data):
        return lambda epoch: check_batches(train_data(epoch), num_classes, "train_data")
    checked = check_batches(train_data, num_classes, "train_data")
    return lambda epoch: checked


def _batch_stream(train_data, epoch_data, first_data, done, epochs, steps_per_epoch):
    """The batches of epochs `done..epochs-1`, exactly those of an uninterrupted run (`first_data`: epoch `done`'s)."""
    if not callable(train_data):  # one dataset, reshuffled on each pass: replay the finished passes
        return first_data.repeat().skip(done * steps_per_epoch)
    if done >= epochs:
        return first_data.take(0)
    remaining = [first_data] + [epoch_data(epoch) for epoch in range(done + 1, epochs)]
    return functools.reduce(lambda first, second: first.concatenate(second),
                            [dataset.repeat().take(steps_per_epoch) for dataset in remaining])


def train_staged(num_classes, train_data, validation_data=None, *, output_dir, epochs=DEFAULT_EPOCHS,
                 backbone=DEFAULT_BACKBONE, backbone_weights=None, padding=DEFAULT_PADDING, dropout=0.5,
                 **train_kwargs):
    """The paper's staged training: FCN-32s, then FCN-16s from it, then FCN-8s from that.

    Each stage trains in `output_dir/<variant>/` with `train`; a stage that finished
    before is not trained again (unless `overwrite=True`), so rerunning an
    interrupted call resumes it. Call it inside `strategy.scope()` to train distributed.

    Args:
        num_classes: classes of the data.
        train_data, validation_data: as for `train` (`train_data` may be a function
            `epoch -> dataset`).
        output_dir: folder of the three stages; its parent must exist.
        epochs: epochs of each stage.
        backbone, backbone_weights, padding, dropout: see `build_fcn` (the weights
            initialize FCN-32s; later stages start from the previous stage's best).
        **train_kwargs: passed to `train` (recipe, learning_rate, steps_per_epoch, ...).

    Returns:
        The trained FCN-8s (the best epoch of the last stage).
    """
    previous = None
    os.makedirs(output_dir, exist_ok=True)
    for variant in VARIANTS:
        stage_dir = os.path.join(output_dir, variant)
        model = build_fcn(variant, num_classes, backbone=backbone, padding=padding, dropout=dropout,
                          backbone_weights=None if previous else backbone_weights, init_from=previous)
        stage = training_run(worker_output_dir(model, stage_dir))
        finished = os.path.exists(stage.file(BEST_MODEL)) and stage.state is not RunState.INTERRUPTED
        if train_kwargs.get("overwrite") or not finished:
            train(model, train_data, validation_data, output_dir=stage_dir, epochs=epochs, **train_kwargs)
        previous = keras.models.load_model(stage.file(BEST_MODEL))
    return previous
