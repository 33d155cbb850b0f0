"""The callbacks a long run needs beyond Keras' own: a crash-proof backup, a NaN guard, the best model.

Every file they write is written whole or not at all (to a temporary name, then
renamed), so a run killed at any moment, even while saving, leaves only complete
files behind.
"""

import json
import math
import os
import shutil
import warnings

import keras

from fcn_keras.backends import distribution_scope
from fcn_keras.training.run_folder import BACKUP_STATE
from fcn_keras.write_policy import save_atomically


def random_generators(model):
    """{"<layer>/<attribute>": keras.random.SeedGenerator} of a model (dropout's, for instance).

    Their states drive random layers; weight files do not hold them, so a resumed
    run needs them restored to draw the masks an uninterrupted run would.

    Example:
        >>> sorted(random_generators(build_fcn8s(3, backbone="vgg16_tiny")))
        ['drop6/seed_generator', 'drop7/seed_generator']
    """
    found = {}
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found.update({f"{layer.name}/{key}": value for key, value in random_generators(layer).items()})
        for attribute, value in vars(layer).items():
            if isinstance(value, keras.random.SeedGenerator):
                found[f"{layer.name}/{attribute}"] = value
    return found


def backup_state(folder):
    """What an `EpochBackup` in `folder` saved last: {"epoch": epochs done, "weights": file name or None,
    "steps_per_epoch": int, "data": {"batches", "element_spec"} of the training data, "policy": dtype policy,
    "random": {generator: state}}, or None without a backup."""
    path = os.path.join(folder, BACKUP_STATE)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as file:
        return json.load(file)


class EpochBackup(keras.callbacks.Callback):
    """Saves the weights, optimizer state and random-layer states after each epoch as one atomic step.

    `state.json` is written when training begins (no epoch done yet) and removed
    when it ends normally (the run's other files are final by then), so it exists
    exactly while a run is unfinished. At each epoch end the weights go to
    `epoch-<n>.weights.h5`, then `state.json` is replaced to point at them (the
    commit), then the previous epoch's file is removed. Keep this callback last, so
    that an epoch counts as done only once every other callback has written its
    files for it. An epoch that `guard` saw go NaN is never committed.

    Args:
        folder: where the backup lives.
        steps_per_epoch: recorded, so a resumed run need not count its data again.
        data: what identifies the training data ({"batches", "element_spec"}), recorded so
            that a resume on other data can be refused.
        guard: the run's `NaNGuard`, or None.

    Example:
        >>> backup = EpochBackup("backup", steps_per_epoch=8498)
        >>> backup.set_model(build_fcn8s(3, backbone="vgg16_tiny", padding="same"))
        >>> backup.on_train_begin()  # as `model.fit` calls it
        >>> backup.on_epoch_end(0)
        >>> {key: backup.state()[key] for key in ("epoch", "weights", "steps_per_epoch")}
        {'epoch': 1, 'weights': 'epoch-1.weights.h5', 'steps_per_epoch': 8498}
        >>> backup.on_train_end()  # a finished run keeps no backup
        >>> backup.state() is None
        True
    """

    def __init__(self, folder, steps_per_epoch=None, guard=None, data=None):
        super().__init__()
        self.folder, self.steps_per_epoch, self.guard, self.data = folder, steps_per_epoch, guard, data

    @property
    def state_path(self):
        return os.path.join(self.folder, BACKUP_STATE)

    def state(self):
        """This backup's `backup_state`."""
        return backup_state(self.folder)

    def restore(self, model):
        """Loads the saved weights and optimizer state into `model` (compiled); returns the epochs done.

        Raises:
            ValueError: the interrupted run trained in another dtype policy (its precision).
        """
        state = self.state()
        if state is None or state["weights"] is None:
            return 0
        if state.get("policy", model.dtype_policy.name) != model.dtype_policy.name:
            raise ValueError(f"{self.folder}: the interrupted run trained in {state['policy']}, this one would "
                             f"in {model.dtype_policy.name}; resume with precision={state['policy']!r} (or pass "
                             "overwrite=True to start over).")
        with distribution_scope(model):
            if model.optimizer is not None and not model.optimizer.built:
                model.optimizer.build(model.trainable_variables)
            model.load_weights(os.path.join(self.folder, state["weights"]))
            generators = random_generators(model)
            for key, value in state.get("random", {}).items():
                generators[key].state.assign(value)
        return int(state["epoch"])

    def on_train_begin(self, logs=None):
        if self.state() is None:  # from here on the folder holds an unfinished run
            self._commit(0, None)

    def on_epoch_end(self, epoch, logs=None):
        if self.guard is not None and self.guard.failed_at is not None:
            return
        weights = f"epoch-{epoch + 1}.weights.h5"
        self.model.save_weights(os.path.join(self.folder, "partial.weights.h5"), overwrite=True)
        os.replace(os.path.join(self.folder, "partial.weights.h5"), os.path.join(self.folder, weights))
        self._commit(epoch + 1, weights)

    def _commit(self, epochs_done, weights):
        os.makedirs(self.folder, exist_ok=True)
        previous = self.state()
        state = {"epoch": epochs_done, "weights": weights, "steps_per_epoch": self.steps_per_epoch, "data": self.data,
                 "policy": self.model.dtype_policy.name,
                 "random": {key: keras.ops.convert_to_numpy(generator.state).tolist()
                            for key, generator in random_generators(self.model).items()}}
        with open(self.state_path + ".partial", "w", encoding="utf-8") as file:
            json.dump(state, file)
        os.replace(self.state_path + ".partial", self.state_path)
        if previous and previous["weights"] not in (None, weights):
            os.remove(os.path.join(self.folder, previous["weights"]))

    def on_train_end(self, logs=None):
        if os.path.exists(self.state_path):
            os.remove(self.state_path)  # the run is finished from here on
        shutil.rmtree(self.folder, ignore_errors=True)


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
            save_atomically(self.model, self.path)


class BestModel(keras.callbacks.Callback):
    """Saves the model to `path` whenever `monitor` improves on the best seen, and only while
    `guard` (a `NaNGuard`) has seen no bad loss.

    Args:
        guard: the run's `NaNGuard`.
        path: the `.keras` file.
        monitor: a log key, e.g. "val_mean_iou".
        mode: "max" or "min".
        best: the best value of earlier epochs of this run (a resumed run), or None.

    Example:
        >>> best = BestModel(NaNGuard("last.keras"), "best.keras", "val_mean_iou", "max")
        >>> best.set_model(build_fcn8s(3, backbone="vgg16_tiny", padding="same"))
        >>> for epoch, mean_iou in enumerate([0.4, 0.6, 0.5]):  # as `model.fit` calls it
        ...     best.on_epoch_end(epoch, {"val_mean_iou": mean_iou})
        >>> best.best, os.path.exists("best.keras")  # saved after the first and the second epoch
        (0.6, True)
    """

    def __init__(self, guard, path, monitor, mode, best=None):
        super().__init__()
        self.guard, self.path, self.monitor, self.mode, self.best = guard, path, monitor, mode, best
        self._warned = False

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None and not self._warned:
            self._warned = True
            warnings.warn(f"No {os.path.basename(self.path)} is written: it is chosen by {self.monitor!r}, which "
                          "the epoch's logs lack; compile the model with fcn_keras.metrics.MeanIoU (or let train "
                          "compile it).", stacklevel=2)
        if self.guard.failed_at is not None or value is None or not math.isfinite(float(value)):
            return
        if self.best is None or (value > self.best if self.mode == "max" else value < self.best):
            self.best = float(value)
            save_atomically(self.model, self.path)
