"""Resuming an interrupted training run: what it left, and whether this call is the same run."""

import csv
import math
import os
import shutil

import tensorflow as tf

from fcn_keras.training.callbacks import backup_state
from fcn_keras.training.run_folder import LOG_FILE


def interrupted_state(output_dir, backup_dir):
    """The backup state of an interrupted run to resume, or None.

    What the run logged after its last backup is dropped (those epochs are trained
    again). A backup without a finished epoch is removed: that run failed or was
    killed in its first epoch (on bad data, say) and left nothing to resume.
    """
    state = backup_state(backup_dir)
    if state is None:
        return None
    _keep_logged_epochs(os.path.join(output_dir, LOG_FILE), state["epoch"])
    if not state["epoch"]:
        print(f"Starting {output_dir} over: the interrupted run there finished no epoch.")
        shutil.rmtree(backup_dir)
        return None
    return state


def _keep_logged_epochs(path, epochs):
    """Drops the log rows of epochs a killed run wrote after its last backup (they are trained again)."""
    if not os.path.exists(path):
        return
    with open(path, newline="", encoding="utf-8") as file:
        lines = file.read().splitlines(keepends=True)
    kept = lines[:1] + [line for line in lines[1:] if line.endswith("\n") and _logged_epoch(line) < epochs]
    with open(path + ".partial", "w", newline="", encoding="utf-8") as file:
        file.writelines(kept)
    os.replace(path + ".partial", path)


def _logged_epoch(line):
    try:
        return int(line.split(",", 1)[0])
    except ValueError:
        return math.inf


def best_logged(output_dir, monitor, mode, epochs):
    """Best `monitor` value in the first `epochs` rows of the run's CSV log, or None."""
    path = os.path.join(output_dir, LOG_FILE)
    if not epochs or not os.path.exists(path):
        return None
    with open(path, newline="") as file:
        values = [float(row[monitor]) for row in csv.DictReader(file) if int(row["epoch"]) < epochs]
    values = [value for value in values if math.isfinite(value)]
    return (max if mode == "max" else min)(values) if values else None


def data_fingerprint(dataset):
    """What a resumed run's training data must share with the interrupted run's: batches per pass
    (None where tf.data cannot tell without reading) and the batches' shapes and dtypes."""
    count = int(dataset.cardinality())
    shapes = [f"{tuple(spec.shape)} {spec.dtype.name}" for spec in tf.nest.flatten(dataset.element_spec)]
    return {"batches": count if count >= 0 else None, "element_spec": ", ".join(shapes)}


def check_same_run(state, steps_per_epoch, data, output_dir):
    """Refuses to resume an interrupted run with other steps per epoch or other training data."""
    fix = "resume it with the same data and settings, or pass overwrite=True to start over."
    saved_steps = state["steps_per_epoch"]
    if steps_per_epoch and saved_steps and steps_per_epoch != saved_steps:
        raise ValueError(f"{output_dir}: the interrupted run has {saved_steps} steps per epoch, not "
                         f"{steps_per_epoch}; {fix}")
    saved = state.get("data") or data
    if saved["element_spec"] != data["element_spec"]:
        raise ValueError(f"{output_dir}: the interrupted run trained on batches of {saved['element_spec']}, this "
                         f"data gives {data['element_spec']}; {fix}")
    if None not in (saved["batches"], data["batches"]) and saved["batches"] != data["batches"]:
        raise ValueError(f"{output_dir}: the interrupted run trained on {saved['batches']} batches per pass over "
                         f"its data, this data gives {data['batches']}; {fix}")
