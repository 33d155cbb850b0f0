"""`fcn-keras benchmark` on tiny models: what it measures is right, and it never stops on one runtime's failure."""

import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
import time
import types

import keras
import numpy as np
import pytest

import fcn_keras
from fcn_keras import cli
from fcn_keras.benchmark import ModelCase, run_benchmark
from fcn_keras.benchmark import runtimes as runtimes_module
from fcn_keras.benchmark.inference import check_memory, randomize_zero_kernels
from fcn_keras.benchmark.quality import demo_quality
from fcn_keras.benchmark.runtimes import Runtime
from fcn_keras.data import make_shapes
from fcn_keras.demo_settings import DemoSettings
from fcn_keras.metrics import confusion_matrix, scores_from_confusion

CASE = ModelCase("fcn8s", "vgg16_tiny", "paper", num_classes=4)
TINY_DEMO = DemoSettings(backbone="vgg16_tiny", image_size=(24, 24), batch_size=2, train_images=8)


@pytest.fixture(scope="module")
def results():
    lines = []
    runtimes = ["keras", "skip_border", "saved_model", "tflite_fp32", "openvino", "pytorch"]
    checkpoints = []
    measured = run_benchmark([CASE], sizes=[(32, 40)], batches=[1, 2], runtimes=runtimes, repeats=1,
                             demo=TINY_DEMO, training_policies=("float32",), progress=lines.append,
                             checkpoint=lambda so_far: checkpoints.append(len(so_far["inference"])))
    rows = len(measured["inference"])
    assert checkpoints == [*range(1, rows + 1), rows]  # after each case and after training: what a crash leaves
    return measured, lines


def test_every_case_is_timed_and_checked_against_keras(results):
    measured, lines = results
    rows = measured["inference"]
    ran = [name for name in ("keras", "skip_border", "saved_model", "tflite_fp32", "openvino", "pytorch")
           if name not in measured["skipped"]]
    assert [(row["runtime"], row["batch"]) for row in rows] == [(name, batch) for name in ran for batch in (1, 2)]
    assert {"keras", "skip_border", "saved_model"} <= set(ran)
    flops = CASE.flops((32, 40))
    for row in rows:
        assert row["gflop_per_image"] == flops / 1e9
        assert row["ms_per_image"] * row["images_per_s"] == pytest.approx(1000)
        assert row["gflop_per_s"] == pytest.approx(flops * row["images_per_s"] / 1e9)
        assert row["of_matmul"] == pytest.approx(row["gflop_per_s"] / measured["matmul"]["best"])
        assert row["max_relative_difference"] <= 1e-4, row  # every runtime here computes in float32
        assert row["same_class"] >= 0.99
    counters = [line.split("]")[0] for line in lines if line.startswith("[")]
    assert [counter.split("/")[0] for counter in counters] == [f"[{k}" for k in range(1, len(rows) + 1)]
    assert all(len(rows) <= int(counter.split("/")[1]) <= 12 for counter in counters)  # N: the cases that run
    assert [line for line in lines if line.startswith("skipped ")] == [
        f"skipped {case}: {why}" for case, why in measured["skipped"].items()]


def test_the_logits_are_not_trivial():
    """The score layers start at zero; the benchmark randomizes them, or every runtime would agree on zeros."""
    model = CASE.build(size=(32, 40))
    logits = np.asarray(model.predict_on_batch(np.full((1, 32, 40, 3), 100, np.float32)))
    assert np.abs(logits).max() > 1e-3
    assert len(np.unique(logits.argmax(-1))) > 1


def test_training_step_pipeline_and_serving_graphs(results):
    measured, _ = results
    step, = measured["training"]
    assert step["policy"] == "float32"
    assert step["gflop_per_s"] == pytest.approx(step["gflop_per_step"] / step["seconds"])
    assert measured["pipeline"]["overhead"] == pytest.approx(
        measured["pipeline"]["step_seconds_with_pipeline"] / measured["pipeline"]["step_seconds_in_memory"] - 1)
    assert measured["serving_graphs"] == {"sizes": 5, "keras_predict": measured["serving_graphs"]["keras_predict"],
                                          "saved_model_any_size": True}
    assert measured["serving_graphs"]["keras_predict"] <= 2  # Keras' predict function stops retracing


def test_unknown_runtime_is_refused_before_measuring():
    lines = []
    with pytest.raises(ValueError, match="Unknown runtime 'tensorrt'; choose from keras, "):
        run_benchmark([CASE], runtimes=["keras", "tensorrt"], progress=lines.append)
    assert lines == []


def test_a_missing_or_failing_runtime_is_reported_and_the_run_goes_on(monkeypatch):
    def failing(build, workdir, images):
        def predict(batch):
            raise RuntimeError("kernel exploded\nsecond line")
        return predict

    monkeypatch.setitem(runtimes_module.RUNTIMES, "absent",
                        Runtime("absent", "needs a module", None, (("no_such_module_x", "fcn-keras[x]"),), False))
    def broken(build, workdir, images):
        raise KeyError()

    def sleepy(build, workdir, images):
        model = build()

        def predict(batch):
            time.sleep(0.05)
            return model.predict_on_batch(batch)
        return predict

    monkeypatch.setitem(runtimes_module.RUNTIMES, "failing", Runtime("failing", "fails", failing, tensorflow=False))
    monkeypatch.setitem(runtimes_module.RUNTIMES, "broken", Runtime("broken", "breaks", broken, tensorflow=False))
    monkeypatch.setitem(runtimes_module.RUNTIMES, "sleepy", Runtime("sleepy", "sleeps", sleepy, tensorflow=False))
    lines = []
    measured = run_benchmark([CASE], sizes=[(24, 24)], batches=[2], runtimes=["absent", "broken", "failing", "keras",
                                                                             "sleepy"],
                             repeats=3, serving_sizes=None, progress=lines.append)
    assert measured["skipped"] == {
        "absent, fcn8s vgg16_tiny paper": "no_such_module_x is not installed (pip install fcn-keras[x])",
        "broken, fcn8s vgg16_tiny paper": "KeyError",  # a converter's failure without a message
        "failing, fcn8s vgg16_tiny paper 24x24 batch 2": "RuntimeError: second line"}
    assert [row["runtime"] for row in measured["inference"]] == ["keras", "sleepy"]
    assert [line.split(":")[0] for line in lines[2:]] == [  # each where its case would be; [k/N] over those that ran
        "skipped absent, fcn8s vgg16_tiny paper", "skipped broken, fcn8s vgg16_tiny paper",
        "skipped failing, fcn8s vgg16_tiny paper 24x24 batch 2", "[1/2] fcn8s vgg16_tiny paper 24x24 batch 2 keras",
        "[2/2] fcn8s vgg16_tiny paper 24x24 batch 2 sleepy"]
    sleepy = measured["inference"][1]  # 50 ms per call of 2 images: 25 ms per image
    assert 25 <= sleepy["ms_per_image"] < 50 and sleepy["images_per_s"] == pytest.approx(1000 / sleepy["ms_per_image"])


def test_command_writes_results_and_never_overwrites(tmp_path, capsys):
    output = str(tmp_path / "bench")
    arguments = ["benchmark", "--variants", "fcn32s", "--backbones", "vgg16_tiny", "--paddings", "same",
                 "--sizes", "24x32", "--batches", "1", "--runtimes", "keras", "--repeats", "1", "--no-training",
                 "--output", output]
    assert cli.main(arguments) == 0
    assert sorted(os.listdir(output)) == ["latency.png", "results.json", "results.md"]
    with open(os.path.join(output, "results.json")) as file:
        row, = json.load(file)["inference"]
    assert (row["model"], row["size"], row["runtime"]) == ("fcn32s vgg16_tiny same", "24x32", "keras")
    assert "| fcn32s vgg16_tiny same | 24x32 | 1 | keras |" in open(os.path.join(output, "results.md")).read()
    capsys.readouterr()
    assert cli.main(arguments) == 2
    error = capsys.readouterr().err
    assert "results.json" in error and "--overwrite" in error


def test_bad_size_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["benchmark", "--sizes", "500x"])
    assert exit_info.value.code == 2
    assert "'500x' is not an image size; write HEIGHTxWIDTH, e.g. 500x500" in capsys.readouterr().err


def test_quality_of_low_precision_on_a_trained_model(tmp_path):
    demo = dataclasses.replace(TINY_DEMO, validation_images=4)
    model = fcn_keras.build_fcn8s(demo.num_classes, backbone="vgg16_tiny", padding="same")
    randomize_zero_kernels(model)
    path = str(tmp_path / "model.keras")
    model.save(path)
    quality, skipped = demo_quality(path, ["keras_bf16", "tflite_int8"], demo, progress=lambda line: None)
    rows = {row["runtime"]: row for row in quality}
    assert set(rows) | set(skipped) == {"keras", "keras_bf16", "tflite_int8"}
    images, labels = make_shapes(4, demo.image_size, demo.num_classes, seed=demo.seed + 1)
    expected = scores_from_confusion(confusion_matrix(
        labels, model.predict_on_batch(images.astype(np.float32)).argmax(-1), demo.num_classes))["mean_iou"]
    assert rows["keras"]["mean_iu"] == pytest.approx(expected)
    for name, row in rows.items():
        assert row["points_lost"] == pytest.approx(100 * (expected - row["mean_iu"]), abs=0.006)
        assert row["same_class"] > 0.9, name


@pytest.mark.backends
def test_the_benchmark_runs_on_every_backend():
    """On JAX and PyTorch (a GPU machine without TensorFlow, say) Keras itself and the training step are measured;
    the TensorFlow runtimes say what they need."""
    measured = run_benchmark([CASE], sizes=[(24, 24)], batches=[1], runtimes=["keras", "tf_function"], repeats=1,
                             demo=TINY_DEMO, training_policies=("float32",), serving_sizes=None,
                             progress=lambda line: None)
    assert measured["machine"]["backend"] == keras.backend.backend()
    assert measured["inference"][0]["runtime"] == "keras"
    assert measured["inference"][0]["max_relative_difference"] == 0.0
    if keras.backend.backend() != "tensorflow":
        assert measured["skipped"] == {"tf_function, fcn8s vgg16_tiny paper": "needs Keras' TensorFlow backend "
                                       f"(KERAS_BACKEND=tensorflow), not {keras.backend.backend()}"}
    step, = measured["training"]
    assert step["seconds"] > 0 and step["gflop_per_s"] == pytest.approx(step["gflop_per_step"] / step["seconds"])


def test_unknown_backbone_is_refused_before_measuring(tmp_path, capsys):
    output = tmp_path / "never-written"
    assert cli.main(["benchmark", "--backbones", "vgg17", "--output", str(output)]) == 2
    out, err = capsys.readouterr()
    assert "Unknown backbone 'vgg17'" in err and "matmul" not in out
    assert not output.exists()


def test_a_wrong_trained_model_is_refused_before_measuring(tmp_path, capsys):
    path = str(tmp_path / "three.keras")
    fcn_keras.build_fcn32s(3, backbone="vgg16_tiny").save(path)
    assert cli.main(["benchmark", "--backbones", "vgg16_tiny", "--trained", path, "--output", str(tmp_path / "b")]) == 2
    out, err = capsys.readouterr()
    assert "this model has 3. Pass the model.keras that `fcn-keras demo` writes" in err and "matmul" not in out


@pytest.mark.parametrize("environ, expected", [({}, "True 1"), ({"TF_ENABLE_ONEDNN_OPTS": "0"}, "False 0")])
def test_the_demo_asks_for_onednn_unless_the_user_chose(environ, expected):
    """`prefer_onednn_kernels` sets TF_ENABLE_ONEDNN_OPTS=1 before TensorFlow loads, and leaves a user's choice."""
    env = {key: value for key, value in os.environ.items() if key != "TF_ENABLE_ONEDNN_OPTS"}
    script = ("import os; from fcn_keras.tensorflow_startup import prefer_onednn_kernels as prefer; "
              "print(prefer(), os.environ['TF_ENABLE_ONEDNN_OPTS'])")
    result = subprocess.run([sys.executable, "-c", script], env={**env, **environ}, capture_output=True, text=True)
    assert result.stdout.split() == expected.split(), result.stderr


def test_a_size_too_large_for_memory_is_refused_before_measuring_and_leaves_no_folder(tmp_path, capsys, monkeypatch):
    import psutil

    monkeypatch.setattr(psutil, "virtual_memory", lambda: types.SimpleNamespace(available=8 * 2**30))
    output = tmp_path / "new" / "bench"
    assert cli.main(["benchmark", "--variants", "fcn8s", "--backbones", "vgg16_tiny", "--paddings", "same",
                     "--sizes", "32x32", "100000x100000", "--batches", "1", "--runtimes", "keras", "--no-training",
                     "--output", str(output)]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # not even the matmul
    assert err == ("fcn-keras benchmark: error: --sizes 100000x100000: one batch of 1 needs about 1,772.4 GiB of "
                   "activations for fcn8s vgg16_tiny same, and this machine has 8.0 GiB available; give smaller "
                   "--sizes.\n")
    assert not (tmp_path / "new").exists()


def test_a_batch_too_large_for_memory_is_named():
    with pytest.raises(ValueError, match=r"^`sizes` 500x500, `batches` 8: one batch of 8 needs about 0\.2 GiB of "
                                         r"activations for fcn8s vgg16_tiny paper, and this machine has 0\.1 GiB "
                                         r"available; give smaller `sizes` or `batches`\.$"):
        check_memory([ModelCase("fcn8s", "vgg16_tiny", "paper")], [(32, 32), (500, 500)], [8, 1],
                     available=0.1 * 2**30)


def test_an_unknown_hub_preset_is_refused_before_measuring_and_leaves_no_folder(tmp_path, capsys):
    output = tmp_path / "bench"
    assert cli.main(["benchmark", "--variants", "fcn32s", "--backbones", "hub:not_a_real_preset", "--sizes", "32x32",
                     "--batches", "1", "--runtimes", "keras", "--no-training", "--output", str(output)]) == 2
    out, err = capsys.readouterr()
    import importlib.util

    expected = ("'not_a_real_preset' is not a keras-hub preset" if importlib.util.find_spec("keras_hub")
                else "keras-hub backbones need keras-hub")
    assert out == "" and err.count("\n") == 1 and expected in err, err
    assert not output.exists()


def test_a_runtime_whose_package_is_missing_is_said_where_it_would_run(monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "ai_edge_litert" else find_spec(name, *args))
    lines = []
    run_benchmark([CASE], sizes=[(24, 24)], batches=[1], runtimes=["keras", "tf_function", "tflite_int8"], repeats=1,
                  serving_sizes=None, progress=lines.append)
    assert [line.split(":")[0] for line in lines[2:4]] == ["[1/2] fcn8s vgg16_tiny paper 24x24 batch 1 keras",
                                                           "[2/2] fcn8s vgg16_tiny paper 24x24 batch 1 tf_function"]
    assert lines[4:] == ["skipped tflite_int8, fcn8s vgg16_tiny paper: ai_edge_litert is not installed "
                         "(pip install fcn-keras[deploy])"]
