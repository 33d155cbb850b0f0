"""PASCAL VOC and SBD sources, the paper's split and the checked downloads (offline)."""

import hashlib
import io
import os
import socket
import tarfile
import time

import numpy as np
import pytest
import scipy.io
import tensorflow as tf
from PIL import Image

from fcn_keras import network
from fcn_keras.data import (
    DataError,
    download_and_extract,
    download_voc,
    read_image,
    sbd_segmentation,
    seg11valid_ids,
    voc_segmentation,
    write_mask,
    write_seg11valid,
)

IDS = ["2007_000032", "2008_000002", "2011_000003"]


def mask_for(index, height=20, width=24):
    mask = np.zeros((height, width), np.uint8)
    mask[3:12, 4:15] = 15 + index  # person, pottedplant, sheep
    mask[2, 3:16] = 255  # an object border
    mask[-1, -1] = 20
    return mask


def jpeg(path, index, height=20, width=24):
    pixels = np.random.default_rng(index).integers(0, 256, (height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, quality=95)


@pytest.fixture
def voc_root(tmp_path):
    root = tmp_path / "VOCdevkit" / "VOC2012"
    for folder in ["JPEGImages", "SegmentationClass", "ImageSets/Segmentation"]:
        (root / folder).mkdir(parents=True)
    for index, image_id in enumerate(IDS):
        jpeg(root / "JPEGImages" / f"{image_id}.jpg", index)
        write_mask(root / "SegmentationClass" / f"{image_id}.png", mask_for(index))
    (root / "ImageSets/Segmentation/train.txt").write_text("\n".join(IDS[:2]) + "\n")
    (root / "ImageSets/Segmentation/val.txt").write_text(IDS[2] + "\n\n")
    return root


@pytest.fixture
def sbd_root(tmp_path):
    root = tmp_path / "benchmark_RELEASE" / "dataset"
    (root / "img").mkdir(parents=True)
    (root / "cls").mkdir()
    for index, image_id in enumerate(IDS):
        jpeg(root / "img" / f"{image_id}.jpg", index)
        scipy.io.savemat(root / "cls" / f"{image_id}.mat",
                         {"GTcls": {"Segmentation": mask_for(index), "CategoriesPresent": np.array([15 + index])}})
    (root / "train.txt").write_text("\n".join(IDS[1:]) + "\n")
    (root / "val.txt").write_text(IDS[0] + "\n")
    return root


def test_voc_reads_palette_indices_not_colours(voc_root):
    pairs = list(voc_segmentation(str(voc_root), "train").as_numpy_iterator())
    assert len(pairs) == 2
    for index, (image, mask) in enumerate(pairs):
        assert image.dtype == np.uint8 and image.shape == (20, 24, 3)
        np.testing.assert_array_equal(image, read_image(voc_root / "JPEGImages" / f"{IDS[index]}.jpg"))
        assert mask.dtype == np.uint8 and mask.shape == (20, 24)
        np.testing.assert_array_equal(mask, mask_for(index))  # 15, 16, 20 and 255 exactly


def test_voc_split_by_name_or_ids(voc_root):
    assert len(list(voc_segmentation(str(voc_root), "val"))) == 1
    _, mask = next(iter(voc_segmentation(str(voc_root), [IDS[2]])))
    np.testing.assert_array_equal(mask, mask_for(2))


def test_voc_missing_split_names_file_and_choices(voc_root):
    with pytest.raises(DataError, match=r"trainval\.txt: split file not found \(splits present there: \['train', 'val'\]"):
        voc_segmentation(str(voc_root), "trainval")


def test_voc_empty_split(voc_root):
    (voc_root / "ImageSets/Segmentation/empty.txt").write_text("\n")
    with pytest.raises(DataError, match=r"empty.txt: the split file lists no image ids"):
        voc_segmentation(str(voc_root), "empty")


@pytest.mark.parametrize("reader, where", [
    (voc_segmentation, "missing folder(s) ['JPEGImages', 'SegmentationClass']; pass the VOCdevkit/VOC20xx folder, "
                       "unpacked from http://host.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar or "
                       "the year's archive (fcn_keras.data.download_voc(dest, year) fetches and extracts it)."),
    (sbd_segmentation, "missing folder(s) ['img', 'cls']; pass the benchmark_RELEASE/dataset folder, unpacked from "
                       "https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/semantic_contours/"
                       "benchmark.tgz (fcn_keras.data.download_sbd(dest) fetches and extracts it)."),
], ids=["voc", "sbd"])
def test_voc_and_sbd_wrong_roots_say_where_the_data_comes_from(tmp_path, reader, where):
    with pytest.raises(DataError) as failure:
        reader(str(tmp_path), "train")
    assert str(failure.value) == f"{tmp_path}: {where}"


def test_voc_missing_mask_is_named(voc_root):
    os.remove(voc_root / "SegmentationClass" / f"{IDS[1]}.png")
    with pytest.raises(DataError, match=f"1 of 2 VOC masks missing: .*{IDS[1]}.png"):
        voc_segmentation(str(voc_root), "train")


def test_voc_truncated_image_is_named(voc_root):
    path = voc_root / "JPEGImages" / f"{IDS[1]}.jpg"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"{IDS[1]}.jpg: cannot decode the image.*corrupt or truncated"):
        list(voc_segmentation(str(voc_root), "train"))


def test_voc_size_mismatch_is_named(voc_root):
    write_mask(voc_root / "SegmentationClass" / f"{IDS[0]}.png", mask_for(0, 10, 24))
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"{IDS[0]}.png: image is 24x20 but its mask is 24x10"):
        list(voc_segmentation(str(voc_root), "train"))


def test_voc_bad_label_is_named(voc_root):
    bad = mask_for(2)
    bad[0, 0] = 30
    write_mask(voc_root / "SegmentationClass" / f"{IDS[2]}.png", bad)
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"{IDS[2]}.png: mask values \\[30\\] are not class indices 0..20"):
        list(voc_segmentation(str(voc_root), "val"))


def test_sbd_reads_gtcls_segmentation(sbd_root):
    pairs = list(sbd_segmentation(str(sbd_root), "train").as_numpy_iterator())
    assert len(pairs) == 2
    for index, (image, mask) in zip([1, 2], pairs):
        np.testing.assert_array_equal(image, read_image(sbd_root / "img" / f"{IDS[index]}.jpg"))
        np.testing.assert_array_equal(mask, mask_for(index))


def test_sbd_unreadable_class_file_is_named(sbd_root):
    (sbd_root / "cls" / f"{IDS[0]}.mat").write_bytes(b"not a mat file")
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"{IDS[0]}.mat: not an SBD class file"):
        list(sbd_segmentation(str(sbd_root), "val"))


def test_seg11valid_is_voc2011_val_minus_sbd_train(tmp_path, sbd_root):
    voc2011 = tmp_path / "VOC2011"
    (voc2011 / "ImageSets" / "Segmentation").mkdir(parents=True)
    (voc2011 / "ImageSets" / "Segmentation" / "val.txt").write_text("2011_000003\n2007_000032\n2009_000001\n")
    assert seg11valid_ids(str(voc2011), str(sbd_root)) == ["2007_000032", "2009_000001"]


def test_seg11valid_split_is_written_once_then_read_by_name(voc_root, sbd_root):
    with pytest.raises(DataError, match="seg11valid.txt does not exist yet: write it once with .*write_seg11valid"):
        voc_segmentation(str(voc_root), "seg11valid")
    (voc_root / "ImageSets/Segmentation/val.txt").write_text(f"{IDS[2]}\n{IDS[0]}\n")
    path = write_seg11valid(str(voc_root), str(sbd_root))
    assert open(path).read().split() == seg11valid_ids(str(voc_root), str(sbd_root))
    images = [image.shape for image, _ in voc_segmentation(str(voc_root), "seg11valid")]
    assert len(images) == len(open(path).read().split()) > 0


@pytest.fixture
def archive(tmp_path):
    """A tar holding toy/data.txt, its md5 and its file:// URL."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("toy/data.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    path = tmp_path / "served" / "toy.tar"
    path.parent.mkdir()
    path.write_bytes(buffer.getvalue())
    return path.as_uri(), "md5:" + hashlib.md5(buffer.getvalue()).hexdigest()


def test_download_checks_and_extracts(tmp_path, archive):
    url, checksum = archive
    root = download_and_extract(url, checksum, str(tmp_path / "data"), "toy")
    assert open(os.path.join(root, "data.txt")).read() == "hello"
    assert download_and_extract("file:///nowhere.tar", checksum, str(tmp_path / "data"), "toy") == root  # done


def test_download_with_wrong_checksum_fails_and_leaves_nothing(tmp_path, archive):
    url, _ = archive
    with pytest.raises(DataError, match="toy.tar: md5 checksum [0-9a-f]+ != expected 0000"):
        download_and_extract(url, "md5:0000", str(tmp_path / "data"), "toy")
    assert os.listdir(tmp_path / "data") == []


def test_an_archive_already_there_that_fails_its_checksum_is_refused_and_kept(tmp_path, archive):
    url, checksum = archive
    placed = tmp_path / "data" / "toy.tar"
    placed.parent.mkdir()
    placed.write_bytes(b"an older toy.tar")
    with pytest.raises(DataError) as failure:
        download_and_extract(url, checksum, str(tmp_path / "data"), "toy")
    assert str(failure.value) == (
        f"{placed} is already there, but its md5 is {hashlib.md5(b'an older toy.tar').hexdigest()}, not the "
        f"{checksum[4:]} published for {url}: another file, or a damaged one. It is left as it is: replace it with "
        "the right file, or remove it to download again.")
    assert os.listdir(tmp_path / "data") == ["toy.tar"] and placed.read_bytes() == b"an older toy.tar"


def test_offline_download_voc_fails_in_seconds_saying_where_to_put_the_archive(tmp_path, monkeypatch):
    def unknown(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(network, "_RESOLVED", set())
    monkeypatch.setattr(socket, "getaddrinfo", unknown)
    started = time.monotonic()
    with pytest.raises(network.DownloadError) as failure:
        download_voc(str(tmp_path), year="2010")
    assert time.monotonic() - started < 10
    assert str(failure.value) == (
        "Cannot reach host.robots.ox.ac.uk (name not resolved: Name or service not known) to fetch "
        "VOCtrainval_03-May-2010.tar from http://host.robots.ox.ac.uk/pascal/VOC/voc2010/VOCtrainval_03-May-2010.tar: "
        f"no network access? Instead, download it by hand to {tmp_path / 'VOCtrainval_03-May-2010.tar'}.")
    assert os.listdir(tmp_path) == []
