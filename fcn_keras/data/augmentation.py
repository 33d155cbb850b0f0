"""Training augmentations beside the paper's scale/crop/flip: random resized crop, rotation and colour jitter.

Each is a TensorFlow op driven by a stateless per-example seed, so that `prepare` can run it inside tf.data
under any Keras backend, and the same seed gives the same result. Geometric ones move the masks with the
image by nearest neighbour (mask values stay class indices), fill what comes in from outside the image with
255 (ignore) in masks and with the pad value (the backbone's mean) in images, and move every channel alike
(several heads' masks, several inputs).

Why not Keras' own augmentation layers (Keras 3.15): `RandomRotation` fills masks with its one `fill_value`,
the image's (0, background, with `fill_mode="constant"`; its default "reflect" mirrors labels into the
corners), and draws its angle from a seed generator the layer holds; `RandomColorJitter` likewise ignores
any outer seed (two passes over one tf.data pipeline differ); the seed of `get_random_transformation` of
`RandomBrightness`/`RandomContrast`/`RandomSaturation`/`RandomHue` must be a Python int or a
`SeedGenerator`, not a per-example seed tensor; and `RandomSaturation` with `value_range=(0, 255)` clips
saturation to 255 instead of 1 (strong factors give negative pixels). Keras has no random resized crop.
So rotation uses `ImageProjectiveTransformV3` (what Keras' layers run under TensorFlow) with a mask fill of
255, and the colour jitter is written with `tf.image` ops.
"""

import math
import numbers

import tensorflow as tf

from fcn_keras.labels import IGNORE_LABEL

ASPECT_RATIOS = (3 / 4, 4 / 3)  # resized crops' width/height range, as Inception's and torchvision's
_CROP_ATTEMPTS = 10  # candidate boxes drawn before falling back to a central crop, as torchvision's


def random_resized_crop(image, mask, seed, area_range, size):
    """Crops a random box of the image and its masks and resizes it to ``size`` (Inception's crop).

    The box covers a fraction of the image's area drawn uniformly from ``area_range`` and has an
    aspect ratio (width/height) drawn log-uniformly from [3/4, 4/3]; of 10 such boxes the first
    that fits is taken, and if none fits the largest central box of a ratio in that range. The
    image is resized bilinearly, the mask by nearest neighbour.

    Args:
        image: float32 (H, W, C).
        mask: int32 (H, W, K).
        seed: int (2,) tensor, the stateless seed of this example.
        area_range: ``(min_area, max_area)``, fractions of the image's area in (0, 1].
        size: ``(height, width)`` of the result.

    Returns:
        ``(image, mask)`` of ``size``.

    Example:
        >>> image, mask = random_resized_crop(tf.zeros((8, 8, 3)), tf.zeros((8, 8, 1), tf.int32),
        ...                                   tf.constant([1, 2]), (0.25, 1.0), (4, 4))
        >>> image.shape, mask.shape
        (TensorShape([4, 4, 3]), TensorShape([4, 4, 1]))
    """
    box_seed, top_seed, left_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
    shape = tf.shape(mask)
    height, width = shape[0], shape[1]
    box_height, box_width = _crop_box(height, width, box_seed, area_range)
    top = tf.random.stateless_uniform([], top_seed, 0, height - box_height + 1, tf.int32)
    left = tf.random.stateless_uniform([], left_seed, 0, width - box_width + 1, tf.int32)
    image = image[top:top + box_height, left:left + box_width]
    mask = mask[top:top + box_height, left:left + box_width]
    return tf.image.resize(image, size, method="bilinear"), tf.image.resize(mask, size, method="nearest")


def _crop_box(height, width, seed, area_range):
    """(box height, box width) of a resized crop: the first of the candidate boxes that fits, else the
    largest central box of an allowed aspect ratio."""
    area_seed, ratio_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    area = tf.cast(height * width, tf.float32)
    target = area * tf.random.stateless_uniform([_CROP_ATTEMPTS], area_seed, *area_range)
    log_ratios = [math.log(ratio) for ratio in ASPECT_RATIOS]
    ratio = tf.exp(tf.random.stateless_uniform([_CROP_ATTEMPTS], ratio_seed, *log_ratios))
    widths = tf.cast(tf.round(tf.sqrt(target * ratio)), tf.int32)
    heights = tf.cast(tf.round(tf.sqrt(target / ratio)), tf.int32)
    fits = (widths >= 1) & (widths <= width) & (heights >= 1) & (heights <= height)
    first = tf.argmax(tf.cast(fits, tf.int32), output_type=tf.int32)
    narrowest, widest = ASPECT_RATIOS
    image_ratio = tf.cast(width, tf.float32) / tf.cast(height, tf.float32)
    fallback_height = tf.minimum(height, tf.cast(tf.round(tf.cast(width, tf.float32) / narrowest), tf.int32))
    fallback_width = tf.minimum(width, tf.cast(tf.round(tf.cast(height, tf.float32) * widest), tf.int32))
    fallback_height = tf.where(image_ratio < narrowest, fallback_height, height)
    fallback_width = tf.where(image_ratio > widest, fallback_width, width)
    found = tf.reduce_any(fits)
    return (tf.where(found, heights[first], fallback_height), tf.where(found, widths[first], fallback_width))


def random_rotation(image, mask, seed, max_degrees, image_pad_value):
    """Rotates an image and its masks about their centre by an angle drawn uniformly from
    [-max_degrees, max_degrees]; the size stays, and the corners that come from outside the image
    get ``image_pad_value`` (per channel) and 255.

    The image is interpolated bilinearly (its border pixels blend into the pad value), the masks
    by nearest neighbour.

    Args:
        image: float32 (H, W, C).
        mask: int32 (H, W, K).
        seed: int (2,) tensor, the stateless seed of this example.
        max_degrees: the largest angle, in degrees.
        image_pad_value: C values, one per channel.

    Returns:
        ``(image, mask)`` of the same shapes.

    Example:
        >>> image, mask = random_rotation(tf.fill((5, 5, 1), 9.0), tf.zeros((5, 5, 1), tf.int32),
        ...                               tf.constant([0, 0]), 45, [1.0])
        >>> mask[..., 0].numpy().tolist()
        [[255, 0, 0, 0, 255], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [255, 0, 0, 0, 255]]
        >>> float(image[2, 2, 0]), 1 < float(image[0, 0, 0]) < 9
        (9.0, True)
    """
    angle = tf.random.stateless_uniform([], seed, -max_degrees, max_degrees) * (math.pi / 180)
    shape = tf.shape(mask)
    center_y, center_x = (tf.cast(shape[0], tf.float32) - 1) / 2, (tf.cast(shape[1], tf.float32) - 1) / 2
    cos, sin = tf.cos(angle), tf.sin(angle)
    # Maps each output pixel (x, y) to where it comes from in the input: a rotation about the centre.
    transform = tf.stack([cos, -sin, center_x - cos * center_x + sin * center_y,
                          sin, cos, center_y - sin * center_x - cos * center_y, 0.0, 0.0])[None]

    def moved(images, interpolation, fill_value):
        return tf.raw_ops.ImageProjectiveTransformV3(
            images=images[None], transforms=transform, output_shape=shape[:2], fill_value=fill_value,
            interpolation=interpolation, fill_mode="CONSTANT")[0]

    # One fill value serves all channels: the image is moved with zeros outside, beside a channel of ones
    # that becomes each pixel's share of the inside, and the pad value fills the rest of every pixel.
    moved_image = moved(tf.concat([image, tf.ones_like(image[..., :1])], -1), "BILINEAR", 0.0)
    inside = moved_image[..., -1:]
    image = moved_image[..., :-1] + (1 - inside) * tf.constant(image_pad_value, tf.float32)
    return image, moved(mask, "NEAREST", float(IGNORE_LABEL))


def random_color_jitter(image, seed, jitter, first_channel=0):
    """Randomly changes the brightness, contrast, saturation and hue of an RGB image in [0, 255].

    Each part as torchvision's ``ColorJitter`` draws it: brightness multiplies by a factor drawn from [1 - b, 1 + b];
    contrast blends with the image's mean grey by a factor from [1 - c, 1 + c]; saturation blends
    with each pixel's grey by a factor from [1 - s, 1 + s]; hue shifts by a fraction of the colour
    circle from [-h, h]. They are applied in that fixed order (torchvision shuffles it), each
    clipped to [0, 255]; a zero strength leaves its part out.

    Args:
        image: float32 (H, W, C) with RGB in the channels ``first_channel .. first_channel + 2``;
            the other channels (depth, HHA) are kept as they are.
        seed: int (2,) tensor, the stateless seed of this example.
        jitter: ``(brightness, contrast, saturation, hue)`` strengths (see ``color_jitter_strengths``).
        first_channel: where the RGB channels start.

    Returns:
        The image, RGB in [0, 255].

    Example:
        >>> image = random_color_jitter(tf.fill((2, 2, 3), 200.0), tf.constant([0, 1]), (0.5, 0, 0, 0))
        >>> bool(tf.reduce_all(image == image[0, 0, 0])), 100 <= float(image[0, 0, 0]) <= 255
        (True, True)
    """
    brightness, contrast, saturation, hue = jitter
    draws = tf.random.stateless_uniform([4], seed, -1, 1) * tf.constant(jitter, tf.float32)
    rgb = image[..., first_channel:first_channel + 3]

    def clipped(values):
        return tf.clip_by_value(values, 0.0, 255.0)

    if brightness:
        rgb = clipped(rgb * (1 + draws[0]))
    if contrast:
        rgb = clipped(_blend(rgb, tf.reduce_mean(_grey(rgb)), 1 + draws[1]))
    if saturation:
        rgb = clipped(_blend(rgb, _grey(rgb), 1 + draws[2]))
    if hue:
        rgb = clipped(tf.image.adjust_hue(rgb, draws[3]))
    return tf.concat([image[..., :first_channel], rgb, image[..., first_channel + 3:]], axis=-1)


def _blend(image, grey, factor):
    return factor * image + (1 - factor) * grey


def _grey(rgb):
    """Each pixel's luma (ITU-R 601 weights, summing to 1: a grey pixel is its own grey)."""
    return tf.tensordot(rgb, tf.constant([0.299, 0.587, 0.114]), axes=1)[..., None]


def resized_crop_range(value):
    """Checks ``prepare``'s ``resized_crop``: ``(min_area, max_area)`` with 0 < min_area <= max_area <= 1.

    Example:
        >>> resized_crop_range([0.08, 1])
        (0.08, 1.0)
        >>> resized_crop_range((0.5, 0.2))
        Traceback (most recent call last):
        ValueError: `resized_crop` must be (min_area, max_area), ... 0 < min_area <= max_area <= 1, ..., got (0.5, 0.2).
    """
    pair = _numbers(value, 2)
    if pair is None or not 0 < pair[0] <= pair[1] <= 1:
        raise ValueError("`resized_crop` must be (min_area, max_area), fractions of the image's area with "
                         f"0 < min_area <= max_area <= 1, e.g. (0.08, 1.0), got {value!r}.")
    return pair


def rotation_degrees(value):
    """Checks ``prepare``'s ``rotation``: the largest angle in degrees, from 0 to 180.

    Example:
        >>> rotation_degrees(10)
        10.0
        >>> rotation_degrees(-5)
        Traceback (most recent call last):
        ValueError: `rotation` must be the largest angle in degrees, a number from 0 to 180, e.g. 10, got -5.
    """
    angle = _numbers([value], 1)
    if angle is None or not 0 <= angle[0] <= 180:
        raise ValueError(f"`rotation` must be the largest angle in degrees, a number from 0 to 180, e.g. 10, "
                         f"got {value!r}.")
    return angle[0]


def color_jitter_strengths(value):
    """Checks ``prepare``'s ``color_jitter``: one strength s from 0 to 1, which means (s, s, s, s / 4)
    (s = 0.4: the common ``ColorJitter(0.4, 0.4, 0.4, 0.1)``), or ``(brightness, contrast,
    saturation, hue)``, the first three from 0 to 1 and hue from 0 to 0.5.

    Returns:
        ``(brightness, contrast, saturation, hue)`` floats.

    Example:
        >>> color_jitter_strengths(0.4)
        (0.4, 0.4, 0.4, 0.1)
        >>> color_jitter_strengths((0.2, 0.2, 0.2, 0.7))
        Traceback (most recent call last):
        ValueError: `color_jitter` must be a strength from 0 to 1 or ..., got (0.2, 0.2, 0.2, 0.7).
    """
    strength = _numbers([value], 1) if isinstance(value, numbers.Number) else None
    strengths = (*[strength[0]] * 3, strength[0] / 4) if strength else _numbers(value, 4)
    if strengths is None or not (all(0 <= part <= 1 for part in strengths[:3]) and 0 <= strengths[3] <= 0.5):
        raise ValueError("`color_jitter` must be a strength from 0 to 1 or (brightness, contrast, saturation, hue), "
                         f"the first three from 0 to 1 and hue from 0 to 0.5, e.g. 0.4, got {value!r}.")
    return strengths


def _numbers(value, count):
    """`value` as a tuple of `count` finite floats, or None if it is not one (bools are not numbers here)."""
    try:
        parts = tuple(value)
    except TypeError:
        return None
    real = all(isinstance(part, numbers.Real) and not isinstance(part, bool) and math.isfinite(part) for part in parts)
    return tuple(float(part) for part in parts) if real and len(parts) == count else None


def augment(image, mask, seed, resized_crop=None, crop_size=None, rotation=None, color_jitter=None,
            image_pad_value=None, first_color_channel=0):
    """Applies the colour jitter, then the rotation, then the resized crop that are asked for (each None:
    left out), each drawn from its own stream of ``seed``; with none asked for, returns its inputs.

    ``prepare`` runs this before the paper's scale/crop/flip (``random_scale_crop_flip``), which
    keeps drawing from ``seed`` itself: adding these changes none of its draws.

    Args:
        image: float32 (H, W, C).
        mask: int32 (H, W), or (H, W, K) for K heads' masks.
        seed: int (2,) tensor, the stateless seed of this example.
        resized_crop: checked ``(min_area, max_area)`` (``resized_crop_range``), or None.
        crop_size: ``(height, width)``, the size of resized crops.
        rotation: the largest angle in degrees, or None.
        color_jitter: checked ``(brightness, contrast, saturation, hue)``, or None.
        image_pad_value: C values, what rotation fills the image's corners with.
        first_color_channel: where the image's RGB channels start.

    Returns:
        ``(image, mask)``.

    Example:
        >>> image, mask = augment(tf.fill((8, 8, 3), 50.0), tf.ones((8, 8, 1), tf.int32), tf.constant([3, 4]),
        ...                       (0.5, 1.0), (6, 6), 30, (0.2, 0.2, 0.2, 0.05), [0.0, 0.0, 0.0])
        >>> image.shape, sorted(set(mask.numpy().ravel().tolist()) - {1, 255})
        (TensorShape([6, 6, 3]), [])
    """
    def stream(number):
        return tf.random.experimental.stateless_fold_in(seed, number)

    one_mask = mask.shape.rank == 2
    mask = mask[..., None] if one_mask else mask
    if color_jitter is not None:
        image = random_color_jitter(image, stream(1), color_jitter, first_color_channel)
    if rotation is not None:
        image, mask = random_rotation(image, mask, stream(2), rotation, image_pad_value)
    if resized_crop is not None:
        image, mask = random_resized_crop(image, mask, stream(3), resized_crop, crop_size)
    return image, mask[..., 0] if one_mask else mask
