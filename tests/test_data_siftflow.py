"""SIFT Flow: images with semantic and geometric label maps, shifted as the authors' data layer shifts them."""

import os

import numpy as np
import pytest
import scipy.io
import tensorflow as tf
from helpers import write_siftflow

from fcn_keras.data import (
    SIFTFLOW_GEOMETRIC_CLASSES,
    SIFTFLOW_SEMANTIC_CLASSES,
    DataError,
    read_image,
    siftflow_segmentation,
)

SUBSET = "spatial_envelope_256x256_static_8outdoorcategories"
IDS = ["coast_natu975", "insidecity_art947", "street_bost64"]
H, W = 6, 8

# .mat values as released: semantic 0 = void, 1..33 classes; geometric -1 = void, 1..3 classes
SEMANTIC = np.array([[0, 1, 2, 28, 32, 33, 0, 6]] * H, np.float64)  # MATLAB doubles
GEOMETRIC = np.array([[-1, 1, 2, 3, 3, 2, -1, 0]] * H, np.int16)
EXPECTED_SEMANTIC = np.array([[255, 0, 1, 27, 31, 32, 255, 5]] * H, np.uint8)
EXPECTED_GEOMETRIC = np.array([[255, 0, 1, 2, 2, 1, 255, 255]] * H, np.uint8)


def part(root, name):
    return root / name / SUBSET


@pytest.fixture
def root(tmp_path):
    examples = {image_id: (np.random.default_rng(index).integers(0, 256, (H, W, 3), dtype=np.uint8),
                           np.roll(SEMANTIC, index, axis=1), np.roll(GEOMETRIC, index, axis=1))
                for index, image_id in enumerate(IDS)}
    return write_siftflow(tmp_path / "SiftFlowDataset", examples, trainval=[IDS[2], IDS[0]], test=[IDS[1]])


def test_class_lists_follow_the_authors_output_order():
    assert len(SIFTFLOW_SEMANTIC_CLASSES) == 33 and len(SIFTFLOW_GEOMETRIC_CLASSES) == 3
    assert SIFTFLOW_SEMANTIC_CLASSES[27] == "sky" and SIFTFLOW_SEMANTIC_CLASSES[-1] == "window"
    assert SIFTFLOW_GEOMETRIC_CLASSES == ("sky", "horizontal", "vertical")


def test_reads_both_label_maps_shifted_in_split_order(root):
    examples = list(siftflow_segmentation(str(root), "trainval").as_numpy_iterator())
    assert len(examples) == 2
    for (image, targets), index in zip(examples, [2, 0]):
        np.testing.assert_array_equal(image, read_image(part(root, "Images") / f"{IDS[index]}.jpg"))
        assert image.dtype == np.uint8 and image.shape == (H, W, 3)
        assert list(targets) == ["semantic", "geometric"]
        assert targets["semantic"].dtype == targets["geometric"].dtype == np.uint8
        np.testing.assert_array_equal(targets["semantic"], np.roll(EXPECTED_SEMANTIC, index, axis=1))
        np.testing.assert_array_equal(targets["geometric"], np.roll(EXPECTED_GEOMETRIC, index, axis=1))


def test_split_by_name_or_ids(root):
    (_, targets), = siftflow_segmentation(str(root), "test").as_numpy_iterator()
    np.testing.assert_array_equal(targets["semantic"], np.roll(EXPECTED_SEMANTIC, 1, axis=1))
    ids = [IDS[0], IDS[1]]
    semantic = [t["semantic"] for _, t in siftflow_segmentation(str(root), ids).as_numpy_iterator()]
    np.testing.assert_array_equal(semantic, [EXPECTED_SEMANTIC, np.roll(EXPECTED_SEMANTIC, 1, axis=1)])


def test_missing_split_file_says_where_it_comes_from(root):
    os.remove(root / "trainval.txt")
    with pytest.raises(DataError, match=r"trainval.txt: split file not found. .*fcn.berkeleyvision.org, "
                                        r"data/sift-flow/trainval.txt"):
        siftflow_segmentation(str(root))


def test_wrong_root_names_the_missing_folders_and_where_the_data_comes_from(tmp_path):
    (tmp_path / "Images").mkdir()
    with pytest.raises(DataError) as failure:
        siftflow_segmentation(str(tmp_path))
    assert str(failure.value) == (
        f"{tmp_path}: missing folder(s) ['Images', 'SemanticLabels', 'GeoLabels'] (each with {SUBSET}/); pass the "
        "folder unpacked from SiftFlowDataset.zip (http://www.cs.unc.edu/~jtighe/Papers/ECCV10/siftflow/"
        "SiftFlowDataset.zip), with the FCN authors' split files.")


def test_missing_label_file_is_named(root):
    os.remove(part(root, "GeoLabels") / f"{IDS[0]}.mat")
    with pytest.raises(DataError, match=f"1 of 2 SIFT Flow geometric label files missing: .*GeoLabels/{SUBSET}/"
                                        f"{IDS[0]}.mat"):
        siftflow_segmentation(str(root))


def test_out_of_range_label_is_named(root):
    scipy.io.savemat(part(root, "SemanticLabels") / f"{IDS[1]}.mat", {"S": np.full((H, W), 34.0)})
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=f"{IDS[1]}.mat: label values \\[34\\] lie outside 0..33 \\(0 void, 1..33"):
        list(siftflow_segmentation(str(root), "test"))


def test_file_without_variable_s_is_named(root):
    scipy.io.savemat(part(root, "GeoLabels") / f"{IDS[1]}.mat", {"labels": GEOMETRIC})
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"{IDS[1]}.mat: has no variable 'S'"):
        list(siftflow_segmentation(str(root), "test"))


def test_size_mismatch_is_named(root):
    scipy.io.savemat(part(root, "GeoLabels") / f"{IDS[1]}.mat", {"S": GEOMETRIC[:3]})
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"differ in size.*{IDS[1]}.jpg 8x6, .*{IDS[1]}.mat 8x6, "
                                                             f".*{IDS[1]}.mat 8x3"):
        list(siftflow_segmentation(str(root), "test"))
