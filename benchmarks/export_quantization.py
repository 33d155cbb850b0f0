"""TFLite fp32 / float16 / int8 against Keras fp32: argmax agreement, mIU, latency, file size.

Without `--model` it trains a tiny FCN-8s (vgg16_tiny, "same" padding) for a few
hundred steps on synthetic coloured rectangles, so quantization is measured on a
model with real, confident decisions rather than on random weights. With
`--model fcn.keras --images imgs.npy --labels labels.npy` it measures a trained
model on your data (labels: (N, H, W) class ids, 255 ignored).

    python benchmarks/export_quantization.py                 # synthetic demo, ~1-2 min on 2 cores
    python benchmarks/export_quantization.py --json out.json # also write the rows as JSON

mIU is computed from a confusion matrix over valid pixels with
`fcn_keras.metrics.confusion_matrix` and `scores_from_confusion`, as the FCN
authors' score.py does: mean over classes of diag / (row + col - diag).
"""

import argparse
import json
import os
import tempfile
import time

import keras
import numpy as np

import fcn_keras
from fcn_keras.export import export_tflite
from fcn_keras.machine import describe, machine_line
from fcn_keras.metrics import confusion_matrix, scores_from_confusion

RECTANGLE_COLOURS = np.array([[220, 40, 40], [40, 200, 60], [50, 70, 230]], np.float32)  # classes 1, 2, 3
IGNORE_LABEL = 255


def rectangles(count, size=32, seed=0):
    """Synthetic segmentation data: noisy backgrounds with up to three coloured rectangles.

    Class 0 is the background and class k (1..3) a rectangle of colour
    `RECTANGLE_COLOURS[k - 1]` with per-image brightness jitter and pixel noise;
    later rectangles cover earlier ones.

    Args:
        count: number of images.
        size: height and width in pixels.
        seed: NumPy random seed; the same seed gives the same data.

    Returns:
        (images float32 (count, size, size, 3) in [0, 255], labels uint8 (count, size, size)).

    Example:
        >>> images, labels = rectangles(4, size=32)
        >>> images.shape, labels.shape
        ((4, 32, 32, 3), (4, 32, 32))
    """
    rng = np.random.default_rng(seed)
    images = rng.uniform(60, 160, (count, 1, 1, 3)) + rng.normal(0, 12, (count, size, size, 3))
    labels = np.zeros((count, size, size), np.uint8)
    for index in range(count):
        for label in rng.permutation(len(RECTANGLE_COLOURS))[: rng.integers(1, 4)] + 1:
            top, left = rng.integers(0, size * 3 // 4, 2)
            height, width = rng.integers(size // 6, size // 2, 2)
            colour = RECTANGLE_COLOURS[label - 1] * rng.uniform(0.8, 1.1)
            images[index, top : top + height, left : left + width] = colour + rng.normal(0, 12, 3)
            labels[index, top : top + height, left : left + width] = label
    return np.clip(images, 0, 255).astype(np.float32), labels


def train_demo_model(steps=600, size=32, seed=0, backbone="vgg16_tiny"):
    """Trains an FCN-8s ("same" padding) on `rectangles` for `steps` Adam steps of 8 images.

    Args:
        steps: optimizer steps.
        size: image size in pixels.
        seed: seed of the weights and the data.
        backbone: a registered backbone; the tiny one trains in seconds.

    Returns:
        The trained `keras.Model` (4 classes).

    Example:
        >>> model = train_demo_model(steps=20)  # doctest: +SKIP
    """
    keras.utils.set_random_seed(seed)
    model = fcn_keras.build_fcn8s(len(RECTANGLE_COLOURS) + 1, backbone=backbone, padding="same", dropout=0.0)
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORE_LABEL),
    )
    images, labels = rectangles(steps * 8, size, seed + 1)
    model.fit(images, labels, batch_size=8, epochs=1, verbose=0)
    return model


def mean_iu(labels, predictions, num_classes):
    """Mean intersection over union from a confusion matrix over pixels whose label is valid.

    Args:
        labels: int array of class ids; IGNORE_LABEL (255) pixels are skipped.
        predictions: int array of the same shape.
        num_classes: number of classes.

    Returns:
        float mIU, the nanmean over classes of diag / (row + col - diag)
        (`fcn_keras.metrics.scores_from_confusion`'s "mean_iou").

    Example:
        >>> mean_iu(np.array([0, 1, 1, 255]), np.array([0, 1, 0, 1]), 2)
        0.5
    """
    confusion = confusion_matrix(labels, predictions, num_classes, ignore_index=IGNORE_LABEL)
    return float(scores_from_confusion(confusion)["mean_iou"])


def tflite_logits(path, images, num_threads=2):
    """Runs a `.tflite` FCN image by image with the ai-edge-litert interpreter.

    Args:
        path: a file written by `export_tflite`.
        images: float32 (N, H, W, 3).
        num_threads: interpreter threads.

    Returns:
        (logits float32 (N, H, W, C), median seconds per image).

    Example:
        >>> logits, seconds = tflite_logits("model_int8.tflite", images)  # doctest: +SKIP
    """
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=path, num_threads=num_threads).get_signature_runner()
    runner(images=images[:1])  # warm-up: allocation and XNNPack setup
    outputs, seconds = [], []
    for image in images:
        start = time.perf_counter()
        outputs.append(runner(images=image[np.newaxis])["logits"][0])
        seconds.append(time.perf_counter() - start)
    return np.stack(outputs), float(np.median(seconds))


def keras_logits(model, images):
    """Keras logits image by image (eager calls, batch 1), timed after a warm-up.

    Args:
        model: an FCN `keras.Model`.
        images: float32 (N, H, W, 3).

    Returns:
        (logits float32 (N, H, W, C), median seconds per image).

    Example:
        >>> logits, seconds = keras_logits(model, images)  # doctest: +SKIP
    """
    predict = keras.ops.convert_to_numpy
    predict(model(images[:1], training=False))
    outputs, seconds = [], []
    for image in images:
        start = time.perf_counter()
        outputs.append(predict(model(image[np.newaxis], training=False))[0])
        seconds.append(time.perf_counter() - start)
    return np.stack(outputs), float(np.median(seconds))


def run(model, images, labels, calibration_images, workdir):
    """Exports fp32/float16/int8 TFLite files and compares each with Keras fp32.

    Args:
        model: a trained FCN `keras.Model`.
        images: float32 (N, H, W, 3) evaluation images.
        labels: (N, H, W) class ids of `images`.
        calibration_images: float32 images for int8 calibration (not the evaluation ones).
        workdir: an empty folder for the .tflite files.

    Returns:
        A list of dicts, one per row: "format", "argmax_agreement", "miou",
        "miou_vs_fp32" (mIU with Keras fp32 predictions as ground truth),
        "max_abs_logit_diff", "latency_ms", "size_kb".

    Example:
        >>> rows = run(model, images, labels, calibration, "/tmp/bench")  # doctest: +SKIP
    """
    num_classes = int(model.output.shape[-1])
    reference, seconds = keras_logits(model, images)
    reference_classes = reference.argmax(-1)
    rows = [_row("keras fp32", reference, seconds, None, reference_classes, labels, num_classes)]
    for quantization in (None, "float16", "int8"):
        path = os.path.join(workdir, f"model_{quantization or 'fp32'}.tflite")
        export_tflite(model, path, quantization, representative_data=calibration_images)
        logits, seconds = tflite_logits(path, images)
        row = _row(f"tflite {quantization or 'fp32'}", logits, seconds, path, reference_classes, labels, num_classes)
        row["max_abs_logit_diff"] = float(np.max(np.abs(logits - reference)))
        rows.append(row)
    return rows


def _row(name, logits, seconds, path, reference_classes, labels, num_classes):
    classes = logits.argmax(-1)
    return {
        "format": name,
        "argmax_agreement": float(np.mean(classes == reference_classes)),
        "miou": mean_iu(labels, classes, num_classes),
        "miou_vs_fp32": mean_iu(reference_classes, classes, num_classes),
        "max_abs_logit_diff": 0.0,
        "latency_ms": 1000 * seconds,
        "size_kb": os.path.getsize(path) / 1024 if path else None,
    }


def format_table(rows):
    """Renders benchmark rows as a Markdown table.

    Args:
        rows: the list returned by `run`.

    Returns:
        The table as a str.

    Example:
        >>> print(format_table(rows))  # doctest: +SKIP
    """
    lines = [
        "| format | argmax agreement | mIU (labels) | mIU vs fp32 | max abs logit diff | latency ms/img | size KB |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        size = "-" if row["size_kb"] is None else f"{row['size_kb']:.0f}"
        lines.append(
            f"| {row['format']} | {100 * row['argmax_agreement']:.2f}% | {100 * row['miou']:.1f} | "
            f"{100 * row['miou_vs_fp32']:.1f} | {row['max_abs_logit_diff']:.2g} | {row['latency_ms']:.2f} | {size} |"
        )
    return "\n".join(lines)


def main(argv=None):
    """Command line entry: see the module docstring; `argv` defaults to sys.argv[1:]."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a trained .keras FCN; default: train a tiny demo model")
    parser.add_argument("--images", help=".npy (N, H, W, 3) RGB 0..255 evaluation images (with --model)")
    parser.add_argument("--labels", help=".npy (N, H, W) class ids of --images")
    parser.add_argument("--calibration", help=".npy int8 calibration images; default: the first 64 --images")
    parser.add_argument("--steps", type=int, default=600, help="training steps of the demo model")
    parser.add_argument("--backbone", default="vgg16_tiny", help="backbone of the demo model, e.g. vgg16_slim")
    parser.add_argument("--size", type=int, default=64, help="demo evaluation image size")
    parser.add_argument("--count", type=int, default=50, help="demo evaluation images")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    if args.model:
        if not (args.images and args.labels):
            parser.error("--model needs --images and --labels")
        model = fcn_keras.load_fcn(args.model)
        images, labels = np.load(args.images).astype(np.float32), np.load(args.labels)
        calibration = np.load(args.calibration) if args.calibration else images[:64]
    else:
        model = train_demo_model(args.steps, backbone=args.backbone)
        images, labels = rectangles(args.count, args.size, seed=1000)
        calibration, _ = rectangles(100, args.size, seed=2000)
    with tempfile.TemporaryDirectory(prefix="fcn_bench_") as workdir:
        rows = run(model, images, labels, calibration, workdir)
    print(machine_line())
    print(format_table(rows))
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"machine": describe(), "rows": rows}, file, indent=2)


if __name__ == "__main__":
    main()
