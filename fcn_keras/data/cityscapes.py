"""Cityscapes (Cordts et al. 2016): street scenes of 50 cities, 2048x1024, finely labelled for 19 scored classes.

The release as unzipped side by side in one folder ROOT: ``leftImg8bit_trainvaltest.zip`` gives
``ROOT/leftImg8bit/{train,val,test}/<city>/<city>_<seq>_<frame>_leftImg8bit.png`` and ``gtFine_trainvaltest.zip``
``ROOT/gtFine/{train,val,test}/<city>/<city>_<seq>_<frame>_gtFine_labelIds.png`` (2975, 500 and 1525 images).
Downloading them needs an account: register at https://www.cityscapes-dataset.com/. Of the ground truth only the
``_gtFine_labelIds.png`` files are read (``_gtFine_color.png``, ``_gtFine_instanceIds.png`` and
``_gtFine_polygons.json`` are not); their label ids become the 19 train ids of cityscapesScripts' ``labels.py`` as
they are read, so no ``_labelTrainIds.png`` files need to be made first.

The test split's labels are withheld for the benchmark server: its labelIds files hold only what the camera's
calibration gives (ego vehicle, rectification border, out of roi), so every pixel reads as 255. Its images serve
predictions to submit (https://www.cityscapes-dataset.com/submit/); "cityscapes:ROOT" refuses it for training and
evaluation.

TFDS's ``cityscapes`` (config ``semantic_segmentation``) is built from the same two zips, placed by hand in TFDS's
manual download folder (``<data_dir>/downloads/manual/``); its ``segmentation_label`` feature holds these label ids
as they are (0..33), not train ids. This package reads the unzipped folder instead and has no ``tfds:cityscapes``.
"""

import glob
import logging
import os

import numpy as np

from fcn_keras.data.checks import DataError
from fcn_keras.data.classes import CITYSCAPES_CLASSES
from fcn_keras.data.decoding import read_mask
from fcn_keras.data.examples import check_range
from fcn_keras.data.files import check_files_exist, check_folders, file_pairs_dataset
from fcn_keras.data.specs import SOURCE_KINDS, Source
from fcn_keras.labels import IGNORE_LABEL

CITYSCAPES_SPLITS = ("train", "val", "test")
"""The splits of the fine annotations, as the release names its folders."""

CITYSCAPES_SCORED_IDS = (7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33)
"""The label id of each train id 0..18 (road is 7, bicycle 33): the classes the benchmark scores."""

CITYSCAPES_TRAIN_IDS = np.array([CITYSCAPES_SCORED_IDS.index(i) if i in CITYSCAPES_SCORED_IDS else IGNORE_LABEL
                                 for i in range(34)], np.uint8)
"""(34,) uint8: the train id of each label id 0..33, 255 for the ids the benchmark ignores (unlabeled, ego vehicle,
parking, guard rail, caravan, ...). License plates (id -1) are not drawn into labelIds files: their pixels keep the
label beneath, the car's."""

CITYSCAPES_URL = SOURCE_KINDS["cityscapes"].where
"""Where the release is downloaded, after registering."""

IMAGE_SUFFIX = "_leftImg8bit.png"
LABEL_SUFFIX = "_gtFine_labelIds.png"
_FIX = (f"Unzip leftImg8bit_trainvaltest.zip and gtFine_trainvaltest.zip into one folder; downloading them needs "
        f"registration at {CITYSCAPES_URL}.")
_LOG = logging.getLogger(__name__)


def read_cityscapes_labels(path):
    """Reads a ``_gtFine_labelIds.png`` file as train ids: the 19 scored classes 0..18 and 255 for the rest.

    Args:
        path: the labelIds PNG (8-bit grayscale, label ids 0..33).

    Returns:
        ``np.ndarray`` uint8 (H, W) of 0..18 (see ``CITYSCAPES_CLASSES``) and 255.

    Raises:
        DataError: the file is missing or unreadable, or holds values that are not label ids 0..33.

    Example:
        >>> from PIL import Image
        >>> Image.fromarray(np.array([[7, 8, 0, 26, 33]], np.uint8)).save("aachen_000000_000019_gtFine_labelIds.png")
        >>> read_cityscapes_labels("aachen_000000_000019_gtFine_labelIds.png").tolist()
        [[0, 1, 255, 13, 18]]
    """
    label_ids = read_mask(path)
    check_range(label_ids, 0, len(CITYSCAPES_TRAIN_IDS) - 1, path, "Cityscapes label ids")
    return CITYSCAPES_TRAIN_IDS[label_ids]


def _city_files(folder, suffix):
    return sorted(glob.glob(os.path.join(glob.escape(folder), "*", f"*{suffix}")))


def _partner(path, folder, suffix, other_folder, other_suffix):
    """The file of the other part for `path`: same city folder and id, the other part's folder and suffix."""
    return os.path.join(other_folder, os.path.relpath(path, folder)[:-len(suffix)] + other_suffix)


def cityscapes_segmentation(root, split="train"):
    """Cityscapes' fine annotations as ``(image, mask)`` pairs, masks in train ids.

    Args:
        root: the folder holding ``leftImg8bit/`` and ``gtFine/`` as the release's zips unpack them.
        split: ``"train"``, ``"val"`` or ``"test"`` (whose labels are withheld: its masks are all 255, said in a
            warning).

    Returns:
        ``tf.data.Dataset`` of ``(uint8 (H, W, 3) RGB, uint8 (H, W))`` sorted by city and image id; mask values
        0..18 index ``CITYSCAPES_CLASSES``, 255 is ignored.

    Raises:
        ValueError: an unknown split.
        DataError: a missing folder, an empty split, or an image without its labelIds file (or the reverse),
            named with where to get the data.

    Example:
        >>> from PIL import Image
        >>> for part in ("leftImg8bit/val/lindau", "gtFine/val/lindau"):
        ...     os.makedirs(part)
        >>> Image.new("RGB", (16, 8)).save("leftImg8bit/val/lindau/lindau_000000_000019_leftImg8bit.png")
        >>> Image.new("L", (16, 8), 26).save("gtFine/val/lindau/lindau_000000_000019_gtFine_labelIds.png")
        >>> image, mask = next(iter(cityscapes_segmentation(".", "val")))
        >>> image.shape, CITYSCAPES_CLASSES[mask[0, 0]]
        (TensorShape([8, 16, 3]), 'car')
    """
    if split not in CITYSCAPES_SPLITS:
        raise ValueError(f"Cityscapes has the splits {list(CITYSCAPES_SPLITS)}, not {split!r}.")
    check_folders(root, [os.path.join("leftImg8bit", split), os.path.join("gtFine", split)], _FIX)
    image_dir, label_dir = os.path.join(root, "leftImg8bit", split), os.path.join(root, "gtFine", split)
    images = _city_files(image_dir, IMAGE_SUFFIX)
    if not images:
        raise DataError(f"{image_dir}: no images (<city>/*{IMAGE_SUFFIX}) in this split. {_FIX}")
    labels = [_partner(path, image_dir, IMAGE_SUFFIX, label_dir, LABEL_SUFFIX) for path in images]
    check_files_exist(labels, f"labelIds files of the images in {image_dir}", _FIX)
    partners = [_partner(path, label_dir, LABEL_SUFFIX, image_dir, IMAGE_SUFFIX)
                for path in _city_files(label_dir, LABEL_SUFFIX)]
    check_files_exist(partners, f"images of the labelIds files in {label_dir}", _FIX)
    if split == "test":
        _LOG.warning("Cityscapes' test labels are withheld for the benchmark server: every mask of %s reads as 255 "
                     "(ignored); use the split for predictions to submit, and 'val' to score a model.", label_dir)
    return file_pairs_dataset(images, labels, mask_reader=read_cityscapes_labels, num_classes=len(CITYSCAPES_CLASSES))


def open_cityscapes(request):
    """Opens "cityscapes:ROOT" for `fcn_keras.data.open_source` (a `SourceRequest`): 19 classes; no test split."""
    root, = request.arguments
    if request.split == "test":
        raise DataError(f"{request.source!r}: the test split has no public labels (every mask pixel is 255), so it can "
                        "neither train nor score a model; use 'val' to evaluate, and submit test predictions to the "
                        "benchmark server (https://www.cityscapes-dataset.com/submit/). "
                        "fcn_keras.data.cityscapes_segmentation(ROOT, 'test') reads its images.")
    return Source(cityscapes_segmentation(root, request.split), len(CITYSCAPES_CLASSES), CITYSCAPES_CLASSES)
