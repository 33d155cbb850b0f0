"""The built-in synthetic data set: overlapping shapes on textured, noisy backgrounds.

Each image holds 1..``max_objects`` shapes whose class is their *form* (circle, square,
triangle, stripes, ring, cross); every object and background draws its colour from the same
distribution, so colour alone does not tell classes apart. Backgrounds mix a random base
colour, smooth colour blobs and a faint grating; Gaussian pixel noise covers everything.
Later shapes occlude earlier ones, and a thin band of 255 ("ignore") marks every boundary
between labels, like the object borders of PASCAL VOC.
"""

import numpy as np
import tensorflow as tf
from scipy import ndimage

from fcn_keras.arguments import whole_number
from fcn_keras.data.classes import SYNTHETIC_CLASSES
from fcn_keras.data.specs import Source
from fcn_keras.labels import IGNORE_LABEL

_CHUNK = 256  # images generated per vectorised step (bounds memory; keeps output seed-stable)
_BLOB_GRID = 5  # the background's colour blobs: a coarse random grid, bilinearly upsampled
TRAINING_IMAGES, HELD_OUT_IMAGES = 2000, 200  # "synthetic" without N: its "train" split, and any other


def _inside(shape, u, v, r):
    """Boolean membership of object-frame coordinates (u, v) for shape class ``shape``."""
    r = r[:, None, None]
    if shape == 1:  # circle
        return u * u + v * v <= r * r
    if shape == 2:  # square
        return np.maximum(np.abs(u), np.abs(v)) <= 0.8 * r
    if shape == 3:  # equilateral triangle with circumradius 1.3 r (about a circle's area)
        angles = np.pi / 2 + 2 * np.pi / 3 * np.arange(3)
        return np.all([u * np.cos(a) + v * np.sin(a) <= 0.65 * r for a in angles], axis=0)
    if shape == 4:  # striped rectangle (the stripes make the class)
        return (np.abs(u) <= r) & (np.abs(v) <= 0.7 * r)
    if shape == 5:  # ring
        d2 = u * u + v * v
        return (d2 <= r * r) & (d2 >= (0.55 * r) ** 2)
    # cross
    return ((np.abs(u) <= 0.3 * r) & (np.abs(v) <= r)) | ((np.abs(v) <= 0.3 * r) & (np.abs(u) <= r))


def _interpolation_matrix(size, grid):
    """(size, grid) matrix that bilinearly upsamples ``grid`` samples to ``size`` pixels."""
    position = np.linspace(0, grid - 1, size)
    return np.maximum(0.0, 1.0 - np.abs(position[:, None] - np.arange(grid)[None, :])).astype(np.float32)


def _background(rng, n, height, width, yy, xx):
    base = rng.uniform(0, 255, (n, 1, 1, 3)).astype(np.float32)
    blobs = rng.normal(0, 45, (n, _BLOB_GRID, _BLOB_GRID, 3)).astype(np.float32)
    rows, cols = _interpolation_matrix(height, _BLOB_GRID), _interpolation_matrix(width, _BLOB_GRID)
    smooth = np.einsum("hi,nijc,wj->nhwc", rows, blobs, cols, optimize=True)
    angle = rng.uniform(0, np.pi, (n, 1, 1)).astype(np.float32)
    period = rng.uniform(12, 30, (n, 1, 1)).astype(np.float32)
    grating = np.sin(2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / period)
    return base + smooth + rng.uniform(0, 20, (n, 1, 1, 1)).astype(np.float32) * grating[..., None]


def _paint_objects(rng, image, labels, num_classes, max_objects, yy, xx):
    n, height, width = labels.shape
    count = rng.integers(1, max_objects + 1, n)
    for slot in range(max_objects):
        shape = rng.integers(1, num_classes, n)
        cx, cy, radius, angle = (rng.uniform(low, high, n).astype(np.float32) for low, high in [
            (0.1 * width, 0.9 * width), (0.1 * height, 0.9 * height),
            (0.14 * min(height, width), 0.28 * min(height, width)), (0, 2 * np.pi)])
        colours = rng.uniform(0, 255, (2, n, 1, 1, 3)).astype(np.float32)
        shade = rng.uniform(-0.6, 0.6, (n, 1, 1, 1)).astype(np.float32)
        period = rng.uniform(3.5, 7.0, (n, 1, 1)).astype(np.float32)
        dx, dy = xx - cx[:, None, None], yy - cy[:, None, None]
        cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
        u, v = dx * cos + dy * sin, dy * cos - dx * sin
        inside = np.zeros(labels.shape, bool)
        for cls in range(1, num_classes):
            chosen = (shape == cls) & (slot < count)
            if chosen.any():
                inside[chosen] = _inside(cls, u[chosen], v[chosen], radius[chosen])
        striped = (shape == 4)[:, None, None] & (np.sin(2 * np.pi * v / period) > 0)
        fill = np.where(striped[..., None], colours[1], colours[0]) + shade * u[..., None]
        np.copyto(image, fill, where=inside[..., None])
        labels[inside] = np.broadcast_to(shape[:, None, None], labels.shape)[inside]


def _boundary(labels, width):
    """Pixels within ``width`` 4-neighbour steps of a pixel with another label."""
    reach = ndimage.iterate_structure(ndimage.generate_binary_structure(2, 1), width)[None]  # per image
    return (ndimage.grey_dilation(labels, footprint=reach) != labels) | (
        ndimage.grey_erosion(labels, footprint=reach) != labels)


def make_shapes(num_images, image_size=(96, 96), num_classes=5, seed=0, max_objects=3, ignore_border=1,
                noise=10.0):
    """Generates the synthetic shapes as NumPy arrays (vectorised: 2000 96x96 images in ~3-8 s on 2 cores).

    Args:
        num_images: how many images.
        image_size: ``(height, width)``.
        num_classes: 2..7 including background; classes are ``SYNTHETIC_CLASSES[:num_classes]``.
        seed: integer seed; the same seed gives the same arrays, another seed other images.
        max_objects: each image holds 1..max_objects (possibly overlapping) shapes.
        ignore_border: width in pixels of the 255 band on each side of label boundaries
            (0 for none).
        noise: standard deviation of the Gaussian pixel noise.

    Returns:
        ``(images, masks)``: uint8 ``(N, H, W, 3)`` RGB and uint8 ``(N, H, W)`` in
        ``0..num_classes-1`` or 255.

    Example:
        >>> images, masks = make_shapes(8, (64, 64), num_classes=5, seed=1)
        >>> images.shape, masks.dtype
        ((8, 64, 64, 3), dtype('uint8'))
    """
    height, width = image_size
    if not 2 <= num_classes <= len(SYNTHETIC_CLASSES):
        raise ValueError(f"num_classes must be 2..{len(SYNTHETIC_CLASSES)} (classes {SYNTHETIC_CLASSES}), "
                         f"got {num_classes}.")
    if min(height, width) < 8 or num_images < 0 or max_objects < 1 or ignore_border < 0:
        raise ValueError(f"Need image_size >= (8, 8), num_images >= 0, max_objects >= 1 and ignore_border >= 0; "
                         f"got {image_size}, {num_images}, {max_objects}, {ignore_border}.")
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    images = np.empty((num_images, height, width, 3), np.uint8)
    masks = np.empty((num_images, height, width), np.uint8)
    for start in range(0, num_images, _CHUNK):
        n = min(_CHUNK, num_images - start)
        image = _background(rng, n, height, width, yy, xx)
        labels = np.zeros((n, height, width), np.uint8)
        _paint_objects(rng, image, labels, num_classes, max_objects, yy, xx)
        image += noise * rng.standard_normal(image.shape, dtype=np.float32)
        if ignore_border:
            labels[_boundary(labels, ignore_border)] = IGNORE_LABEL
        images[start:start + n] = np.clip(np.rint(image), 0, 255)
        masks[start:start + n] = labels
    return images, masks


def synthetic_shapes(num_images, image_size=(96, 96), num_classes=5, seed=0, **kwargs):
    """The built-in synthetic segmentation data set as a ``tf.data.Dataset``.

    Shapes (circle, square, triangle, stripes, ...) of random colours overlap on textured,
    noisy backgrounds; masks hold class indices with a thin 255 border between labels.
    Learnable by a small FCN in minutes, but colour alone does not solve it.

    Args:
        num_images: how many images.
        image_size: ``(height, width)``.
        num_classes: 2..7 including background (default 5: background, circle, square,
            triangle, stripes); names in ``SYNTHETIC_CLASSES[:num_classes]``.
        seed: integer seed; use different seeds for training and held-out sets.
        **kwargs: ``max_objects``, ``ignore_border``, ``noise`` of :func:`make_shapes`.

    Returns:
        ``tf.data.Dataset`` of ``(uint8 (H, W, 3), uint8 (H, W))``.

    Example:
        >>> train = synthetic_shapes(100, (96, 96), seed=0)
        >>> test = synthetic_shapes(20, (96, 96), seed=1)
        >>> image, mask = next(iter(test))
        >>> image.shape, mask.shape, set(np.unique(mask).tolist()) <= {0, 1, 2, 3, 4, 255}
        (TensorShape([96, 96, 3]), TensorShape([96, 96]), True)
    """
    return tf.data.Dataset.from_tensor_slices(make_shapes(num_images, image_size, num_classes, seed, **kwargs))


def open_synthetic(request):
    """Opens "synthetic[:N]" for `fcn_keras.data.open_source` (a `SourceRequest`): "train" is seeded with the
    seed, every other split with the seed + 1, so held-out images are never trained on."""
    training = request.split == "train"
    count = _image_count(request) if request.arguments else TRAINING_IMAGES if training else HELD_OUT_IMAGES
    seed = request.seed if training else request.seed + 1
    dataset = synthetic_shapes(count, num_classes=request.num_classes, seed=seed)
    return Source(dataset, request.num_classes, SYNTHETIC_CLASSES[:request.num_classes])


def _image_count(request):
    argument, = request.arguments
    try:
        return whole_number(int(argument), "N")
    except ValueError:
        raise ValueError(f"Data source {request.source!r}: synthetic:N takes a whole number of images >= 1, got "
                         f"{argument!r}.") from None
