"""Reads images and masks (files or encoded bytes) into uint8 arrays with clear errors."""

import io

import numpy as np
from PIL import Image, UnidentifiedImageError

from fcn_keras.data.checks import DataError, check_labels
from fcn_keras.data.classes import VOC_PALETTE


def _open(source, where):
    try:
        image = Image.open(source)
        image.load()
    except FileNotFoundError:
        raise DataError(f"{where}: file not found; check the path or re-create the split list.") from None
    except Image.DecompressionBombError as error:
        raise DataError(f"{where}: {error} Pillow refuses such images as possible decompression bombs; if the file "
                        "is yours, raise PIL.Image.MAX_IMAGE_PIXELS before reading it.") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise DataError(
            f"{where}: cannot decode the image ({error}); the file is corrupt or truncated, "
            "re-download or re-export it."
        ) from None
    return image


def _as_file(data):
    return io.BytesIO(data) if isinstance(data, bytes) else data


def read_image(source, where=None):
    """Reads an RGB image (any format Pillow knows) as a uint8 array.

    Args:
        source: a file path or the encoded bytes.
        where: name used in error messages (defaults to ``source`` for paths).

    Returns:
        ``np.ndarray`` uint8, shape (H, W, 3), RGB.

    Raises:
        DataError: the file is missing, corrupt or truncated.

    Example:
        >>> Image.new("RGB", (500, 281)).save("2007_000032.jpg")
        >>> read_image("2007_000032.jpg").shape
        (281, 500, 3)
    """
    where = where or str(source)
    return np.asarray(_open(_as_file(source), where).convert("RGB"))


def read_mask(source, where=None, num_classes=None):
    """Reads a class-index mask from a palette ("P") or grayscale PNG.

    Palette PNGs (VOC's ``SegmentationClass``) store indices and a colour table: the indices
    are returned, never the colours. RGB masks are refused because their colours are not
    class indices.

    Args:
        source: a file path or the encoded bytes.
        where: name used in error messages (defaults to ``source`` for paths).
        num_classes: if given, values >= num_classes other than 255 raise.

    Returns:
        ``np.ndarray`` uint8, shape (H, W).

    Raises:
        DataError: missing/corrupt file, a colour mask, or (with num_classes) bad labels.

    Example:
        >>> _ = write_mask("2007_000032.png", np.array([[0, 15], [255, 1]]))
        >>> read_mask("2007_000032.png", num_classes=21).tolist()
        [[0, 15], [255, 1]]
    """
    where = where or str(source)
    image = _open(_as_file(source), where)
    if image.mode not in ("P", "L", "I", "I;16"):
        raise DataError(
            f"{where}: mask has mode {image.mode!r}; masks must be palette or grayscale PNGs "
            "holding class indices (convert RGB colours to indices first)."
        )
    mask = np.asarray(image)
    if mask.max(initial=0) > 255:
        raise DataError(f"{where}: mask values up to {mask.max()} do not fit uint8 class indices.")
    mask = mask.astype(np.uint8)
    if num_classes is not None:
        check_labels(mask, num_classes, where)
    return mask


def write_mask(target, mask, num_colors=256):
    """Saves class indices as a VOC-palette ("P") PNG, the format `read_mask` and VOC use.

    Args:
        target: a path or a writable binary file.
        mask: integer array (H, W) of values 0..255.
        num_colors: palette entries written, VOC's first ones; fewer make smaller files of maps whose
            values are all below it (16 colours or fewer take 4 bits a pixel or less).

    Returns:
        `target`.

    Example:
        >>> read_mask(write_mask("mask.png", np.array([[0, 1], [255, 2]]))).tolist()
        [[0, 1], [255, 2]]
    """
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.min(initial=0) < 0 or mask.max(initial=0) >= num_colors:
        raise ValueError(f"A palette PNG of {num_colors} colours holds a 2-D map of values 0..{num_colors - 1}; "
                         f"got shape {mask.shape}, values {mask.min(initial=0)}..{mask.max(initial=0)}.")
    image = Image.fromarray(mask.astype(np.uint8), mode="P")
    image.putpalette(VOC_PALETTE[:num_colors].ravel().tolist())
    image.save(target, format="PNG")
    return target


def check_same_size(image, mask, where):
    """Raises :class:`DataError` unless ``image`` (H, W, 3) and ``mask`` (H, W) match in size.

    Args:
        image: uint8 array (H, W, 3).
        mask: uint8 array (H, W).
        where: name of the pair used in the message.

    Returns:
        ``(image, mask)`` unchanged.

    Example:
        >>> check_same_size(np.zeros((4, 5, 3)), np.zeros((4, 5)), "a.png")[1].shape
        (4, 5)
    """
    if image.shape[:2] != mask.shape[:2]:
        raise DataError(
            f"{where}: image is {image.shape[1]}x{image.shape[0]} but its mask is "
            f"{mask.shape[1]}x{mask.shape[0]} (WxH); masks must have their image's size."
        )
    return image, mask
