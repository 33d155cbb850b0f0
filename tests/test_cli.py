"""The `fcn-keras` command line: each command runs end to end on tiny models."""

import os
import re

import keras
import numpy as np
import pytest
from helpers import run_under

import fcn_keras
from fcn_keras import cli


def test_backbones_lists_the_registry(capsys):
    assert cli.main(["backbones"]) == 0
    out = capsys.readouterr().out
    for name in fcn_keras.available_backbones():
        assert name in out


def test_summary_prints_parameters_and_flops(capsys):
    assert cli.main(["summary", "--backbone", "vgg16_tiny", "--num-classes", "5", "--size", "64", "96",
                     "--padding", "same"]) == 0
    model = fcn_keras.build_fcn8s(5, backbone="vgg16_tiny", padding="same", input_shape=(64, 96, 3))
    flops = fcn_keras.models.convolution_flops(model)
    out = capsys.readouterr().out
    assert f"{model.count_params():,} parameters" in out
    assert f"{flops / 1e9:.1f} GFLOP per 64x96 image (same padding)" in out


def test_errors_exit_2_with_the_library_message(capsys):
    assert cli.main(["summary", "--backbone", "nope"]) == 2
    assert "Unknown backbone 'nope'. Valid backbones:" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_command_help_has_an_example(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([name, "--help"])
    assert exit_info.value.code == 0
    assert "Example:\n  fcn-keras " + name in capsys.readouterr().out


TINY_DEMO = ["--epochs", "1", "--train-images", "16", "--validation-images", "8", "--image-size", "32", "32",
             "--backbone", "vgg16_tiny", "--precision", "float32"]  # the same on every CPU kind


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    output = tmp_path_factory.mktemp("cli") / "demo"
    assert cli.main(["demo", "--output", str(output), *TINY_DEMO]) == 0
    return output


def test_demo_writes_its_results(demo_run):
    import json

    from PIL import Image

    from fcn_keras.data import SYNTHETIC_CLASSES
    from fcn_keras.visualize import TITLE_HEIGHT, colorize, with_legend

    for name in ("metrics.json", "model.keras", "overlays.png", "training_curves.png", "confusion_matrix.png"):
        assert (demo_run / name).stat().st_size > 0, name
    metrics = json.loads((demo_run / "metrics.json").read_text())
    assert {"pixel_accuracy", "mean_accuracy", "mean_iou", "frequency_weighted_iou"} <= set(metrics)
    assert len(metrics["per_class_iou"]) == 5
    grid = np.asarray(Image.open(demo_run / "overlays.png").convert("RGB"))
    rows_end, cell = TITLE_HEIGHT + 4 + 6 * (3 * 32 + 4), 3 * 32 + 4  # 6 rows of 32x32 images enlarged 3 times
    mask_colours = {tuple(pixel) for pixel in grid[TITLE_HEIGHT:rows_end, 4 + cell:].reshape(-1, 3).tolist()}
    shown = np.array([[label for label in (*range(5), 255)
                       if tuple(colorize(np.array([[label]]))[0, 0].tolist()) in mask_colours]])
    legend = with_legend(grid[:rows_end], [shown], SYNTHETIC_CLASSES[:5])  # the classes of the masks, named
    np.testing.assert_array_equal(grid, legend)


def test_demo_never_overwrites_without_asking(demo_run, capsys):
    stamp = (demo_run / "model.keras").stat().st_mtime
    assert cli.main(["demo", "--output", str(demo_run), *TINY_DEMO]) == 2
    assert "already holds a finished demo run" in capsys.readouterr().err
    assert (demo_run / "model.keras").stat().st_mtime == stamp


def test_evaluate_prints_and_saves_the_scores(demo_run, tmp_path, capsys):
    import json

    from fcn_keras.data import open_source
    from fcn_keras.evaluation import evaluate
    from fcn_keras.models import load_fcn

    output = tmp_path / "scores.json"
    assert cli.main(["evaluate", str(demo_run / "model.keras"), "--data", "synthetic:6", "--output", str(output),
                     "--confusion-plot", str(tmp_path / "cm.png")]) == 0
    assert "mean IU" in capsys.readouterr().out
    expected = evaluate(load_fcn(str(demo_run / "model.keras")), open_source("synthetic:6", "val").dataset, 5)
    assert json.loads(output.read_text())["mean_iou"] == pytest.approx(expected["mean_iou"])
    assert (tmp_path / "cm.png").exists()
    assert cli.main(["evaluate", str(demo_run / "model.keras"), "--data", "synthetic:6", "--output",
                     str(output)]) == 2


def test_predict_writes_palette_masks_and_overlays(demo_run, tmp_path, capsys):
    import numpy as np
    from PIL import Image

    from fcn_keras.data import make_shapes, read_mask
    from fcn_keras.evaluation import predict
    from fcn_keras.models import load_fcn
    from fcn_keras.visualize import overlay, with_legend

    photos = tmp_path / "photos"
    photos.mkdir()
    images, _ = make_shapes(2, (40, 56), seed=3)
    for index, image in enumerate(images):
        Image.fromarray(image).save(photos / f"img{index}.png")
    assert cli.main(["predict", str(demo_run / "model.keras"), str(photos), "--output", str(tmp_path / "out")]) == 0
    model = load_fcn(str(demo_run / "model.keras"))
    for index, image in enumerate(images):
        mask = Image.open(tmp_path / "out" / f"img{index}.png")
        assert mask.mode == "P"
        classes = predict(model, image)
        np.testing.assert_array_equal(read_mask(str(tmp_path / "out" / f"img{index}.png")), classes)
        picture = np.asarray(Image.open(tmp_path / "out" / f"img{index}_overlay.png").convert("RGB"))
        np.testing.assert_array_equal(picture[:40], overlay(image, classes))  # the legend goes below
        np.testing.assert_array_equal(picture, with_legend(picture[:40], [classes]))  # "class 3": no names known
    assert cli.main(["predict", str(demo_run / "model.keras"), str(photos), "--output", str(tmp_path / "out")]) == 2
    assert "pass --overwrite" in capsys.readouterr().err


def test_train_command_writes_a_resumable_run(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "--data", "synthetic:8", "--val-data", "synthetic:4", "--backbone", "vgg16_tiny",
            "--padding", "same", "--epochs", "1", "--batch-size", "4", "--crop-size", "32", "32",
            "--output", str(run)]
    assert cli.main(args) == 0
    assert (run / "best.keras").exists() and (run / "log.csv").exists()
    capsys.readouterr()
    assert cli.main(args) == 2
    out, err = capsys.readouterr()
    assert "already holds a finished run" in err
    assert out == ""  # refused before the precision is chosen or anything else is said


def test_train_options_beyond_the_paper_reach_the_saved_model(tmp_path, capsys):
    from fcn_keras.data import synthetic_shapes
    from fcn_keras.training import median_frequency_weights

    run = tmp_path / "run"
    assert cli.main(["train", "--data", "synthetic:8", "--no-validation", "--backbone", "vgg16_tiny", "--padding",
                     "same", "--epochs", "1", "--batch-size", "4", "--crop-size", "32", "32", "--resized-crop", "0.5",
                     "1", "--rotation", "10", "--color-jitter", "0.2", "--loss", "ce+0.5*dice", "--class-weights",
                     "auto", "--lr-schedule", "poly", "--output", str(run)]) == 0
    expected = median_frequency_weights(synthetic_shapes(8, (96, 96), seed=0), 5, verbose=0)  # synthetic:8's images
    assert f"Class weights (median frequency): {', '.join(f'{w:.3g}' for w in expected)}." in capsys.readouterr().out
    model = keras.models.load_model(run / "best.keras")
    assert [type(part).__name__ for part in model.loss.losses] == ["SegmentationCrossEntropy", "SoftDiceLoss"]
    assert model.loss.weights == [1.0, 0.5]
    np.testing.assert_allclose(model.loss.losses[0].class_weights, expected, rtol=1e-6)
    schedule = model.optimizer._learning_rate
    assert float(schedule(schedule.decay_steps)) == 0.0  # DeepLab's poly ends at zero


def test_unknown_data_source_lists_the_forms(capsys):
    assert cli.main(["train", "--data", "imagenet:/x", "--output", "unused"]) == 2
    err = capsys.readouterr().err
    assert "Unknown data source 'imagenet:/x'" in err and "voc:ROOT" in err and "tfds:NAME" in err


def test_export_commands_write_new_files_only(demo_run, tmp_path, capsys):
    serving = tmp_path / "serving"
    assert cli.main(["export", str(demo_run / "model.keras"), "--format", "saved_model", "--output", str(serving)]) == 0
    assert cli.main(["export", str(demo_run / "model.keras"), "--format", "saved_model", "--output", str(serving)]) == 0
    assert sorted(p.name for p in serving.iterdir()) == ["1", "2"]  # a new version, never an overwrite
    assert (serving / "1" / "saved_model.pb").exists()
    pytest.importorskip("ai_edge_litert")
    assert cli.main(["export", str(demo_run / "model.keras"), "--format", "tflite", "--output",
                     str(tmp_path / "lite")]) == 0
    assert (tmp_path / "lite" / "model.tflite").stat().st_size > 0
    assert cli.main(["export", str(demo_run / "model.keras"), "--format", "tflite", "--output",
                     str(tmp_path / "lite")]) == 2
    assert "already exists" in capsys.readouterr().err


def test_bad_file_inside_the_pipeline_is_named_without_a_traceback(demo_run, tmp_path, capsys):
    from PIL import Image

    from fcn_keras.data import make_shapes, write_mask

    images, masks = make_shapes(2, (32, 32), seed=0)
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for index in range(2):
        Image.fromarray(images[index]).save(tmp_path / "images" / f"p{index}.png")
        write_mask(tmp_path / "masks" / f"p{index}.png", masks[index][: 24 if index else 32])  # p1: wrong size
    code = cli.main(["evaluate", str(demo_run / "model.keras"), "--num-classes", "5",
                     "--data", f"folder:{tmp_path / 'images'},{tmp_path / 'masks'}"])
    err = capsys.readouterr().err
    assert code == 2 and "p1.png" in err and "mask" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("extra, message", [
    (["--data", "folder:a,b", "--num-classes", "3"], "has no splits.*--val-data SOURCE or --no-validation"),
    (["--data", "synthetic:8", "--staged", "--at-once"], "--staged trains fcn32s, fcn16s and fcn8s of colour images in turn"),
    (["--data", "synthetic:8", "--resized-crop", "0.5", "1"],
     r"--resized-crop \(0.5, 1.0\) resizes its crops to --crop-size; give --crop-size too\.$"),
    (["--data", "synthetic:8", "--crop-size", "32", "32", "--rotation", "200"],
     "--rotation must be the largest angle in degrees, a number from 0 to 180"),
    (["--data", "synthetic:8", "--class-weights", "1,2"],
     "--class-weights has 2 weights, and the data has 5 classes: give one weight per class"),
    (["--data", "synthetic:8", "--recipe", "paper", "--loss", "ce+dice"],
     "--recipe paper trains on the summed cross-entropy, which is not a mean as --loss ce\\+dice needs"),
])
def test_train_refuses_option_mixes_that_would_mislead(extra, message, tmp_path, capsys):
    import re

    assert cli.main(["train", *extra, "--output", str(tmp_path / "run")]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "run").exists()


def test_info_prints_what_a_bug_report_needs(capsys):
    import tensorflow as tf

    from fcn_keras.machine import speed_flags

    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "backend           tensorflow\n" in out and f"tensorflow        {tf.__version__}" in out
    assert speed_flags() in out
    assert any(line.startswith("precision (auto)  ") and ("float32" in line or "mixed_" in line)
               for line in out.splitlines())


def run_cli_process(*argv, env_extra=None):
    """Runs `fcn-keras` in a fresh Python (TensorFlow not yet loaded); returns the CompletedProcess."""
    import os
    import subprocess
    import sys

    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "fcn_keras.cli", *argv], capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_info_and_predict_on_another_backend_load_no_tensorflow_and_print_no_log_line(backend, tmp_path):
    import importlib.metadata
    import importlib.util

    from helpers import tiny_fcn

    if importlib.util.find_spec(backend) is None:  # not imported here: this process runs TensorFlow
        pytest.skip(f"{backend} is not installed")
    tiny_fcn().save(tmp_path / "model.keras")
    keras.utils.save_img(tmp_path / "photo.png", np.zeros((16, 16, 3), np.uint8))
    script = ("import sys\nfrom fcn_keras import cli\nstatuses = [cli.main(['info']), cli.main(sys.argv[1:])]\n"
              "print('tensorflow' in sys.modules, *statuses)")
    result = run_under(backend, script, "predict", str(tmp_path / "model.keras"), str(tmp_path / "photo.png"),
                       "--output", str(tmp_path / "out"), timeout=300)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    lines = result.stdout.splitlines()
    assert f"backend           {backend}" in lines
    assert f"{backend:17s} {importlib.metadata.version(backend)}" in lines
    assert not any(line.startswith("tensorflow ") for line in lines)
    assert any(line.startswith("precision (auto)  ") for line in lines)
    assert lines[-1] == "False 0 0"  # TensorFlow never imported
    assert sorted(os.listdir(tmp_path / "out")) == ["photo.png", "photo_overlay.png"]


def test_help_and_usage_errors_answer_without_loading_tensorflow():
    import subprocess
    import sys

    script = """
import sys
from fcn_keras import cli
for argv in (["--help"], *([name, "--help"] for name in cli.COMMANDS), ["train"], ["demo", "--epochs", "x"]):
    try:
        cli.main(argv)
    except SystemExit as exit:
        assert exit.code == (0 if "--help" in argv else 2), (argv, exit.code)
    else:
        raise AssertionError(f"{argv} did not exit")
print(sorted(name for name in sys.modules if name.split(".")[0] in ("tensorflow", "keras", "numpy")))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_a_short_train_prints_no_tensorflow_log_lines_and_plain_progress_into_a_pipe(tmp_path):
    from fcn_keras.tensorflow_startup import ABSL_BANNER, CPP_LOG_LINE

    result = run_cli_process("train", "--data", "synthetic:8", "--no-validation", "--backbone", "vgg16_tiny",
                             "--padding", "same", "--batch-size", "4", "--epochs", "2", "--precision", "float32",
                             "--output", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert not [line for line in lines if CPP_LOG_LINE.match(line) or ABSL_BANNER in line], result.stderr
    assert "Training in float32: as asked." in result.stdout
    assert "\x1b" not in result.stdout and "\r" not in result.stdout  # no progress-bar redraws in a log file
    assert [line.split(" - ")[0] for line in result.stdout.splitlines() if " - loss: " in line] == ["2/2", "2/2"]


# a command that loads TensorFlow, then fails fast
FAILING_PREDICT = ["predict", "no_such_model.keras", "photo.png", "--output", "out"]


@pytest.mark.parametrize("argv, user_level, level", [
    (FAILING_PREDICT, None, "2"), ([*FAILING_PREDICT, "--verbose"], None, "as TensorFlow leaves it"),
    (FAILING_PREDICT, "0", "0")])
def test_verbose_or_the_users_own_level_keeps_tensorflow_logging(argv, user_level, level):
    import os
    import subprocess
    import sys

    def level_after(code):
        script = f"import os; {code}; print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'))"
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip().splitlines()[-1]

    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    if user_level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = user_level
    if level == "as TensorFlow leaves it":  # None; "1" where JAX is installed (TFLite imports it, and it sets 1)
        level = level_after("import tensorflow")
    assert level_after(f"from fcn_keras import cli; cli.main({argv!r})") == level


def test_an_output_that_is_a_folder_is_refused_and_kept(demo_run, tmp_path, capsys):
    (tmp_path / "runs" / "voc").mkdir(parents=True)
    (tmp_path / "runs" / "voc" / "best.keras").write_bytes(b"precious")
    code = cli.main(["evaluate", str(demo_run / "model.keras"), "--data", "synthetic:2", "--output",
                     str(tmp_path / "runs"), "--overwrite"])
    assert code == 2 and "runs is a folder; give the path of a file" in capsys.readouterr().err
    assert (tmp_path / "runs" / "voc" / "best.keras").read_bytes() == b"precious"


def test_a_tensorflow_that_fails_to_import_is_reported_with_its_own_lines(tmp_path):
    fake = tmp_path / "fake" / "tensorflow"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "import os\n"
        "os.write(2, b'I0000 00:00:1795690820.730191    6444 port.cc:153] start-up noise\\n')\n"
        "os.write(2, b'F0000 00:00:1795690820.730191    6444 cpu.cc:1] fatal: needs AVX\\n')\n"
        "os.write(2, b'a line the user must see\\n')\n"
        "raise ImportError('this TensorFlow is broken')\n")
    result = run_cli_process(*FAILING_PREDICT, env_extra={"PYTHONPATH": str(tmp_path / "fake")})
    assert result.returncode == 2
    assert "a line the user must see" in result.stderr and "fatal: needs AVX" in result.stderr
    assert "start-up noise" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "fcn-keras predict: error: this TensorFlow is broken"


@pytest.mark.parametrize("argv, option, rule", [
    (["train", "--data", "synthetic", "--output", "r", "--batch-size", "0"], "--batch-size", ">= 1, got '0'"),
    (["train", "--data", "synthetic", "--output", "r", "--epochs", "-1"], "--epochs", ">= 1, got '-1'"),
    (["train", "--data", "synthetic", "--output", "r", "--steps-per-epoch", "0"], "--steps-per-epoch", ">= 1"),
    (["train", "--data", "synthetic", "--output", "r", "--warmup-steps", "-5"], "--warmup-steps", ">= 0"),
    (["train", "--data", "synthetic", "--output", "r", "--learning-rate", "-1"], "--learning-rate", "> 0"),
    (["train", "--data", "synthetic", "--output", "r", "--scale-range", "0", "2"], "--scale-range", "> 0"),
    (["train", "--data", "synthetic", "--output", "r", "--seed", "-1"], "--seed", "from 0 to 4294967295"),
    (["train", "--data", "synthetic", "--output", "r", "--loss", "ce+dize"], "--loss", "'dize' is not a loss"),
    (["train", "--data", "synthetic", "--output", "r", "--class-weights", "1,,2"], "--class-weights", "1,,2"),
    (["train", "--data", "synthetic", "--output", "r", "--lr-schedule", "cosine"], "--lr-schedule", "'poly'"),
    (["train", "--data", "synthetic", "--output", "r", "--rotation", "-10"], "--rotation", "> 0"),
    (["train", "--data", "synthetic", "--output", "r", "--color-jitter", "0"], "--color-jitter", "> 0"),
    (["predict", "m.keras", "a.png", "--output", "o", "--tta-scales", "0.5,,1"], "--tta-scales", "0.5,,1"),
    (["evaluate", "m.keras", "--data", "synthetic", "--tta", "mirror"], "--tta", "'flip'"),
    (["demo", "--image-size", "0", "8"], "--image-size", ">= 1, got '0'"),
    (["predict", "m.keras", "a.png", "--output", "o", "--memory-limit", "nan"], "--memory-limit", "> 0, got 'nan'"),
    (["serve", "serving", "--port", "99999"], "--port", "from 0 to 65535"),
    (["train", "--data", "synthetic"], "--output", "required"),
    (["export", "--format", "saved_model", "--output", "out"], "--preset", "exactly one"),
    (["serve", "serving", "--preset", "fcn8s-heavy-pascal"], "--preset", "exactly one"),
])
def test_bad_options_are_one_line_naming_the_option(argv, option, rule, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as exit_info:  # argparse's own refusals
        code = exit_info.code
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1, err
    assert option in err and rule in err and f"fcn-keras {argv[0]} --help" in err


@pytest.mark.parametrize("spec, message", [
    ("bogus:xyz", r"--data: Unknown data source 'bogus:xyz'\. The forms are: synthetic\[:N\], voc:ROOT"),
    ("synthetic:abc", r"--data: Data source 'synthetic:abc': synthetic:N takes a whole number of images >= 1, "
                      r"got 'abc'"),
    ("context:VOC2010,", r"--data: Data source 'context:VOC2010,' needs two folders, context:VOC2010,CONTEXT, "
                         r"separated by a comma\."),
    ("folder:,masks", r"--data: Data source 'folder:,masks' needs two folders, folder:IMAGES,MASKS"),
])
def test_a_bad_data_spec_is_one_line_naming_the_option(demo_run, spec, message, capsys):
    assert cli.main(["evaluate", str(demo_run / "model.keras"), "--data", spec]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and re.search(message, err), err


@pytest.mark.parametrize("command", [["train", "--data", "synthetic:8", "--no-validation"], ["demo"]])
def test_an_output_folder_that_is_a_file_is_named(command, tmp_path, capsys):
    (tmp_path / "taken").write_text("mine")
    assert cli.main([*command, "--output", str(tmp_path / "taken")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'taken'}: it is a file" in err and "Errno" not in err
    assert (tmp_path / "taken").read_text() == "mine"


def test_a_file_that_is_not_a_keras_model_is_called_so(tmp_path, capsys):
    (tmp_path / "model.keras").write_bytes(b"not a zip archive")
    assert cli.main(["evaluate", str(tmp_path / "model.keras"), "--data", "synthetic:2"]) == 2
    err = capsys.readouterr().err
    assert "model.keras is not a Keras model file: a .keras file is a zip archive" in err
    assert "not found" not in err


def test_predict_writes_nothing_when_one_input_is_bad(demo_run, tmp_path, capsys):
    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("a", "b"):
        Image.fromarray(np.zeros((24, 24, 3), np.uint8)).save(photos / f"{name}.png")
    (photos / "c.png").write_bytes(b"not an image")
    args = ["predict", str(demo_run / "model.keras"), str(photos), "--output", str(tmp_path / "out")]
    assert cli.main(args) == 2
    assert "c.png: cannot decode the image" in capsys.readouterr().err
    assert not list((tmp_path / "out").glob("*.png"))
    (photos / "c.png").unlink()
    assert cli.main(args) == 0  # the corrected rerun needs no --overwrite
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [
        "a.png", "a_overlay.png", "b.png", "b_overlay.png"]


def test_a_run_that_failed_on_bad_data_does_not_steer_the_next(tmp_path, capsys):
    from PIL import Image

    from fcn_keras.data import write_mask

    def folder(name, count, bad=False):
        for kind in ("images", "masks"):
            (tmp_path / name / kind).mkdir(parents=True)
        for index in range(count):
            Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / name / "images" / f"{index}.png")
            write_mask(tmp_path / name / "masks" / f"{index}.png", np.full((16, 16), 9 if bad else 1))
        return f"folder:{tmp_path / name / 'images'},{tmp_path / name / 'masks'}"

    args = ["--num-classes", "3", "--no-validation", "--backbone", "vgg16_tiny", "--padding", "same",
            "--batch-size", "2", "--epochs", "1", "--precision", "float32", "--output", str(tmp_path / "run")]
    assert cli.main(["train", "--data", folder("bad", 4, bad=True), *args]) == 2  # 2 steps per epoch, failed
    assert "mask values [9]" in capsys.readouterr().err
    assert cli.main(["train", "--data", folder("good", 6), *args]) == 0
    out = capsys.readouterr().out
    assert "Resuming" not in out and "3/3 - " in out  # the new data's 3 steps, not the failed run's 2
    assert "run there finished no epoch" in out


def test_an_unprepared_tfds_data_set_is_refused_at_once_without_downloads(tmp_path, capsys):
    assert cli.main(["train", "--data", "tfds:oxford_iiit_pet", "--no-download", "--output",
                     str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "oxford_iiit_pet is not prepared in " in err and "tfds build oxford_iiit_pet" in err
    assert err.rstrip().endswith("or allow the download (without --no-download).")  # the library's download=True


def test_library_messages_speak_python_and_the_command_line_its_options(tmp_path, capsys):
    from fcn_keras.data.specs import check_validation_source

    with pytest.raises(ValueError, match=r"give validation_data=SOURCE or validation=False\.$"):
        check_validation_source("folder:a,b")
    assert cli.main(["train", "--data", "folder:a,b", "--num-classes", "3", "--output", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err.rstrip().endswith("give --val-data SOURCE or --no-validation.")
    parser = cli.build_parser().commands["export"]
    assert cli.in_option_terms("output=/x is a file; `quantize`, num_classes=3, at_once=True", parser) == (
        "--output /x is a file; --quantize, num_classes=3, at_once=True")  # export has neither of the last two


def test_listing_commands_start_no_backend_and_print_no_log_line():
    script = ("import sys\nfrom fcn_keras import cli\nstatuses = [cli.main(['backbones']), cli.main(['presets'])]\n"
              "print(statuses, sorted(name for name in ('keras', 'tensorflow') if name in sys.modules))")
    result = run_under("tensorflow", script, timeout=120)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.splitlines()[-1] == "[0, 0] []"
    assert "vgg16" in result.stdout and "fcn8s-heavy-pascal" in result.stdout


def test_info_without_the_backends_library_says_how_to_install_it():
    script = "import sys\nsys.modules['torch'] = None  # as if not installed\nfrom fcn_keras import cli\n" \
             "print(cli.main(['info']))"
    result = run_under("torch", script, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert 'torch             not installed: pip install "fcn-keras[torch]"' in lines
    assert "gpus              n/a (torch is not installed)" in lines and lines[-1] == "0"


def test_library_log_lines_stay_hidden_without_verbose(tmp_path, monkeypatch, capfd):
    (tmp_path / "scene_parse150" / "1.0.0").mkdir(parents=True)  # a variant folder without dataset_info.json
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    argv = ["train", "--data", "tfds:scene_parse150", "--no-download", "--output", str(tmp_path / "run")]
    assert cli.main(argv) == 2
    err = capfd.readouterr().err  # (this process's own TensorFlow may add its late C++ lines)
    assert "fcn-keras train: error: --data: The TFDS data set scene_parse150 is not prepared" in err
    assert "absl" not in err and "dataset_info.json" not in err, err  # TFDS's warning about the empty folder


def test_predict_runtime_writes_the_masks_of_an_exported_file(demo_run, tmp_path, capsys):
    """An OpenVINO file; --runtime tflite takes the same path (load_runtime_model), and the server's tests run both
    runtimes."""
    from PIL import Image

    from fcn_keras.data import make_shapes, read_mask
    from fcn_keras.evaluation import predict
    from fcn_keras.models import load_fcn
    from fcn_keras.visualize import overlay

    pytest.importorskip("openvino")
    exported = tmp_path / "exports" / "fcn.xml"
    assert cli.main(["export", str(demo_run / "model.keras"), "--format", "openvino", "--output", str(exported)]) == 0
    photos = tmp_path / "photos"
    photos.mkdir()
    images, _ = make_shapes(2, (40, 56), seed=3)
    for index, image in enumerate(images):
        Image.fromarray(image).save(photos / f"img{index}.png")
    output = tmp_path / "out"
    assert cli.main(["predict", str(exported), str(photos), "--runtime", "openvino", "--output", str(output)]) == 0
    assert "Wrote 2 masks and their overlays" in capsys.readouterr().out
    model = load_fcn(str(demo_run / "model.keras"))
    for index, image in enumerate(images):
        agreement = np.mean(read_mask(str(output / f"img{index}.png")) == predict(model, image))
        assert agreement >= 0.999, agreement  # float32 files: Keras' classes but for near ties
        picture = np.asarray(Image.open(output / f"img{index}_overlay.png").convert("RGB"))
        np.testing.assert_array_equal(picture[:40], overlay(image, read_mask(str(output / f"img{index}.png"))))
    assert cli.main(["predict", str(demo_run / "model.keras"), str(photos), "--runtime", "openvino", "--output",
                     str(tmp_path / "other")]) == 2
    assert "fcn-keras predict: error: --runtime openvino runs .xml files, and " in capsys.readouterr().err


def test_export_output_may_be_the_file_of_its_format_only(demo_run, tmp_path, capsys):
    model = str(demo_run / "model.keras")
    assert cli.main(["export", model, "--format", "onnx", "--output", str(tmp_path / "fcn.tflite")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"fcn-keras export: error: --output {tmp_path / 'fcn.tflite'} names a .tflite file, not an export of "
        "--format onnx; give a path ending in .onnx, or a folder.")
    assert cli.main(["predict", "--preset", "fcn8s-heavy-pascal", "photo.png", "--runtime", "openvino",
                     "--output", str(tmp_path / "out")]) == 2
    assert "--runtime openvino runs an exported file; give its path instead of --preset" in capsys.readouterr().err
    assert cli.main(["serve", "--preset", "fcn8s-heavy-pascal", "--runtime", "tflite"]) == 2
    assert "for --runtime tflite export it first" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def test_a_warning_is_one_line_as_errors_are(tmp_path, monkeypatch, capsys):
    import sys

    from helpers import tiny_fcn

    pytest.importorskip("ai_edge_litert")
    tiny_fcn().save(tmp_path / "model.keras")
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # as where it is not installed
    assert cli.main(["export", str(tmp_path / "model.keras"), "--format", "tflite", "--input-size", "16", "16",
                     "--output", str(tmp_path / "lite")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [f"fcn-keras export: warning: {tmp_path / 'lite' / 'model.tflite'} has no standard TFLite Metadata, "
                   "which MediaPipe needs: mediapipe is missing or fails to import (pip install "
                   "'fcn-keras[mediapipe]'); export again once it imports."], err


def test_a_tflite_file_gives_its_class_names_to_predict_and_serve(tmp_path):
    import argparse

    from fcn_keras.export import export_tflite

    path = str(tmp_path / "fcn.tflite")
    export_tflite(fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", padding="same"), path, class_names=["a", "b", "c"])
    tflite = argparse.Namespace(preset=None, runtime="tflite")
    assert cli._known_class_names(tflite, path) == ["a", "b", "c"]
    assert cli._known_class_names(argparse.Namespace(preset=None, runtime="keras"), path) is None
    assert cli._known_class_names(argparse.Namespace(preset="fcn8s-heavy-pascal"))[:2] == ("background", "aeroplane")
