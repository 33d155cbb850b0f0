"""What a training run writes in its folder, and which folder each multi-worker task uses."""

import os

from fcn_keras.models.variants import VARIANTS
from fcn_keras.write_policy import RunFolder, partial_path

BEST_MODEL = "best.keras"
LAST_MODEL = "last.keras"
LOG_FILE = "log.csv"
BACKUP_DIR = "backup"
BACKUP_STATE = "state.json"  # in BACKUP_DIR, while a run is unfinished (see `EpochBackup`)
TENSORBOARD_DIR = "tensorboard"


def training_run(output_dir):
    """The `RunFolder` of a training run: finished once a model or a logged epoch is there,
    interrupted while its backup's state file is (see `EpochBackup`).

    Args:
        output_dir: the run's folder.

    Returns:
        `fcn_keras.write_policy.RunFolder`.

    Example:
        >>> training_run("runs/voc").state
        <RunState.NEW: 'new'>
        >>> os.makedirs("runs/voc/backup")
        >>> open("runs/voc/backup/state.json", "w").close()  # as `EpochBackup` leaves it while a run is unfinished
        >>> training_run("runs/voc").state
        <RunState.INTERRUPTED: 'interrupted'>
    """
    return RunFolder(output_dir, results=(BEST_MODEL, LAST_MODEL, LOG_FILE),
                     scratch=(TENSORBOARD_DIR, BACKUP_DIR, partial_path(BEST_MODEL), partial_path(LAST_MODEL)),
                     resume_marker=os.path.join(BACKUP_DIR, BACKUP_STATE))


def check_training_output(output_dir, overwrite=False, staged=False):
    """Refuses, changing nothing, an output folder a training run may not use; call it before slow work.

    Args:
        output_dir: the run's folder (of `train`, or of `train_staged` with `staged`).
        overwrite: a finished run may be replaced.
        staged: the folder of staged training, whose last stage decides whether it finished.

    Raises:
        FileNotFoundError, NotADirectoryError, FileExistsError: see `RunFolder.check`.

    Example:
        >>> os.makedirs("runs/old-run")
        >>> open("runs/old-run/best.keras", "w").close()
        >>> check_training_output("runs/new-run")  # may be used
        >>> check_training_output("runs/old-run")
        Traceback (most recent call last):
        FileExistsError: runs/old-run already holds a finished run (best.keras); pass overwrite=True to replace it, ...
    """
    if not staged:
        training_run(output_dir).check(overwrite)
        return
    RunFolder(output_dir, results=()).check(overwrite, what="staged run")
    last_stage = os.path.join(output_dir, list(VARIANTS)[-1])
    if os.path.isdir(output_dir):
        training_run(last_stage).check(overwrite, what="staged run")


def worker_output_dir(model, output_dir):
    """`output_dir` for the chief; `output_dir/workers/<task>-<id>` for other multi-worker tasks.

    Args:
        model: the model, built under the strategy it trains with.
        output_dir: the run's folder.

    Returns:
        The folder this task writes to.

    Example:
        >>> worker_output_dir(fcn_keras.build_fcn8s(3, backbone="vgg16_tiny"), "runs/voc")  # one process: the chief
        'runs/voc'
    """
    import keras  # here, not at the top: the command line imports this module before it needs Keras

    if keras.backend.backend() != "tensorflow":  # tf.distribute workers are TensorFlow's
        return output_dir
    strategy = model.distribute_strategy
    resolver = getattr(strategy, "cluster_resolver", None)
    if strategy.extended.should_checkpoint or resolver is None:
        return output_dir
    worker_dir = os.path.join(output_dir, "workers", f"{resolver.task_type}-{resolver.task_id}")
    os.makedirs(os.path.dirname(worker_dir), exist_ok=True)
    return worker_dir
