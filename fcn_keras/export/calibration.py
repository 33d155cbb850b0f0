"""What the exporters that fix sizes or quantize to int8 (TFLite, OpenVINO) take: an input size and calibration
images, in every form `--representative-data` and the Python API accept. Needs no TensorFlow."""

import os

import numpy as np

from fcn_keras.data.decoding import read_image
from fcn_keras.data.listing import IMAGE_EXTENSIONS, files_by_stem


def check_input_size(input_size):
    """`input_size` as a (height, width) tuple of ints, or a one-line refusal.

    Example:
        >>> check_input_size([24, np.int64(32)])
        (24, 32)
    """
    sizes = input_size if isinstance(input_size, (tuple, list)) else ()
    if len(sizes) != 2 or not all(isinstance(d, (int, np.integer)) and d > 0 for d in sizes):
        raise ValueError(f"input_size must be (height, width) in positive ints, got {input_size!r}.")
    return tuple(int(d) for d in input_size)


def calibration_images(data, limit, input_size=None):
    """Up to `limit` float32 (H, W, 3) images from any accepted form of representative data.

    Args:
        data: RGB images in [0, 255]: an array (N, H, W, 3), an iterable of (H, W, 3) or
            (N, H, W, 3) arrays or of (images, labels) pairs (a `tf.data.Dataset` works),
            a function returning such an iterable (the TFLite converter's
            `representative_dataset` convention), a `.npy` file or a folder of PNG/JPEG
            images (the files `fcn-keras predict FOLDER` reads).
        limit: at most this many images are taken.
        input_size: (H, W) the export fixes, which every image must have; None for any size.

    Returns:
        A list of float32 arrays (H, W, 3).

    Raises:
        ValueError: an image is not RGB or not of `input_size`, or there is none. A folder
            without images, or with an unreadable image, raises `fcn_keras.data.DataError`
            (a ValueError) naming the file.
        FileNotFoundError: `data` is a path to neither a `.npy` file nor a folder.

    Example:
        >>> images = calibration_images(np.zeros((4, 16, 24, 3), np.uint8), limit=3)
        >>> len(images), images[0].shape, images[0].dtype
        (3, (16, 24, 3), dtype('float32'))
    """
    if isinstance(data, (str, os.PathLike)):
        data = _read_image_source(os.fspath(data), limit)
    elif isinstance(data, np.ndarray):
        data = [data]
    elif callable(data):  # the TFLite converter's own convention: a function returning an iterable
        data = data()
    images = []
    for item in data:
        if isinstance(item, (tuple, list)):
            item = item[0]  # (images, labels) pairs
        batch = np.asarray(item, np.float32)
        batch = batch[np.newaxis] if batch.ndim == 3 else batch
        if batch.ndim != 4 or batch.shape[-1] != 3:
            raise ValueError(f"Representative images must be RGB (H, W, 3) or (N, H, W, 3), got shape {batch.shape}.")
        if input_size is not None and batch.shape[1:3] != tuple(input_size):
            raise ValueError(
                f"Representative images are {batch.shape[1:3]} but the export fixes input_size={tuple(input_size)}; "
                "resize them to that size."
            )
        images.extend(batch[: limit - len(images)])
        if len(images) >= limit:
            break
    if not images:
        raise ValueError("representative_data holds no images; int8 calibration needs at least one.")
    return images


def _read_image_source(path, limit):
    """A `.npy` file or a folder of images, read like `fcn-keras predict FOLDER` reads one."""
    if path.endswith(".npy"):
        return [np.load(path)]
    if not os.path.isdir(path):
        raise FileNotFoundError(f"Representative data {path} is neither a .npy file nor a folder of images.")
    files = list(files_by_stem(path, IMAGE_EXTENSIONS, "representative images").values())[:limit]
    return [read_image(file).astype(np.float32) for file in files]
