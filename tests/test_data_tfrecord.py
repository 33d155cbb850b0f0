"""TFRecords in the Model Garden layout: round trips, foreign records, errors."""

import numpy as np
import pytest
import tensorflow as tf
from helpers import png_bytes

from fcn_keras.data import DataError, make_shapes, synthetic_shapes, tfrecord_dataset, write_tfrecords


def test_round_trip_is_exact_and_ordered_across_shards(tmp_path):
    images, masks = make_shapes(7, (24, 16), num_classes=5, seed=3)
    files = write_tfrecords(synthetic_shapes(7, (24, 16), num_classes=5, seed=3), str(tmp_path / "out" / "train"), shards=3)
    assert [f.rsplit("/", 1)[1] for f in files] == [f"train-0000{i}-of-00003.tfrecord" for i in range(3)]
    pairs = list(tfrecord_dataset(str(tmp_path / "out" / "train-*.tfrecord"), num_classes=5).as_numpy_iterator())
    np.testing.assert_array_equal(np.stack([p[0] for p in pairs]), images)
    np.testing.assert_array_equal(np.stack([p[1] for p in pairs]), masks)  # 255 borders included


def test_jpeg_images_keep_masks_exact(tmp_path):
    images, masks = make_shapes(2, (16, 16), seed=4)
    write_tfrecords(zip(images, masks), str(tmp_path / "j"), image_format="jpeg")
    pairs = list(tfrecord_dataset(str(tmp_path / "j-*")).as_numpy_iterator())
    np.testing.assert_array_equal(np.stack([p[1] for p in pairs]), masks)
    assert np.abs(np.stack([p[0] for p in pairs]).astype(int) - images).mean() < 25  # lossy on noisy 16 px images


def write_records(path, features_list):
    with tf.io.TFRecordWriter(str(path)) as writer:
        for features in features_list:
            feature = {k: tf.train.Feature(bytes_list=tf.train.BytesList(value=[v])) for k, v in features.items()}
            writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())


def test_foreign_records_with_palette_masks_give_indices(tmp_path):
    mask = np.array([[0, 15, 255], [20, 1, 0]], np.uint8)
    write_records(tmp_path / "voc.tfrecord", [{
        "image/encoded": png_bytes(np.zeros((2, 3, 3), np.uint8)),
        "image/segmentation/class/encoded": png_bytes(mask, palette=True),
    }])
    _, read = next(iter(tfrecord_dataset(str(tmp_path / "voc.tfrecord"), num_classes=21)))
    np.testing.assert_array_equal(read, mask)


def test_corrupt_image_names_file_and_record(tmp_path):
    good = {"image/encoded": png_bytes(np.zeros((2, 2, 3), np.uint8)),
            "image/segmentation/class/encoded": png_bytes(np.zeros((2, 2), np.uint8))}
    write_records(tmp_path / "bad.tfrecord", [good, {**good, "image/encoded": good["image/encoded"][:30]}])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"bad.tfrecord record 1: cannot decode the image"):
        list(tfrecord_dataset(str(tmp_path / "bad.tfrecord")))


def test_missing_mask_key_is_named(tmp_path):
    write_records(tmp_path / "nomask.tfrecord", [{"image/encoded": png_bytes(np.zeros((2, 2, 3), np.uint8))}])
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"nomask.tfrecord record 0: the 'image/segmentation/class/encoded' feature is missing"):
        list(tfrecord_dataset(str(tmp_path / "nomask.tfrecord")))


def test_no_matching_files(tmp_path):
    with pytest.raises(DataError, match=r"none-\*.tfrecord: no TFRecord files match"):
        tfrecord_dataset(str(tmp_path / "none-*.tfrecord"))
