"""The `fcn-keras` command line. Each command only parses arguments and calls the library."""

import argparse
import contextlib
import dataclasses
import gc
import os
import re
import sys
import traceback
import warnings
from typing import NamedTuple, Optional

from fcn_keras.arguments import image_size_option, library_option, positive_number_option, whole_number_option
from fcn_keras.data.specs import COUNTED_BY_CALLER, INPUT_MODALITIES, SPECS, source_kind
from fcn_keras.defaults import DEFAULT_BACKBONE, DEFAULT_NUM_CLASSES, DEFAULT_PADDING, DEFAULT_VARIANT
from fcn_keras.demo_settings import DEMO_FILES, DEMO_OUTPUT, DemoSettings
from fcn_keras.error_text import is_tensorflow_error, library_exception, plain_message
from fcn_keras.export.options import (
    DEFAULT_HOST,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_IMAGE_PIXELS,
    DEFAULT_MODEL_NAME,
    DEFAULT_POLL_SECONDS,
    DEFAULT_PORT,
    FORMATS,
    QUANTIZATIONS,
)
from fcn_keras.export.formats import export_formats
from fcn_keras.limits import DEFAULT_MEMORY_LIMIT
from fcn_keras.loss_specs import LOSSES
from fcn_keras.machine import backend_installed, describe, keras_backend
from fcn_keras.models.variants import PADDINGS, VARIANTS
from fcn_keras.precision import DEFAULT_PRECISION, PRECISIONS, resolve_precision
from fcn_keras.tensorflow_startup import load_tensorflow_quietly, prefer_onednn_kernels, quiet_library_logs
from fcn_keras.training.recipes import DEFAULT_EPOCHS, DEFAULT_LR_SCHEDULE, DEFAULT_RECIPE, LR_SCHEDULES, RECIPES
from fcn_keras.training.settings import ConflictingSettings, TrainingSettings
from fcn_keras.write_policy import claim_files

DEMO = DemoSettings()


class UsageError(ValueError):
    """Options that contradict each other or are missing: reported as argparse reports its own errors."""


COUNT = whole_number_option(1)
SEED = whole_number_option(0, 2**32 - 1)  # NumPy's seed range

COMMANDS = {}


def command(name, help_text, example, arguments=None, uses_backend=True):
    """Registers `function(args)` as subcommand `name`; `arguments(parser)` adds its options.

    Args:
        name: the subcommand, e.g. "train".
        help_text: one line for `fcn-keras --help`.
        example: a command line shown in the subcommand's `--help`.
        arguments: optional `arguments(parser)` adding the subcommand's options.
        uses_backend: False for commands that only print tables: they start no Keras backend (instant).

    Returns:
        A decorator that registers the function and returns it unchanged.
    """

    def register(function):
        COMMANDS[name] = (function, help_text, example, arguments, uses_backend)
        return function

    return register


def _model_arguments(parser, variant_default=DEFAULT_VARIANT):
    parser.add_argument("--variant", default=variant_default, choices=VARIANTS,
                        help=f"default {variant_default or DEFAULT_VARIANT}")
    parser.add_argument("--backbone", default=DEFAULT_BACKBONE,
                        help=f"a registered backbone (see `fcn-keras backbones`; default {DEFAULT_BACKBONE}) or "
                             "hub:PRESET, a keras-hub preset (pip install 'fcn-keras[hub]')")
    parser.add_argument("--padding", default=DEFAULT_PADDING, choices=PADDINGS,
                        help=f"paper: the reference geometry; same: compact (default {DEFAULT_PADDING})")


def _summary_arguments(parser):
    _model_arguments(parser)
    parser.add_argument("--num-classes", type=COUNT, default=DEFAULT_NUM_CLASSES)
    parser.add_argument("--size", type=COUNT, nargs=2, default=(500, 500), metavar=("HEIGHT", "WIDTH"),
                        help="input size used to count FLOPs (default 500 500)")
    parser.add_argument("--layers", action="store_true", help="also print the Keras layer table")


@command("summary", "Build a model and print its parameters and FLOPs.",
         "fcn-keras summary --variant fcn8s --padding same --size 500 500", _summary_arguments)
def _summary(args):
    from fcn_keras.models import build_fcn, convolution_flops

    model = build_fcn(args.variant, args.num_classes, backbone=args.backbone, padding=args.padding,
                      input_shape=(*args.size, 3))
    if args.layers:
        model.summary()
    height, width = args.size
    print(f"{model.name}: {model.count_params():,} parameters, "
          f"{convolution_flops(model) / 1e9:.1f} GFLOP per {height}x{width} image ({args.padding} padding)")


@command("backbones", "List the registered backbones.", "fcn-keras backbones", uses_backend=False)
def _backbones(args):
    from fcn_keras.backbones import available_backbones, get_backbone

    for name in available_backbones():
        spec = get_backbone(name)
        pretrained = "loads pretrained weights" if spec.load_weights else "no pretrained weights"
        print(f"{name:16s} {pretrained:22s} {spec.description}")
    print(f"{'hub:PRESET':16s} {'loads pretrained weights':22s} a keras-hub preset's backbone (pip install "
          "'fcn-keras[hub]')")


@command("info", "Print what a bug report needs: versions, the Keras backend, CPU and its flags, GPUs, the precision "
         "'auto' picks.",
         "fcn-keras info")
def _info(args):
    facts = describe()
    facts["precision (auto)"] = resolve_precision("auto") if backend_installed() else "n/a"
    for key, value in facts.items():
        print(f"{key:17s} {value}")


def _precision_argument(parser, default=DEFAULT_PRECISION):
    parser.add_argument("--precision", default=default, choices=PRECISIONS,
                        help="training dtype policy; auto: mixed precision only where the hardware runs it "
                             "natively (see `fcn-keras info`)")


def _demo_arguments(parser):
    parser.add_argument("--output", default=DEMO_OUTPUT, help=f"folder of the run (default ./{DEMO_OUTPUT})")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier demo run in --output")
    parser.add_argument("--epochs", type=COUNT, default=DEMO.epochs)
    parser.add_argument("--train-images", type=COUNT, default=DEMO.train_images)
    parser.add_argument("--validation-images", type=COUNT, default=DEMO.validation_images)
    parser.add_argument("--image-size", type=COUNT, nargs=2, default=DEMO.image_size, metavar=("HEIGHT", "WIDTH"))
    parser.add_argument("--backbone", default=DEMO.backbone)
    _precision_argument(parser, DEMO.precision)
    parser.add_argument("--seed", type=SEED, default=DEMO.seed)


@command("demo", "Train FCN-8s on built-in synthetic shapes (2 CPU cores: under 3 min) and report the paper's "
         "scores.", "fcn-keras demo --output fcn-demo", _demo_arguments)
def _demo(args):
    from fcn_keras.demo import run_demo
    from fcn_keras.evaluation import format_metrics

    metrics = run_demo(args.output, overwrite=args.overwrite, epochs=args.epochs, train_images=args.train_images,
                       validation_images=args.validation_images, image_size=tuple(args.image_size),
                       backbone=args.backbone, precision=args.precision, seed=args.seed)
    print(f"Held-out scores ({args.validation_images} synthetic images):")
    print(format_metrics(metrics))
    print(f"Results in {args.output}/: {', '.join(DEMO_FILES)}")


def _data_arguments(parser, splits):
    parser.add_argument("--data", required=True, metavar="SOURCE", help=" | ".join(SPECS))
    parser.add_argument("--num-classes", type=COUNT, help="classes, for sources that do not define them")
    parser.add_argument("--modalities", nargs="+", choices=INPUT_MODALITIES, metavar="MODALITY",
                        help=f"NYUDv2 inputs among {', '.join(INPUT_MODALITIES)}, stacked in the order given "
                             "(default: colour images; evaluate: the model's own inputs)")
    parser.add_argument("--no-download", dest="download", action="store_false",
                        help="never download a data set (tfds:): fail at once if it is not prepared")
    for name, default in splits.items():
        parser.add_argument(f"--{name}", default=default, help=f"split name (default {default})")


def _train_arguments(parser):
    _data_arguments(parser, {"train-split": "train", "val-split": "val"})
    parser.add_argument("--val-data", dest="validation_data", metavar="SOURCE",
                        help="validation source (default: --data)")
    parser.add_argument("--no-validation", dest="validation", action="store_false",
                        help="train without a validation set")
    _model_arguments(parser, variant_default=None)
    parser.add_argument("--staged", action="store_true", help="train 32s, then 16s from it, then 8s (the paper's)")
    parser.add_argument("--at-once", action="store_true", help="FCN-8s/16s at-once (scaled skips)")
    parser.add_argument("--backbone-weights", help="'imagenet' or a local classifier weights file")
    parser.add_argument("--init-from", metavar="MODEL.keras", help="start from a trained coarser FCN")
    parser.add_argument("--recipe", default=DEFAULT_RECIPE, choices=RECIPES,
                        help="; ".join(f"{name}: {meaning}" for name, meaning in RECIPES.items()))
    parser.add_argument("--learning-rate", type=positive_number_option())
    parser.add_argument("--warmup-steps", type=whole_number_option(0), default=0,
                        help="raise the learning rate linearly over the first steps (default 0: no warm-up)")
    schedules = "; ".join(f"{name}: {meaning}" for name, meaning in LR_SCHEDULES.items())
    parser.add_argument("--lr-schedule", default=DEFAULT_LR_SCHEDULE, choices=LR_SCHEDULES,
                        help="the practical recipe's learning rate after the warm-up; " + schedules.replace("%", "%%"))
    parser.add_argument("--loss", default="ce", type=library_option("fcn_keras.loss_specs:check_loss_spec"),
                        metavar="LOSS", help="; ".join(f"{name}: {meaning}" for name, meaning in LOSSES.items())
                        + "; or a weighted sum of them, e.g. ce+dice or ce+0.5*lovasz (default ce)")
    parser.add_argument("--class-weights", metavar="auto|W1,W2,...",
                        type=library_option("fcn_keras.loss_specs:parse_class_weights"),
                        help="weights of the classes in the loss, one per class, or auto: median-frequency "
                             "balancing from one pass over the training data")
    parser.add_argument("--epochs", type=COUNT, default=DEFAULT_EPOCHS)
    parser.add_argument("--steps-per-epoch", type=COUNT, help="default: one pass over the training data")
    parser.add_argument("--batch-size", type=COUNT, default=1, help="1 = whole images, the paper's (default)")
    parser.add_argument("--crop-size", type=COUNT, nargs=2, metavar=("HEIGHT", "WIDTH"), help="random crops")
    parser.add_argument("--scale-range", type=positive_number_option(), nargs=2, metavar=("LOW", "HIGH"),
                        help="random scaling")
    parser.add_argument("--resized-crop", type=positive_number_option(), nargs=2, metavar=("MIN", "MAX"),
                        help="random resized crops of MIN..MAX of the image's area (fractions up to 1, aspect "
                             "ratios 3/4..4/3), resized to --crop-size")
    parser.add_argument("--rotation", type=positive_number_option(), metavar="DEGREES",
                        help="random rotation up to this angle (0 to 180) either way; what comes in from outside "
                             "the image is ignored in the loss")
    parser.add_argument("--color-jitter", type=positive_number_option(), metavar="STRENGTH",
                        help="random brightness, contrast and saturation of this strength (0 to 1), and hue of a "
                             "quarter of it, e.g. 0.4")
    _precision_argument(parser)
    parser.add_argument("--seed", type=SEED, default=0)
    parser.add_argument("--output", required=True, help="run folder; rerun the same command to resume it")
    parser.add_argument("--overwrite", action="store_true", help="replace a finished run in --output")


@command("train", "Train an FCN; rerunning the same command resumes an interrupted run.",
         "fcn-keras train --data voc:VOC2012 --backbone-weights imagenet --crop-size 320 320 "
         "--batch-size 8 --output runs/voc", _train_arguments)
def _train(args):
    from fcn_keras.training.runner import run_training

    settings = {field.name: getattr(args, field.name)  # each option sets the setting of its name
                for field in dataclasses.fields(TrainingSettings) if hasattr(args, field.name)}
    run_training(TrainingSettings(**settings))
    print(f"Done: best model in {args.output}.")


def _open_data(args, split, num_classes):
    """`open_source` for `--data`; its refusals name the option."""
    from fcn_keras.data import open_source

    try:
        return open_source(args.data, split, num_classes, download=args.download, modalities=args.modalities)
    except (ValueError, OSError) as error:
        raise ValueError(f"--data: {error}") from error


def _preset_argument(parser, use="instead of a file"):
    parser.add_argument("--preset", metavar="NAME",
                        help=f"one of the authors' trained networks {use} (see `fcn-keras presets`)")


def _model_source_arguments(parser):
    parser.add_argument("model", nargs="?", help="a .keras model file (or give --preset)")
    _preset_argument(parser)


def _check_one_model_source(args):
    if (args.model is None) == (args.preset is None):
        raise UsageError("give a .keras model file or --preset NAME (exactly one).")


def _load_model(args):
    """The model a command works on: `--preset NAME` or the .keras file, exactly one of them."""
    _check_one_model_source(args)
    if args.preset:
        from fcn_keras.models import from_preset

        return from_preset(args.preset)
    from fcn_keras.models import load_fcn

    return load_fcn(args.model)


def _memory_argument(parser):
    parser.add_argument("--memory-limit", type=positive_number_option(2**30),
                        default=DEFAULT_MEMORY_LIMIT, metavar="GB",
                        help="activation memory one pass may use; larger images are scored in tiles with the same "
                             f"result (default {DEFAULT_MEMORY_LIMIT / 2**30:g})")


def _tta_arguments(parser):
    parser.add_argument("--tta", choices=["flip"],
                        help="test-time augmentation: flip also scores each image mirrored, and averages the "
                             "class probabilities")
    parser.add_argument("--tta-scales", metavar="S1,S2,...",
                        type=library_option("fcn_keras.test_time:parse_scales"),
                        help="test-time augmentation: score each image resized by each of these factors (e.g. "
                             "0.75,1,1.25; give 1 for the image as it is), probabilities averaged at its own size")


def _tta(args):
    """The test-time augmentation `--tta` and `--tta-scales` ask for, or None."""
    from fcn_keras.test_time import test_time_augmentation

    return test_time_augmentation(flip=args.tta == "flip", scales=args.tta_scales)


def _evaluate_arguments(parser):
    _model_source_arguments(parser)
    _memory_argument(parser)
    _tta_arguments(parser)
    _data_arguments(parser, {"split": "val"})
    parser.add_argument("--output", help="write the scores to this JSON file")
    parser.add_argument("--confusion-plot", help="save the confusion matrix as this PNG")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")


@command("evaluate", "Score a model with the paper's four metrics (and per-class IU).",
         "fcn-keras evaluate fcn-demo/model.keras --data synthetic --output metrics.json", _evaluate_arguments)
def _evaluate(args):
    from fcn_keras.evaluation import confusion_plot_paths, evaluate, format_metrics, save_metrics
    from fcn_keras.models.fcn_model import classes_of, heads_of, modalities_of

    model = _load_model(args)
    args.modalities = args.modalities or modalities_of(model)  # a model's inputs are named by modality
    plots = confusion_plot_paths(args.confusion_plot, heads_of(model)) if args.confusion_plot else []
    claim_files([args.output, *plots], args.overwrite)
    model_classes = classes_of(model)  # the count of sources that have none
    source = _open_data(args, args.split,
                        args.num_classes or (model_classes if source_kind(args.data) in COUNTED_BY_CALLER else None))
    metrics = evaluate(model, source.dataset, source.num_classes, confusion_plot=args.confusion_plot,
                       class_names=source.class_names, memory_limit=args.memory_limit, tta=_tta(args))
    print(format_metrics(metrics))
    if args.output:
        save_metrics(metrics, args.output)
        print(f"Scores written to {args.output}.")


def _predict_arguments(parser):
    from fcn_keras.export.options import RUNTIMES

    parser.add_argument("paths", nargs="+", metavar="[MODEL] INPUT",
                        help=f"a .keras model file (unless --preset; with --runtime a {_runtime_files()} file), "
                             "then image files and/or folders of images")
    _preset_argument(parser)
    parser.add_argument("--runtime", choices=("keras", *RUNTIMES), default="keras",
                        help=f"what runs the model file: keras (default), {', '.join(RUNTIMES)}; the others score "
                             "each image whole (--memory-limit tiles Keras models)")
    _memory_argument(parser)
    _tta_arguments(parser)
    parser.add_argument("--output", required=True, help="folder for <name>.png masks and <name>_overlay.png")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")


@command("predict", "Segment images: palette PNG masks and colour overlays.",
         "fcn-keras predict fcn-demo/model.keras photos/ --output predictions", _predict_arguments)
def _predict(args):
    from fcn_keras.prediction_files import write_predictions

    args.model, inputs = (None, args.paths) if args.preset else (args.paths[0], args.paths[1:])
    if not inputs:
        raise UsageError("give the images to segment after the model file.")
    if args.runtime == "keras":
        model = _load_model(args)
    else:
        from fcn_keras.export.runtime_models import load_runtime_model

        if args.preset:
            raise UsageError(f"--runtime {args.runtime} runs an exported file; give its path instead of --preset.")
        model = load_runtime_model(args.model, args.runtime)
    written = write_predictions(model, inputs, args.output, overwrite=args.overwrite, memory_limit=args.memory_limit,
                                class_names=_known_class_names(args, args.model), tta=_tta(args))
    print(f"Wrote {len(written) // 2} masks and their overlays to {args.output}.")


def _export_arguments(parser):
    _model_source_arguments(parser)
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("--output", required=True,
                        help="a folder: SavedModels go to OUTPUT/<next version>/, files to "
                             f"OUTPUT/model*{_model_file_names('|')}; or the file itself: model"
                             f"{_model_file_names(', model')} ({_companion_files()})")
    parser.add_argument("--quantize", choices=[name for name in QUANTIZATIONS if name],
                        help=f"quantization ({_quantizations_by_format()}; int8 calibrates on --representative-data)")
    parser.add_argument("--representative-data", metavar="PATH",
                        help="int8 calibration images: a folder of images or a .npy array")
    parser.add_argument("--input-size", type=COUNT, nargs=2, metavar=("HEIGHT", "WIDTH"),
                        help=f"fix the input size of {_sized_formats()} exports (default: dynamic)")


def _model_file_names(separator):
    """The extensions of the formats written as one model file, e.g. ".tflite|.onnx|.xml"."""
    return separator.join(export_format.extensions[0] for export_format in export_formats()
                          if export_format.extensions)


def _companion_files():
    """The files some formats write beside the model file, e.g. "a .xml's weights go to the .bin beside it"."""
    written_beside = [export_format.extensions for export_format in export_formats()
                      if len(export_format.extensions) > 1]
    return ", ".join(f"a {model_file}'s weights go to the {' and '.join(others)} beside it"
                     for model_file, *others in written_beside)


def _quantizations_by_format():
    """The quantizations each format takes, in words: "tflite: float16, int8; openvino: int8"."""
    return "; ".join(f"{export_format.name}: {', '.join(name for name in export_format.quantizations if name)}"
                     for export_format in export_formats() if any(export_format.quantizations))


def _sized_formats():
    """The formats that take a fixed input size, in words: "tflite and openvino"."""
    return " and ".join(export_format.name for export_format in export_formats()
                        if export_format.takes_size_and_calibration)


def _runtime_files():
    """The model files `--runtime` runs, e.g. ".tflite or .xml"."""
    return " or ".join(export_format.extensions[0] for export_format in export_formats() if export_format.runtime)


@command("export", "Export a trained model for TF Serving (SavedModel), phones (TFLite), ONNX or OpenVINO.",
         "fcn-keras export fcn-demo/model.keras --format saved_model --output serving/fcn", _export_arguments)
def _export(args):
    from fcn_keras.export import export_model, get_export_format

    _check_one_model_source(args)
    class_names = _known_class_names(args) if get_export_format(args.format).takes_class_names else None
    path = export_model(_load_model(args) if args.preset else args.model, args.format, args.output,
                        quantize=args.quantize, representative_data=args.representative_data,
                        input_size=tuple(args.input_size) if args.input_size else None, class_names=class_names)
    print(f"Exported {args.preset or args.model} to {path}.")
    if args.format == "tflite" and not args.input_size:
        print("Its input size is dynamic, and MediaPipe segments at a fixed size: for MediaPipe, export with "
              "--input-size HEIGHT WIDTH.")


def _known_class_names(args, model_file=None):
    """The class names a command knows for its legends and labels: `--preset`'s network's, or those the
    metadata of a `.tflite` model file holds (`--runtime tflite`); else None (a `.keras` file stores none)."""
    if args.preset:
        from fcn_keras.models.preset_table import get_preset

        return get_preset(args.preset).class_names
    if getattr(args, "runtime", None) == "tflite" and model_file:
        from fcn_keras.export.tflite import read_tflite_metadata

        try:
            return read_tflite_metadata(model_file)["class_names"]
        except ValueError:  # a file written by another tool: no names
            return None
    return None


def _serve_arguments(parser):
    from fcn_keras.export.options import RUNTIMES

    parser.add_argument("dir", nargs="?",
                        help="a SavedModel base folder with numeric versions (from `fcn-keras export`), or a "
                             f".keras file (exported for the session); with --runtime a {_runtime_files()} file")
    _preset_argument(parser, "instead of a folder, exported once into the cache")
    parser.add_argument("--runtime", choices=("saved_model", *RUNTIMES), default="saved_model",
                        help=f"what runs the model: saved_model (TensorFlow's, default), {', '.join(RUNTIMES)}; "
                             "each answers the same routes and signatures")
    parser.add_argument("--port", type=whole_number_option(0, 65535), default=DEFAULT_PORT, help="0 picks a free one")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--model-name", default=DEFAULT_MODEL_NAME)
    parser.add_argument("--max-image-pixels", type=COUNT, default=DEFAULT_MAX_IMAGE_PIXELS,
                        help="refuse (HTTP 413) requests whose images hold more pixels in all "
                             f"(default {DEFAULT_MAX_IMAGE_PIXELS})")
    parser.add_argument("--max-concurrency", type=COUNT, default=DEFAULT_MAX_CONCURRENCY,
                        help="requests parsed and predicted at the same time; the others wait their turn "
                             f"(default {DEFAULT_MAX_CONCURRENCY})")
    parser.add_argument("--poll-seconds", type=float, metavar="S", default=DEFAULT_POLL_SECONDS,
                        help="seconds between looks for a newer version in the folder, served without dropping a "
                             f"request, as TF Serving does (default {DEFAULT_POLL_SECONDS:g}; 0 does not look)")


@command("serve", "Serve an exported SavedModel over TF Serving's REST API (no Docker needed).",
         f"fcn-keras serve serving/fcn --port {DEFAULT_PORT}", _serve_arguments)
def _serve(args):
    from fcn_keras.export import serve

    if (args.dir is None) == (args.preset is None):
        raise UsageError("give a SavedModel folder, a .keras file or --preset NAME (exactly one).")
    if args.preset and args.runtime != "saved_model":
        raise UsageError(f"--preset serves the preset's SavedModel; for --runtime {args.runtime} export it first "
                         f"(fcn-keras export --preset {args.preset} --format {args.runtime} --output DIR) and serve "
                         "that file.")
    if args.preset:
        from fcn_keras.export.preset_exports import preset_saved_model

        args.dir = preset_saved_model(args.preset)
    serve(args.dir, port=args.port, host=args.host, model_name=args.model_name,
          max_image_pixels=args.max_image_pixels, max_concurrency=args.max_concurrency, runtime=args.runtime,
          poll_seconds=args.poll_seconds, class_names=_known_class_names(args, args.dir))


@command("presets", "List the authors' trained networks that --preset and fcn_keras.from_preset() load.",
         "fcn-keras presets", uses_backend=False)
def _presets(args):
    from fcn_keras.models.preset_table import PRESETS, fcn_keras_home, preset_path

    width = max(map(len, PRESETS))
    print(f"{'name':{width}s} {'variant':8s} {'classes':>7s} {'download':>9s}  {'cached':6s}  reported by the authors")
    for name, preset in PRESETS.items():
        reported = ", ".join(f"{score} {value}" for score, value in preset.scores.items())
        cached = "yes" if os.path.exists(preset_path(name)) else "no"
        classes = preset.num_classes
        classes = "+".join(map(str, classes.values())) if isinstance(classes, dict) else str(classes)
        print(f"{name:{width}s} {preset.variant:8s} {classes:>7s} {preset.size_mb:6d} MB  {cached:6s}  {reported}")
    print(f"Cache: {fcn_keras_home()} (set FCN_KERAS_HOME to move it). Licence: "
          f"{next(iter(PRESETS.values())).licence}.")


def _convert_arguments(parser):
    parser.add_argument("source", help="a .caffemodel (the authors'), .npz (Chainer port) or .pth (pytorch-fcn)")
    parser.add_argument("--output", required=True, help="the .keras file to write")
    parser.add_argument("--at-once", action="store_true",
                        help="at-once FCN-8s weights from a .npz/.pth (a .caffemodel says so itself)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --output")


@command("convert", "Convert trained FCN weights (Caffe, Chainer, PyTorch) into a Keras model.",
         "fcn-keras convert fcn8s-heavy-pascal.caffemodel --output fcn8s.keras", _convert_arguments)
def _convert(args):
    from fcn_keras.models import convert_weights_file

    model = convert_weights_file(args.source, args.output, at_once=args.at_once or None, overwrite=args.overwrite)
    print(f"Converted {args.source}: {model.variant}, {model.num_classes} classes -> "
          f"{args.output}.")


BENCHMARK_BACKBONES = ("vgg16", "alexnet", "googlenet", "resnet50", "resnet101", "mobilenetv2", "efficientnetv2b0")


def _benchmark_arguments(parser):
    from fcn_keras.benchmark.runtimes import RUNTIMES

    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=VARIANTS, help="default: all three")
    parser.add_argument("--backbones", nargs="+", default=BENCHMARK_BACKBONES,
                        help=f"registered backbones (default: {' '.join(BENCHMARK_BACKBONES)})")
    parser.add_argument("--paddings", nargs="+", choices=PADDINGS,
                        help="geometries (default: both for VGG16, the builders' default for the others)")
    parser.add_argument("--sizes", nargs="+", type=image_size_option, default=[(500, 500), (224, 224)],
                        metavar="HxW", help="input sizes (default 500x500 224x224)")
    parser.add_argument("--batches", nargs="+", type=COUNT, default=[1, 8], help="batch sizes (default 1 8)")
    parser.add_argument("--runtimes", nargs="+", choices=list(RUNTIMES), default=list(RUNTIMES), metavar="RUNTIME",
                        help=f"default: all that run here, of {', '.join(RUNTIMES)}")
    parser.add_argument("--repeats", type=COUNT, default=5, help="timed calls per case, median kept (default 5)")
    parser.add_argument("--no-training", action="store_true",
                        help="skip the demo's training step and input pipeline")
    parser.add_argument("--trained", metavar="MODEL",
                        help="the demo's trained model.keras: each runtime's mean IU on its held-out set, against "
                             "Keras float32 (what low precision costs)")
    parser.add_argument("--output", default="fcn-benchmark",
                        help="folder for results.json, results.md and latency.png (default ./fcn-benchmark)")
    parser.add_argument("--overwrite", action="store_true", help="replace earlier results in --output")


@command("benchmark", "Measure inference and training speed on this machine against its matmul peak.",
         "fcn-keras benchmark --variants fcn8s --backbones vgg16 --sizes 500x500 --batches 1 "
         "--runtimes keras xla tflite_int8", _benchmark_arguments)
def _benchmark(args):
    from fcn_keras.benchmark import claimed_results, model_cases, run_benchmark, write_results
    from fcn_keras.benchmark.quality import demo_model_for_quality
    from fcn_keras.benchmark.report import write_json

    cases = model_cases(args.variants, args.backbones, args.paddings)
    trained = args.trained and demo_model_for_quality(args.trained, DEMO)  # a wrong file fails now, not at the end
    with claimed_results(args.output, args.overwrite) as paths:  # refused now, not after an hour
        results = run_benchmark(cases, args.sizes, args.batches,
                                args.runtimes, args.repeats, demo=None if args.no_training else DEMO,
                                trained=trained, checkpoint=lambda so_far: write_json(so_far, paths[0]))
        print(f"Results in {', '.join(write_results(results, args.output, overwrite=True))}")


class OneLineErrorParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one stderr line (exit status 2), naming the option and `--help`."""

    def error(self, message):
        self.exit(2, self.error_line(message) + "\n")

    def error_line(self, message):
        """The line `error` prints for `message`."""
        return f"{self.prog}: error: {message} (`{self.prog} --help` lists the options)"


class Option(NamedTuple):
    """A command's option as the library argument it sets: its flag and, for a switch, the value it sets."""

    flag: str  # "--batch-size"
    sets: Optional[bool]  # a switch's value (--overwrite: True, --no-download: False); None: the option's own


class CommandParser(OneLineErrorParser):
    """A command's parser; `options` maps each library argument that an option sets to its `Option`.

    Options set the library argument of their name (`dest`): `--val-data` sets `validation_data`.

    Example:
        >>> build_parser().commands["train"].options["download"]
        Option(flag='--no-download', sets=False)
    """

    def __init__(self, *args, **kwargs):
        self.options = {}  # filled as options are added
        super().__init__(*args, **kwargs)

    def add_argument(self, *names, **kwargs):
        action = super().add_argument(*names, **kwargs)
        if names[0].startswith("-") and kwargs.get("action") != "help":  # an option, not a positional argument
            self.options[action.dest] = Option(max(names, key=len),
                                               {"store_true": True, "store_false": False}.get(kwargs.get("action")))
        return action


def build_parser():
    """The argparse parser of `fcn-keras` with one subparser per registered command.

    Returns:
        `argparse.ArgumentParser`; `.commands` maps each command to its `CommandParser`.

    Example:
        >>> build_parser().parse_args(["backbones"]).command
        'backbones'
    """
    parser = OneLineErrorParser(
        prog="fcn-keras", description="Fully Convolutional Networks (Long et al., 2015) in Keras 3."
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's own log lines and full tracebacks")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                       parser_class=CommandParser)
    parser.commands = {}
    for name, (function, help_text, example, arguments, uses_backend) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=f"{help_text}\n\nExample:\n  {example}",
                                    formatter_class=argparse.RawDescriptionHelpFormatter, parents=[common])
        if arguments:
            arguments(sub)
        sub.set_defaults(run=function, uses_backend=uses_backend)
        parser.commands[name] = sub
    return parser


def main(argv=None):
    """Entry point of the `fcn-keras` console script.

    Args:
        argv: the arguments (default: `sys.argv[1:]`).

    Returns:
        The exit status: 0 on success, 2 on a reported error.

    Example:
        >>> main(["summary", "--backbone", "vgg16_tiny", "--size", "64", "64"])
        fcn8s_vgg16_tiny: 291,827 parameters, 0.3 GFLOP per 64x64 image (paper padding)
        0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    status = _run(parser, args)
    # A failed run's traceback keeps its tf.data iterators alive in reference cycles; freed at interpreter exit,
    # their threads can abort the process ("terminate called without an active exception"). Free them now.
    gc.collect()
    return status


def _loads_tensorflow(args):
    """Whether the command will load TensorFlow: always on its backend (KERAS_BACKEND or keras.json, as Keras reads
    them), on JAX and PyTorch only to read data (tf.data pipelines)."""
    if not args.uses_backend:
        return False
    return keras_backend() == "tensorflow" or args.command == "demo" or bool(getattr(args, "data", None))


def _run(parser, args):
    """Runs the parsed command; returns the exit status, with failures reported as one line."""
    try:
        if args.command == "demo":
            prefer_onednn_kernels()  # faster small-network training on AVX2-only CPUs, where TensorFlow leaves it off
        if not args.verbose and _loads_tensorflow(args):
            load_tensorflow_quietly()
        with contextlib.nullcontext() if args.verbose else _quiet(args.command):
            args.run(args)
    except (UsageError, ConflictingSettings) as error:
        command_parser = parser.commands[args.command]
        print(command_parser.error_line(in_option_terms(str(error), command_parser)), file=sys.stderr)
        return 2
    except (ValueError, OSError, ImportError, FloatingPointError, MemoryError) as error:
        return _report(args, str(error))
    except Exception as error:
        if not is_tensorflow_error(error):
            raise
        # A bad file or label found inside a tf.data pipeline: its own message names it and the fix.
        return _report(args, str(library_exception(error) or f"{plain_message(error)} (--verbose shows more)"))
    return 0


@contextlib.contextmanager
def _quiet(command):
    """Library log lines held to errors, and warnings printed as one line each, as errors are."""

    def one_line(message, category, filename, lineno, file=None, line=None):
        print(f"fcn-keras {command}: warning: {' '.join(str(message).split())}", file=sys.stderr)

    with quiet_library_logs(), warnings.catch_warnings():
        warnings.showwarning = one_line
        yield


def _report(args, message):
    """Prints a failed command's error as one line, in the command's option names (after its traceback with
    --verbose); returns 2."""
    if args.verbose:
        traceback.print_exc()
    one_line = " ".join(line.strip() for line in message.splitlines() if line.strip())
    print(f"fcn-keras {args.command}: error: {in_option_terms(one_line, build_parser().commands[args.command])}",
          file=sys.stderr)
    return 2


def in_option_terms(message, parser):
    """A library message with its arguments (`name=value`, `` `name` ``) written as a command's options.

    Args:
        message: the library's message.
        parser: the command's parser (`build_parser().commands[command]`), whose `options` table says which
            library argument each option sets.

    Returns:
        str; arguments the command has no option for are left as they are.

    Example:
        >>> parser = build_parser().commands["train"]
        >>> in_option_terms("pass overwrite=True to start over, or a larger `batch_size`", parser)
        'pass --overwrite to start over, or a larger --batch-size'
        >>> in_option_terms("resume with precision='float32'; allow downloads (download=True). Or validation=False.",
        ...                 parser)
        'resume with --precision float32; allow downloads (without --no-download). Or --no-validation.'
    """
    names = "|".join(re.escape(name) for name in sorted(parser.options, key=len, reverse=True))
    if not names:
        return message
    # `name`, or name=value where the value ends before a space, a comma, a bracket or a sentence's full stop
    argument = re.compile(rf"`({names})`|\b({names})=('[^']*'|[^\s,;()]*[^\s,;().])")

    def option(match):
        named, name, value = match.groups()
        flag, sets = parser.options[named or name]
        if named:
            return flag
        if sets is not None:  # a switch: the value it sets is said by the flag, the other by its absence
            return flag if (value == "True") == sets else f"without {flag}"
        return f"{flag} {value.strip(chr(39))}"

    return argument.sub(option, message)


if __name__ == "__main__":
    sys.exit(main())
