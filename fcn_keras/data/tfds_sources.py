"""TensorFlow Datasets with segmentation masks, mapped to the ``(image, mask)`` contract.

How TFDS's builders relate to the file sources of the same data sets:

- ``scene_parse150`` is built from the Places Challenge 2017 files ``images.tar`` and ``annotations_instance.tar``:
  the ADE20K images, with the instance segmentation task's annotations, not ADEChallengeData2016's 150-class ones.
  Channel R (read here) holds that task's 100 categories (1..100 of ``instanceInfo100``, bed = 1; 0 where no object
  instance is, as on walls, floors and sky), channel G instance numbers; the splits are ``train`` and ``test`` (the
  2,000 validation images). "ade20k:ROOT" (`fcn_keras.data.ade20k`) reads the 150-class SceneParsing benchmark.
- ``cityscapes`` (config ``semantic_segmentation``, not read here) needs ``leftImg8bit_trainvaltest.zip`` and
  ``gtFine_trainvaltest.zip`` placed by hand in ``<data_dir>/downloads/manual/``; its ``segmentation_label`` holds
  the label ids 0..33, not train ids. "cityscapes:ROOT" (`fcn_keras.data.cityscapes`) reads the unzipped release.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from fcn_keras.data.checks import DataError
from fcn_keras.data.classes import PET_CLASSES
from fcn_keras.data.specs import Source
from fcn_keras.labels import IGNORE_LABEL
from fcn_keras.network import require_host


@dataclasses.dataclass(frozen=True)
class TfdsSegmentation:
    """How one TFDS data set maps to ``(image, mask)``.

    Attributes:
        image_key: feature holding the RGB image.
        mask_key: feature holding the mask (H, W, 1) or (H, W, 3), whose first channel is read.
        labels: raw mask value -> class index (or 255); any other raw value is an error.
        num_classes: number of classes after mapping.
        class_names: their names, or None where the package does not ship them.
    """

    image_key: str
    mask_key: str
    labels: dict
    num_classes: int
    class_names: tuple = None


TFDS_SEGMENTATION = {
    # Trimap: 1 = pet, 2 = background, 3 = border (ignored, like VOC's object borders).
    "oxford_iiit_pet": TfdsSegmentation("image", "segmentation_mask", {1: 1, 2: 0, 3: IGNORE_LABEL}, 2, PET_CLASSES),
    # The ADE20K instance task's categories (channel R): 0 = no object instance (ignored), 1..100 -> 0..99.
    "scene_parse150": TfdsSegmentation("image", "annotation", {0: IGNORE_LABEL, **{k: k - 1 for k in range(1, 101)}},
                                       100),
}
"""Supported TFDS names and their label mapping."""


def tfds_segmentation(name, split, data_dir=None, download=True):
    """A TFDS segmentation data set as ``(image, mask)`` pairs with class-index masks.

    ``oxford_iiit_pet``: classes background (0) and pet (1); the trimap's border is 255.
    ``scene_parse150``: the 100 object categories of ADE20K's instance task as 0..99; pixels
    of no object instance (0 in the files: walls, floors, sky) are 255. The 150-class
    SceneParsing benchmark is "ade20k:ROOT".

    Args:
        name: a key of ``TFDS_SEGMENTATION`` (``"oxford_iiit_pet"``, ``"scene_parse150"``).
        split: a TFDS split string, e.g. ``"train"``, ``"test"``, ``"train[:90%]"``.
        data_dir: TFDS data folder (default ``~/tensorflow_datasets``).
        download: let TFDS download and prepare the data set if it is not prepared yet
            (with its checksums); False refuses at once, saying how to prepare it, and so
            does a host of its files that does not resolve (no network access).

    Returns:
        ``tf.data.Dataset`` of ``(uint8 (H, W, 3), uint8 (H, W))`` in a fixed order. A mask
        value outside the data set's label set fails with a message naming it.

    Example:
        >>> TFDS_SEGMENTATION["oxford_iiit_pet"].class_names
        ('background', 'pet')
    """
    import tensorflow_datasets as tfds  # heavy import, only needed here

    if name not in TFDS_SEGMENTATION:
        raise ValueError(f"Unknown TFDS segmentation data set {name!r}; supported: {sorted(TFDS_SEGMENTATION)}.")
    spec = TFDS_SEGMENTATION[name]
    table = np.full(256, -1, np.int32)
    table[list(spec.labels)] = list(spec.labels.values())
    table = tf.constant(table)
    valid = sorted(spec.labels)
    message = (f"{name}[{split}]: mask values outside the expected raw labels {valid[0]}..{valid[-1]}, "
               "or the mask and image sizes differ; the TFDS files are corrupt or from another version "
               "(re-prepare the data set). Example:")

    def to_pair(features):
        image = features[spec.image_key]
        mask = tf.gather(table, tf.cast(features[spec.mask_key][..., 0], tf.int32))
        ok = tf.logical_and(tf.reduce_all(mask >= 0),
                            tf.reduce_all(tf.equal(tf.shape(image)[:2], tf.shape(mask))))
        assertion = tf.debugging.Assert(ok, [message, features.get("file_name", "(unnamed)")])
        with tf.control_dependencies([assertion]):
            return tf.identity(image), tf.cast(mask, tf.uint8)

    builder = tfds.builder(name, data_dir=data_dir)
    if not builder.is_prepared():
        _prepare(builder, name, download)
    dataset = builder.as_dataset(split=split, shuffle_files=False)
    return dataset.map(to_pair, num_parallel_calls=tf.data.AUTOTUNE)


def open_tfds(request):
    """Opens "tfds:NAME" for `fcn_keras.data.open_source` (a `SourceRequest`)."""
    name, = request.arguments
    dataset = tfds_segmentation(name, request.split, download=request.download)
    meta = TFDS_SEGMENTATION[name]
    return Source(dataset, meta.num_classes, meta.class_names)


def _prepare(builder, name, download):
    """Downloads and prepares a TFDS data set, saying so first; refuses at once when downloads are off or a host of
    its files does not resolve (TFDS would retry for minutes)."""
    where = builder.data_dir_root
    how = (f"prepare it once on a machine with network access (`tfds build {name} --data_dir {where}`) and "
           "copy the folder here")
    if not download:
        raise DataError(f"The TFDS data set {name} is not prepared in {where}; {how}, or allow the download "
                        "(download=True).")
    for url, info in (builder.url_infos or {}).items():  # the files TFDS will fetch, from the checksums it ships
        require_host(url, f"{info.filename} ({info.size}) of the TFDS data set {name}", how)
    print(f"The TFDS data set {name} is not prepared in {where}: downloading and preparing it (once; this "
          f"takes a while; without network access it fails: then {how}).", flush=True)
    builder.download_and_prepare()
