"""The command line as users run it: the same seed gives the same weights, a killed run resumes exactly,
a bad file in the input pipeline is one line of error."""

import os
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest

import fcn_keras  # noqa: F401  (registers the layers the saved models hold)

COMMON = ["train", "--data", "synthetic:48", "--backbone", "vgg16_tiny", "--padding", "same", "--batch-size", "8",
          "--epochs", "4", "--learning-rate", "3e-3", "--precision", "float32", "--seed", "3"]
# Without validation best.keras follows the loss, which falls every epoch: every epoch rewrites both models.
TRAIN = [*COMMON, "--no-validation"]
VALIDATED = [*COMMON, "--val-data", "synthetic:24"]

# Runs the command line with one function patched to SIGKILL the process at a chosen point, as `kill -9` would.
KILLER = """
import os, signal, sys
import keras
from fcn_keras import cli
from fcn_keras.training import callbacks
point, argv = sys.argv[1], sys.argv[2:]
calls = {}

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def after(owner, name, count, before=True, action=None):
    original = getattr(owner, name)
    def patched(*args, **kwargs):
        calls[name] = calls.get(name, 0) + 1
        if calls[name] == count and before:
            die()
        result = original(*args, **kwargs)
        if calls[name] == count:
            (action or die)()
        return result
    setattr(owner, name, patched)

if point == "first-epoch-end-before-backup":
    after(callbacks.EpochBackup, "on_epoch_end", 1)
elif point == "mid-epoch-2":
    after(callbacks.NaNGuard, "on_train_batch_end", 6 + 3)
elif point == "during-validation-2":
    after(keras.Model, "evaluate", 2)
elif point == "while-saving-last-2":  # the model is written to its temporary name, not yet renamed
    original_save = keras.Model.save
    def save(self, path, *args, **kwargs):
        original_save(self, path, *args, **kwargs)
        calls["save"] = calls.get("save", 0) + 1
        if calls["save"] == 3 and path.endswith(".partial.keras"):
            die()
    keras.Model.save = save
elif point == "while-finishing":
    after(callbacks.EpochBackup, "on_train_end", 1)
sys.exit(cli.main(argv))
"""


def cli(*argv):
    return [sys.executable, "-m", "fcn_keras.cli", *argv]


def environment():
    return {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}


def run(argv, run_folder):
    result = subprocess.run(cli(*argv, "--output", str(run_folder)), capture_output=True, text=True,
                            env=environment(), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def weights(folder, name):
    return keras.models.load_model(folder / name, compile=False).get_weights()


def assert_same_run(folder, reference):
    for name in ("best.keras", "last.keras"):
        for got, expected in zip(weights(folder, name), weights(reference, name)):
            np.testing.assert_array_equal(got, expected, err_msg=f"{folder.name}/{name}")
    assert (folder / "log.csv").read_text() == (reference / "log.csv").read_text()  # no epoch lost or twice
    assert not (folder / "backup").exists()


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    folder = tmp_path_factory.mktemp("straight")
    run(TRAIN, folder / "plain")
    run(VALIDATED, folder / "validated")
    losses = [float(line.split(",")[1]) for line in (folder / "plain" / "log.csv").read_text().splitlines()[1:]]
    assert losses == sorted(losses, reverse=True) and len(set(losses)) == 4  # best.keras changes every epoch
    return folder


@pytest.mark.slow
def test_the_same_command_twice_gives_the_same_weights(straight, tmp_path):
    run(TRAIN, tmp_path / "again")
    assert_same_run(tmp_path / "again", straight / "plain")


@pytest.mark.slow
@pytest.mark.parametrize("point", ["first-epoch-end-before-backup", "mid-epoch-2", "during-validation-2",
                                   "while-saving-last-2", "while-finishing"])
def test_a_run_killed_at_any_point_resumes_to_the_same_weights(straight, tmp_path, point):
    argv, reference = (VALIDATED, "validated") if point == "during-validation-2" else (TRAIN, "plain")
    killed = subprocess.run([sys.executable, "-c", KILLER, point, *argv, "--output", str(tmp_path / "run")],
                            capture_output=True, text=True, env=environment(), timeout=600)
    assert killed.returncode == -signal.SIGKILL, f"{point} was never reached: {killed.stderr[-2000:]}"
    for name in ("best.keras", "last.keras"):  # whatever is there after the kill is a whole, loadable model
        if (tmp_path / "run" / name).exists():
            weights(tmp_path / "run", name)
    resumed = run(argv, tmp_path / "run")
    assert ("Starting" if point == "first-epoch-end-before-backup" else "Resuming") in resumed.stdout
    assert_same_run(tmp_path / "run", straight / reference)


@pytest.mark.parametrize("break_file, message", [
    (lambda masks: masks["p1.png"].__setitem__((0, 0), 9), r"p1.png: mask values \[9\] are not class indices 0..2"),
    (lambda masks: masks.__setitem__("p2.png", masks["p2.png"][:20]), r"p2.png.*(size|shape)"),
    (None, r"p0.png"),
    ("16-bit", r"p3.png"),
], ids=["label-beyond-the-classes", "mask-of-another-size", "truncated-png", "16-bit-mask-with-300"])
def test_a_bad_file_in_the_pipeline_is_one_line_naming_it(tmp_path, break_file, message):
    import re

    from PIL import Image

    from fcn_keras.data import make_shapes, write_mask

    images, masks = make_shapes(4, (32, 32), num_classes=3, seed=0)
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    by_name = {f"p{index}.png": masks[index].copy() for index in range(4)}
    if callable(break_file):
        break_file(by_name)
    for index in range(4):
        Image.fromarray(images[index]).save(tmp_path / "images" / f"p{index}.png")
        write_mask(tmp_path / "masks" / f"p{index}.png", by_name[f"p{index}.png"])
    if break_file is None:  # a PNG cut off in the middle
        data = (tmp_path / "images" / "p0.png").read_bytes()
        (tmp_path / "images" / "p0.png").write_bytes(data[: len(data) // 2])
    if break_file == "16-bit":
        mask = by_name["p3.png"].astype(np.uint16)
        mask[0, 0] = 300
        Image.fromarray(mask).save(tmp_path / "masks" / "p3.png")
    result = subprocess.run(cli("train", "--data", f"folder:{tmp_path / 'images'},{tmp_path / 'masks'}",
                                "--no-validation", "--num-classes", "3", "--backbone", "vgg16_tiny", "--padding",
                                "same", "--batch-size", "2", "--epochs", "1", "--precision", "float32",
                                "--output", str(tmp_path / "run")),
                            capture_output=True, text=True, env=environment(), timeout=600)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fcn-keras train: error: "), result.stderr[-3000:]
    assert re.search(message, lines[0]) and "Traceback" not in result.stderr


@pytest.mark.parametrize("argv, model_file", [
    (["demo", "--epochs", "2", "--train-images", "32", "--validation-images", "8", "--image-size", "32", "32",
      "--backbone", "vgg16_tiny", "--precision", "float32", "--seed", "4"], "model.keras"),
    (["train", "--staged", "--data", "synthetic:16", "--no-validation", "--backbone", "vgg16_tiny", "--padding",
      "same", "--batch-size", "8", "--epochs", "1", "--precision", "float32", "--seed", "4"], "fcn8s/best.keras"),
], ids=["demo", "staged"])
@pytest.mark.slow
def test_demo_and_staged_training_are_reproducible_too(tmp_path, argv, model_file):
    run(argv, tmp_path / "first")
    run(argv, tmp_path / "second")
    for got, expected in zip(weights(tmp_path / "second", model_file), weights(tmp_path / "first", model_file)):
        np.testing.assert_array_equal(got, expected)
