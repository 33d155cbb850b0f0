"""Cityscapes: the release's leftImg8bit/ and gtFine/ folders, label ids read as the 19 train ids."""

import logging
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from fcn_keras.data import (
    CITYSCAPES_CLASSES,
    CITYSCAPES_PALETTE,
    SPECS,
    DataError,
    cityscapes_segmentation,
    open_source,
)
from fcn_keras.data.checks import data_error_message

H, W = 8, 16
# Every label id of labels.py but 5 and 6, and the train id cityscapesScripts gives it (255: not scored).
LABEL_IDS = np.array([[7, 8, 0, 26, 33, 1, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24],
                      [25, 27, 28, 31, 32, 9, 10, 14, 15, 16, 18, 29, 30, 2, 3, 4]] * (H // 2), np.uint8)
TRAIN_IDS = np.array([[0, 1, 255, 13, 18, 255, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
                      [12, 14, 15, 16, 17, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255]] * (H // 2), np.uint8)
# The released test labels: unlabeled, out of roi, rectification border and ego vehicle only.
TEST_LABEL_IDS = np.repeat(np.array([0, 3, 2, 1], np.uint8), [3, 2, 2, 1])[:, None].repeat(W, axis=1)
SPLITS = {"train": ["aachen_000000_000019", "aachen_000001_000019", "bochum_000000_000313"],
          "val": ["lindau_000000_000019", "frankfurt_000000_000294"],
          "test": ["berlin_000000_000019"]}
FIX = ("Unzip leftImg8bit_trainvaltest.zip and gtFine_trainvaltest.zip into one folder; downloading them needs "
       "registration at https://www.cityscapes-dataset.com/.")


def image_path(root, split, image_id):
    return root / "leftImg8bit" / split / image_id.split("_")[0] / f"{image_id}_leftImg8bit.png"


def label_path(root, split, image_id):
    return root / "gtFine" / split / image_id.split("_")[0] / f"{image_id}_gtFine_labelIds.png"


def image_of(index):
    return np.random.default_rng(index).integers(0, 256, (H, W, 3), dtype=np.uint8)


@pytest.fixture
def root(tmp_path):
    """A Cityscapes folder as the two zips unpack it, the ground truth's other files beside the labelIds."""
    root = tmp_path / "cityscapes"
    for split, ids in SPLITS.items():
        for index, image_id in enumerate(ids):
            for path in (image_path(root, split, image_id), label_path(root, split, image_id)):
                path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image_of(index)).save(image_path(root, split, image_id))
            label_ids = TEST_LABEL_IDS if split == "test" else np.roll(LABEL_IDS, index, axis=1)
            Image.fromarray(label_ids).save(label_path(root, split, image_id))
            stem = str(label_path(root, split, image_id))[:-len("labelIds.png")]
            Image.fromarray(np.full((H, W), 26000, np.uint16)).save(f"{stem}instanceIds.png")
            Image.new("RGB", (W, H)).save(f"{stem}color.png")
            open(f"{stem}polygons.json", "w").close()
    return root


def test_the_19_classes_and_their_official_colours():
    assert len(CITYSCAPES_CLASSES) == 19
    assert (CITYSCAPES_CLASSES[0], CITYSCAPES_CLASSES[13], CITYSCAPES_CLASSES[18]) == ("road", "car", "bicycle")
    assert CITYSCAPES_PALETTE.shape == (19, 3) and CITYSCAPES_PALETTE.dtype == np.uint8
    assert CITYSCAPES_PALETTE[[0, 10, 13, 18]].tolist() == [[128, 64, 128], [70, 130, 180], [0, 0, 142], [119, 11, 32]]


def test_label_ids_become_train_ids_in_city_order(root):
    examples = list(cityscapes_segmentation(str(root), "train").as_numpy_iterator())
    assert len(examples) == 3
    for (image, mask), index in zip(examples, range(3)):
        np.testing.assert_array_equal(image, image_of(index))
        assert mask.dtype == np.uint8
        np.testing.assert_array_equal(mask, np.roll(TRAIN_IDS, index, axis=1))


def test_open_source_reads_a_split_with_19_named_classes(root):
    assert "cityscapes:ROOT" in SPECS
    source = open_source(f"cityscapes:{root}", "val")
    assert source.num_classes == 19 and source.class_names == CITYSCAPES_CLASSES
    images = [image for image, _ in source.dataset.as_numpy_iterator()]
    np.testing.assert_array_equal(images, [image_of(1), image_of(0)])  # frankfurt before lindau
    with pytest.raises(ValueError, match=r"has 19 classes but num_classes=21 was given"):
        open_source(f"cityscapes:{root}", "val", num_classes=21)


def test_the_test_split_has_no_labels(root, caplog):
    with caplog.at_level(logging.WARNING, logger="fcn_keras.data.cityscapes"):
        (image, mask), = cityscapes_segmentation(str(root), "test").as_numpy_iterator()
    assert "test labels are withheld" in caplog.text
    np.testing.assert_array_equal(mask, np.full((H, W), 255))
    with pytest.raises(DataError, match=r"the test split has no public labels .*use 'val' to evaluate"):
        open_source(f"cityscapes:{root}", "test")
    with pytest.raises(ValueError, match=r"splits \['train', 'val', 'test'\], not 'validation'"):
        cityscapes_segmentation(str(root), "validation")


@pytest.mark.parametrize("remove, missing", [("leftImg8bit", "['leftImg8bit/val']"),
                                             ("gtFine/val", "['gtFine/val']"),
                                             ("", "['leftImg8bit/val', 'gtFine/val']")])
def test_a_missing_folder_is_named_with_where_to_get_the_data(tmp_path, root, remove, missing):
    folder = root if remove else tmp_path / "empty"
    if remove:
        os.rename(root / remove, tmp_path / "moved")
    else:
        folder.mkdir()
    with pytest.raises(DataError) as failure:
        cityscapes_segmentation(str(folder), "val")
    assert str(failure.value) == f"{folder}: missing folder(s) {missing}; {FIX}"


def test_an_empty_split_is_named(root):
    for image_id in SPLITS["val"]:
        os.remove(image_path(root, "val", image_id))
    with pytest.raises(DataError) as failure:
        cityscapes_segmentation(str(root), "val")
    assert str(failure.value) == f"{root}/leftImg8bit/val: no images (<city>/*_leftImg8bit.png) in this split. {FIX}"


@pytest.mark.parametrize("part", ["labelIds file", "image"])
def test_an_image_without_its_label_ids_and_the_reverse_are_named(root, part):
    removed = (label_path if part == "labelIds file" else image_path)(root, "val", SPLITS["val"][0])
    os.remove(removed)
    listed = {"labelIds file": f"labelIds files of the images in {root}/leftImg8bit/val",
              "image": f"images of the labelIds files in {root}/gtFine/val"}[part]
    with pytest.raises(DataError) as failure:
        cityscapes_segmentation(str(root), "val")
    assert str(failure.value) == f"1 of 2 {listed} missing: {removed}. {FIX}"


def test_a_value_that_is_no_label_id_names_its_file(root):
    path = label_path(root, "val", SPLITS["val"][1])
    Image.fromarray(np.where(LABEL_IDS == 0, 34, LABEL_IDS).astype(np.uint8)).save(path)
    with pytest.raises(tf.errors.InvalidArgumentError) as failure:
        list(cityscapes_segmentation(str(root), "val"))
    assert data_error_message(failure.value) == (f"{path}: label values [34] lie outside 0..33 (Cityscapes label ids) "
                                                 f"in {H // 2} pixels; the file is not from this data set's release.")
