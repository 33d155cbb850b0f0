"""Low precision on a trained model: each runtime's mean IU on held-out data next to Keras float32's."""

import tempfile
import time

import keras
import numpy as np

from fcn_keras.benchmark.inference import failure_reason, prepare_runtime
from fcn_keras.benchmark.runtimes import get_runtime
from fcn_keras.metrics import confusion_matrix, scores_from_confusion
from fcn_keras.models import load_fcn, num_classes_of

CALIBRATION_IMAGES = 64  # training images that calibrate int8


def with_policy(model, policy):
    """A copy of `model` whose layers compute under the Keras dtype `policy`, with `model`'s weights.

    Example:
        >>> model = build_fcn32s(3, backbone="vgg16_tiny")
        >>> copy = with_policy(model, "mixed_bfloat16")
        >>> copy.get_layer("conv1_1").compute_dtype, copy.get_layer("conv1_1").kernel.dtype
        ('bfloat16', 'float32')
    """
    if policy == "float32":
        return model

    def clone(layer):
        config = layer.get_config()
        if not isinstance(layer, keras.layers.InputLayer):
            config["dtype"] = policy
        return type(layer).from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy


def precision_quality(model, images, labels, runtimes, calibration, batch_size=8, progress=print):
    """Mean IU of a trained model on labelled images for each runtime, and what it loses against Keras float32.

    Args:
        model: a trained FCN or the path of its `.keras` file.
        images, labels: held-out float32 RGB images (N, H, W, 3) and their class ids (N, H, W), 255 ignored.
        runtimes: names of runtimes ("keras_bf16", "tflite_int8", ...); Keras float32 is always measured first.
        calibration: training images (not held-out ones) for int8 calibration.
        batch_size: images per call.
        progress: called with one line per runtime.

    Returns:
        (rows, skipped): rows with runtime, mean_iu, points_lost (100 x the mean IU below float32's),
        same_class (pixels whose class agrees with float32's) and ms_per_image; skipped {runtime: reason}.

    Example:
        >>> model = build_fcn8s(3, backbone="vgg16_tiny", padding="same")
        >>> images = np.random.default_rng(0).uniform(0, 255, (4, 24, 24, 3)).astype("float32")
        >>> rows, skipped = precision_quality(model, images, np.zeros((4, 24, 24), int), ["keras_bf16"], images,
        ...                                   progress=lambda line: None)
        >>> [(row["runtime"], row["points_lost"]) for row in rows]
        [('keras', 0.0), ('keras_bf16', 0.0)]
    """
    model = load_fcn(model)
    num_classes = num_classes_of(model)
    rows, skipped, reference = [], {}, None
    for name in ("keras", *[name for name in runtimes if name != "keras"]):
        with tempfile.TemporaryDirectory(prefix=f"fcn_quality_{name}_") as workdir:
            predict, reason = prepare_runtime(get_runtime(name), lambda policy="float32": with_policy(model, policy),
                                              calibration, workdir)
            classes = seconds = None
            if predict is not None:
                try:
                    classes, seconds = _classes(predict, images, batch_size)
                except Exception as error:  # another library's failure costs its row, not the whole run
                    reason = failure_reason(error)
            if classes is None:
                skipped[name] = reason
                continue
        reference = classes if reference is None else reference
        mean_iu = scores_from_confusion(confusion_matrix(labels, classes, num_classes))["mean_iou"]
        row = {"runtime": name, "mean_iu": mean_iu, "points_lost": round(100 * (rows[0]["mean_iu"] - mean_iu), 2)
               if rows else 0.0, "same_class": float(np.mean(classes == reference)), "ms_per_image": 1000 * seconds}
        rows.append(row)
        progress(f"{name}: mean IU {mean_iu:.4f} ({row['points_lost']:+.2f} points lost), "
                 f"{row['same_class']:.2%} of pixels as float32, {row['ms_per_image']:.1f} ms per image")
    return rows, skipped


def demo_quality(trained, runtimes, demo, progress=print):
    """`precision_quality` of the demo's trained model on the demo's held-out set; int8 calibrated on
    training images.

    Args:
        trained: the model `fcn-keras demo` wrote (model.keras), or that model.
        runtimes: runtime names, as for `precision_quality`.
        demo: the `DemoSettings` that name the held-out set (size, classes, seed).
        progress: called with one line per runtime.

    Raises:
        ValueError: the model's classes are not the demo's (`demo_model_for_quality`).
    """
    from fcn_keras.data import make_shapes

    model = demo_model_for_quality(trained, demo)
    images, labels = make_shapes(demo.validation_images, demo.image_size, demo.num_classes, seed=demo.seed + 1)
    calibration, _ = make_shapes(CALIBRATION_IMAGES, demo.image_size, demo.num_classes, seed=demo.seed)
    progress(f"quality on the demo's {len(images)} held-out images:")
    return precision_quality(model, images.astype(np.float32), labels, runtimes, calibration.astype(np.float32),
                             progress=lambda line: progress("  " + line))


def demo_model_for_quality(trained, demo):
    """The demo's trained model (loaded from its `.keras` file), checked against `demo`'s classes: what
    `demo_quality` scores, checked before anything is measured.

    Example:
        >>> from fcn_keras.demo_settings import DemoSettings
        >>> demo_model_for_quality(build_fcn32s(3, backbone="vgg16_tiny"), DemoSettings())
        Traceback (most recent call last):
        ...
        ValueError: The quality check scores the demo's model on its held-out synthetic set (5 classes); \
this model has 3. Pass the model.keras that `fcn-keras demo` writes.
    """
    model = load_fcn(trained)
    if num_classes_of(model) != demo.num_classes:
        raise ValueError(f"The quality check scores the demo's model on its held-out synthetic set "
                         f"({demo.num_classes} classes); this model has {num_classes_of(model)}. Pass the "
                         "model.keras that `fcn-keras demo` writes.")
    return model


def _classes(predict, images, batch_size):
    """Predicted classes of all images and the median seconds per image (the first, warm-up call excluded)."""
    predict(images[:batch_size])
    classes, times = [], []
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        began = time.perf_counter()
        classes.append(np.asarray(predict(batch)).argmax(-1))
        times.append((time.perf_counter() - began) / len(batch))
    return np.concatenate(classes), float(np.median(times))
