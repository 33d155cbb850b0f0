"""The one policy for what commands write: never overwrite unasked, resume what was interrupted.

`claim_files` is for loose outputs (a scores file, predicted masks, an export),
`save_atomically` writes a model whole or not at all;
`RunFolder` is for a folder a run fills over time (training, the demo), which is
new, interrupted (resumable) or finished (kept unless the caller asks to
overwrite it). Needs no TensorFlow.
"""

import contextlib
import enum
import os
import shutil

REPLACE_HINT = "pass overwrite=True to replace it, or choose another output"


def claim_files(paths, overwrite=False, hint=REPLACE_HINT):
    """Makes `paths` ready to be written: refuses existing files unless `overwrite`, and folders always.

    Nothing is removed: with `overwrite` the writer replaces each file when it has
    its new content, so a failed run keeps the previous results. Parent folders
    are created.

    Args:
        paths: files about to be written; None entries are skipped.
        overwrite: let existing files be replaced instead of refusing.
        hint: the end of the refusal: how to get past it.

    Returns:
        The claimed paths as str, in order.

    Raises:
        IsADirectoryError: a path is a folder (an output file was meant).
        FileExistsError: a path exists and `overwrite` is False; names it and the count.

    Example:
        >>> claim_files(["runs/scores.json", "runs/confusion.png"])
        ['runs/scores.json', 'runs/confusion.png']
        >>> open("runs/scores.json", "w").close()
        >>> claim_files(["runs/scores.json"])
        Traceback (most recent call last):
        FileExistsError: ...runs/scores.json...
    """
    paths = [os.fspath(path) for path in paths if path is not None]
    folders = [path for path in paths if os.path.isdir(path)]
    if folders:
        raise IsADirectoryError(f"{folders[0]} is a folder; give the path of a file to write there.")
    existing = [path for path in paths if os.path.lexists(path)]
    if existing and not overwrite:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise FileExistsError(f"{existing[0]} already exists{more}; {hint}.")
    for path in paths:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return paths


def save_atomically(model, path):
    """`model.save(path)` through a temporary file renamed over `path`: never a half-written model.

    Args:
        model: the model.
        path: the `.keras` file.

    Example:
        >>> os.makedirs("runs/voc")
        >>> save_atomically(fcn_keras.build_fcn8s(3, backbone="vgg16_tiny"), "runs/voc/best.keras")
        >>> os.listdir("runs/voc")
        ['best.keras']
    """
    with written_whole(path) as partial:
        model.save(partial)


@contextlib.contextmanager
def written_whole(path):
    """A temporary name beside `path` to write to; `path` appears, renamed from it, only once the block has ended
    without an error, and a block that fails leaves nothing.

    Args:
        path: the file to write.

    Yields:
        The temporary path (`partial_path(path)`, in the same folder, so the rename is atomic).

    Example:
        >>> with written_whole("model.onnx") as partial:
        ...     _ = open(partial, "wb").write(b"all of it")
        >>> os.listdir(".")
        ['model.onnx']
    """
    partial = partial_path(path)
    try:
        yield partial
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def partial_path(path):
    """The temporary name `save_atomically` writes `path` under first ("best.keras" -> "best.partial.keras")."""
    stem, extension = os.path.splitext(path)
    return f"{stem}.partial{extension}"


class RunState(enum.Enum):
    NEW = "new"
    INTERRUPTED = "interrupted"
    FINISHED = "finished"


class RunFolder:
    """A folder a run writes over time, and what state it is in.

    Args:
        path: the folder; its parent must exist when the run claims it.
        results: names (in the folder) whose presence means a run finished; a CSV
            log counts only once it holds a row below its header.
        scratch: names a new run replaces without asking (logs of a run that
            never finished an epoch, TensorBoard files).
        resume_marker: name whose presence means an interrupted run to resume; list
            what holds it among `scratch`, so that `overwrite` discards it.

    Example:
        >>> folder = RunFolder("runs/voc", results=("best.keras", "log.csv"), resume_marker="backup")
        >>> folder.state
        <RunState.NEW: 'new'>
        >>> os.makedirs("runs/voc/backup")
        >>> folder.state
        <RunState.INTERRUPTED: 'interrupted'>
    """

    def __init__(self, path, results, scratch=(), resume_marker=None):
        self.path, self.results, self.scratch, self.resume_marker = os.fspath(path), tuple(results), tuple(scratch), \
            resume_marker

    def file(self, name):
        """The path of `name` inside the folder."""
        return os.path.join(self.path, name)

    def held_results(self):
        """The result names present (CSV logs only with a data row)."""
        return [name for name in self.results if _holds_result(self.file(name))]

    @property
    def state(self):
        """`RunState.INTERRUPTED` with the resume marker, else FINISHED with results, else NEW."""
        if self.resume_marker and os.path.exists(self.file(self.resume_marker)):
            return RunState.INTERRUPTED
        return RunState.FINISHED if self.held_results() else RunState.NEW

    def check(self, overwrite=False, what="run"):
        """Says whether a run may use the folder, changing nothing: `claim` without its effects.

        Call it before slow preparations, so that a refusal comes first.

        Args:
            overwrite: replace a finished run.
            what: what to call the run in messages ("run", "demo run").

        Returns:
            The folder's `RunState`.

        Raises:
            FileNotFoundError: the parent folder does not exist.
            NotADirectoryError: the path is a file.
            FileExistsError: a finished run is there and `overwrite` is False.
        """
        parent = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(parent):
            raise FileNotFoundError(f"Cannot write the {what} to {self.path}: its parent folder {parent} does "
                                    "not exist.")
        if os.path.lexists(self.path) and not os.path.isdir(self.path):
            raise NotADirectoryError(f"Cannot write the {what} to {self.path}: it is a file, and a {what} needs a "
                                     "folder; choose another path.")
        state = self.state
        held = self.held_results()
        if state is not RunState.INTERRUPTED and held and not overwrite:
            raise FileExistsError(f"{self.path} already holds a finished {what} ({', '.join(held)}); pass "
                                  "overwrite=True to replace it, or choose another folder.")
        return state

    def claim(self, overwrite=False, what="run"):
        """Prepares the folder for a run: resume, start fresh, or refuse a finished run.

        An interrupted run is left as it is (the caller resumes it) unless `overwrite`
        discards it. Otherwise results are removed only with `overwrite`, scratch
        always, and the folder is created.

        Args:
            overwrite: replace a finished run.
            what: what to call the run in messages ("run", "demo run").

        Returns:
            The folder's `RunState` before claiming.

        Raises:
            FileNotFoundError, NotADirectoryError, FileExistsError: see `check`.
        """
        state = self.check(overwrite, what)
        if state is RunState.INTERRUPTED and not overwrite:
            return state
        for name in (*self.results, *self.scratch):
            if os.path.lexists(self.file(name)):
                _remove(self.file(name))
        os.makedirs(self.path, exist_ok=True)
        return state


def _holds_result(path):
    if not os.path.exists(path):
        return False
    if path.endswith(".csv"):
        with open(path, encoding="utf-8", errors="replace") as file:
            return len(file.read().strip().splitlines()) > 1
    return True


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.remove(path)
