"""Opens a data source from a short text spec, as the command line takes it: "voc:/data/VOC2012"."""

from typing import NamedTuple, Optional

from fcn_keras.arguments import check_mask_heads, class_count, whole_number
from fcn_keras.data.classes import (
    NYUD_CLASSES,
    PASCAL_CONTEXT_CLASSES,
    SIFTFLOW_HEADS,
    SYNTHETIC_CLASSES,
    VOC_CLASSES,
)
from fcn_keras.data.folder import folder_dataset
from fcn_keras.data.nyud import nyud_segmentation
from fcn_keras.data.pascal_context import pascal_context_segmentation
from fcn_keras.data.siftflow import siftflow_segmentation
from fcn_keras.data.specs import SPECS
from fcn_keras.data.synthetic import synthetic_shapes
from fcn_keras.data.tfds_sources import TFDS_SEGMENTATION, tfds_segmentation
from fcn_keras.data.tfrecord import tfrecord_dataset
from fcn_keras.data.voc import sbd_segmentation, voc_segmentation

SYNTHETIC_DEFAULT_IMAGES = {"train": 2000}
SYNTHETIC_HELD_OUT_IMAGES = 200
SIFTFLOW_SPLITS = {"train": "trainval", "val": "test"}  # the authors' two splits, under the usual names too


class Source(NamedTuple):
    """An opened data source: `(image, mask)` pairs and what is known of its classes (for a source with
    several heads, such as SIFT Flow, masks, class counts and names are {head: ...})."""

    dataset: object
    num_classes: Optional[int]
    class_names: Optional[tuple]


def open_source(spec, split="train", num_classes=None, seed=0, download=True, modalities=None):
    """Opens `spec` (see `SPECS`) for `split` as an `(image, mask)` dataset.

    Args:
        spec: "synthetic", "synthetic:500", "voc:ROOT", "sbd:ROOT", "siftflow:ROOT", "nyud:ROOT",
            "context:VOC2010,CONTEXT", "folder:IMAGES,MASKS", "tfds:NAME" or "tfrecord:PATTERN".
        split: split name ("train", "val", ...; ignored by the splitless kinds,
            folder and tfrecord: see `fcn_keras.data.specs`).
            For synthetic data "train" uses `seed` and any other split `seed + 1`, so
            held-out images are never trained on.
        num_classes: class count for sources that do not define one (folder, tfrecord);
            for the others it must match theirs.
        seed: seed of the synthetic source.
        download: let a TFDS source download and prepare its data set if it is not
            prepared yet; False refuses at once, saying how to prepare it.
        modalities: the inputs to read, for NYUDv2 (e.g. ("color", "depth")); other
            sources have colour images only.

    Returns:
        `Source(dataset, num_classes, class_names)`.

    Example:
        >>> source = open_source("synthetic:100", "val")
        >>> source.num_classes, source.class_names[:2]
        (5, ('background', 'circle'))
    """
    kind, _, argument = str(spec).partition(":")
    modalities = tuple(modalities) if modalities else None
    if modalities not in (None, ("color",)) and kind != "nyud":
        raise ValueError(f"Data source {spec!r} has colour images only; modalities={tuple(modalities)!r} needs "
                         "nyud:ROOT.")
    if kind == "synthetic":
        count = _image_count(argument, spec) if argument else SYNTHETIC_DEFAULT_IMAGES.get(split,
                                                                                        SYNTHETIC_HELD_OUT_IMAGES)
        classes = num_classes or 5
        dataset = synthetic_shapes(count, num_classes=classes, seed=seed if split == "train" else seed + 1)
        return _checked(Source(dataset, classes, SYNTHETIC_CLASSES[:classes]), num_classes, spec)
    if not argument:
        raise ValueError(_usage(f"Data source {spec!r} needs an argument after ':'."))
    if kind in ("voc", "sbd"):
        reader = voc_segmentation if kind == "voc" else sbd_segmentation
        return _checked(Source(reader(argument, split), len(VOC_CLASSES), VOC_CLASSES), num_classes, spec)
    if kind == "siftflow":
        dataset = siftflow_segmentation(argument, SIFTFLOW_SPLITS.get(split, split))
        counts = {head: len(names) for head, names in SIFTFLOW_HEADS.items()}
        return _checked(Source(dataset, counts, SIFTFLOW_HEADS), num_classes, spec)
    if kind == "nyud":
        dataset = nyud_segmentation(argument, split, modalities or ("color",))
        return _checked(Source(dataset, len(NYUD_CLASSES), NYUD_CLASSES), num_classes, spec)
    if kind == "context":
        voc_root, context_root = _two_folders(argument, spec, "context:VOC2010,CONTEXT")
        dataset = pascal_context_segmentation(voc_root, context_root, split)
        return _checked(Source(dataset, len(PASCAL_CONTEXT_CLASSES), PASCAL_CONTEXT_CLASSES), num_classes, spec)
    if kind == "tfds":
        dataset = tfds_segmentation(argument, split, download=download)
        meta = TFDS_SEGMENTATION[argument]
        return _checked(Source(dataset, meta.num_classes, meta.class_names), num_classes, spec)
    if kind in ("folder", "tfrecord"):
        if num_classes is None:
            raise ValueError(f"Data source {spec!r} does not say how many classes it has; give "
                             "`num_classes`.")
        if isinstance(num_classes, dict):  # a model's heads: these sources have one mask per image
            check_mask_heads(None, num_classes, repr(spec))
        num_classes = class_count(num_classes)
        if kind == "tfrecord":
            return Source(tfrecord_dataset(argument, num_classes=num_classes), num_classes, None)
        image_dir, mask_dir = _two_folders(argument, spec, "folder:IMAGES,MASKS")
        return Source(folder_dataset(image_dir, mask_dir, num_classes=num_classes), num_classes, None)
    raise ValueError(_usage(f"Unknown data source {spec!r}."))


def _two_folders(argument, spec, form):
    """The two folders of a spec such as "folder:IMAGES,MASKS", both named."""
    first, comma, second = argument.partition(",")
    if not (first and comma and second):
        raise ValueError(_usage(f"Data source {spec!r} needs two folders, {form}, separated by a comma."))
    return first, second


def _checked(source, num_classes, spec):
    if num_classes is not None and num_classes != source.num_classes:
        raise ValueError(f"{spec!r} has {source.num_classes} classes but num_classes={num_classes} was given.")
    return source


def _image_count(argument, spec):
    try:
        return whole_number(int(argument), "N")
    except ValueError:
        raise ValueError(f"Data source {spec!r}: synthetic:N takes a whole number of images >= 1, got "
                         f"{argument!r}.") from None


def _usage(problem):
    return f"{problem} The forms are: {', '.join(SPECS)} (fcn_keras.data.specs.SPECS says what each reads)."
