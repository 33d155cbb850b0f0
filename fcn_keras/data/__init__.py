"""Data: tf.data sources of ``(image, mask)`` pairs and the input pipeline.

Every source yields ``(image, mask)``: image uint8 (H, W, 3) RGB, mask uint8 (H, W) of
class indices with 255 = ignore. :func:`prepare` turns a source into training or
evaluation batches.
"""

from fcn_keras.data.classes import (
    IGNORE_LABEL,
    PET_CLASSES,
    SYNTHETIC_CLASSES,
    VOC_CLASSES,
    VOC_PALETTE,
    voc_palette,
)
from fcn_keras.data.decoding import read_image, read_mask, write_mask
from fcn_keras.data.download import download_and_extract, download_sbd, download_voc
from fcn_keras.data.folder import folder_dataset
from fcn_keras.data.synthetic import make_shapes, synthetic_shapes
from fcn_keras.data.tfds_sources import TFDS_SEGMENTATION, tfds_segmentation
from fcn_keras.data.sources import SPECS, SPLITLESS_SOURCES, Source, open_source
from fcn_keras.data.tfrecord import encode_example, tfrecord_dataset, write_tfrecords
from fcn_keras.data.transforms import CAFFE_MEAN_RGB, pad_to_size, prepare, random_scale_crop_flip
from fcn_keras.data.validation import DataError, check_labels, validate_labels
from fcn_keras.data.voc import read_ids, read_sbd_mask, sbd_segmentation, seg11valid_ids, voc_segmentation

__all__ = [
    "CAFFE_MEAN_RGB",
    "DataError",
    "SPECS",
    "SPLITLESS_SOURCES",
    "Source",
    "IGNORE_LABEL",
    "PET_CLASSES",
    "SYNTHETIC_CLASSES",
    "TFDS_SEGMENTATION",
    "VOC_CLASSES",
    "VOC_PALETTE",
    "check_labels",
    "download_and_extract",
    "download_sbd",
    "download_voc",
    "encode_example",
    "folder_dataset",
    "make_shapes",
    "open_source",
    "pad_to_size",
    "prepare",
    "random_scale_crop_flip",
    "read_ids",
    "read_image",
    "read_mask",
    "read_sbd_mask",
    "sbd_segmentation",
    "seg11valid_ids",
    "synthetic_shapes",
    "tfds_segmentation",
    "tfrecord_dataset",
    "validate_labels",
    "voc_palette",
    "voc_segmentation",
    "write_mask",
    "write_tfrecords",
]
