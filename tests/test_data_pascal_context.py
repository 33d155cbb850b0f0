"""PASCAL-Context: raw LabelMap values mapped by name to the 59-class task (0 = background), as the authors map them."""

import os

import numpy as np
import pytest
import scipy.io
import tensorflow as tf
from PIL import Image

from fcn_keras.data import PASCAL_CONTEXT_CLASSES, DataError, pascal_context_segmentation, read_image

IDS = ["2008_000002", "2008_000003", "2010_000001"]
H, W = 6, 12

# labels.txt spells three of the 59 otherwise (table, bedclothes, cloth) and has names with spaces;
# like the release it is alphabetical, so raw ids and task ids differ.
TASK_NAMES = [{"diningtable": "table", "bedcloth": "bedclothes", "clothes": "cloth"}.get(name, name)
              for name in PASCAL_CONTEXT_CLASSES[1:]]
RAW_NAMES = sorted(TASK_NAMES + ["accordion", "air conditioner", "clothes tree", "tableware", "wool"])


def raw(name):
    return RAW_NAMES.index(name) + 1


LABEL_MAP = np.array([[0, raw("accordion"), raw("table"), raw("bedclothes"), raw("cloth"), raw("clothes tree"),
                       raw("tableware"), raw("aeroplane"), raw("wood"), raw("air conditioner"), 500,
                       raw("person")]] * H, np.uint16)
EXPECTED = np.array([[0, 0, 11, 52, 28, 0, 0, 1, 59, 0, 0, 15]] * H, np.uint8)


@pytest.fixture
def roots(tmp_path):
    voc = tmp_path / "VOCdevkit" / "VOC2010"
    context = tmp_path / "PASCAL-Context"
    for folder in [voc / "JPEGImages", voc / "ImageSets" / "Main", context / "trainval"]:
        folder.mkdir(parents=True)
    for index, image_id in enumerate(IDS):
        pixels = np.random.default_rng(index).integers(0, 256, (H, W, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(voc / "JPEGImages" / f"{image_id}.jpg", quality=95)
        scipy.io.savemat(context / "trainval" / f"{image_id}.mat", {"LabelMap": np.roll(LABEL_MAP, index, axis=1)})
    (voc / "ImageSets" / "Main" / "train.txt").write_text(f"{IDS[0]}\n{IDS[2]}\n")
    (voc / "ImageSets" / "Main" / "val.txt").write_text(f"{IDS[1]}\n")
    (context / "labels.txt").write_text("".join(f"{i}: {name}\n" for i, name in enumerate(RAW_NAMES, start=1)))
    (context / "59_labels.txt").write_text(
        "".join(f"{i}: {name}\n" for i, name in enumerate(PASCAL_CONTEXT_CLASSES[1:], start=1)))
    return voc, context


def test_sixty_classes_with_background_first():
    assert len(PASCAL_CONTEXT_CLASSES) == 60 and PASCAL_CONTEXT_CLASSES[0] == "background"
    assert PASCAL_CONTEXT_CLASSES[11] == "diningtable" and PASCAL_CONTEXT_CLASSES[59] == "wood"


def test_raw_labels_map_by_name_to_the_59_and_everything_else_to_background(roots):
    voc, context = roots
    examples = list(pascal_context_segmentation(str(voc), str(context), "train").as_numpy_iterator())
    assert len(examples) == 2
    for (image, mask), index in zip(examples, [0, 2]):
        np.testing.assert_array_equal(image, read_image(voc / "JPEGImages" / f"{IDS[index]}.jpg"))
        assert mask.dtype == np.uint8
        np.testing.assert_array_equal(mask, np.roll(EXPECTED, index, axis=1))


def test_the_folder_above_voc2010_and_id_lists_work(roots):
    voc, context = roots
    (_, mask), = pascal_context_segmentation(str(voc.parent), str(context), [IDS[1]]).as_numpy_iterator()
    np.testing.assert_array_equal(mask, np.roll(EXPECTED, 1, axis=1))


def test_names_that_are_not_the_task_are_refused(roots):
    voc, context = roots
    lines = (context / "59_labels.txt").read_text().replace("52: bedcloth", "52: bedclothes")
    (context / "59_labels.txt").write_text(lines)
    with pytest.raises(DataError, match="59_labels.txt: names .* are not the 59 classes of the task"):
        pascal_context_segmentation(str(voc), str(context))


def test_a_task_class_missing_from_labels_txt_is_named(roots):
    voc, context = roots
    names = [name for name in RAW_NAMES if name != "bedclothes"]
    (context / "labels.txt").write_text("".join(f"{i}: {name}\n" for i, name in enumerate(names, start=1)))
    with pytest.raises(DataError, match=r"labels.txt: has no label 'bedclothes' \(class 52 of the 59\)"):
        pascal_context_segmentation(str(voc), str(context))


def test_names_file_with_a_line_out_of_order_is_named(roots):
    voc, context = roots
    (context / "labels.txt").write_text("0: background\n1: accordion\n")
    with pytest.raises(DataError, match=r"labels.txt: line '0: background' should read '1: <name>'"):
        pascal_context_segmentation(str(voc), str(context))


def test_wrong_folders_are_named_with_where_the_data_comes_from(roots, tmp_path):
    voc, context = roots
    with pytest.raises(DataError) as failure:
        pascal_context_segmentation(str(tmp_path / "elsewhere"), str(context))
    assert str(failure.value) == (
        f"{tmp_path / 'elsewhere'}: missing folder(s) ['JPEGImages', 'ImageSets/Main']; pass the VOCdevkit/VOC2010 "
        "folder, unpacked from http://host.robots.ox.ac.uk/pascal/VOC/voc2010/VOCtrainval_03-May-2010.tar "
        '(fcn_keras.data.download_voc(dest, year="2010") fetches and extracts it).')
    with pytest.raises(DataError) as failure:
        pascal_context_segmentation(str(voc), str(voc))
    assert str(failure.value) == (
        f"{voc}: missing folder 'trainval'; pass the PASCAL-Context folder. Re-extract the PASCAL-Context release "
        "(trainval.tar.gz, labels.txt, 59_labels.txt) from http://www.cs.stanford.edu/~roozbeh/pascal-context/.")


def test_missing_label_map_is_named(roots):
    voc, context = roots
    os.remove(context / "trainval" / f"{IDS[2]}.mat")
    with pytest.raises(DataError, match=f"1 of 2 PASCAL-Context label maps missing: .*trainval/{IDS[2]}.mat"):
        pascal_context_segmentation(str(voc), str(context))


def test_label_map_of_another_size_is_named(roots):
    voc, context = roots
    scipy.io.savemat(context / "trainval" / f"{IDS[1]}.mat", {"LabelMap": LABEL_MAP[:, :5]})
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"{IDS[1]}.jpg 12x6, .*{IDS[1]}.mat 5x6"):
        list(pascal_context_segmentation(str(voc), str(context), "val"))
