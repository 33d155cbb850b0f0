"""Data errors and label checks: every mask value must be a class index below ``num_classes`` or 255.

Needs no TensorFlow (`fcn_keras.data.transforms.validate_labels` checks labels inside a tf.data pipeline).
"""

import re

import numpy as np

from fcn_keras.labels import IGNORE_LABEL, invalid_labels


class DataError(ValueError):
    """A data file or example is unusable; the message names it, the problem and the fix.

    A ``ValueError``; raised inside a tf.data pipeline it surfaces as
    ``tf.errors.InvalidArgumentError`` carrying the same message.

    Example:
        >>> from fcn_keras.data import voc_segmentation
        >>> try:
        ...     voc_segmentation("VOCdevkit/VOC2012", "val")
        ... except DataError as error:
        ...     print(error)
        VOCdevkit/VOC2012: missing folder(s) ['JPEGImages', 'SegmentationClass']; pass the VOCdevkit/VOC20xx folder, ...
    """


def data_error_message(error):
    """The message of a `DataError` raised inside a tf.data pipeline, out of the TensorFlow error it became.

    Args:
        error: a `tf.errors.OpError` (or anything whose text may hold one).

    Returns:
        The `DataError`'s own message (it names the file and the fix), or None.

    Example:
        >>> from PIL import Image
        >>> from fcn_keras.data.decoding import write_mask
        >>> from fcn_keras.data.files import file_pairs_dataset
        >>> Image.new("RGB", (2, 2)).save("p2.jpg")
        >>> _ = write_mask("p2.png", np.array([[0, 9], [1, 255]]))
        >>> try:
        ...     list(file_pairs_dataset(["p2.jpg"], ["p2.png"], num_classes=3))
        ... except tf.errors.InvalidArgumentError as error:
        ...     data_error_message(error)
        'p2.png: mask values [9] are not class indices 0..2 nor 255 (ignore) in 1 pixels. ...'
    """
    for line in reversed(str(getattr(error, "message", error)).splitlines()):
        found = re.search(r"DataError: (.+)$", line)
        if found:
            return found.group(1).strip()
    return None


def check_labels(mask, num_classes, source="mask"):
    """Raises :class:`DataError` if ``mask`` holds values >= ``num_classes`` other than 255.

    Args:
        mask: integer array of class indices, any shape.
        num_classes: number of classes; valid values are ``0..num_classes-1`` and 255.
        source: what to call the mask in the message (usually its file path).

    Returns:
        ``mask`` unchanged.

    Example:
        >>> check_labels(np.array([[0, 1], [255, 2]]), num_classes=3)
        array([[  0,   1],
               [255,   2]])
    """
    mask = np.asarray(mask)
    values = invalid_labels(mask, num_classes)
    if values.size:
        raise DataError(
            f"{source}: mask values {values.tolist()[:10]} are not class indices "
            f"0..{num_classes - 1} nor {IGNORE_LABEL} (ignore) in {int(np.isin(mask, values).sum())} pixels. "
            f"Pass the right num_classes or remap those labels (e.g. to {IGNORE_LABEL})."
        )
    return mask


def check_depth_dtype(dtype, where):
    """Refuses depth stored in 8 bits: NYUDv2 depth is millimetres (up to about 10,000), which 8 bits cannot hold.

    Args:
        dtype: the depth's dtype name, e.g. "uint16", "float32" (NumPy's or TensorFlow's `.name`).
        where: what to call the depth in the message (a file, "images['depth']").

    Raises:
        DataError: an 8-bit or boolean dtype.

    Example:
        >>> check_depth_dtype("float32", "images['depth']")  # millimetres as read_depth_png gives them
        >>> check_depth_dtype("uint8", "images['depth']")
        Traceback (most recent call last):
        fcn_keras.data.checks.DataError: images['depth'] is uint8: depth must be millimetres (16-bit or float), ...
    """
    if dtype in ("uint8", "int8", "bool"):
        raise DataError(f"{where} is {dtype}: depth must be millimetres (16-bit or float), which 8 bits cannot hold "
                        "(NYUDv2's go to about 10,000 mm); read the 16-bit depth PNGs with "
                        "fcn_keras.data.read_depth_png, not an 8-bit copy.")
