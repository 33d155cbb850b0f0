"""`fcn-keras demo`: train an FCN-8s on the built-in synthetic shapes and report the paper's scores."""

import dataclasses
import functools
import os
import shutil
import time

import keras

from fcn_keras.data import SYNTHETIC_CLASSES, prepare, synthetic_shapes
from fcn_keras.demo_settings import DEMO_FILES, TRAINING_DIR, DemoSettings
from fcn_keras.evaluation import evaluate, predict, save_metrics
from fcn_keras.models import build_fcn8s
from fcn_keras.precision import dtype_policy, resolve_precision
from fcn_keras.training import BEST_MODEL, LOG_FILE, train
from fcn_keras.visualize import comparison_grid, plot_training_curves


def run_demo(output_dir="fcn-demo", *, overwrite=False, verbose="auto", **settings):
    """Trains FCN-8s on synthetic shapes, scores it on a held-out set and writes the results.

    Writes to `output_dir`: `metrics.json` (pixel_accuracy, mean_accuracy, mean_iou,
    frequency_weighted_iou, per_class_iou, training_seconds, precision),
    `model.keras` (the best epoch by validation mean IU, float32), `overlays.png`
    (image | truth | prediction), `training_curves.png`, `confusion_matrix.png`
    and `training/` (logs, TensorBoard). With the default `DemoSettings` it takes
    at most 5 minutes on 2 CPU cores, bfloat16 instructions or not.

    Args:
        output_dir: the run's folder; an existing run is kept unless `overwrite`.
        overwrite: replace an earlier demo run in `output_dir`.
        verbose: Keras progress bar setting.
        **settings: fields of `DemoSettings` to change (epochs, backbone, precision, ...).

    Returns:
        The metrics dict written to `metrics.json`.

    Example:
        >>> run_demo("fcn-demo")["mean_iou"]  # doctest: +SKIP
        0.84
    """
    demo = dataclasses.replace(DemoSettings(), **settings)
    _claim_output_dir(output_dir, overwrite)
    start = time.time()
    precision = resolve_precision(demo.precision)
    print(f"Training in {precision.policy}: {precision.reason}.")
    keras.utils.set_random_seed(demo.seed)
    train_data = prepare(synthetic_shapes(demo.train_images, demo.image_size, demo.num_classes, seed=demo.seed),
                         batch_size=demo.batch_size, training=True, flip=True, seed=demo.seed)
    held_out = synthetic_shapes(demo.validation_images, demo.image_size, demo.num_classes, seed=demo.seed + 1)
    validation_data = prepare(held_out, batch_size=demo.batch_size)
    build = functools.partial(build_fcn8s, demo.num_classes, backbone=demo.backbone, padding="same",
                              dropout=demo.dropout)
    training_dir = os.path.join(output_dir, TRAINING_DIR)
    with dtype_policy(precision.policy):
        train(build(), train_data, validation_data, output_dir=training_dir, epochs=demo.epochs,
              learning_rate=demo.learning_rate, warmup_steps=demo.warmup_steps, overwrite=overwrite,
              verbose=verbose)

    best = build()  # float32, whatever the training precision
    best.set_weights(keras.models.load_model(os.path.join(training_dir, BEST_MODEL)).get_weights())
    best.save(os.path.join(output_dir, "model.keras"))
    class_names = SYNTHETIC_CLASSES[:demo.num_classes]
    metrics = evaluate(best, held_out.batch(demo.batch_size), demo.num_classes,
                       confusion_plot=os.path.join(output_dir, "confusion_matrix.png"), class_names=class_names)
    metrics["training_seconds"] = round(time.time() - start, 1)
    metrics["precision"] = precision.policy
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
