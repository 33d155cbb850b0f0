"""The input pipeline: joint random scale/crop/flip (and the augmentations of `fcn_keras.data.augmentation`),
mean/255 padding, batching, prefetch."""

import numpy as np
import tensorflow as tf

from fcn_keras.arguments import positive_number, whole_number
from fcn_keras.backbones import get_backbone
from fcn_keras.data.augmentation import augment, color_jitter_strengths, resized_crop_range, rotation_degrees
from fcn_keras.data.modalities import MODALITIES, check_modality_dtype
from fcn_keras.defaults import DEFAULT_BACKBONE
from fcn_keras.labels import IGNORE_LABEL, label_masks


def backbone_pad_value(backbone=DEFAULT_BACKBONE):
    """The RGB value padded image pixels get: the backbone's mean, which its own
    preprocessing maps to exactly zero, so padding adds no signal.

    Args:
        backbone: a registered backbone name.

    Returns:
        (R, G, B) floats.

    Example:
        >>> backbone_pad_value("vgg16")
        (123.68, 116.779, 103.939)
    """
    return get_backbone(backbone).mean_rgb


def epoch_seed(seed, epoch, stream=0):
    """A seed for one random stream of one epoch, derived from the run's seed.

    Args:
        seed: the run's integer seed.
        epoch: the epoch.
        stream: which of the epoch's random streams (0: shuffling, 1: augmentation).

    Returns:
        int in [0, 2**31).

    Example:
        >>> epoch_seed(0, 3) != epoch_seed(0, 4)
        True
    """
    return int(np.random.SeedSequence([int(seed), int(epoch), int(stream)]).generate_state(1)[0] % 2**31)


def _size_pair(size, name):
    pair = (size, size) if isinstance(size, int) else tuple(size)
    if len(pair) != 2 or min(pair) < 1:
        raise ValueError(f"{name} must be an int or (height, width) of positive ints, got {size!r}.")
    return pair


def pad_to_size(image, mask, height, width, image_pad_value=None):
    """Pads an image (with ``image_pad_value``) and its mask (with 255) at the bottom/right
    up to at least ``height`` x ``width``; larger inputs are left as they are.

    Args:
        image: float (H, W, 3).
        mask: integer (H, W), or (H, W, K) for K heads' masks.
        height: minimum output height.
        width: minimum output width.
        image_pad_value: per-channel value of padded image pixels (default:
            ``backbone_pad_value()``).

    Returns:
        ``(image, mask)`` of size ``(max(H, height), max(W, width))``.

    Example:
        >>> image, mask = pad_to_size(tf.zeros((2, 2, 3)), tf.zeros((2, 2), tf.int32), 3, 4)
        >>> mask.numpy().tolist()
        [[0, 0, 255, 255], [0, 0, 255, 255], [255, 255, 255, 255]]
    """
    image_pad_value = backbone_pad_value() if image_pad_value is None else image_pad_value
    shape = tf.shape(mask)
    paddings = [[0, tf.maximum(height - shape[0], 0)], [0, tf.maximum(width - shape[1], 0)]]
    channels = [tf.pad(image[..., c], paddings, constant_values=value) for c, value in enumerate(image_pad_value)]
    image = tf.stack(channels, axis=-1)
    mask = tf.pad(mask, paddings + [[0, 0]] * (mask.shape.rank - 2), constant_values=IGNORE_LABEL)
    return image, mask


def random_scale_crop_flip(image, mask, seed, scale_range=None, crop_size=None, flip=True,
                           image_pad_value=None):
    """Applies the same random scale, crop and horizontal flip to an image and its mask.

    The image is resized bilinearly and the mask by nearest neighbour, so mask values stay
    exact class indices (255 included); crops that reach past the scaled image are padded
    with ``image_pad_value`` and 255. Deterministic for a given ``seed`` (stateless ops).

    Args:
        image: float32 (H, W, 3).
        mask: int32 (H, W), or (H, W, K) for K heads' masks (all moved alike).
        seed: int (2,) tensor, the stateless seed of this example.
        scale_range: ``(low, high)`` factors drawn uniformly, or None for no scaling.
        crop_size: ``(height, width)`` of a random crop, or None for none.
        flip: mirror left-right with probability 1/2.
        image_pad_value: per-channel value of padded image pixels (default:
            ``backbone_pad_value()``).

    Returns:
        ``(image, mask)``; of size ``crop_size`` when given.

    Example:
        >>> image, mask = random_scale_crop_flip(tf.zeros((8, 8, 3)), tf.zeros((8, 8), tf.int32),
        ...                                      tf.constant([1, 2]), (0.5, 2.0), (4, 4))
        >>> image.shape, mask.shape
        (TensorShape([4, 4, 3]), TensorShape([4, 4]))
    """
    scale_seed, crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
    one_mask = mask.shape.rank == 2
    masks = mask[..., None] if one_mask else mask
    if scale_range is not None:
        factor = tf.random.stateless_uniform([], scale_seed, *scale_range)
        size = tf.maximum(tf.cast(tf.round(tf.cast(tf.shape(masks)[:2], tf.float32) * factor), tf.int32), 1)
        image = tf.image.resize(image, size, method="bilinear")
        masks = tf.image.resize(masks, size, method="nearest")
    if crop_size is not None:
        image, masks = pad_to_size(image, masks, *crop_size, image_pad_value=image_pad_value)
    # Crop and flip a concatenation so image and masks move together; float32 holds 0..255 exactly.
    channels = image.shape[-1]
    both = tf.concat([image, tf.cast(masks, tf.float32)], axis=-1)
    if crop_size is not None:
        both = tf.image.stateless_random_crop(both, [*crop_size, channels + masks.shape[-1]], crop_seed)
    if flip:
        both = tf.image.stateless_random_flip_left_right(both, flip_seed)
    masks = tf.cast(both[..., channels:], tf.int32)
    return both[..., :channels], masks[..., 0] if one_mask else masks


def _scale_range(scale_range):
    low, high = (positive_number(factor, "scale_range factors") for factor in scale_range)
    if low > high:
        raise ValueError(f"scale_range must be (low, high) with low <= high, got {tuple(scale_range)!r}.")
    return low, high


def prepare(dataset, batch_size=1, training=False, crop_size=None, scale_range=None, flip=None,
            shuffle_buffer=1000, cache=False, seed=None, image_pad_value=None,
            drop_remainder=False, epoch=None, resized_crop=None, rotation=None, color_jitter=None):
    """Turns an ``(image, mask)`` source into model-ready batches.

    Whole-image mode (the paper's): ``batch_size=1``, any image size, no crop. Batched mode:
    with ``crop_size`` every training example is randomly cropped to one size; without it,
    images of different sizes are padded to the largest in the batch. Padding always gives
    images ``image_pad_value`` (the mean) and masks 255, so padded pixels count in neither
    loss nor metrics. With ``training=True`` the order is shuffled and scale/crop/flip are
    drawn per example, differently every epoch; all of it is reproducible for a ``seed``
    (under the same global seed, ``keras.utils.set_random_seed``).

    Two ways to get epochs: iterate one dataset again and again (each pass reshuffles), or
    build one dataset per epoch with ``epoch=e``, whose order and augmentation depend on
    ``(seed, e)`` alone. The second lets a resumed run start at any epoch without decoding
    the finished ones again (``fcn_keras.train`` takes a function ``epoch -> dataset``).

    More training augmentations, all off by default (``fcn_keras.data.augmentation``): each
    example's colours are jittered, then it is rotated, then cropped (by ``resized_crop`` to
    ``crop_size``, which replaces ``scale_range``: the area of its crop sets the scale; or by
    ``scale_range`` and ``crop_size`` as above), then mirrored. Masks move with their image by
    nearest neighbour; what comes in from outside the image is 255 in masks and
    ``image_pad_value`` in images.

    Args:
        dataset: ``tf.data.Dataset`` of ``(uint8 (H, W, 3), integer (H, W))``; the masks
            may be ``{head: integer (H, W)}`` (a model with several heads) and the
            images ``{modality: (H, W, C)}`` (several inputs, NYUDv2's): all are scaled,
            cropped and flipped together.
        batch_size: examples per batch.
        training: shuffle and augment (False: keep order, no randomness).
        crop_size: int or ``(height, width)`` of random training crops (training only).
        scale_range: ``(low, high)`` random scale factors for training, e.g. ``(0.5, 2.0)``.
        flip: random left-right mirroring; defaults to ``training``.
        shuffle_buffer: shuffle buffer size in training (0 or None: no shuffle).
        cache: True caches decoded examples in memory, a path caches them to files.
        seed: integer seed for shuffling and augmentation; None for nondeterministic.
        image_pad_value: per-channel RGB value of padded image pixels; default: the
            ``vgg16`` family's mean (``backbone_pad_value()``); pass your backbone's
            ``get_backbone(name).mean_rgb`` for others. For several inputs
            ({modality: image}, NYUDv2's), {modality: values} or the colour images'
            values; defaults: the colour mean, about 2550 mm of depth and the HHA
            mean (what their normalizations map to zero).
        drop_remainder: drop the last incomplete batch.
        epoch: None, or the epoch (int) this dataset is for; needs ``seed``.
        resized_crop: ``(min_area, max_area)``: Inception's random resized crop, e.g.
            ``(0.08, 1.0)``: a box of that fraction of the image's area and an aspect ratio
            from 3/4 to 4/3, resized to ``crop_size`` (which it needs; not with ``scale_range``).
        rotation: the largest angle in degrees (0 to 180) of a random rotation, e.g. 10.
        color_jitter: the strength s (0 to 1) of random brightness, contrast, saturation and
            hue changes, ``(s, s, s, s / 4)``, or those four strengths (hue up to 0.5); only
            the colour channels of several inputs change.

    Returns:
        ``tf.data.Dataset`` of ``(float32 (N, H, W, 3) RGB in [0, 255], int32 (N, H, W))``
        (masks ``{head: int32 (N, H, W)}`` for several heads), prefetched.

    Example:
        >>> train = prepare(synthetic_shapes(16, (96, 96)), batch_size=8, training=True,
        ...                 crop_size=64, scale_range=(0.75, 1.25), seed=0)
        >>> images, masks = next(iter(train))
        >>> images.shape, masks.shape
        (TensorShape([8, 64, 64, 3]), TensorShape([8, 64, 64]))
        >>> train = prepare(synthetic_shapes(4, (48, 48)), batch_size=4, training=True, crop_size=32,
        ...                 resized_crop=(0.25, 1.0), rotation=10, color_jitter=0.4, seed=0)
        >>> images, masks = next(iter(train))
        >>> images.shape, set(np.unique(masks)) <= {0, 1, 2, 3, 4, 255}
        (TensorShape([4, 32, 32, 3]), True)
    """
    flip = training if flip is None else flip
    batch_size = whole_number(batch_size, "batch_size")
    crop_size = None if crop_size is None else _size_pair(crop_size, "crop_size")
    if scale_range is not None:
        scale_range = _scale_range(scale_range)
    resized_crop = None if resized_crop is None else resized_crop_range(resized_crop)
    rotation = None if rotation is None else rotation_degrees(rotation)
    color_jitter = None if color_jitter is None else color_jitter_strengths(color_jitter)
    more_augmentation = any(value is not None for value in (resized_crop, rotation, color_jitter))
    if not training and (crop_size or scale_range or flip or more_augmentation):
        raise ValueError(
            "crop_size, scale_range, flip, resized_crop, rotation and color_jitter are training augmentations; with "
            "training=False whole images are used (batches are padded with 255 masks). Pass training=True or drop them."
        )
    if resized_crop is not None and crop_size is None:
        raise ValueError(f"`resized_crop` {resized_crop} resizes its crops to `crop_size`; give `crop_size` too.")
    if resized_crop is not None and scale_range is not None:
        raise ValueError("`resized_crop` and `scale_range` both scale the image (resized_crop by the area of its "
                         "crop); give one of them.")
    if epoch is not None and seed is None:
        raise ValueError("prepare(epoch=...) builds one epoch's batches from (seed, epoch); give a seed too.")
    each_pass = epoch is None  # new randomness on every pass, or one fixed draw for this epoch
    shuffle_seed, augment_seed = (seed, seed) if each_pass else (epoch_seed(seed, epoch, 0), epoch_seed(seed, epoch, 1))
    if cache:
        dataset = dataset.cache("" if cache is True else str(cache))
    if training and shuffle_buffer:
        dataset = dataset.shuffle(shuffle_buffer, seed=shuffle_seed, reshuffle_each_iteration=each_pass)

    inputs, masks = dataset.element_spec
    for name, spec in (inputs.items() if isinstance(inputs, dict) else ()):
        check_modality_dtype(name, spec.dtype.name, f"The data set's {name}")
    heads = list(masks) if isinstance(masks, dict) else None
    modalities = {name: spec.shape[-1] for name, spec in inputs.items()} if isinstance(inputs, dict) else None
    pad_values = _pad_values(modalities, image_pad_value)
    first_color_channel = _first_color_channel(modalities) if color_jitter is not None else 0

    def to_example(image, mask, example_seed=None):
        # Several heads' masks travel as the channels of one (H, W, K) mask, and several inputs as the channels
        # of one image, so that they all move alike. Without a seed this also serves whole batches.
        mask = tf.stack([mask[head] for head in heads], axis=-1) if heads else mask
        if modalities:
            image = tf.concat([tf.cast(image[name], tf.float32) for name in modalities], axis=-1)
        image, mask = tf.cast(image, tf.float32), tf.cast(mask, tf.int32)
        if example_seed is not None:
            if more_augmentation:
                image, mask = augment(image, mask, example_seed, resized_crop, crop_size, rotation, color_jitter,
                                      pad_values, first_color_channel)
            image, mask = random_scale_crop_flip(image, mask, example_seed, scale_range,
                                                 None if resized_crop else crop_size, flip, pad_values)
        return image, mask

    def with_validity(image, mask):
        # padded_batch pads with one scalar per component: this validity map marks the pixels
        # that then get the per-channel image_pad_value.
        return image, mask, tf.ones_like(mask[..., 0] if heads else mask, tf.bool)

    def pad_batch(images, masks, valid):
        return tf.where(valid[..., None], images, tf.constant(pad_values, tf.float32)), masks

    def to_outputs(images, masks):
        if modalities:
            bounds = np.cumsum([0, *modalities.values()])
            images = {name: images[..., start:end] for name, start, end in zip(modalities, bounds, bounds[1:])}
        return images, ({head: masks[..., index] for index, head in enumerate(heads)} if heads else masks)

    def with_seeds(dataset):
        seeds = tf.data.Dataset.random(seed=augment_seed, rerandomize_each_iteration=each_pass).batch(2)
        return tf.data.Dataset.zip(dataset, seeds)

    parallel = {"num_parallel_calls": tf.data.AUTOTUNE}
    if training and (crop_size or scale_range or more_augmentation):
        dataset = with_seeds(dataset).map(lambda example, seed: to_example(*example, seed), **parallel)
    elif _static_size(inputs, masks):
        # Examples of one size need no padding and no per-example work: they are batched as they come,
        # converted and mirrored a batch at a time (far fewer ops per example).
        dataset = dataset.batch(batch_size, drop_remainder=drop_remainder).map(to_example, **parallel)
        if training and flip:
            dataset = with_seeds(dataset).map(lambda batch, seed: mirror_some(*batch, seed), **parallel)
        return dataset.map(to_outputs).prefetch(tf.data.AUTOTUNE)
    elif training and flip:
        dataset = with_seeds(dataset).map(lambda example, seed: to_example(*example, seed), **parallel)
    else:
        dataset = dataset.map(to_example, **parallel)
    if crop_size:
        dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    else:
        dataset = dataset.map(with_validity).padded_batch(
            batch_size, padding_values=(0.0, IGNORE_LABEL, False), drop_remainder=drop_remainder).map(pad_batch)
    return dataset.map(to_outputs).prefetch(tf.data.AUTOTUNE)


def mirror_some(images, masks, seed):
    """Mirrors each example of a batch left-right with probability 1/2, its masks with it.

    Args:
        images: (N, H, W, C).
        masks: (N, H, W) or (N, H, W, K).
        seed: int (2,) tensor, the stateless seed of this batch.

    Returns:
        ``(images, masks)``, the mirrored examples reversed along their width.

    Example:
        >>> images, masks = mirror_some(tf.reshape(tf.range(16.0), (8, 1, 2, 1)), tf.reshape(tf.range(16), (8, 1, 2)),
        ...                             tf.constant([0, 1]))
        >>> images[:, 0, :, 0].numpy().tolist()
        [[1.0, 0.0], [3.0, 2.0], [5.0, 4.0], [7.0, 6.0], [9.0, 8.0], [10.0, 11.0], [12.0, 13.0], [14.0, 15.0]]
        >>> masks[:, 0, :].numpy().tolist()
        [[1, 0], [3, 2], [5, 4], [7, 6], [9, 8], [10, 11], [12, 13], [14, 15]]
    """
    mirrored = tf.random.stateless_uniform(tf.shape(images)[:1], seed) < 0.5

    def choose(batch):
        chosen = tf.reshape(mirrored, [-1] + [1] * (batch.shape.rank - 1))
        return tf.where(chosen, tf.reverse(batch, [2]), batch)

    return choose(images), choose(masks)


def _static_size(inputs, masks):
    """Whether the source's images and masks (specs, or {name: spec}) all have one static height and width."""
    sizes = {tuple(spec.shape[:2]) for spec in tf.nest.flatten((inputs, masks))}
    return len(sizes) == 1 and None not in next(iter(sizes))


def _first_color_channel(modalities):
    """Where the colour channels start in the image of one example (several inputs travel as its channels)."""
    if not modalities:
        return 0
    if "color" not in modalities:
        raise ValueError(f"`color_jitter` changes colours, and the inputs {tuple(modalities)} have no colour "
                         "images; drop `color_jitter`.")
    names = list(modalities)
    return sum(modalities[name] for name in names[:names.index("color")])


def _pad_values(modalities, image_pad_value):
    """The value of each channel's padded pixels: the image's `image_pad_value` (default the backbone's mean),
    or for several inputs ({modality: channels}) each one's value that its normalization maps to zero (or the
    given {modality: values}, or one value per channel of them all)."""
    if not modalities:
        return backbone_pad_value() if image_pad_value is None else image_pad_value
    if not isinstance(image_pad_value, (dict, type(None))) and len(image_pad_value) == sum(modalities.values()):
        return [float(value) for value in image_pad_value]
    given = image_pad_value if isinstance(image_pad_value, dict) else {"color": image_pad_value}
    return [float(value) for name in modalities
            for value in (given.get(name) or pad_values([name], backbone_pad_value()))]


def pad_values(modalities, color_pad_value):
    """The pixel values that the normalizations of `modalities` map to zero, one per channel: what padding gives
    images (`color_pad_value` for colour; None or no modalities: colour images).

    Example:
        >>> pad_values(["color", "depth"], (1.0, 2.0, 3.0))
        [1.0, 2.0, 3.0, 2550.386...]
    """
    if not modalities:
        return list(color_pad_value)
    return [float(value) for name in modalities for value in MODALITIES[name].padding_value(color_pad_value)]


def validate_labels(dataset, num_classes):
    """Adds a label check to an ``(image, mask)`` dataset; a bad mask fails with a clear message.

    Use it on data sets that come from elsewhere; the file sources of this package check
    their masks themselves when given ``num_classes`` and name the bad file.

    Args:
        dataset: ``tf.data.Dataset`` of ``(image, mask)``; masks of any integer dtype.
        num_classes: number of classes; valid values are ``0..num_classes-1`` and 255.

    Returns:
        The same dataset; iterating it raises ``tf.errors.InvalidArgumentError`` whose
        message lists the offending values when a mask holds another value.

    Example:
        >>> ds = validate_labels(synthetic_shapes(4, (32, 32), num_classes=5), num_classes=5)
        >>> _ = list(ds)
    """

    def check(image, mask):
        labels = tf.cast(mask, tf.int32)
        _, bad = label_masks(labels, num_classes)
        assertion = tf.debugging.Assert(
            tf.logical_not(tf.reduce_any(bad)),
            [
                f"Mask values must be class indices 0..{num_classes - 1} or {IGNORE_LABEL} "
                "(ignore); pass the right num_classes or remap the labels. Offending values:",
                tf.unique(tf.boolean_mask(labels, bad))[0],
            ],
            summarize=10,
        )
        with tf.control_dependencies([assertion]):
            return tf.identity(image), tf.identity(mask)

    return dataset.map(check, num_parallel_calls=tf.data.AUTOTUNE)
