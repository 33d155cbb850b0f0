"""The prepare() pipeline: whole-image and batched modes, joint augmentation, padding, seeds."""

import numpy as np
import pytest
import tensorflow as tf

from fcn_keras.data import (
    IGNORE_LABEL,
    make_shapes,
    pad_to_size,
    prepare,
    random_scale_crop_flip,
    validate_labels,
)
from fcn_keras.data.transforms import backbone_pad_value


def pairs_dataset(pairs):
    """A dataset of (image, mask) pairs of different sizes."""
    return tf.data.Dataset.from_generator(
        lambda: iter(pairs),
        output_signature=(tf.TensorSpec((None, None, 3), tf.uint8), tf.TensorSpec((None, None), tf.uint8)),
    )


def coded_pair(height, width, seed):
    """A pair whose image's red channel equals its mask (so alignment is checkable), mask has 255s."""
    mask = np.random.default_rng(seed).choice(np.array([0, 1, 7, 255], np.uint8), (height, width))
    image = np.stack([mask, np.full_like(mask, 3), np.arange(height * width, dtype=np.uint8).reshape(height, width)], -1)
    return image, mask


@pytest.fixture(scope="module")
def coded():
    return [coded_pair(12, 10, 0), coded_pair(7, 15, 1), coded_pair(9, 9, 2)]


def test_whole_image_mode_keeps_every_value(coded):
    batches = list(prepare(pairs_dataset(coded)).as_numpy_iterator())
    assert len(batches) == 3
    for (image, mask), (images, masks) in zip(coded, batches):
        assert images.dtype == np.float32 and masks.dtype == np.int32
        np.testing.assert_array_equal(images, image[None].astype(np.float32))
        np.testing.assert_array_equal(masks, mask[None])


def test_padded_batches_pad_images_with_the_mean_and_masks_with_255(coded):
    images, masks = next(iter(prepare(pairs_dataset(coded), batch_size=3)))
    assert images.shape == (3, 12, 15, 3) and masks.shape == (3, 12, 15)
    image, mask = coded[1]  # 7 x 15
    np.testing.assert_array_equal(images[1, :7], image.astype(np.float32))
    np.testing.assert_array_equal(masks[1, :7], mask)
    np.testing.assert_array_equal(images[1, 7:], np.broadcast_to(np.float32(backbone_pad_value()), (5, 15, 3)))
    assert (masks[1, 7:].numpy() == IGNORE_LABEL).all()


def test_crop_larger_than_image_pads_with_mean_and_ignore(coded):
    image, mask = coded[0]  # 12 x 10
    ds = prepare(pairs_dataset([coded[0]]), training=True, crop_size=(14, 13), flip=False, seed=0)
    images, masks = next(iter(ds))
    np.testing.assert_array_equal(images[0, :12, :10], image.astype(np.float32))
    np.testing.assert_array_equal(masks[0, :12, :10], mask)
    np.testing.assert_array_equal(images[0, 12:, :], np.broadcast_to(np.float32(backbone_pad_value()), (2, 13, 3)))
    np.testing.assert_array_equal(images[0, :, 10:], np.broadcast_to(np.float32(backbone_pad_value()), (14, 3, 3)))
    assert (masks[0, 12:, :].numpy() == IGNORE_LABEL).all() and (masks[0, :, 10:].numpy() == IGNORE_LABEL).all()


def test_crop_and_flip_move_image_and_mask_together(coded):
    ds = prepare(pairs_dataset(coded * 4), batch_size=4, training=True, crop_size=6, seed=1)
    flipped = 0
    for images, masks in ds.as_numpy_iterator():
        assert images.shape == (4, 6, 6, 3)
        np.testing.assert_array_equal(images[..., 0], masks)  # the red channel codes the mask
        assert set(np.unique(masks)) <= {0, 1, 7, 255}
        flipped += int((np.diff(images[..., 2], axis=-1) < 0).any())  # arange decreases when mirrored
    assert 0 < flipped


def test_examples_of_one_size_are_mirrored_a_batch_at_a_time_with_their_masks():
    """Without crop or scale, examples of one static size skip padding and are mirrored per batch."""
    pairs = [coded_pair(6, 8, seed) for seed in range(16)]
    images, masks = (np.stack(part) for part in zip(*pairs))
    source = tf.data.Dataset.from_tensor_slices((images, {"a": masks, "b": masks}))
    ds = prepare(source, batch_size=5, training=True, shuffle_buffer=0, seed=2)
    batches = list(ds.as_numpy_iterator())
    assert [len(batch_images) for batch_images, _ in batches] == [5, 5, 5, 1]
    out_images = np.concatenate([batch_images for batch_images, _ in batches])
    out_masks = {head: np.concatenate([batch_masks[head] for _, batch_masks in batches]) for head in "ab"}
    mirrored = [not np.array_equal(out, image) for out, image in zip(out_images, images)]
    np.testing.assert_array_equal(out_images, np.where(np.array(mirrored)[:, None, None, None],
                                                       images[:, :, ::-1], images).astype(np.float32))
    np.testing.assert_array_equal(out_masks["a"], out_images[..., 0])  # the red channel codes the mask
    np.testing.assert_array_equal(out_masks["b"], out_masks["a"])
    assert 0 < sum(mirrored) < 16
    again = np.concatenate([batch_images for batch_images, _ in ds.as_numpy_iterator()])
    assert not np.array_equal(again, out_images)  # drawn again on each pass


def test_scaling_keeps_mask_values_exact_and_sizes_in_range():
    image, mask = coded_pair(40, 30, 3)
    sizes = set()
    for seed in range(6):
        out_image, out_mask = random_scale_crop_flip(
            tf.constant(image, tf.float32), tf.constant(mask, tf.int32), tf.constant([seed, 0]), scale_range=(0.5, 2.0))
        assert out_mask.dtype == tf.int32 and out_image.shape[:2] == out_mask.shape
        assert 20 <= out_mask.shape[0] <= 80 and 15 <= out_mask.shape[1] <= 60
        assert set(np.unique(out_mask)) <= {0, 1, 7, 255}
        sizes.add(tuple(out_mask.shape))
    assert len(sizes) > 1


def test_pad_to_size_leaves_large_inputs_alone():
    image, mask = pad_to_size(tf.ones((5, 6, 3)), tf.zeros((5, 6), tf.int32), 3, 4)
    assert image.shape == (5, 6, 3) and mask.shape == (5, 6)


def training_batches(seed, epochs=2):
    images, masks = make_shapes(12, (20, 20), seed=0)
    ds = prepare(tf.data.Dataset.from_tensor_slices((images, masks)), batch_size=4, training=True, crop_size=16,
                 scale_range=(0.75, 1.5), shuffle_buffer=12, seed=seed)
    return [[m for _, m in ds.as_numpy_iterator()] for _ in range(epochs)]


def test_training_is_reproducible_for_a_seed_and_varies_by_epoch():
    first, again, other = training_batches(5), training_batches(5), training_batches(6)
    for epoch_a, epoch_b in zip(first, again):
        for a, b in zip(epoch_a, epoch_b):
            np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(first[0], first[1]))
    assert not all(np.array_equal(a, b) for a, b in zip(first[0], other[0]))


def test_augmentations_need_training_mode(coded):
    with pytest.raises(ValueError, match="training augmentations"):
        prepare(pairs_dataset(coded), crop_size=8)


def test_validate_labels_reports_bad_values():
    masks = np.array([[[0, 4], [255, 9]]], np.uint8)
    ds = validate_labels(tf.data.Dataset.from_tensor_slices((np.zeros((1, 2, 2, 3), np.uint8), masks)), num_classes=5)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"class indices 0\.\.4 or 255[\s\S]*9"):
        list(ds)
    ok = validate_labels(tf.data.Dataset.from_tensor_slices((np.zeros((1, 2, 2, 3), np.uint8), masks)), num_classes=10)
    np.testing.assert_array_equal(next(iter(ok))[1], masks[0])
