"""Data: tf.data sources of ``(image, mask)`` pairs and the input pipeline.

Every source yields ``(image, mask)``: image uint8 (H, W, 3) RGB, mask uint8 (H, W) of
class indices with ``IGNORE_LABEL`` (255) = ignore. :func:`prepare` turns a source into
training or evaluation batches. A new kind of source registers with
:func:`register_source_kind`, a new input kind with :func:`register_modality`. Names load
their modules on first use; ``fcn_keras.data.specs`` and ``fcn_keras.data.modalities`` need
no TensorFlow.
"""

from fcn_keras.lazy_imports import lazy_namespace

__getattr__, __dir__, __all__ = lazy_namespace(__name__, {
    "fcn_keras.data.classes": ["PET_CLASSES", "SYNTHETIC_CLASSES", "VOC_CLASSES", "VOC_PALETTE", "voc_palette",
                               "NYUD_CLASSES", "PASCAL_CONTEXT_CLASSES", "SIFTFLOW_GEOMETRIC_CLASSES",
                               "SIFTFLOW_SEMANTIC_CLASSES", "ADE20K_CLASSES", "ADE20K_PALETTE", "CITYSCAPES_CLASSES",
                               "CITYSCAPES_PALETTE"],
    "fcn_keras.data.ade20k": ["ADE20K_SPLITS", "ade20k_segmentation", "read_ade20k_labels"],
    "fcn_keras.data.cityscapes": ["CITYSCAPES_SPLITS", "CITYSCAPES_TRAIN_IDS", "cityscapes_segmentation",
                                  "read_cityscapes_labels"],
    "fcn_keras.data.decoding": ["read_image", "read_mask", "write_mask"],
    "fcn_keras.data.download": ["download_and_extract", "download_sbd", "download_voc"],
    "fcn_keras.data.folder": ["folder_dataset"],
    "fcn_keras.data.sources": ["open_source"],
    "fcn_keras.data.specs": ["SOURCE_KINDS", "SPECS", "SPLITLESS_SOURCES", "SourceKind", "Source", "SourceRequest",
                             "check_validation_source", "register_source_kind"],
    "fcn_keras.data.modalities": ["MODALITIES", "Modality", "register_modality"],
    "fcn_keras.data.synthetic": ["make_shapes", "synthetic_shapes"],
    "fcn_keras.data.tfds_sources": ["TFDS_SEGMENTATION", "tfds_segmentation"],
    "fcn_keras.data.tfrecord": ["encode_example", "tfrecord_dataset", "write_tfrecords"],
    "fcn_keras.data.transforms": ["pad_to_size", "prepare", "random_scale_crop_flip", "validate_labels"],
    "fcn_keras.data.checks": ["DataError", "check_labels"],
    "fcn_keras.data.voc": ["read_ids", "read_sbd_mask", "sbd_segmentation", "seg11valid_ids", "voc_segmentation",
                           "write_seg11valid"],
    "fcn_keras.data.hha": ["CameraIntrinsics", "NYUD_KINECT", "gravity_direction", "hha_from_depth", "point_cloud",
                           "surface_normals"],
    "fcn_keras.data.means": ["NYUD_COLOR_MEAN_BGR", "NYUD_HHA_MEAN", "NYUD_LOG_DEPTH_MEAN", "PASCAL_CONTEXT_MEAN_BGR",
                             "SIFTFLOW_MEAN_BGR"],
    "fcn_keras.data.nyud": ["NYUD_MODALITIES", "nyud_segmentation", "read_depth_png", "read_nyud_labels"],
    "fcn_keras.data.pascal_context": ["context_lookup", "pascal_context_segmentation"],
    "fcn_keras.data.siftflow": ["read_siftflow_labels", "siftflow_segmentation"],
    "fcn_keras.labels": ["IGNORE_LABEL"],
})
