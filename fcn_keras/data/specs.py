"""Data sources as the command line names them ("voc:/data/VOC2012"), and the rules about them.

Needs no TensorFlow; `fcn_keras.data.open_source` opens a spec.
"""

SPECS = {
    "synthetic[:N]": "built-in synthetic shapes (N images; 5 classes; split 'train' or a held-out one)",
    "voc:ROOT": "PASCAL VOC (ROOT holds JPEGImages/, SegmentationClass/, ImageSets/); 21 classes",
    "sbd:ROOT": "SBD (ROOT holds img/, cls/, train.txt, val.txt); 21 classes",
    "siftflow:ROOT": "SIFT Flow (ROOT holds Images/, SemanticLabels/, GeoLabels/ and the FCN authors' trainval.txt "
                     "and test.txt, which 'train' and 'val' also name); two heads: 33 semantic, 3 geometric classes",
    "nyud:ROOT": "NYUDv2 colour images in the FCN authors' layout (data/images/, segmentation/, train.txt, val.txt, "
                 "test.txt); 40 classes",
    "context:VOC2010,CONTEXT": "PASCAL-Context (the VOC2010 folder, and the release's folder of trainval/*.mat, "
                               "labels.txt, 59_labels.txt); 59 classes and background",
    "folder:IMAGES,MASKS": "your images and PNG masks matched by file name (give `num_classes`)",
    "tfds:NAME": "a TFDS data set with masks: oxford_iiit_pet, scene_parse150",
    "tfrecord:PATTERN": "TFRecords with image/encoded and image/segmentation/class/encoded (give `num_classes`)",
}
INPUT_MODALITIES = ("color", "depth", "hha")
"""What NYUDv2 sources read and FCNs take besides colour images (`fcn_keras.models.inputs.MODALITIES`)."""
SPLITLESS_SOURCES = ("folder", "tfrecord")
"""Source kinds that ignore `split`: every split is the same files."""
COUNTED_BY_CALLER = ("synthetic", "folder", "tfrecord")
"""Source kinds whose number of classes the caller gives (`num_classes`); the others define their own."""


def source_kind(spec):
    """The kind of a spec: the part before ':' ("voc" of "voc:/data/VOC2012").

    Example:
        >>> source_kind("folder:images,masks")
        'folder'
    """
    return str(spec).partition(":")[0]


def check_validation_source(train_spec, validation_spec=None, validation=True):
    """Refuses to validate a splitless source on itself: its every split is the training files.

    Args:
        train_spec: the training source's spec.
        validation_spec: the validation source's spec, or None to reuse `train_spec`'s.
        validation: False when training without validation.

    Raises:
        ValueError: validation would reuse the training images; names the fix.

    Example:
        >>> check_validation_source("voc:VOC2012")  # its "val" split is other images
    """
    if validation and validation_spec is None and source_kind(train_spec) in SPLITLESS_SOURCES:
        raise ValueError(f"{train_spec!r} has no splits, so validation would reuse the training images; give "
                         "validation_data=SOURCE or validation=False.")
