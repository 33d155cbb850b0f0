"""tf.distribute strategies pass through `fcn_keras.training.train` and give one-device results.

Each run is a subprocess (`tests/distributed_worker.py`): logical devices and
TF_CONFIG must be set before TensorFlow's first op, long past in pytest's process.
Every run trains the same tiny FCN-8s (same seed, SGD with momentum) for 4 steps on
the same global batches of 4 images; distributed runs must end with the weights
of the one-device run.
"""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fcn_keras.distribute import tf_config

pytestmark = pytest.mark.slow  # subprocesses that each start TensorFlow (60-90 s for the file on 2 cores)

WORKER = Path(__file__).with_name("distributed_worker.py")
TIMEOUT_S = 180
RTOL, ATOL = 1e-4, 1e-6


def _env(**extra):
    env = {key: value for key, value in os.environ.items() if key != "TF_CONFIG"}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", **extra)
    return env


def _run_together(commands, log_dir):
    """Runs `(args, env)` worker commands at once; kills them all if one fails or time runs out."""
    logs = [Path(log_dir) / f"worker_{index}.log" for index in range(len(commands))]
    processes = []
    for (args, env), log in zip(commands, logs):
        with open(log, "w") as file:
            processes.append(subprocess.Popen([sys.executable, str(WORKER), *args], env=env, stdout=file,
                                              stderr=subprocess.STDOUT))
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while any(process.poll() is None for process in processes):
            failed = any(process.poll() for process in processes)  # a collective peer would wait forever
            if failed or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()
    # Report the worker that failed before the peers that were killed because of it.
    codes = [process.returncode for process in processes]
    failures = sorted((code < 0, index) for index, code in enumerate(codes) if code)
    if failures:
        index = failures[0][1]
        code = processes[index].returncode
        what = f"exited with {code}" if code > 0 else f"was killed after {TIMEOUT_S} s"
        pytest.fail(f"worker {index} ({commands[index][0][0]}) {what}:\n{logs[index].read_text()[-5000:]}")


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _run_cluster(mode, tmp_path, num_workers=2):
    """Runs `mode` on a local cluster of workers; returns the output paths (worker 0 first)."""
    workers = [f"127.0.0.1:{port}" for port in _free_ports(num_workers)]
    suffix = ".json" if mode == "probe" else ".npz"
    outputs = [tmp_path / f"{mode}_{index}{suffix}" for index in range(num_workers)]
    commands = [([mode, str(output), str(tmp_path / "run")], _env(TF_CONFIG=tf_config(workers, index)))
                for index, output in enumerate(outputs)]
    _run_together(commands, tmp_path)
    return outputs


def _load(path):
    with np.load(path) as run:
        count = sum(name.startswith("weight_") for name in run.files)
        return {
            "weights": [run[f"weight_{i}"] for i in range(count)],
            "initial": [run[f"initial_{i}"] for i in range(count)],
            "loss": run["loss"],
            "val_loss": run["val_loss"],
            "replicas": int(run["replicas"]),
        }


def _assert_same_training(run, reference, replicas):
    assert run["replicas"] == replicas
    for initial, reference_initial in zip(run["initial"], reference["initial"]):
        np.testing.assert_array_equal(initial, reference_initial)
    # The runs really trained: the weights moved far more than the tolerance.
    moved = max(np.abs(w - w0).max() for w, w0 in zip(reference["weights"], reference["initial"]))
    assert moved > 1000 * ATOL
    assert len(run["weights"]) == len(reference["weights"])
    for index, (weight, expected) in enumerate(zip(run["weights"], reference["weights"])):
        np.testing.assert_allclose(weight, expected, rtol=RTOL, atol=ATOL, err_msg=f"weight {index}")
    np.testing.assert_allclose(run["loss"], reference["loss"], rtol=1e-5)
    np.testing.assert_allclose(run["val_loss"], reference["val_loss"], rtol=1e-5)


@pytest.fixture(scope="module")
def one_device_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("one_device")
    _run_together([(["single", str(tmp / "single.npz"), str(tmp / "run")], _env())], tmp)
    return _load(tmp / "single.npz")


def test_tf_config():
    config = json.loads(tf_config(["127.0.0.1:1000", "127.0.0.1:1001"], 1))
    assert config == {"cluster": {"worker": ["127.0.0.1:1000", "127.0.0.1:1001"]},
                      "task": {"type": "worker", "index": 1}}
    with pytest.raises(ValueError, match="index 2 is not a worker position"):
        tf_config(["127.0.0.1:1000", "127.0.0.1:1001"], 2)


def test_mirrored_strategy_on_two_cpus_matches_one_device(one_device_run, tmp_path):
    _run_together([(["mirrored", str(tmp_path / "mirrored.npz"), str(tmp_path / "run")], _env())], tmp_path)
    _assert_same_training(_load(tmp_path / "mirrored.npz"), one_device_run, replicas=2)


def test_multi_worker_on_localhost_matches_one_device(one_device_run, tmp_path):
    worker_outputs = _run_cluster("multiworker", tmp_path)
    for output in worker_outputs:  # worker 0 (the chief) and worker 1 hold the same weights
        _assert_same_training(_load(output), one_device_run, replicas=2)
    # One run folder: the chief's files at the top, the other worker's in its own sub-folder.
    assert (tmp_path / "run" / "best.keras").exists()
    assert (tmp_path / "run" / "workers" / "worker-1" / "log.csv").exists()


def test_unpatched_keras_still_fails_multi_worker_fit(tmp_path):
    """CANARY for fcn_keras.distribute.patch_keras_multiworker_reduce: fails when Keras fixes its bugs.

    Runs a two-worker `fit` without the patch, with only its part 1, and with both
    parts. While Keras needs the patch, the first two fail in the known ways
    (keras-team/keras#20585, tensorflow/tensorflow#72388). If this test fails because
    an attempt succeeded, Keras has fixed that part: delete it from
    fcn_keras/distribute.py (and, when both are fixed, the module's patch, its use
    in `multi_worker_strategy`, and this test).
    """
    with open(_run_cluster("probe", tmp_path)[0]) as file:
        outcomes = json.load(file)
    assert outcomes["patched"] == "ok", outcomes["patched"]
    assert outcomes["unpatched"] != "ok", (
        "Keras now trains under MultiWorkerMirroredStrategy without the patch: remove "
        "fcn_keras.distribute.patch_keras_multiworker_reduce (keras-team/keras#20585 is fixed).")
    assert "PerReplica" in outcomes["unpatched"], (
        "Unpatched fit no longer fails on reducing the input batch. If it fails with the scalar "
        "reduction error below, part 1 (_patch_symbolic_build) is no longer needed; remove it. "
        f"Otherwise it fails in a new way: {outcomes['unpatched']}")
    assert outcomes["part1_only"] != "ok", (
        "Keras now reduces scalar logs under MultiWorkerMirroredStrategy: part 2 of "
        "fcn_keras.distribute.patch_keras_multiworker_reduce (_patch_reduce_per_replica) is no longer "
        "needed; remove it (and the whole patch if part 1 is gone too).")
    assert "Invalid reduction dimension 0 for input with 0 dimensions" in outcomes["part1_only"], (
        f"fit with part 1 of the patch fails in a new way: {outcomes['part1_only']}")
