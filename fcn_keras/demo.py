"""`fcn-keras demo`: train an FCN-8s on the built-in synthetic shapes and report the paper's scores."""

import dataclasses
import os
import time

import keras

from fcn_keras.data import SYNTHETIC_CLASSES, synthetic_shapes
from fcn_keras.demo_settings import (
    DEMO_FILES,
    DEMO_OUTPUT,
    DEMO_PADDING,
    DEMO_VARIANT,
    METRICS_FILE,
    TRAINING_DIR,
    DemoSettings,
    demo_model,
)
from fcn_keras.evaluation import evaluate, predict, save_metrics
from fcn_keras.precision import resolve_precision
from fcn_keras.training.run_folder import BEST_MODEL, LOG_FILE
from fcn_keras.training.runner import run_training
from fcn_keras.training.settings import TrainingSettings
from fcn_keras.visualize import comparison_grid, plot_training_curves
from fcn_keras.write_policy import RunFolder, save_atomically


def run_demo(output_dir=DEMO_OUTPUT, *, overwrite=False, verbose="auto", **settings):
    """Trains FCN-8s on synthetic shapes, scores it on a held-out set and writes the results.

    Writes to `output_dir`: `metrics.json` (pixel_accuracy, mean_accuracy, mean_iou,
    frequency_weighted_iou, per_class_iou, training_seconds, precision),
    `model.keras` (the best epoch by validation mean IU, float32), `overlays.png`
    (image | truth | prediction, with a legend of the classes), `training_curves.png`, `confusion_matrix.png`
    and `training/` (logs, TensorBoard). With the default `DemoSettings` it takes
    at most 3 minutes on 2 CPU cores, bfloat16 instructions or not.

    Args:
        output_dir: the run's folder; an existing run is kept unless `overwrite`.
        overwrite: replace an earlier demo run in `output_dir`.
        verbose: Keras progress bar setting.
        **settings: fields of `DemoSettings` to change (epochs, backbone, precision, ...).

    Returns:
        The metrics dict written to `metrics.json`.
    """
    demo = dataclasses.replace(DemoSettings(), **settings)
    # metrics.json is written last: without it the demo did not finish, and a rerun picks up its training
    RunFolder(output_dir, results=(METRICS_FILE,), scratch=[name for name in DEMO_FILES if name != METRICS_FILE]
              ).claim(overwrite, what="demo run")
    start = time.time()
    held_out = synthetic_shapes(demo.validation_images, demo.image_size, demo.num_classes, seed=demo.seed + 1)
    training_dir = os.path.join(output_dir, TRAINING_DIR)
    run_training(_training_settings(demo, held_out, training_dir, overwrite), verbose=verbose)
    best = demo_model(demo)  # float32, whatever the training precision
    best.set_weights(keras.models.load_model(os.path.join(training_dir, BEST_MODEL)).get_weights())
    save_atomically(best, os.path.join(output_dir, "model.keras"))
    class_names = SYNTHETIC_CLASSES[:demo.num_classes]
    metrics = evaluate(best, held_out.batch(demo.batch_size), demo.num_classes,
                       confusion_plot=os.path.join(output_dir, "confusion_matrix.png"), class_names=class_names)
    images, masks = next(iter(held_out.batch(6)))
    comparison_grid(images.numpy(), masks.numpy(), predict(best, images.numpy()),
                    os.path.join(output_dir, "overlays.png"), class_names=class_names)
    plot_training_curves(os.path.join(training_dir, LOG_FILE), os.path.join(output_dir, "training_curves.png"))
    metrics["training_seconds"] = round(time.time() - start, 1)
    metrics["precision"] = resolve_precision(demo.precision).policy
    save_metrics(metrics, os.path.join(output_dir, METRICS_FILE))
    return metrics


def _training_settings(demo, held_out, training_dir, overwrite):
    """The demo's training run: FCN-8s on synthetic shapes, validated on `held_out`; a rerun keeps a finished
    training (the demo failed after it) and scores it again."""
    return TrainingSettings(
        synthetic_shapes(demo.train_images, demo.image_size, demo.num_classes, seed=demo.seed), training_dir,
        validation_data=held_out, num_classes=demo.num_classes, variant=DEMO_VARIANT, backbone=demo.backbone,
        padding=DEMO_PADDING, dropout=demo.dropout, learning_rate=demo.learning_rate,
        warmup_steps=demo.warmup_steps, epochs=demo.epochs, batch_size=demo.batch_size, precision=demo.precision,
        seed=demo.seed, overwrite=overwrite, keep_finished=True)
