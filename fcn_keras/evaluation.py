"""Scoring a model on a data set, and class maps for images of any size."""

import json
import os

import keras
import numpy as np
import tensorflow as tf

from fcn_keras.data.checks import DataError, data_error_message
from fcn_keras.labels import IGNORE_LABEL
from fcn_keras.limits import DEFAULT_MEMORY_LIMIT
from fcn_keras.metrics import SCORE_NAMES, confusion_matrix, scores_from_confusion
from fcn_keras.models.variants import heads_of, num_classes_of
from fcn_keras.tiling import activation_bytes, score_image


def evaluate(model, dataset, num_classes, ignore_index=IGNORE_LABEL, confusion_plot=None, class_names=None,
             memory_limit=DEFAULT_MEMORY_LIMIT):
    """Runs a model over (image, mask) pairs and returns the paper's four scores.

    Args:
        model: a model mapping RGB images in [0, 255] `(N, H, W, 3)` to logits
            `(N, H, W, num_classes)`, e.g. from `fcn_keras.build_fcn8s`.
        dataset: a `tf.data.Dataset` (or any iterable) of `(image, mask)` pairs,
            either unbatched, `(H, W, 3)` and `(H, W)`/`(H, W, 1)` (images may then
            differ in size), or batched, `(N, H, W, 3)` and `(N, H, W)`/`(N, H, W, 1)`.
            Images are uint8 or float in [0, 255]; masks hold class indices and
            `ignore_index`.
        num_classes: number of classes of the data; must equal the model's. For a model
            with several heads, {head: classes} (`heads_of(model)`), and the masks are
            {head: mask}: each head is scored on its own masks.
        ignore_index: label of unlabelled pixels, not scored (VOC: 255).
        confusion_plot: optional path; a PNG of the confusion matrix is saved there
            (for several heads, one per head: `confusion_semantic.png` for `confusion.png`).
        class_names: optional names for the plot's axes ({head: names} for several heads).
        memory_limit: bytes of activations one forward pass may use (see `predict`).

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
    heads = _static_heads(model)
    if heads:
        return _evaluate_heads(model, dataset, num_classes, heads, ignore_index=ignore_index,
                               confusion_plot=confusion_plot, class_names=class_names, memory_limit=memory_limit)
    model_classes = _static_class_count(model)
    if model_classes is not None and model_classes != num_classes:
        raise ValueError(_class_mismatch(model_classes, num_classes))
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    batches = 0
    for batches, element in enumerate(_elements(dataset), start=1):
        images, masks = _split_pair(element)
        if _first(images).ndim == 3:
            images, masks = _map_inputs(images, lambda image: image[None]), masks[None]
        predictions = _class_maps(model, images, num_classes, memory_limit)
        if masks.ndim == 4 and masks.shape[-1] == 1:
            masks = masks[..., 0]
        if masks.shape != predictions.shape:
            raise ValueError(
                f"Batch {batches}: masks of shape {masks.shape} do not match images of size "
                f"{_first(images).shape[:-1]}; give each image a mask of its own height and width."
            )
        try:
            confusion += confusion_matrix(masks, predictions, num_classes, ignore_index)
        except ValueError as error:
            raise ValueError(f"Batch {batches}: {error}") from None
    if batches == 0:
        raise ValueError("The data set is empty: it yielded no (image, mask) pair to score.")
    if confusion_plot is not None:
        from fcn_keras.visualize import plot_confusion_matrix

        plot_confusion_matrix(confusion, confusion_plot, class_names=class_names)
    scores = scores_from_confusion(confusion)
    scores["per_class_iou"] = [float(v) for v in scores["per_class_iou"]]
    return scores


def _evaluate_heads(model, dataset, num_classes, heads, confusion_plot, class_names, **options):
    """`evaluate` of each head of a model with several heads: {head: scores}."""
    if num_classes != heads:
        raise ValueError(_class_mismatch(heads, num_classes))
    scores = {}
    for head, classes in heads.items():
        view = _head_model(model, head)
        plot = None if confusion_plot is None else confusion_plot_paths(confusion_plot, [head])[0]
        scores[head] = evaluate(view, _head_pairs(dataset, head), classes, confusion_plot=plot,
                                class_names=(class_names or {}).get(head), **options)
    return scores


def _head_model(model, head):
    """The model from the input to one head's logits: the same layers, not copies."""
    return keras.Model(model.input, model.output[head], name=f"{model.name}_{head}")


def _head_pairs(dataset, head):
    """(image, mask of `head`) pairs of a dataset whose masks are {head: mask}."""
    if isinstance(dataset, tf.data.Dataset):
        return dataset.map(lambda image, masks: (image, masks[head]))
    return ((image, masks[head]) for image, masks in dataset)


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


def predict(model, images, memory_limit=DEFAULT_MEMORY_LIMIT):
    """Class maps (argmax of the logits) for one image, a batch, or a list of any sizes.

    Args:
        model: a model mapping RGB images in [0, 255] to logits `(N, H, W, C)`.
        images: one RGB image `(H, W, 3)`, a batch `(N, H, W, 3)`, or a list of
            images of different sizes; uint8 or float in [0, 255] (NumPy arrays,
            tensors or PIL images). For a model of several inputs, {modality: image
            or batch}.
        memory_limit: bytes of activations one forward pass may use: larger images
            are scored in overlapping tiles with the same result (`fcn_keras.tiling`);
            None for no limit.

    Returns:
        For one image an array `(H, W)`, for a batch `(N, H, W)`, for a list a list
        of `(H_i, W_i)` arrays; uint8 when the model has at most 256 classes,
        int32 otherwise. For a model with several heads, {head: that}.

    Example:
        >>> model = fcn_keras.build_fcn8s(3, backbone="vgg16_tiny", padding="same")
        >>> predict(model, np.zeros((20, 30, 3), np.uint8)).shape
        (20, 30)
    """
    heads = _static_heads(model)
    if heads:
        return {head: predict(_head_model(model, head), images, memory_limit) for head in heads}
    if isinstance(images, (list, tuple)):
        return [predict(model, image, memory_limit) for image in images]
    if isinstance(images, dict):  # several inputs (NYUDv2's modalities): {modality: image or batch}
        batch = _map_inputs(images, np.asarray)
        one = _first(batch).ndim == 3
        classes = _class_maps(model, _map_inputs(batch, lambda x: x[None]) if one else batch,
                              _static_class_count(model), memory_limit)
        return classes[0] if one else classes
    images = np.asarray(images)
    if images.ndim not in (3, 4) or images.shape[-1] != 3:
        raise ValueError(
            f"Expected an RGB image (H, W, 3) or a batch (N, H, W, 3), got shape {images.shape}; "
            "convert grayscale or RGBA images to RGB first (e.g. PIL's image.convert('RGB'))."
        )
    if images.ndim == 3:
        return predict(model, images[None], memory_limit)[0]
    return _class_maps(model, images, _static_class_count(model), memory_limit)


def _elements(dataset):
    """The dataset's elements; a bad file its pipeline finds raises the pipeline's own `DataError`."""
    iterator = iter(dataset)
    while True:
        try:
            element = next(iterator)
        except StopIteration:
            return
        except tf.errors.OpError as error:
            if (message := data_error_message(error)) is None:
                raise
            raise DataError(message) from None
        yield element


def _split_pair(element):
    if isinstance(element, dict) or not isinstance(element, (tuple, list)) or len(element) != 2:
        raise ValueError(
            "Each data set element must be an (image, mask) pair; map other layouts first, "
            "e.g. dataset.map(lambda d: (d['image'], d['mask']))."
        )
    images, masks = _map_inputs(element[0], np.asarray), np.asarray(element[1])
    if isinstance(images, dict):  # several inputs (NYUDv2's modalities)
        return images, masks
    if images.ndim not in (3, 4) or images.shape[-1] != 3:
        raise ValueError(
            f"Images must be RGB (H, W, 3) or batches (N, H, W, 3), got shape {images.shape}."
        )
    return images, masks


def _map_inputs(images, function):
    """`function` of the images, or of each input's for several inputs ({modality: images})."""
    return {name: function(value) for name, value in images.items()} if isinstance(images, dict) else function(images)


def _first(images):
    return next(iter(images.values())) if isinstance(images, dict) else images


def _class_maps(model, images, num_classes, memory_limit):
    """Class maps of a batch: in one pass when it fits `memory_limit`, else image by image, in tiles if need be."""
    def classes(logits):
        if num_classes is not None and logits.shape[-1] != num_classes:
            raise ValueError(_class_mismatch(logits.shape[-1], num_classes))
        return logits.argmax(axis=-1).astype(np.uint8 if logits.shape[-1] <= 256 else np.int32)

    count, height, width = _first(images).shape[:3]
    if isinstance(images, dict):  # several inputs: one pass (tiles take one image tensor)
        return classes(np.asarray(model.predict_on_batch(_map_inputs(images, lambda x: tf.cast(x, tf.float32)))))
    if memory_limit is None or activation_bytes(model, height, width, count) <= memory_limit:
        return classes(np.asarray(model.predict_on_batch(tf.cast(images, tf.float32))))
    return np.stack([score_image(model, image, memory_limit, reduce=classes) for image in images])


def _static_heads(model):
    """`heads_of(model)`, or None for models without a static output (subclassed, unbuilt)."""
    try:
        return heads_of(model)
    except (AttributeError, TypeError):
        return None


def _static_class_count(model):
    """`num_classes_of(model)`, or None for models without a static output (subclassed, unbuilt)."""
    try:
        return num_classes_of(model)
    except (AttributeError, TypeError, ValueError):
        return None


def _class_mismatch(model_classes, num_classes):
    return (
        f"The model predicts {model_classes} classes but num_classes is {num_classes}; "
        "evaluate with the class count the model was built for, or build or fine-tune a "
        f"model with num_classes={num_classes}."
    )
