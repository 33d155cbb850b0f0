"""TFDS sources, offline through tfds.testing.mock_data with realistic examples; refused in seconds without network."""

import re
import socket
import time

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from fcn_keras import network
from fcn_keras.data import TFDS_SEGMENTATION, tfds_segmentation

IMAGE = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)


@pytest.fixture
def hosts_resolve(monkeypatch):
    """The data sets' hosts resolve (the mock downloads nothing); what resolves here is forgotten afterwards."""
    monkeypatch.setattr(network, "_RESOLVED", set())
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *args, **kwargs: [(socket.AF_INET, socket.SOCK_STREAM, 6,
                                                                               "", ("192.0.2.1", 0))])


@pytest.fixture
def offline(monkeypatch):
    """No host resolves, and a download that starts fails the test."""
    def unknown(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    def download_and_prepare(self, *args, **kwargs):
        raise AssertionError(f"{self.name}: the download started")

    monkeypatch.setattr(network, "_RESOLVED", set())
    monkeypatch.setattr(socket, "getaddrinfo", unknown)
    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", download_and_prepare)
    monkeypatch.setattr(tfds.core.DatasetBuilder, "is_prepared", lambda self: False)


def mocked(features_by_example):
    """as_dataset_fn yielding the given feature dicts (only the keys the source reads)."""

    def as_dataset(self, *args, **kwargs):
        return tf.data.Dataset.from_generator(
            lambda: iter(features_by_example),
            output_signature={k: tf.TensorSpec(None if k == "file_name" else (None, None, v.shape[-1]),
                                               tf.string if k == "file_name" else tf.uint8)
                              for k, v in features_by_example[0].items()},
        )

    return tfds.testing.mock_data(num_examples=len(features_by_example), as_dataset_fn=as_dataset)


def test_pet_trimap_maps_to_background_pet_and_ignore(capsys, hosts_resolve):
    trimap = np.array([[1, 2, 3, 2, 1]] * 4, np.uint8)[..., None]
    with mocked([{"image": IMAGE, "segmentation_mask": trimap, "file_name": "Abyssinian_1.jpg"}]):
        pairs = list(tfds_segmentation("oxford_iiit_pet", "train").as_numpy_iterator())
    assert re.match(r"The TFDS data set oxford_iiit_pet is not prepared in \S+: downloading and preparing it",
                    capsys.readouterr().out)  # said before a download that may take minutes
    assert len(pairs) == 1
    image, mask = pairs[0]
    np.testing.assert_array_equal(image, IMAGE)
    np.testing.assert_array_equal(mask, np.array([[1, 0, 255, 0, 1]] * 4, np.uint8))
    assert mask.dtype == np.uint8
    assert TFDS_SEGMENTATION["oxford_iiit_pet"].class_names == ("background", "pet")


def test_scene_parse150_reads_the_instance_categories_and_ignores_no_object(hosts_resolve):
    categories = np.array([[0, 1, 100, 7, 0]] * 4, np.uint8)  # channel R: category; G: instance numbers
    annotation = np.stack([categories, np.array([[0, 3, 1, 2, 0]] * 4, np.uint8), np.zeros_like(categories)], -1)
    with mocked([{"image": IMAGE, "annotation": annotation}]):
        _, mask = next(iter(tfds_segmentation("scene_parse150", "test")))
    np.testing.assert_array_equal(mask, np.array([[255, 0, 99, 6, 255]] * 4, np.uint8))
    assert TFDS_SEGMENTATION["scene_parse150"].num_classes == 100
    annotation[0, 0, 0] = 150  # a 150-class benchmark label is no instance category
    with mocked([{"image": IMAGE, "annotation": annotation}]), pytest.raises(tf.errors.InvalidArgumentError):
        list(tfds_segmentation("scene_parse150", "test"))


def test_unexpected_raw_label_fails_naming_the_example(hosts_resolve):
    trimap = np.array([[1, 2, 9, 2, 1]] * 4, np.uint8)[..., None]
    with mocked([{"image": IMAGE, "segmentation_mask": trimap, "file_name": "Bombay_3.jpg"}]):
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=r"oxford_iiit_pet\[train\]: mask values outside the expected raw labels 1..3[\s\S]*Bombay_3"):
            list(tfds_segmentation("oxford_iiit_pet", "train"))


def test_unknown_name_lists_supported():
    with pytest.raises(ValueError, match=r"supported: \['oxford_iiit_pet', 'scene_parse150'\]"):
        tfds_segmentation("voc", "train")


def test_the_command_line_spec_lists_every_tfds_data_set():
    from fcn_keras.data import SPECS, TFDS_SEGMENTATION

    assert SPECS["tfds:NAME"].endswith(", ".join(sorted(TFDS_SEGMENTATION)))


def test_an_unprepared_data_set_is_refused_at_once_when_downloads_are_off(tmp_path):
    from fcn_keras.data import DataError

    with pytest.raises(DataError, match=rf"oxford_iiit_pet is not prepared in {tmp_path}; prepare it once .*"
                                        rf"`tfds build oxford_iiit_pet --data_dir {tmp_path}`"):
        tfds_segmentation("oxford_iiit_pet", "train", data_dir=str(tmp_path), download=False)


def test_offline_a_download_is_refused_in_seconds_in_one_line_saying_how_to_prepare_by_hand(tmp_path, offline, capsys):
    from fcn_keras.network import DownloadError

    started = time.monotonic()
    with pytest.raises(DownloadError) as failure:
        tfds_segmentation("oxford_iiit_pet", "train", data_dir=str(tmp_path))
    assert time.monotonic() - started < 10
    assert str(failure.value) == (
        "Cannot reach thor.robots.ox.ac.uk (name not resolved: Name or service not known) to fetch annotations.tar.gz "
        "(18.28 MiB) of the TFDS data set oxford_iiit_pet from https://thor.robots.ox.ac.uk/~vgg/data/pets/"
        "annotations.tar.gz: no network access? Instead, prepare it once on a machine with network access "
        f"(`tfds build oxford_iiit_pet --data_dir {tmp_path}`) and copy the folder here.")
    assert capsys.readouterr().out == ""  # no "downloading" announced: nothing started


def test_the_train_command_offline_fails_in_one_line_naming_the_data_option(tmp_path, offline, capsys):
    from fcn_keras import cli

    started = time.monotonic()
    assert cli.main(["train", "--data", "tfds:oxford_iiit_pet", "--output", str(tmp_path / "run")]) == 2
    assert time.monotonic() - started < 10
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("fcn-keras train: error: --data: Cannot reach "
                                                        "thor.robots.ox.ac.uk (name not resolved")
    assert "annotations.tar.gz (18.28 MiB) of the TFDS data set oxford_iiit_pet" in error
    assert "(`tfds build oxford_iiit_pet --data_dir " in error and not (tmp_path / "run").exists()
