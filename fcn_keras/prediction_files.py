"""Predicted masks and overlays for image files: what `fcn-keras predict` writes."""

import os

from PIL import Image

from fcn_keras.data.decoding import read_image, write_mask
from fcn_keras.data.listing import IMAGE_EXTENSIONS, files_by_stem
from fcn_keras.evaluation import predict
from fcn_keras.limits import DEFAULT_MEMORY_LIMIT
from fcn_keras.models.fcn_model import takes_named_inputs
from fcn_keras.models.fcn_model import heads_of
from fcn_keras.test_time import check_test_time
from fcn_keras.visualize import overlay, with_legend
from fcn_keras.write_policy import claim_files


def image_files(inputs):
    """{stem: path} of the images named by `inputs`: image files and folders of images.

    Args:
        inputs: paths of image files and/or folders (their PNG/JPEG files are taken).

    Returns:
        dict {file stem: path}, in the order given.

    Raises:
        FileNotFoundError: an input does not exist.
        ValueError: two inputs share a file stem (their outputs would collide).

    Example:
        >>> for path in ("photos/dog.png", "extra/cat.jpg"):
        ...     os.makedirs(os.path.dirname(path), exist_ok=True)
        ...     Image.new("RGB", (8, 8)).save(path)
        >>> image_files(["photos/", "extra/cat.jpg"])
        {'dog': 'photos/dog.png', 'cat': 'extra/cat.jpg'}
    """
    files = {}
    for item in inputs:
        if os.path.isdir(item):
            found = files_by_stem(item, IMAGE_EXTENSIONS, "images")
        elif os.path.isfile(item):
            found = {os.path.splitext(os.path.basename(item))[0]: item}
        else:
            raise FileNotFoundError(f"{item}: no such image file or folder.")
        for stem, path in found.items():
            if stem in files:
                raise ValueError(f"{files[stem]} and {path} share the name {stem!r}; their outputs would "
                                 "collide. Rename one or predict them separately.")
            files[stem] = path
    return files


def write_predictions(model, inputs, output_dir, overwrite=False, alpha=0.5, memory_limit=DEFAULT_MEMORY_LIMIT,
                      class_names=None, tta=None):
    """Writes `<stem>.png` (class indices, VOC palette) and `<stem>_overlay.png` per input image
    (per head of a model with several: `<stem>_<head>.png`, `<stem>_<head>_overlay.png`).

    An overlay is the image with the class colours blended over it (`overlay`) and,
    below it, a legend of the classes present (`with_legend`).

    Nothing is written if any output exists already and `overwrite` is False, or if
    any input cannot be read (every image is decoded once before the first is segmented).

    Args:
        model: an FCN (RGB in [0, 255] -> logits), or an exported file opened by
            `fcn_keras.export.load_runtime_model` (what `fcn-keras predict --runtime` runs).
        inputs: image files and/or folders of images (PNG/JPEG).
        output_dir: where the PNGs go (created if missing).
        overwrite: replace existing outputs.
        alpha: opacity of the class colours in the overlays.
        memory_limit: bytes of activations one pass may use; larger images go in tiles.
        class_names: the names of the classes by label, for the legends ({head: names} for
            several heads); default: "class <label>".
        tta: None, or a `fcn_keras.test_time.TestTimeAugmentation`: the classes averaged
            over mirrored and/or rescaled views (`fcn_keras.evaluation.predict`).

    Returns:
        The written paths, masks and overlays interleaved.

    Example:
        >>> os.makedirs("photos")
        >>> for name in ("cat.jpg", "dog.png"):
        ...     Image.new("RGB", (40, 30)).save(f"photos/{name}")
        >>> model = fcn_keras.build_fcn8s(3, backbone="vgg16_tiny", padding="same")
        >>> write_predictions(model, ["photos/"], "predictions")
        ['predictions/cat.png', 'predictions/cat_overlay.png', 'predictions/dog.png', 'predictions/dog_overlay.png']
    """
    if takes_named_inputs(model):
        raise ValueError(f"Image files hold colour images, and {model.name!r} takes {', '.join(model.input)}; "
                         "segment them with fcn_keras.evaluation.predict(model, {modality: image}).")
    check_test_time(model, tta)
    files = image_files(inputs)
    heads = heads_of(model) or [None]
    if heads != [None] and class_names is not None and (not isinstance(class_names, dict)
                                                         or set(class_names) != set(heads)):
        raise ValueError(f"{model.name!r} has the heads {list(heads)}: give class_names as {{head: names}} for "
                         f"each of them, got {class_names!r}.")
    if heads == [None] and isinstance(class_names, dict):
        raise ValueError(f"{model.name!r} has one head: give class_names as a list of names, got {class_names!r}.")
    targets = {(stem, head): tuple(os.path.join(output_dir, f"{stem}{'' if head is None else '_' + head}{end}.png")
                                   for end in ("", "_overlay"))
               for stem in files for head in heads}
    outputs = [path for pair in targets.values() for path in pair]
    clashes = sorted({path for path in outputs if outputs.count(path) > 1})
    if clashes:
        raise ValueError(f"Two inputs would both write {clashes[0]} (an image named like another's "
                         "'<name>_overlay'); rename one or predict them separately.")
    claim_files(outputs, overwrite)
    for path in files.values():  # every input decodes before a file is written: a rerun needs no --overwrite
        read_image(path)
    written = []
    for stem, path in files.items():
        image = read_image(path)
        classes = predict(model, image, memory_limit, tta)
        for head in heads:
            mask_path, overlay_path = targets[stem, head]
            head_classes = classes if head is None else classes[head]
            names = class_names if head is None else (class_names or {}).get(head)
            picture = with_legend(overlay(image, head_classes, alpha), [head_classes], names)
            write_mask(mask_path, head_classes)
            Image.fromarray(picture).save(overlay_path)
            written += [mask_path, overlay_path]
    return written
