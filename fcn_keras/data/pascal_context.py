"""PASCAL-Context (Mottaghi et al. CVPR 2014): whole-scene labels of PASCAL VOC 2010, the 59-class task.

The release labels every pixel with one of its ~459 raw labels (``trainval/{id}.mat``,
variable ``LabelMap``; 0 = unlabelled) named in ``labels.txt``; ``59_labels.txt`` names the
59 classes of the task. As the FCN authors' data layer, the 59 are looked up by name in
``labels.txt`` (three are spelled differently there: diningtable = table, bedcloth =
bedclothes, clothes = cloth) and become 1..59; every other pixel is 0, background. The
authors' nets score 60 classes (``num_output: 60``), background included.
"""

import os

import numpy as np
import tensorflow as tf

from fcn_keras.data.checks import DataError
from fcn_keras.data.classes import PASCAL_CONTEXT_CLASSES
from fcn_keras.data.decoding import read_image
from fcn_keras.data.download import VOC_RELEASES
from fcn_keras.data.examples import arrays_dataset, check_sizes, read_mat_array
from fcn_keras.data.files import check_files_exist, check_folders
from fcn_keras.data.specs import SOURCE_KINDS, Source
from fcn_keras.data.voc import read_ids

RENAMED_IN_LABELS = {"diningtable": "table", "bedcloth": "bedclothes", "clothes": "cloth"}
"""Names of ``59_labels.txt`` that ``labels.txt`` spells differently (spaces dropped from both)."""

PASCAL_CONTEXT_URL = SOURCE_KINDS["context"].where
"""The data set's site, as the FCN authors name it (their data/pascal-context/README.md)."""

_FIX = f"Re-extract the PASCAL-Context release (trainval.tar.gz, labels.txt, 59_labels.txt) from {PASCAL_CONTEXT_URL}."


def read_label_names(path):
    """Reads a PASCAL-Context names file: lines ``"<id>: <name>"`` with ids 1, 2, 3, ... in order.

    Args:
        path: ``labels.txt`` or ``59_labels.txt``.

    Returns:
        list of names with spaces removed (as the authors' layer does), index ``i`` = id ``i + 1``.

    Raises:
        DataError: the file is missing, a line is malformed, or the ids do not count up from 1.

    Example:
        >>> import tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "labels.txt")
        >>> _ = open(path, "w").write("1: accordion\\n2: air conditioner\\n")
        >>> read_label_names(path)
        ['accordion', 'airconditioner']
    """
    if not os.path.isfile(path):
        raise DataError(f"{path}: names file not found. {_FIX}")
    names = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate((line for line in handle if line.strip()), start=1):
            label_id, colon, name = line.partition(":")
            if not colon or label_id.strip() != str(number) or not name.strip():
                raise DataError(f"{path}: line {line.strip()!r} should read '{number}: <name>' (ids count up from 1). "
                                f"{_FIX}")
            names.append(name.strip().replace(" ", ""))
    if not names:
        raise DataError(f"{path}: lists no labels. {_FIX}")
    return names


def context_lookup(labels_path, task_labels_path):
    """The table taking raw ``LabelMap`` values to the 59-class task: ``lookup[raw]`` = 0..59.

    Args:
        labels_path: the release's ``labels.txt`` (all raw labels).
        task_labels_path: its ``59_labels.txt``.

    Returns:
        ``np.ndarray`` uint8 (number of raw labels + 1,): 1..59 for the task's classes, 0 elsewhere.

    Raises:
        DataError: a file is missing or malformed, its 59 names differ from ``PASCAL_CONTEXT_CLASSES``,
            or one of them is not in ``labels.txt``.

    Example:
        >>> context_lookup("labels.txt", "59_labels.txt")
        Traceback (most recent call last):
        fcn_keras.data.checks.DataError: labels.txt: names file not found. Re-extract the PASCAL-Context release ...
    """
    raw_names = read_label_names(labels_path)
    task_names = read_label_names(task_labels_path)
    if task_names != list(PASCAL_CONTEXT_CLASSES[1:]):
        raise DataError(f"{task_labels_path}: names {task_names[:5]}... are not the 59 classes of the task "
                        f"({list(PASCAL_CONTEXT_CLASSES[1:6])}...). {_FIX}")
    lookup = np.zeros(len(raw_names) + 1, np.uint8)
    for task_id, name in enumerate(task_names, start=1):
        raw_name = RENAMED_IN_LABELS.get(name, name)
        if raw_name not in raw_names:
            raise DataError(f"{labels_path}: has no label {raw_name!r} (class {task_id} of the 59). {_FIX}")
        lookup[raw_names.index(raw_name) + 1] = task_id
    return lookup


def pascal_context_segmentation(voc_root, context_root, split="train"):
    """PASCAL-Context's 59-class task as ``(image, mask)`` pairs, laid out as the FCN authors read it.

    Args:
        voc_root: the ``VOCdevkit/VOC2010`` folder (``JPEGImages/``, ``ImageSets/Main/``); a folder
            holding ``VOC2010/`` works too.
        context_root: the PASCAL-Context folder: ``trainval/{id}.mat``, ``labels.txt``, ``59_labels.txt``.
        split: ``"train"`` (4998 images) or ``"val"`` (5105, the paper's test set), any
            ``ImageSets/Main/<split>.txt``, or a list of image ids.

    Returns:
        ``tf.data.Dataset`` of ``(uint8 (H, W, 3) RGB, uint8 (H, W))`` in split order; mask values
        0..59 index ``PASCAL_CONTEXT_CLASSES`` (0 = background: every other label and unlabelled
        pixels); no pixel is 255.

    Raises:
        DataError: a missing folder, split file or file, or a names file that does not fit, named with the fix.

    Example:
        >>> pascal_context_segmentation("no_such_folder", "context")
        Traceback (most recent call last):
        fcn_keras.data.checks.DataError: no_such_folder: missing folder(s) ['JPEGImages', 'ImageSets/Main']; pass the \
VOCdevkit/VOC2010 folder, unpacked from http://host.robots.ox.ac.uk/pascal/VOC/voc2010/VOCtrainval_03-May-2010.tar \
(fcn_keras.data.download_voc(dest, year="2010") fetches and extracts it).
    """
    if not os.path.isdir(os.path.join(voc_root, "JPEGImages")) and os.path.isdir(os.path.join(voc_root, "VOC2010")):
        voc_root = os.path.join(voc_root, "VOC2010")
    check_folders(voc_root, ["JPEGImages", "ImageSets/Main"],
                  f"pass the VOCdevkit/VOC2010 folder, unpacked from {VOC_RELEASES['2010'][0]} "
                  "(fcn_keras.data.download_voc(dest, year=\"2010\") fetches and extracts it).")
    if not os.path.isdir(os.path.join(context_root, "trainval")):
        raise DataError(f"{context_root}: missing folder 'trainval'; pass the PASCAL-Context folder. {_FIX}")
    lookup = context_lookup(os.path.join(context_root, "labels.txt"), os.path.join(context_root, "59_labels.txt"))
    split_file = os.path.join(voc_root, "ImageSets", "Main", f"{split}.txt") if isinstance(split, str) else None
    ids = read_ids(split_file) if split_file else list(split)
    images = [os.path.join(voc_root, "JPEGImages", f"{i}.jpg") for i in ids]
    label_maps = [os.path.join(context_root, "trainval", f"{i}.mat") for i in ids]
    check_files_exist(images, "VOC2010 images", "Is it a complete VOC2010 release?")
    check_files_exist(label_maps, "PASCAL-Context label maps", _FIX)

    def load(image_path, label_path):
        raw = read_mat_array(label_path, "LabelMap", _FIX)
        if raw.min(initial=0) < 0:
            raise DataError(f"{label_path}: LabelMap holds negative values. {_FIX}")
        known = raw < len(lookup)
        mask = np.where(known, lookup[np.where(known, raw, 0)], 0).astype(np.uint8)  # unknown labels: background
        return check_sizes([read_image(image_path), mask], [image_path, label_path])

    return arrays_dataset([images, label_maps], load, [(tf.uint8, (None, None, 3)), (tf.uint8, (None, None))])


def open_context(request):
    """Opens "context:VOC2010,CONTEXT" for `fcn_keras.data.open_source` (a `SourceRequest`)."""
    voc_root, context_root = request.arguments
    dataset = pascal_context_segmentation(voc_root, context_root, request.split)
    return Source(dataset, len(PASCAL_CONTEXT_CLASSES), PASCAL_CONTEXT_CLASSES)
