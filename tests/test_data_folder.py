"""folder_dataset: a user's images and masks paired by stem."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from fcn_keras.data import DataError, folder_dataset, write_mask


def rgb(seed, height=16, width=18):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def index_mask(seed, height=16, width=18):
    return np.random.default_rng(seed).choice(np.array([0, 1, 2, 255], np.uint8), (height, width))


@pytest.fixture
def folders(tmp_path):
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    Image.fromarray(rgb(0)).save(images / "a.png")
    Image.fromarray(rgb(1)).save(images / "b.JPG", quality=95)
    write_mask(masks / "a.png", index_mask(0))
    Image.fromarray(index_mask(1), mode="L").save(masks / "b.png")  # grayscale
    (images / "notes.txt").write_text("ignored")
    return images, masks


def test_pairs_by_stem_with_palette_and_grayscale_masks(folders):
    images, masks = folders
    pairs = list(folder_dataset(str(images), str(masks), num_classes=3).as_numpy_iterator())
    assert len(pairs) == 2
    np.testing.assert_array_equal(pairs[0][0], rgb(0))  # lossless PNG: exact
    np.testing.assert_array_equal(pairs[0][1], index_mask(0))  # palette indices, 255 kept
    np.testing.assert_array_equal(pairs[1][1], index_mask(1))
    assert pairs[1][0].shape == (16, 18, 3) and pairs[1][0].dtype == np.uint8


def test_unpaired_files_are_named(folders):
    images, masks = folders
    Image.fromarray(rgb(2)).save(images / "c.png")
    Image.fromarray(index_mask(3), mode="L").save(masks / "d.png")
    with pytest.raises(DataError, match=r"images without a mask in .*masks: c; masks without an image in .*images: d"):
        folder_dataset(str(images), str(masks))


def test_empty_folder(tmp_path, folders):
    _, masks = folders
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty: no images \(.png/.jpg/.jpeg files\) in this folder"):
        folder_dataset(str(tmp_path / "empty"), str(masks))


def test_missing_folder(tmp_path, folders):
    images, _ = folders
    with pytest.raises(DataError, match="nope: masks folder not found"):
        folder_dataset(str(images), str(tmp_path / "nope"))


def test_duplicate_stem(folders):
    images, masks = folders
    Image.fromarray(rgb(0)).save(images / "a.jpg")
    with pytest.raises(DataError, match=r"two images share the stem 'a' \(a.jpg, a.png\)"):
        folder_dataset(str(images), str(masks))


def test_colour_masks_are_refused_with_the_fix(folders):
    images, masks = folders
    Image.fromarray(rgb(5)).save(masks / "a.png")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"a.png: mask has mode 'RGB'.*convert RGB colours to indices"):
        list(folder_dataset(str(images), str(masks)))


def test_labels_beyond_num_classes_are_named(folders):
    images, masks = folders
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"masks/a.png: mask values \[2\] are not class indices 0..1"):
        list(folder_dataset(str(images), str(masks), num_classes=2))


def test_an_image_header_announcing_a_decompression_bomb_is_named(tmp_path):
    import struct
    import zlib

    from fcn_keras.data import DataError, read_image

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path = tmp_path / "huge.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0))
                     + chunk(b"IEND", b""))
    with pytest.raises(DataError, match="huge.png: .*decompression bombs; if the file is yours, raise "
                                        "PIL.Image.MAX_IMAGE_PIXELS"):
        read_image(str(path))
