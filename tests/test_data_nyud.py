"""NYUDv2 in the authors' layout: colour, depth (mm) and HHA inputs; labels 0 -> 255, k -> k-1; missing HHA computed."""

import logging
import os

import numpy as np
import pytest
import scipy.io
import tensorflow as tf
from nyud_folder import EXPECTED_LABELS, IDS, H, W, colour, depth_mm, hha_png
from PIL import Image

from fcn_keras.data import NYUD_CLASSES, DataError, hha_from_depth, nyud_segmentation

def test_forty_classes():
    assert len(NYUD_CLASSES) == 40 and NYUD_CLASSES[:2] == ("wall", "floor") and NYUD_CLASSES[-1] == "otherprop"


def test_colour_alone_is_an_array_and_labels_are_shifted(nyud_root):
    examples = list(nyud_segmentation(str(nyud_root), "train").as_numpy_iterator())
    assert len(examples) == 2
    for (image, mask), index in zip(examples, [0, 2]):
        assert image.dtype == np.uint8 and mask.dtype == np.uint8
        np.testing.assert_array_equal(image, colour(index))
        np.testing.assert_array_equal(mask, np.roll(EXPECTED_LABELS, index, 1))


def test_several_modalities_come_as_a_dict_in_the_order_asked(nyud_root):
    dataset = nyud_segmentation(str(nyud_root), [IDS[1]], modalities=("hha", "depth", "color"))
    (inputs, mask), = dataset.as_numpy_iterator()
    assert list(inputs) == ["hha", "depth", "color"]
    assert inputs["depth"].dtype == np.float32 and inputs["depth"].shape == (H, W, 1)
    np.testing.assert_array_equal(inputs["depth"][..., 0], depth_mm(1).astype(np.float32))  # millimetres, unscaled
    np.testing.assert_array_equal(inputs["hha"], hha_png(1))
    np.testing.assert_array_equal(inputs["color"], colour(1))
    np.testing.assert_array_equal(mask, np.roll(EXPECTED_LABELS, 1, 1))


def test_trainval_is_train_then_val_when_there_is_no_trainval_file(nyud_root):
    masks = [mask for _, mask in nyud_segmentation(str(nyud_root), "trainval", modalities="depth").as_numpy_iterator()]
    np.testing.assert_array_equal(masks, [np.roll(EXPECTED_LABELS, i, 1) for i in (0, 2, 1)])


def test_missing_hha_is_computed_from_depth_cached_and_announced_once(nyud_root, caplog):
    os.remove(nyud_root / "data/hha" / f"img_{IDS[0]}.png")
    os.remove(nyud_root / "data/hha" / f"img_{IDS[1]}.png")
    kept = (nyud_root / "data/hha" / f"img_{IDS[2]}.png").read_bytes()
    with caplog.at_level(logging.WARNING, logger="fcn_keras.data.nyud"):
        dataset = nyud_segmentation(str(nyud_root), IDS, modalities="hha")
    announced = (f"2 of 3 HHA images are not in {nyud_root / 'data/hha'}: computing them from data/depth as they are "
                 "first read (fcn_keras.data.hha_from_depth) and caching them there.")
    assert [record.getMessage() for record in caplog.records] == [announced]
    computed = [hha_from_depth(depth_mm(i) / 1000.0) for i in (0, 1)]
    hhas = [hha for hha, _ in dataset.as_numpy_iterator()]
    np.testing.assert_array_equal(hhas, computed + [hha_png(2)])
    for index in (0, 1):
        cached = np.asarray(Image.open(nyud_root / "data/hha" / f"img_{IDS[index]}.png"))
        np.testing.assert_array_equal(cached, computed[index])
    assert (nyud_root / "data/hha" / f"img_{IDS[2]}.png").read_bytes() == kept  # never overwritten
    assert sorted(os.listdir(nyud_root / "data/hha")) == [f"img_{i}.png" for i in IDS]  # no temporary files left


def test_hha_folder_may_be_absent_when_depth_is_there(nyud_root):
    for name in os.listdir(nyud_root / "data/hha"):
        os.remove(nyud_root / "data/hha" / name)
    os.rmdir(nyud_root / "data/hha")
    (hha, _), = nyud_segmentation(str(nyud_root), [IDS[2]], modalities="hha").as_numpy_iterator()
    np.testing.assert_array_equal(hha, hha_from_depth(depth_mm(2) / 1000.0))
    assert os.path.isfile(nyud_root / "data/hha" / f"img_{IDS[2]}.png")


def test_unknown_modality():
    with pytest.raises(ValueError, match=r"modalities must be distinct names among \('color', 'depth', 'hha'\)"):
        nyud_segmentation("unused", modalities=("color", "rgbd"))


def test_wrong_root_names_the_missing_folders_and_where_the_data_comes_from(tmp_path):
    with pytest.raises(DataError) as failure:
        nyud_segmentation(str(tmp_path), modalities=("color", "depth"))
    assert str(failure.value) == (
        f"{tmp_path}: missing folder(s) ['data/images', 'data/depth', 'segmentation']; pass the unpacked folder of the "
        "FCN authors' nyud.tar.gz (data/images, data/depth, data/hha, segmentation, split files), from "
        "http://dl.caffe.berkeleyvision.org/nyud.tar.gz.")


def test_missing_files_are_named(nyud_root):
    os.remove(nyud_root / "segmentation" / f"img_{IDS[2]}.mat")
    with pytest.raises(DataError, match=f"1 of 2 NYUDv2 label files missing: .*segmentation/img_{IDS[2]}.mat"):
        nyud_segmentation(str(nyud_root), "train")
    os.remove(nyud_root / "data/hha" / f"img_{IDS[1]}.png")
    os.remove(nyud_root / "data/depth" / f"img_{IDS[1]}.png")
    with pytest.raises(DataError, match=f"depth images \\(to compute missing HHA\\) missing: .*img_{IDS[1]}.png"):
        nyud_segmentation(str(nyud_root), "val", modalities="hha")


def test_label_out_of_range_is_named(nyud_root):
    scipy.io.savemat(nyud_root / "segmentation" / f"img_{IDS[1]}.mat", {"segmentation": np.full((H, W), 41, np.uint8)})
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"img_{IDS[1]}.mat: label values \\[41\\] lie outside"):
        list(nyud_segmentation(str(nyud_root), "val"))


def test_depth_of_another_size_is_named(nyud_root):
    Image.fromarray(depth_mm(1)[:, :10]).save(nyud_root / "data/depth" / f"img_{IDS[1]}.png")
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"differ in size.*depth/img_{IDS[1]}.png 10x12"):
        list(nyud_segmentation(str(nyud_root), "val", modalities=("color", "depth")))


def test_colour_depth_png_is_refused(nyud_root):
    Image.fromarray(colour(1)).save(nyud_root / "data/depth" / f"img_{IDS[1]}.png")
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"img_{IDS[1]}.png: depth image has mode 'RGB'"):
        list(nyud_segmentation(str(nyud_root), "val", modalities="depth"))


def test_an_8_bit_depth_png_is_refused_naming_the_file(nyud_root):
    path = nyud_root / "data/depth" / f"img_{IDS[1]}.png"
    Image.fromarray((depth_mm(1) // 16).astype(np.uint8)).save(path)  # mode "L": 0..255, not millimetres
    with pytest.raises(tf.errors.InvalidArgumentError) as failure:
        list(nyud_segmentation(str(nyud_root), "val", modalities=("color", "depth")))
    assert (f"{path}: depth image is 8-bit (mode 'L'); depth PNGs are 16-bit grayscale, millimetres (NYUDv2's raw "
            "depth). Re-extract the FCN authors' nyud.tar.gz (http://dl.caffe.berkeleyvision.org/nyud.tar.gz).") in \
        str(failure.value)


def test_16_bit_and_float_depth_images_are_read_as_stored(tmp_path):
    from fcn_keras.data import read_depth_png

    Image.fromarray(depth_mm(0)).save(tmp_path / "a.png")
    Image.fromarray(depth_mm(0).astype(np.float32) / 1000).save(tmp_path / "b.tiff")  # mode "F"
    np.testing.assert_array_equal(read_depth_png(tmp_path / "a.png")[..., 0], depth_mm(0))
    np.testing.assert_array_equal(read_depth_png(tmp_path / "b.tiff")[..., 0], depth_mm(0).astype(np.float32) / 1000)
