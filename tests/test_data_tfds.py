"""TFDS sources, offline through tfds.testing.mock_data with realistic examples."""

import re

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from fcn_keras.data import TFDS_SEGMENTATION, tfds_segmentation

IMAGE = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)


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


def test_pet_trimap_maps_to_background_pet_and_ignore(capsys):
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


def test_scene_parse150_shifts_labels_and_ignores_other():
    annotation = np.repeat(np.array([[0, 1, 150, 7, 0]] * 4, np.uint8)[..., None], 3, axis=-1)
    with mocked([{"image": IMAGE, "annotation": annotation}]):
        _, mask = next(iter(tfds_segmentation("scene_parse150", "validation")))
    np.testing.assert_array_equal(mask, np.array([[255, 0, 149, 6, 255]] * 4, np.uint8))
    assert TFDS_SEGMENTATION["scene_parse150"].num_classes == 150


def test_unexpected_raw_label_fails_naming_the_example():
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
