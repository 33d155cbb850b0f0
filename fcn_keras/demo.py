"""`fcn-keras demo`: train an FCN-8s on the built-in synthetic shapes and report the paper's scores."""

import dataclasses
import os
import time

import keras

from fcn_keras.data import SYNTHETIC_CLASSES, prepare, synthetic_shapes
from fcn_keras.demo_settings import DEMO_FILES, DEMO_OUTPUT, METRICS_FILE, TRAINING_DIR, DemoSettings, demo_model
from fcn_keras.evaluation import evaluate, predict, save_metrics
from fcn_keras.precision import dtype_policy, resolve_precision
from fcn_keras.training.loop import train
from fcn_keras.training.run_folder import BEST_MODEL, LOG_FILE, training_run
from fcn_keras.visualize import comparison_grid, plot_training_curves
from fcn_keras.write_policy import RunFolder, RunState, save_atomically


def run_demo(output_dir=DEMO_OUTPUT, *, overwrite=False, verbose="auto", **settings):
    """Trains FCN-8s on synthetic shapes, scores it on a held-out set and writes the results.

    Writes to `output_dir`: `metrics.json` (pixel_accuracy, mean_accuracy, mean_iou,
    frequency_weighted_iou, per_class_iou, training_seconds, precision),
    `model.keras` (the best epoch by validation mean IU, float32), `overlays.png`
    (image | truth | prediction), `training_curves.png`, `confusion_matrix.png`
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
    precision = resolve_precision(demo.precision)
    print(f"Training in {precision.policy}: {precision.reason}.")
    keras.utils.set_random_seed(demo.seed)
    source = synthetic_shapes(demo.train_images, demo.image_size, demo.num_classes, seed=demo.seed)

    def train_data(epoch):
        return prepare(source, batch_size=demo.batch_size, training=True, flip=True, seed=demo.seed, epoch=epoch)

    held_out = synthetic_shapes(demo.validation_images, demo.image_size, demo.num_classes, seed=demo.seed + 1)
    validation_data = prepare(held_out, batch_size=demo.batch_size)
    training_dir = os.path.join(output_dir, TRAINING_DIR)
    if overwrite or training_run(training_dir).state is not RunState.FINISHED:
        with dtype_policy(precision.policy):
            train(demo_model(demo), train_data, validation_data, output_dir=training_dir, epochs=demo.epochs,
                  learning_rate=demo.learning_rate, warmup_steps=demo.warmup_steps, overwrite=overwrite,
                  verbose=verbose)

    best = demo_model(demo)  # float32, whatever the training precision
    best.set_weights(keras.models.load_model(os.path.join(training_dir, BEST_MODEL)).get_weights())
    save_atomically(best, os.path.join(output_dir, "model.keras"))
    class_names = SYNTHETIC_CLASSES[:demo.num_classes]
    metrics = evaluate(best, held_out.batch(demo.batch_size), demo.num_classes,
                       confusion_plot=os.path.join(output_dir, "confusion_matrix.png"), class_names=class_names)
    images, masks = next(iter(held_out.batch(6)))
    comparison_grid(images.numpy(), masks.numpy(), predict(best, images.numpy()),
                    os.path.join(output_dir, "overlays.png"))
    plot_training_curves(os.path.join(training_dir, LOG_FILE), os.path.join(output_dir, "training_curves.png"))
    metrics["training_seconds"] = round(time.time() - start, 1)
    metrics["precision"] = precision.policy
    save_metrics(metrics, os.path.join(output_dir, METRICS_FILE))
    return metrics
