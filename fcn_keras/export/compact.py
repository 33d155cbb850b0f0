"""The compact answer of the server's `:segment` route: a class map as a palette PNG and the classes it holds.

Where `:predict` writes every pixel's probabilities as JSON (tens of megabytes for a
500x500 image of 21 classes), this answer is a few kilobytes: per head, the class map
as a base64 PNG in the VOC palette, the classes present ranked by area, and optionally
one class's probability map as a base64 8-bit grayscale PNG.
"""

import base64
import io

import numpy as np
from PIL import Image

from fcn_keras.data.classes import VOC_PALETTE
from fcn_keras.data.decoding import write_mask

PALETTE_SIZE = len(VOC_PALETTE)  # the colours a palette PNG holds: models of more classes are answered by :predict only


def segment_answer(outputs, class_names=None, probability=None):
    """The class maps of one image's prediction, in few bytes.

    Args:
        outputs: a `predict_image_bytes` answer for one image: `classes` (1, H, W) and
            `probabilities` (1, H, W, C), or per head `<head>_classes` and `<head>_probabilities`.
        class_names: the names of the classes in index order ({head: names} for several
            heads), or None where the model does not know them.
        probability: a class index whose probability map each head that scores it adds, or None.

    Returns:
        `{"height", "width", "heads"}`; `heads` lists per head (one, named None, for a
        one-headed model) `{"head", "mask_png", "classes"}` and, with `probability`, a
        `"probability": {"index", "png"}` entry. `classes` ranks the classes present by
        area: `{"index", "name", "pixels", "fraction", "color"}` (name None when unknown,
        color the class's RGB in `mask_png`'s palette).

    Raises:
        ValueError: a head scores more classes than a palette PNG holds, or no head
            scores class `probability`.

    Example:
        >>> outputs = {"classes": np.array([[[0, 1, 1]]]), "probabilities": np.full((1, 1, 3, 2), 0.5)}
        >>> answer = segment_answer(outputs, class_names=["background", "cat"])
        >>> answer["height"], answer["width"], answer["heads"][0]["classes"][0]
        (1, 3, {'index': 1, 'name': 'cat', 'pixels': 2, 'fraction': 0.666667, 'color': [128, 0, 0]})
    """
    prefixes = [key[:-len("classes")] for key in outputs if key.endswith("classes")]  # "" or "<head>_"
    heads = {prefix[:-1] or None: prefix for prefix in prefixes}
    scored = {head: np.shape(outputs[prefix + "probabilities"])[-1] for head, prefix in heads.items()}
    too_many = {head: count for head, count in scored.items() if count > PALETTE_SIZE}
    if too_many:
        raise ValueError(f"The model scores {_counts_text(too_many)} classes, more than the {PALETTE_SIZE} a palette "
                         "PNG holds; ask :predict for its classes.")
    if probability is not None and probability >= max(scored.values()):
        raise ValueError(f"probability={probability} names no class: the model scores {_counts_text(scored)} "
                         "classes, numbered from 0.")
    answers = [_head_answer(head, np.asarray(outputs[prefix + "classes"])[0],
                            np.asarray(outputs[prefix + "probabilities"])[0],
                            class_names.get(head) if isinstance(class_names, dict) else class_names, probability)
               for head, prefix in heads.items()]
    height, width = np.shape(outputs[next(iter(heads.values())) + "classes"])[1:3]
    return {"height": int(height), "width": int(width), "heads": answers}


def _head_answer(head, classes, probabilities, names, probability):
    num_classes = probabilities.shape[-1]
    pixels = np.bincount(classes.ravel(), minlength=num_classes)
    ranked = sorted(np.flatnonzero(pixels), key=lambda index: (-pixels[index], index))
    mask = write_mask(io.BytesIO(), classes, num_colors=num_classes)  # one colour per class: a small file
    answer = {"head": head, "mask_png": _base64(mask), "classes": [
        {"index": int(index), "name": names[index] if names is not None and index < len(names) else None,
         "pixels": int(pixels[index]), "fraction": round(float(pixels[index] / classes.size), 6),
         "color": VOC_PALETTE[index].tolist()}
        for index in ranked]}
    if probability is not None and probability < num_classes:
        gray = np.round(probabilities[..., probability] * 255).astype(np.uint8)
        png = io.BytesIO()
        Image.fromarray(gray).save(png, "PNG", optimize=True)
        answer["probability"] = {"index": probability, "png": _base64(png)}
    return answer


def _base64(png_file):
    """The bytes of a PNG written to an in-memory file, in base64 text."""
    return base64.b64encode(png_file.getvalue()).decode("ascii")


def _counts_text(counts):
    """"21", or "33 (semantic), 3 (geometric)" for several heads."""
    return ", ".join(str(count) if head is None else f"{count} ({head})" for head, count in counts.items())
