"""prepare's augmentations beside scale/crop/flip: random resized crop, rotation and colour jitter."""

import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import run_under

from fcn_keras.data import IGNORE_LABEL, prepare, synthetic_shapes
from fcn_keras.data.augmentation import random_color_jitter, random_rotation

PAD = (110.0, 120.0, 130.0)  # an image_pad_value unlike any colour of the coded images below
ALL = {"rotation": 30, "resized_crop": (0.3, 1.0), "crop_size": (16, 20), "color_jitter": (0.5, 0.5, 0.5, 0.2)}
AUGMENTATIONS = {
    "rotation": {"rotation": 45},
    "resized_crop": {"resized_crop": (0.1, 1.0), "crop_size": 16},
    "color_jitter": {"color_jitter": 1.0},
    "all": ALL,
    "with scale and crop": {"rotation": 20, "color_jitter": 0.4, "scale_range": (0.5, 1.5), "crop_size": 16},
}


def batches(source, **kwargs):
    options = {"batch_size": 4, "training": True, "seed": 0, "image_pad_value": PAD, **kwargs}
    return list(prepare(source, **options).as_numpy_iterator())


def shapes(num_images=8):
    return synthetic_shapes(num_images, (24, 24), num_classes=3, seed=0)


COLORS = {0: (0, 0, 0), 3: (250, 60, 10), 7: (20, 240, 200), IGNORE_LABEL: PAD}  # a colour for each mask value


def coded_arrays(num_images=8, size=36, block=6):
    """Masks of blocks of 0, 3, 7 and 255 (a bilinear mask would show values between), images of each
    value's colour (so that image and mask alignment is checkable); 255 blocks have the pad value's."""
    rng = np.random.default_rng(0)
    masks = np.kron(rng.choice(list(COLORS), (num_images, size // block, size // block)), np.ones((block, block)))
    images = np.array([COLORS[value] for value in masks.ravel()]).reshape(*masks.shape, 3)
    return images.astype(np.uint8), masks.astype(np.uint8)


def coded():
    return tf.data.Dataset.from_tensor_slices(coded_arrays())


def interior(masks, radius=2):
    """Pixels whose (2 radius + 1)^2 neighbourhood holds one mask value."""
    windows = np.lib.stride_tricks.sliding_window_view(masks, (2 * radius + 1,) * 2, axis=(1, 2))
    uniform = (windows == windows[..., radius:radius + 1, radius:radius + 1]).all(axis=(-1, -2))
    return np.pad(uniform, [(0, 0), (radius, radius), (radius, radius)])


@pytest.mark.parametrize("name", AUGMENTATIONS)
def test_masks_keep_their_classes_and_images_stay_in_range(name):
    for images, masks in batches(shapes(), **AUGMENTATIONS[name]):
        assert masks.dtype == np.int32 and set(np.unique(masks)) <= {0, 1, 2, IGNORE_LABEL}
        assert images.dtype == np.float32 and 0 <= images.min() and images.max() <= 255


@pytest.mark.parametrize("geometry", [{"rotation": 45}, {"resized_crop": (0.1, 1.0), "crop_size": 24},
                                      {"rotation": 20, "scale_range": (0.5, 1.5), "crop_size": 24}])
def test_geometric_augmentations_move_masks_by_nearest_neighbour_with_their_images(geometry):
    checked = 0
    for images, masks in batches(coded(), **geometry):
        assert set(np.unique(masks)) <= set(COLORS)  # no value between two of the mask's
        inside = interior(masks)
        expected = np.array([COLORS[value] for value in masks[inside]], np.float32)
        np.testing.assert_allclose(images[inside], expected, atol=1e-3)
        checked += inside.sum()
    assert checked > 300


def rotation_seeds(count, min_degrees=30, max_degrees=45):
    """Seeds of `random_rotation` whose angle (uniform in [-max, max] by their stateless draw) is at least
    `min_degrees` either way."""
    seeds = (tf.constant([7, number]) for number in range(100))
    return [seed for seed in seeds
            if abs(float(tf.random.stateless_uniform([], seed, -max_degrees, max_degrees))) >= min_degrees][:count]


def test_rotation_fills_the_corners_with_the_pad_value_and_255_and_keeps_the_centre():
    image = tf.broadcast_to(tf.constant([10.0, 20.0, 30.0]), (17, 17, 3))
    mask = tf.ones((17, 17, 2), tf.int32)  # two heads' masks
    for seed in rotation_seeds(2):
        rotated, rotated_mask = (t.numpy() for t in random_rotation(image, mask, seed, 45, PAD))
        for rows, cols in [(slice(0, 2), slice(0, 2)), (slice(0, 2), slice(-2, None)),
                           (slice(-2, None), slice(0, 2)), (slice(-2, None), slice(-2, None))]:
            np.testing.assert_array_equal(rotated[rows, cols], np.broadcast_to(np.float32(PAD), (2, 2, 3)))
            assert (rotated_mask[rows, cols] == IGNORE_LABEL).all()
        np.testing.assert_array_equal(rotated[6:11, 6:11], np.broadcast_to(np.float32([10, 20, 30]), (5, 5, 3)))
        assert (rotated_mask[6:11, 6:11] == 1).all()
        np.testing.assert_array_equal(rotated_mask[..., 0], rotated_mask[..., 1])


def test_rotation_in_prepare_blends_borders_into_each_channels_pad_value():
    images = np.broadcast_to(np.uint8([10, 20, 30]), (8, 17, 17, 3))
    source = tf.data.Dataset.from_tensor_slices((images, np.ones((8, 17, 17), np.uint8)))
    filled = 0
    for batch, masks in batches(source, rotation=45):
        assert set(np.unique(masks)) <= {1, IGNORE_LABEL}
        share = (batch - np.float32(PAD)) / -100  # the share of each pixel coming from the image, per channel
        np.testing.assert_allclose(share, np.broadcast_to(share[..., :1], share.shape), atol=1e-5)
        assert 0 <= share.min() and share.max() <= 1 + 1e-6
        assert (share[masks == 1] >= 0.5 - 1e-6).all() and (share[masks == IGNORE_LABEL] <= 0.5 + 1e-6).all()
        filled += (masks == IGNORE_LABEL).sum()
    assert filled > 0


def test_several_inputs_and_heads_move_alike_and_only_colours_are_jittered():
    images, masks = coded_arrays()
    source = tf.data.Dataset.from_tensor_slices(({"color": images, "hha": images}, {"a": masks, "b": masks}))
    pads = {"image_pad_value": {"color": PAD, "hha": PAD}}
    plain = batches(source, rotation=30, resized_crop=(0.3, 1.0), crop_size=16, **pads)
    jittered = batches(source, rotation=30, resized_crop=(0.3, 1.0), crop_size=16, color_jitter=0.5, **pads)
    for (inputs, heads), (jittered_inputs, jittered_heads) in zip(plain, jittered):
        np.testing.assert_array_equal(inputs["hha"], inputs["color"])
        np.testing.assert_array_equal(heads["a"], heads["b"])
        np.testing.assert_array_equal(jittered_inputs["hha"], inputs["hha"])
        np.testing.assert_array_equal(jittered_heads["a"], heads["a"])
        assert not np.array_equal(jittered_inputs["color"], inputs["color"])


def test_the_same_seed_gives_the_same_batches_and_another_epoch_other_ones():
    def epoch(number, seed=3):
        return batches(shapes(), seed=seed, epoch=number, **ALL)

    first, again, next_epoch = epoch(0), epoch(0), epoch(1)
    for (images, masks), (images_again, masks_again) in zip(first, again):
        np.testing.assert_array_equal(images, images_again)
        np.testing.assert_array_equal(masks, masks_again)
    assert not any(np.array_equal(a[0], b[0]) for a, b in zip(first, next_epoch))
    each_pass = prepare(shapes(), batch_size=4, training=True, seed=3, **ALL)
    passes = [np.concatenate([masks for _, masks in each_pass.as_numpy_iterator()]) for _ in range(2)]
    assert not np.array_equal(*passes)


def test_zero_strengths_give_the_plain_pipeline():
    plain = batches(shapes(), crop_size=16, scale_range=(0.8, 1.2))
    zero = batches(shapes(), crop_size=16, scale_range=(0.8, 1.2), rotation=0, color_jitter=0)
    for (images, masks), (zero_images, zero_masks) in zip(plain, zero):
        np.testing.assert_array_equal(zero_images, images)
        np.testing.assert_array_equal(zero_masks, masks)


def test_a_resized_crop_of_the_whole_area_of_a_square_image_resizes_the_whole_image():
    (images, masks), = batches(shapes(4), flip=False, shuffle_buffer=0)
    (same, same_masks), = batches(shapes(4), flip=False, shuffle_buffer=0, resized_crop=(1, 1), crop_size=24)
    np.testing.assert_array_equal(same, images)
    np.testing.assert_array_equal(same_masks, masks)
    (smaller, smaller_masks), = batches(shapes(4), flip=False, shuffle_buffer=0, resized_crop=(1, 1), crop_size=16)
    np.testing.assert_allclose(smaller, tf.image.resize(images, (16, 16)), atol=1e-4)
    np.testing.assert_array_equal(smaller_masks, tf.image.resize(masks[..., None], (16, 16), "nearest")[..., 0])


def test_resized_crops_have_areas_and_aspect_ratios_in_range():
    rows, cols = np.indices((40, 40), np.uint8)  # two heads' masks: each pixel's row and column
    source = tf.data.Dataset.from_tensors((np.zeros((40, 40, 3), np.uint8), {"rows": rows, "cols": cols})).repeat(16)
    areas, ratios = [], []
    for _, crops in batches(source, resized_crop=(0.25, 0.5), crop_size=40, flip=False):
        for crop_rows, crop_cols in zip(crops["rows"], crops["cols"]):  # upscaled by nearest: every row is there
            height, width = len(np.unique(crop_rows)), len(np.unique(crop_cols))
            areas.append(height * width / 1600)
            ratios.append(width / height)
    assert 0.24 <= min(areas) and max(areas) <= 0.51 and len(set(areas)) > 3
    assert 0.74 <= min(ratios) < 0.95 and 1.05 < max(ratios) <= 1.35


def test_color_jitter_parts_keep_what_they_should():
    seed = tf.constant([1, 2])
    constant = tf.fill((4, 4, 3), 100.0)
    brighter = random_color_jitter(constant, seed, (0.5, 0, 0, 0)).numpy()
    assert len(np.unique(brighter)) == 1 and 50 <= brighter[0, 0, 0] <= 150 and brighter[0, 0, 0] != 100
    np.testing.assert_allclose(random_color_jitter(constant, seed, (0, 1, 0, 0)), constant, atol=1e-4)  # flat
    grey = tf.broadcast_to(tf.reshape(tf.linspace(0.0, 255.0, 16), (4, 4, 1)), (4, 4, 3))
    np.testing.assert_allclose(random_color_jitter(grey, seed, (0, 0, 1, 0.5)), grey, atol=1e-3)  # no colour
    colourful = tf.constant(np.random.default_rng(0).uniform(0, 255, (8, 8, 3)), tf.float32)
    strong = random_color_jitter(colourful, seed, (1, 1, 1, 0.5)).numpy()
    assert 0 <= strong.min() and strong.max() <= 255 and not np.allclose(strong, colourful)


@pytest.mark.parametrize("arguments, message", [
    ({"resized_crop": (0, 1), "crop_size": 8}, r"`resized_crop` must be \(min_area, max_area\).*got \(0, 1\)\."),
    ({"resized_crop": (0.5, 0.2), "crop_size": 8}, r"0 < min_area <= max_area <= 1.*got \(0.5, 0.2\)\."),
    ({"resized_crop": (0.1, 1.5), "crop_size": 8}, r"`resized_crop` must be.*got \(0.1, 1.5\)\."),
    ({"resized_crop": 0.5, "crop_size": 8}, r"`resized_crop` must be.*got 0.5\."),
    ({"resized_crop": (0.1, 1.0)},
     r"`resized_crop` \(0.1, 1.0\) resizes its crops to `crop_size`; give `crop_size` too"),
    ({"resized_crop": (0.1, 1.0), "crop_size": 8, "scale_range": (0.5, 2.0)},
     r"`resized_crop` and `scale_range` both scale the image .*give one of them"),
    ({"rotation": -1}, r"`rotation` must be the largest angle in degrees, a number from 0 to 180, e.g. 10, got -1\."),
    ({"rotation": 181}, r"`rotation` must be .* from 0 to 180.*got 181\."),
    ({"rotation": float("nan")}, r"`rotation` must be .*got nan\."),
    ({"rotation": True}, r"`rotation` must be .*got True\."),
    ({"rotation": "10"}, r"`rotation` must be .*got '10'\."),
    ({"color_jitter": 1.5}, r"`color_jitter` must be a strength from 0 to 1 or \(brightness, contrast, saturation, "
                            r"hue\).*got 1.5\."),
    ({"color_jitter": -0.1}, r"`color_jitter` must be .*got -0.1\."),
    ({"color_jitter": (0.1, 0.1, 0.1)}, r"`color_jitter` must be .*got \(0.1, 0.1, 0.1\)\."),
    ({"color_jitter": (0.1, 0.1, 0.1, 0.6)}, r"hue from 0 to 0.5.*got \(0.1, 0.1, 0.1, 0.6\)\."),
    ({"color_jitter": True}, r"`color_jitter` must be .*got True\."),
    ({"rotation": 10, "training": False}, "rotation and color_jitter are training augmentations"),
])
def test_bad_arguments_are_refused_in_one_line(arguments, message):
    with pytest.raises(ValueError, match=message) as error:
        prepare(shapes(2), **{"training": True, **arguments})
    assert "\n" not in str(error.value)


def test_color_jitter_needs_colour_images():
    source = shapes(2).map(lambda image, mask: ({"hha": image}, mask))
    with pytest.raises(ValueError, match=r"`color_jitter` changes colours, and the inputs \('hha',\) have no colour "
                                         r"images; drop `color_jitter`"):
        prepare(source, training=True, color_jitter=0.4)


def augmented_batches():
    """Every array of the batches of a pipeline with all the augmentations."""
    data = prepare(shapes(), batch_size=4, training=True, seed=1, epoch=2, **ALL)
    return [array for batch in data.as_numpy_iterator() for array in batch]


IN_TENSORFLOW = f"""
import sys
sys.path.insert(0, {str(pathlib.Path(__file__).parent)!r})
import keras, numpy as np
from test_data_augmentation import augmented_batches
keras.utils.set_random_seed(0)  # as conftest does for every test
np.savez(sys.argv[1], *augmented_batches())
"""


@pytest.mark.backends
def test_augmented_batches_are_the_same_under_every_backend(tmp_path):
    """The augmentations are TensorFlow ops inside tf.data whatever Keras runs on: a run under JAX or PyTorch
    gives the batches a run under TensorFlow gives, and the same ones again."""
    batches_here = augmented_batches()
    for array, again in zip(batches_here, augmented_batches(), strict=True):
        np.testing.assert_array_equal(array, again)
    if keras.backend.backend() != "tensorflow":
        result = run_under("tensorflow", IN_TENSORFLOW, str(tmp_path / "tensorflow.npz"))
        assert result.returncode == 0, result.stderr[-2000:]
        in_tensorflow = np.load(tmp_path / "tensorflow.npz")
        for index, array in enumerate(batches_here):
            np.testing.assert_array_equal(array, in_tensorflow[f"arr_{index}"])
