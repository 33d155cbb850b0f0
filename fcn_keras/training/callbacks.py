"""The callbacks a long run needs beyond Keras' own: an epoch-counting backup, a NaN guard, a guarded checkpoint."""

import json
import math
import os

import keras


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
