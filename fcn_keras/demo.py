"""`fcn-keras demo`: train an FCN-8s on the built-in synthetic shapes and report the paper's scores."""

import functools
import os
import shutil
import time

import keras
import numpy as np

from fcn_keras.data import SYNTHETIC_CLASSES, prepare, synthetic_shapes
from fcn_keras.evaluation import evaluate, predict, save_metrics
from fcn_keras.models import build_fcn8s
from fcn_keras.training import BEST_MODEL, LOG_FILE, train
from fcn_keras.visualize import comparison_grid, plot_training_curves

DEMO_FILES = ("metrics.json", "model.keras", "overlays.png", "training_curves.png", "confusion_matrix.png")
TRAINING_DIR = "training"


def run_demo(output_dir="fcn-demo", *, overwrite=False, train_images=2000, validation_images=200,
             image_size=(96, 96), num_classes=5, epochs=10, batch_size=16, learning_rate=1e-3,
             backbone="vgg16_slim", dropout=0.1, precision="mixed_bfloat16", seed=0, verbose="auto"):
    """Trains FCN-8s on synthetic shapes, scores it on a held-out set and writes the results.

    Writes to `output_dir`: `metrics.json` (pixel_accuracy, mean_accuracy, mean_iou,
    frequency_weighted_iou, per_class_iou), `model.keras` (the best epoch by
    validation mean IU), `overlays.png` (image | truth | prediction),
    `training_curves.png`, `confusion_matrix.png` and `training/` (logs, TensorBoard).
    The defaults take about 4 minutes on 2 CPU cores.

    Args:
        output_dir: the run's folder; an existing run is kept unless `overwrite`.
        overwrite: replace an earlier demo run in `output_dir`.
        train_images, validation_images: sizes of the training and held-out sets
            (different seeds, so no held-out image is seen in training).
        image_size: (height, width) of the synthetic images.
        num_classes: classes of the synthetic set, background included.
        epochs, batch_size, learning_rate: training schedule ("practical" recipe).
        backbone: a registered backbone; the model is always FCN-8s.
        dropout: after fc6 and fc7; lower than the paper's 0.5, which slows
            learning from scratch on a small data set.
        precision: Keras dtype policy of training; "mixed_bfloat16" is about twice
            as fast as "float32" on CPUs with bfloat16 instructions. `model.keras`
            is saved as a float32 model either way.
        seed: seed of data, initialization and augmentation.
        verbose: Keras progress bar setting.

    Returns:
        The metrics dict written to `metrics.json`.

    Example:
        >>> run_demo("fcn-demo")["mean_iou"]  # doctest: +SKIP
        0.86
    """
    _claim_output_dir(output_dir, overwrite)
    start = time.time()
    keras.utils.set_random_seed(seed)
    train_data = prepare(synthetic_shapes(train_images, image_size, num_classes, seed=seed),
                         batch_size=batch_size, training=True, flip=True, cache=True, seed=seed)
    held_out = synthetic_shapes(validation_images, image_size, num_classes, seed=seed + 1)
    validation_data = prepare(held_out, batch_size=batch_size, cache=True)
    build = functools.partial(build_fcn8s, num_classes, backbone=backbone, padding="same", dropout=dropout)
    training_dir = os.path.join(output_dir, TRAINING_DIR)
    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(precision)
    try:
        train(build(), train_data, validation_data, output_dir=training_dir, epochs=epochs,
              learning_rate=learning_rate, overwrite=overwrite, verbose=verbose)
    finally:
        keras.mixed_precision.set_global_policy(policy)

    best = build()  # float32, whatever the training precision
    best.set_weights(keras.models.load_model(os.path.join(training_dir, BEST_MODEL)).get_weights())
    best.save(os.path.join(output_dir, "model.keras"))
    metrics = evaluate(best, held_out.batch(batch_size), num_classes,
                       confusion_plot=os.path.join(output_dir, "confusion_matrix.png"),
                       class_names=SYNTHETIC_CLASSES[:num_classes])
    metrics["training_seconds"] = round(time.time() - start, 1)
    save_metrics(metrics, os.path.join(output_dir, "metrics.json"))

    images, masks = next(iter(held_out.batch(6)))
    comparison_grid(images.numpy(), masks.numpy(), predict(best, images.numpy()),
                    os.path.join(output_dir, "overlays.png"))
    plot_training_curves(os.path.join(training_dir, LOG_FILE), os.path.join(output_dir, "training_curves.png"))
    return metrics


def _claim_output_dir(output_dir, overwrite):
    """Refuses to touch an earlier run unless `overwrite`; then removes only the demo's own files."""
    parent = os.path.dirname(os.path.abspath(output_dir))
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"Cannot write the demo to {output_dir}: {parent} does not exist.")
    existing = [name for name in (*DEMO_FILES, TRAINING_DIR) if os.path.exists(os.path.join(output_dir, name))]
    if existing and not overwrite:
        raise FileExistsError(
            f"{output_dir} already holds a demo run ({', '.join(existing)}); pass --overwrite to replace "
            "it or --output to write elsewhere."
        )
    for name in existing:
        path = os.path.join(output_dir, name)
        shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    os.makedirs(output_dir, exist_ok=True)


def format_metrics(metrics):
    """The four scores as a short table for the terminal.

    Args:
        metrics: a dict with the keys of `fcn_keras.evaluate`'s result.

    Returns:
        str, one line per score.

    Example:
        >>> print(format_metrics({"pixel_accuracy": 0.9, "mean_accuracy": 0.8,
        ...                       "mean_iou": 0.7, "frequency_weighted_iou": 0.85}))
        pixel accuracy          0.9000
        mean accuracy           0.8000
        mean IU                 0.7000
        frequency weighted IU   0.8500
    """
    rows = (("pixel accuracy", "pixel_accuracy"), ("mean accuracy", "mean_accuracy"),
            ("mean IU", "mean_iou"), ("frequency weighted IU", "frequency_weighted_iou"))
    return "\n".join(f"{label:23s} {metrics[key]:.4f}" for label, key in rows)
