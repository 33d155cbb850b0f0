"""The command line as users run it: the same seed gives the same weights, a killed run resumes exactly,
a bad file in the input pipeline is one line of error."""

import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

import fcn_keras  # noqa: F401  (registers the layers the saved models hold)

TRAIN = ["train", "--data", "synthetic:48", "--val-data", "synthetic:24", "--backbone", "vgg16_tiny", "--padding",
         "same", "--batch-size", "8", "--epochs", "4", "--learning-rate", "3e-3", "--precision", "float32",
         "--seed", "3"]


def cli(*argv):
    return [sys.executable, "-m", "fcn_keras.cli", *argv]


def environment():
    return {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}


def train_to_the_end(run):
    result = subprocess.run(cli(*TRAIN, "--output", str(run)), capture_output=True, text=True, env=environment(),
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def weights(run, name):
    return keras.models.load_model(run / name, compile=False).get_weights()


def assert_same_weights(run, reference):
    for name in ("best.keras", "last.keras"):
        for got, expected in zip(weights(run, name), weights(reference, name)):
            np.testing.assert_array_equal(got, expected, err_msg=f"{run.name}/{name}")
    assert (run / "log.csv").read_text() .splitlines()[0] == (reference / "log.csv").read_text().splitlines()[0]
    assert len((run / "log.csv").read_text().splitlines()) == 1 + 4  # no epoch logged twice or lost


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    run = tmp_path_factory.mktemp("straight") / "run"
    train_to_the_end(run)
    return run


def test_the_same_command_twice_gives_the_same_weights(straight, tmp_path):
    train_to_the_end(tmp_path / "again")
    assert_same_weights(tmp_path / "again", straight)


def kill_during(run, delay):
    """Starts the run, waits until its first epoch is backed up, waits `delay` more seconds, kills it (SIGKILL)."""
    process = subprocess.Popen(cli(*TRAIN, "--output", str(run)), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=environment())
    state = run / "backup" / "state.json"
    deadline = time.monotonic() + 300
    while not state.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return process.returncode


@pytest.mark.parametrize("delay", [0.0, 0.12, 0.3], ids=["right-after-a-backup", "mid-epoch", "later"])
def test_a_run_killed_at_any_moment_resumes_to_the_same_weights(straight, tmp_path, delay):
    run = tmp_path / "killed"
    assert kill_during(run, delay) == -signal.SIGKILL, "the run finished before it could be killed"
    assert not any(name.endswith(".partial.keras") and (run / name).stat().st_size == 0 for name in os.listdir(run))
    resumed = train_to_the_end(run)
    assert "Resuming" in resumed.stdout
    assert_same_weights(run, straight)


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
