"""ADE20K SceneParsing: ADEChallengeData2016's images/ and annotations/, value k read as class k-1 and 0 as 255."""

import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from fcn_keras.data import ADE20K_CLASSES, ADE20K_PALETTE, SPECS, DataError, ade20k_segmentation, open_source

H, W = 8, 16
ANNOTATION = np.array([[0, 1, 2, 3, 13, 149, 150, 0] * 2] * H, np.uint8)  # 0: "other objects"
EXPECTED = np.array([[255, 0, 1, 2, 12, 148, 149, 255] * 2] * H, np.uint8)
SPLITS = {"training": ["ADE_train_00000001", "ADE_train_00000002"], "validation": ["ADE_val_00000001"]}
FIX = ("Pass the ADEChallengeData2016 folder unzipped from "
       "http://data.csail.mit.edu/places/ADEchallenge/ADEChallengeData2016.zip (a direct download, no registration).")


def image_path(root, folder, stem):
    return root / "images" / folder / f"{stem}.jpg"


def annotation_path(root, folder, stem):
    return root / "annotations" / folder / f"{stem}.png"


@pytest.fixture
def root(tmp_path):
    """ADEChallengeData2016 as unzipped; the second training image is a grayscale JPEG, as some of the release's."""
    root = tmp_path / "ADEChallengeData2016"
    for folder, stems in SPLITS.items():
        for part in ("images", "annotations"):
            (root / part / folder).mkdir(parents=True)
        for index, stem in enumerate(stems):
            pixels = np.random.default_rng(index).integers(0, 256, (H, W, 3), dtype=np.uint8)
            image = Image.fromarray(pixels).convert("L" if stem == "ADE_train_00000002" else "RGB")
            image.save(image_path(root, folder, stem), quality=95)
            Image.fromarray(np.roll(ANNOTATION, index, axis=1)).save(annotation_path(root, folder, stem))
    (root / "objectInfo150.txt").write_text("Idx\tRatio\tTrain\tVal\tName\n1\t0.1576\t11664\t1172\twall\n")
    return root


def test_the_150_classes_and_their_colours():
    assert len(ADE20K_CLASSES) == len(set(ADE20K_CLASSES)) == 150
    assert ADE20K_CLASSES[:5] == ("wall", "building", "sky", "floor", "tree")
    assert (ADE20K_CLASSES[12], ADE20K_CLASSES[44], ADE20K_CLASSES[149]) == ("person", "chest of drawers", "flag")
    assert ADE20K_PALETTE.shape == (150, 3) and ADE20K_PALETTE.dtype == np.uint8
    assert ADE20K_PALETTE[[0, 2, 149]].tolist() == [[120, 120, 120], [6, 230, 230], [92, 0, 255]]


def test_values_shift_to_classes_and_grayscale_images_read_as_rgb(root):
    examples = list(ade20k_segmentation(str(root), "train").as_numpy_iterator())
    assert len(examples) == 2
    for (image, mask), (index, stem) in zip(examples, enumerate(SPLITS["training"])):
        expected = np.asarray(Image.open(image_path(root, "training", stem)).convert("RGB"))
        assert image.dtype == np.uint8 and image.shape == (H, W, 3)
        np.testing.assert_array_equal(image, expected)
        np.testing.assert_array_equal(mask, np.roll(EXPECTED, index, axis=1))
    gray = examples[1][0]
    np.testing.assert_array_equal(gray[..., 0], gray[..., 2])


def test_open_source_reads_a_split_with_150_named_classes(root):
    assert "ade20k:ROOT" in SPECS
    source = open_source(f"ade20k:{root}", "val")
    assert source.num_classes == 150 and source.class_names == ADE20K_CLASSES
    (_, mask), = source.dataset.as_numpy_iterator()
    np.testing.assert_array_equal(mask, EXPECTED)
    assert len(list(ade20k_segmentation(str(root), "training"))) == 2
    with pytest.raises(ValueError, match=r"splits \['train', 'val'\], not 'test' \(its test images, release_test.zip, "
                                         r"have no public annotations\)"):
        ade20k_segmentation(str(root), "test")


@pytest.mark.parametrize("remove, missing", [("annotations/validation", "['annotations/validation']"),
                                             ("images", "['images/validation']")])
def test_a_missing_folder_is_named_with_where_to_get_the_data(tmp_path, root, remove, missing):
    os.rename(root / remove, tmp_path / "moved")
    with pytest.raises(DataError) as failure:
        ade20k_segmentation(str(root), "val")
    assert str(failure.value) == f"{root}: missing folder(s) {missing}; {FIX}"


def test_an_empty_split_is_named(root):
    os.remove(image_path(root, "validation", SPLITS["validation"][0]))
    with pytest.raises(DataError) as failure:
        ade20k_segmentation(str(root), "val")
    assert str(failure.value) == f"{root}/images/validation: no images (*.jpg) in this split. {FIX}"


def test_an_image_without_its_annotation_and_the_reverse_are_named(root):
    os.remove(annotation_path(root, "training", SPLITS["training"][0]))
    with pytest.raises(DataError) as failure:
        ade20k_segmentation(str(root), "train")
    assert str(failure.value) == (f"1 of 2 annotations of the images in {root}/images/training missing: "
                                  f"{annotation_path(root, 'training', SPLITS['training'][0])}. {FIX}")
    Image.new("L", (W, H)).save(annotation_path(root, "validation", "ADE_val_00000002"))
    with pytest.raises(DataError) as failure:
        ade20k_segmentation(str(root), "val")
    assert str(failure.value) == (f"1 of 2 images of the annotations in {root}/annotations/validation missing: "
                                  f"{image_path(root, 'validation', 'ADE_val_00000002')}. {FIX}")


def test_a_value_above_150_names_its_file(root):
    path = annotation_path(root, "validation", SPLITS["validation"][0])
    Image.fromarray(np.full((H, W), 151, np.uint8)).save(path)
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"{path}: label values \\[151\\] lie outside 0..150 "
                                                             f"\\(0 other, 1..150 classes\\)"):
        list(ade20k_segmentation(str(root), "val"))
