"""Scoring a model on a data set, and class maps for images of any size."""

import json
import os
import weakref

import keras
import numpy as np

from fcn_keras.arguments import check_mask_heads, class_counts
from fcn_keras.error_text import library_exception
from fcn_keras.labels import IGNORE_LABEL
from fcn_keras.limits import DEFAULT_MEMORY_LIMIT
from fcn_keras.metrics import SCORE_NAMES, confusion_matrix, scores_from_confusion
from fcn_keras.models.border import skip_border
from fcn_keras.models.inputs import check_input_arrays
from fcn_keras.models.fcn_model import classes_of
from fcn_keras.test_time import check_test_time
from fcn_keras.tiling import activation_bytes, score_image


def evaluate(model, dataset, num_classes, ignore_index=IGNORE_LABEL, confusion_plot=None, class_names=None,
             memory_limit=DEFAULT_MEMORY_LIMIT, tta=None):
    """Runs a model over (image, mask) pairs and returns the paper's four scores.

    Args:
        model: a model mapping RGB images in [0, 255] `(N, H, W, 3)` to logits
            `(N, H, W, num_classes)`, e.g. from `fcn_keras.build_fcn8s`, or an exported
            file opened by `fcn_keras.export.load_runtime_model`.
        dataset: a `tf.data.Dataset` (or any iterable) of `(image, mask)` pairs,
            either unbatched, `(H, W, 3)` and `(H, W)`/`(H, W, 1)` (images may then
            differ in size), or batched, `(N, H, W, 3)` and `(N, H, W)`/`(N, H, W, 1)`.
            Images are uint8 or float in [0, 255]; masks hold class indices and
            `ignore_index`.
        num_classes: number of classes of the data; must equal the model's. For a model
            with several heads, {head: classes} (`classes_of(model)`), and the masks are
            {head: mask}: each head is scored on its own masks.
        ignore_index: label of unlabelled pixels, not scored (VOC: 255).
        confusion_plot: optional path; a PNG of the confusion matrix is saved there
            (for several heads, one per head: `confusion_semantic.png` for `confusion.png`).
        class_names: optional names for the plot's axes ({head: names} for several heads).
        memory_limit: bytes of activations one forward pass may use (see `predict`).
        tta: None, or a `fcn_keras.test_time.TestTimeAugmentation`: each image is scored
            as the argmax of the class probabilities averaged over its views (see `predict`).

    Returns:
        A dict with floats `pixel_accuracy`, `mean_accuracy`, `mean_iou`,
        `frequency_weighted_iou` and `per_class_iou`, a list of `num_classes`
        floats that are NaN for classes absent from both truth and prediction;
        for several heads, {head: that dict}.

    Raises:
        ValueError: the model predicts another number of classes, the data set is
            empty or has no labelled pixel, a mask differs in size from its image,
            or a label is outside `[0, num_classes)` and not `ignore_index`.

    Example:
        >>> model = fcn_keras.build_fcn8s(3, backbone="vgg16_tiny", padding="same")
        >>> images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), np.uint8)
        >>> masks = np.random.default_rng(1).integers(0, 3, (4, 32, 32), np.uint8)
        >>> data = tf.data.Dataset.from_tensor_slices((images, masks))
        >>> scores = evaluate(model, data, num_classes=3)
        >>> sorted(scores)
        ['frequency_weighted_iou', 'mean_accuracy', 'mean_iou', 'per_class_iou', 'pixel_accuracy']
        >>> 0 <= scores["mean_iou"] <= 1, len(scores["per_class_iou"])
        (True, 3)
    """
    if num_classes is None:
        raise ValueError("Give num_classes, the classes of the data (a model's: model.num_classes, or "
                         "fcn_keras.models.classes_of(model) for a model of your own).")
    counts = class_counts(num_classes)  # {None: classes} for one head: one loop for any heads
    num_classes = counts.get(None, counts)
    model_classes = _static_classes(model)
    if isinstance(model_classes, dict) != isinstance(num_classes, dict) and model_classes is not None:
        check_mask_heads(list(counts) if isinstance(num_classes, dict) else None,
                         model_classes if isinstance(model_classes, dict) else None, "the data")
    if model_classes is not None and model_classes != num_classes:
        raise ValueError(_class_mismatch(model_classes, num_classes))
    check_test_time(model, tta)
    confusions = {head: np.zeros((count, count), dtype=np.int64) for head, count in counts.items()}
    batches = 0
    for batches, element in enumerate(_elements(dataset), start=1):
        images, masks = _split_pair(element)
        check_input_arrays(model, images)
        check_mask_heads(list(masks) if isinstance(masks, dict) else None, None if None in counts else counts,
                         "the data")
        if _first(images).ndim == 3:
            images, masks = _map_parts(images, lambda image: image[None]), _map_parts(masks, lambda mask: mask[None])
        predictions = _class_maps(model, images, num_classes, memory_limit, tta)  # {head: maps} for several heads
        for head, confusion in confusions.items():
            confusion += _batch_confusion(masks if head is None else masks[head],
                                          predictions if head is None else predictions[head],
                                          counts[head], ignore_index, batches, _first(images).shape[:-1])
    if batches == 0:
        raise ValueError("The data set is empty: it yielded no (image, mask) pair to score.")
    plots = {}
    if confusion_plot is not None:
        plots = dict(zip(counts, confusion_plot_paths(confusion_plot, None if None in counts else list(counts))))
    scores = {head: _scores(confusion, plots.get(head), class_names if head is None else (class_names or {}).get(head))
              for head, confusion in confusions.items()}
    return scores.get(None, scores)


def _batch_confusion(masks, predictions, num_classes, ignore_index, batch, image_size):
    """The confusion matrix of one batch's masks and class maps, mismatches named by batch."""
    if masks.ndim == 4 and masks.shape[-1] == 1:
        masks = masks[..., 0]
    if masks.shape != predictions.shape:
        raise ValueError(
            f"Batch {batch}: masks of shape {masks.shape} do not match images of size "
            f"{image_size}; give each image a mask of its own height and width."
        )
    try:
        return confusion_matrix(masks, predictions, num_classes, ignore_index)
    except ValueError as error:
        raise ValueError(f"Batch {batch}: {error}") from None


def _scores(confusion, confusion_plot, class_names):
    """The paper's scores of a confusion matrix (its plot saved first, when asked)."""
    if confusion_plot is not None:
        from fcn_keras.visualize import plot_confusion_matrix

        plot_confusion_matrix(confusion, confusion_plot, class_names=class_names)
    scores = scores_from_confusion(confusion)
    scores["per_class_iou"] = [float(v) for v in scores["per_class_iou"]]
    return scores


def _head_model(model, head):
    """The model from the input to one head's logits: the same layers, not copies (for tiled scoring)."""
    return keras.Model(model.input, model.output[head], name=f"{model.name}_{head}")


def confusion_plot_paths(path, heads=None):
    """The files `evaluate(confusion_plot=path)` writes: `path`, or one per head for several heads.

    Example:
        >>> confusion_plot_paths("runs/confusion.png", ["semantic", "geometric"])
        ['runs/confusion_semantic.png', 'runs/confusion_geometric.png']
    """
    if not heads:
        return [path]
    stem, extension = os.path.splitext(path)
    return [f"{stem}_{head}{extension}" for head in heads]


def save_metrics(metrics, path):
    """Writes scores as strict JSON: NaN (a class absent from truth and prediction) becomes null.

    Args:
        metrics: the dict from `evaluate` (other keys are written as they are).
        path: the JSON file to write.

    Returns:
        None.

    Example:
        >>> save_metrics({"mean_iou": 0.5, "per_class_iou": [1.0, float("nan")]}, "m.json")
        >>> json.loads(open("m.json").read())
        {'mean_iou': 0.5, 'per_class_iou': [1.0, None]}
    """

    def strict(value):
        if isinstance(value, dict):
            return {key: strict(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [strict(item) for item in value]
        return None if isinstance(value, float) and np.isnan(value) else value

    with open(path, "w") as file:
        json.dump(strict(metrics), file, indent=2, allow_nan=False)


def format_metrics(metrics):
    """The paper's four scores as a short table for the terminal, in `SCORE_NAMES` order.

    Args:
        metrics: a dict with the keys of `evaluate`'s result ({head: that dict} for several heads).

    Returns:
        str, one line per score (under a line naming each head, for several).

    Example:
        >>> print(format_metrics({"pixel_accuracy": 0.9, "mean_accuracy": 0.8,
        ...                       "mean_iou": 0.7, "frequency_weighted_iou": 0.85}))
        pixel accuracy          0.9000
        mean accuracy           0.8000
        mean IU                 0.7000
        frequency weighted IU   0.8500
    """
    if all(isinstance(value, dict) for value in metrics.values()):
        return "\n".join(f"{head}:\n{format_metrics(scores)}" for head, scores in metrics.items())
    width = max(len(label) for label in SCORE_NAMES.values()) + 3
    return "\n".join(f"{label:{width}s}{metrics[key]:.4f}" for key, label in SCORE_NAMES.items())


def predict(model, images, memory_limit=DEFAULT_MEMORY_LIMIT, tta=None):
    """Class maps (argmax of the logits) for one image, a batch, or a list of any sizes.

    Args:
        model: a model mapping RGB images in [0, 255] to logits `(N, H, W, C)`, or an
            exported file opened by `fcn_keras.export.load_runtime_model` (which scores
            every image whole: `memory_limit` does not apply to it).
        images: one RGB image `(H, W, 3)`, a batch `(N, H, W, 3)`, or a list of
            images of different sizes; uint8 or float in [0, 255] (NumPy arrays,
            tensors or PIL images). For a model of several inputs, {modality: image
            or batch}.
        memory_limit: bytes of activations one forward pass may use: larger images
            are scored in overlapping tiles with the same result (`fcn_keras.tiling`);
            None for no limit.
        tta: None, or a `fcn_keras.test_time.TestTimeAugmentation`: the classes are the
            argmax of the class probabilities averaged over mirrored and/or rescaled views
            of each image (each view scored whole or in tiles, as above), at the cost of
            one forward pass per view and, beyond `memory_limit`, the probabilities of a
            whole batch (4 bytes per pixel and class). An exported file takes scales other
            than 1 only when its input size is dynamic.

    A "paper"-geometry model runs without the work of its zero border in one pass
    (`fcn_keras.models.skip_border`, made once per model; the same logits to float
    rounding).

    Returns:
        For one image an array `(H, W)`, for a batch `(N, H, W)`, for a list a list
        of `(H_i, W_i)` arrays; uint8 when the model has at most 256 classes,
        int32 otherwise. For a model with several heads, {head: that}.

    Raises:
        ValueError: the images do not fit the model's inputs, or `tta` has scales other
            than 1 and the model a fixed input size.

    Example:
        >>> model = fcn_keras.build_fcn8s(3, backbone="vgg16_tiny", padding="same")
        >>> predict(model, np.zeros((20, 30, 3), np.uint8)).shape
        (20, 30)
        >>> from fcn_keras.test_time import TestTimeAugmentation
        >>> predict(model, np.zeros((20, 30, 3), np.uint8), tta=TestTimeAugmentation(True, (0.75, 1))).shape
        (20, 30)
    """
    check_test_time(model, tta)
    if isinstance(images, (list, tuple)):
        return [predict(model, image, memory_limit, tta) for image in images]
    images = _map_parts(images, np.asarray)  # several inputs (NYUDv2's modalities): {modality: image or batch}
    check_input_arrays(model, images)
    if _first(images).ndim == 3:
        return _map_parts(predict(model, _map_parts(images, lambda image: image[None]), memory_limit, tta),
                          lambda classes: classes[0])
    return _class_maps(model, images, _static_classes(model), memory_limit, tta)


def _elements(dataset):
    """The dataset's elements; a bad file or label a tf.data pipeline finds raises the library's own exception
    (`library_exception`). TensorFlow is never imported here: other data raise no TensorFlow errors."""
    iterator = iter(dataset)
    while True:
        try:
            element = next(iterator)
        except StopIteration:
            return
        except Exception as error:
            if (own := library_exception(error)) is None:
                raise
            raise own from None
        yield element


def _split_pair(element):
    if isinstance(element, dict) or not isinstance(element, (tuple, list)) or len(element) != 2:
        raise ValueError(
            "Each data set element must be an (image, mask) pair; map other layouts first, "
            "e.g. dataset.map(lambda d: (d['image'], d['mask']))."
        )
    return _map_parts(element[0], np.asarray), _map_parts(element[1], np.asarray)


def _map_parts(value, function):
    """`function` of `value`, or of each part of a dict: several inputs ({modality: images}) or heads' masks
    or class maps ({head: ...})."""
    return {name: function(part) for name, part in value.items()} if isinstance(value, dict) else function(value)


def _first(images):
    return next(iter(images.values())) if isinstance(images, dict) else images


def _class_maps(model, images, num_classes, memory_limit, tta):
    """Class maps of a batch ({head: maps} for several heads): the argmax of its logits, or with `tta` (not
    plain) of the class probabilities averaged over its views."""
    if tta is None or tta.is_plain:
        return _head_scores(model, images, num_classes, memory_limit, _argmax)
    probabilities = tta.probabilities(lambda views: _head_scores(model, views, num_classes, memory_limit), images)
    return _map_parts(probabilities, _argmax)


def _head_scores(model, images, num_classes, memory_limit, reduce=None):
    """`reduce` of a batch's logits, checked against `num_classes` ({head: that} for several heads; default: the
    logits): in one pass when it fits `memory_limit`, else image by image, in tiles if need be (one head at a
    time, `reduce` applied to each tile)."""
    def checked(logits, expected=num_classes):
        if expected is not None and logits.shape[-1] != expected:
            raise ValueError(_class_mismatch(logits.shape[-1], expected))
        return reduce(logits) if reduce else logits

    count, height, width = _first(images).shape[:3]
    # several inputs always go in one pass: tiles take one image tensor; so does an exported file, which is no
    # Keras graph to tile
    fits = isinstance(images, dict) or memory_limit is None or not isinstance(model, keras.Model)
    if fits or activation_bytes(model, height, width, count) <= memory_limit:
        inputs = _map_parts(images, lambda part: np.asarray(part, np.float32))
        logits = _without_border(model).predict_on_batch(inputs)
        if isinstance(logits, dict):
            return {head: checked(np.asarray(scores), num_classes[head] if num_classes else None)
                    for head, scores in logits.items()}
        return checked(np.asarray(logits))
    if isinstance(num_classes, dict):
        return {head: _head_scores(_head_model(model, head), images, classes_of_head, memory_limit, reduce)
                for head, classes_of_head in num_classes.items()}
    return np.stack([score_image(model, image, memory_limit, reduce=checked) for image in images])


def _argmax(scores):
    """The class map of logits or probabilities `(..., C)`: uint8 for at most 256 classes, else int32."""
    return scores.argmax(axis=-1).astype(np.uint8 if scores.shape[-1] <= 256 else np.int32)


_BORDERLESS = weakref.WeakKeyDictionary()  # model -> its skip_border twin, or None where it has no border to skip


def _without_border(model):
    """`skip_border(model)`, made once per model: the same logits without the work of a "paper" border."""
    if not isinstance(model, keras.Model):
        return model  # an exported file runs the graph it holds
    if model not in _BORDERLESS:
        borderless = skip_border(model, warn=False)
        _BORDERLESS[model] = None if borderless is model else borderless  # no value may hold its key alive
    return _BORDERLESS[model] or model


def _static_classes(model):
    """`classes_of(model)`, or None for models without a static output (subclassed, unbuilt)."""
    try:
        return classes_of(model)
    except (AttributeError, TypeError, ValueError):
        return None


def _class_mismatch(model_classes, num_classes):
    return (f"The model predicts {model_classes} classes, the data has {num_classes}; evaluate on data of the "
            f"model's classes, or build or fine-tune a model with num_classes={num_classes}.")
