"""The checks of a request's images before the model runs, so that bad images get a 4xx in plain words.

Pixels in all within the server's limit (an FCN's activations grow with the pixels it
scores), and for encoded images: a format the signature decodes, pixels at all, one size
per request, and whole files (not truncated or corrupt). Headers are read before
anything is decoded, so an image announcing a huge size is refused without decoding it.
"""

import io

import numpy as np
import tensorflow as tf
from PIL import Image

from fcn_keras.data.decoding import read_image
from fcn_keras.export.client import ServingError

DECODABLE_FORMATS = ("BMP", "GIF", "JPEG", "MPO", "PNG", "WEBP")  # Pillow's names of what decode_image reads


def check_request_images(tensors, max_image_pixels):
    """Refuses a request's images that the server should not or cannot score.

    Args:
        tensors: `{input name: tf.Tensor}` of one request: float images (N, H, W, 3)
            or encoded images (tf.string).
        max_image_pixels: the most pixels the images of one request may hold in all.

    Raises:
        ServingError: 413 for too many pixels (or an image header announcing more than
            Pillow opens); 400 for an encoded image that is not an image of a decodable
            format, holds no pixels, differs in size from the first, or is damaged.

    Example:
        >>> check_request_images({"images": tf.zeros((2, 20, 30, 3))}, max_image_pixels=1000)
        Traceback (most recent call last):
        ...
        fcn_keras.export.client.ServingError: HTTP 413: The request's images hold 1200 pixels, more than ...
    """
    pixels = sum(_pixels(tensor, key) for key, tensor in tensors.items())
    if pixels > max_image_pixels:
        raise ServingError(413, f"The request's images hold {pixels} pixels, more than this server's limit of "
                                f"{max_image_pixels} (an FCN's activations grow with the pixels it scores); "
                                "send fewer or smaller images, or start the server with a higher "
                                "--max-image-pixels.")
    for key, tensor in tensors.items():
        if tensor.dtype == tf.string:
            _check_decodable(tensor, key)


def _pixels(tensor, key):
    """Pixels of an image batch: N*H*W of a float (N, H, W, 3) input, or of encoded images by their headers.

    Encoded images must be of a format the signature decodes, hold pixels, and share one size.
    """
    if tensor.dtype != tf.string:
        shape = tensor.shape
        return int(np.prod(shape[:3])) if shape.rank == 4 else 0
    sizes = [_encoded_size(data, f"Input '{key}' item {index}") for index, data in
             enumerate(np.ravel(tensor.numpy()), 1)]
    if len(set(sizes)) > 1:
        other = next(index for index, size in enumerate(sizes) if size != sizes[0])
        raise ServingError(400, f"Input '{key}': the images of one request must share a size, but item 1 is "
                                f"{_size_text(sizes[0])} and item {other + 1} is {_size_text(sizes[other])}; send "
                                "images of different sizes in separate requests.")
    return sum(width * height for width, height in sizes)


def _encoded_size(data, where):
    """(width, height) of an encoded image from its header; refuses what the signature cannot decode."""
    try:
        with Image.open(io.BytesIO(data)) as image:  # reads the header only
            size, image_format = image.size, image.format
    except Image.DecompressionBombError:
        raise ServingError(413, f"{where} is too large to decode (its header announces more pixels than Pillow "
                                "opens); send a smaller image.") from None
    except (OSError, ValueError, SyntaxError):
        raise ServingError(400, f"{where} is not an image: send the bytes of a "
                                f"{', '.join(DECODABLE_FORMATS)} file.") from None
    if image_format not in DECODABLE_FORMATS:
        raise ServingError(400, f"{where} is a {image_format} image; the model decodes "
                                f"{', '.join(DECODABLE_FORMATS)}: convert it first.")
    if 0 in size:
        raise ServingError(400, f"{where} is {_size_text(size)}: it holds no pixels.")
    return size


def _size_text(size):
    return f"{size[0]}x{size[1]} (WxH)"


def _check_decodable(tensor, key):
    """Decodes each encoded image once, so that a truncated or corrupt one is named before the model runs."""
    for index, data in enumerate(np.ravel(tensor.numpy()), 1):
        where = f"Input '{key}' item {index}"
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.verify()  # a PNG's chunks and checksums, which decoding alone may let pass
            read_image(data, where)
        except (OSError, ValueError, SyntaxError):
            raise ServingError(400, f"{where} is a damaged image (truncated or corrupt); send the whole "
                                    "file.") from None
