"""ADE20K's SceneParsing benchmark (Zhou et al. 2017): 150 classes of indoor and outdoor scenes, ADEChallengeData2016.

``ADEChallengeData2016.zip`` (the MIT Scene Parsing benchmark's data, a direct download with no registration) unzips
to ``ADEChallengeData2016/images/{training,validation}/ADE_{train,val}_NNNNNNNN.jpg`` (20,210 and 2,000 images) and
``annotations/{training,validation}/*.png`` of the same names. An annotation value k in 1..150 is class k-1 of
``ADE20K_CLASSES`` (the devkit's ``objectInfo150.txt``); 0, "other objects", is not scored by the benchmark and
becomes 255. Some images are grayscale JPEGs; they are read as RGB. The full ADE20K release (thousands of classes,
object parts; not read here) is another download, after registering at
https://groups.csail.mit.edu/vision/datasets/ADE20K/.

TFDS's ``scene_parse150`` (read by "tfds:scene_parse150") holds the same images but not these annotations: TFDS
builds it from the Places Challenge 2017 files ``images.tar`` and ``annotations_instance.tar``, whose PNGs belong to
the instance segmentation task: channel R holds that task's 100 categories (1..100 of ``instanceInfo100``, bed = 1;
0 where no object instance is, as on walls, floors and sky) and channel G instance numbers. Its splits are ``train``
(20,210 images) and ``test`` (the 2,000 validation images). For the 150-class benchmark read ADEChallengeData2016
with "ade20k:ROOT".
"""

import glob
import os

import numpy as np

from fcn_keras.data.checks import DataError
from fcn_keras.data.classes import ADE20K_CLASSES
from fcn_keras.data.decoding import read_mask
from fcn_keras.data.examples import check_range
from fcn_keras.data.files import check_files_exist, check_folders, file_pairs_dataset
from fcn_keras.data.specs import SOURCE_KINDS, Source
from fcn_keras.labels import IGNORE_LABEL

ADE20K_SPLITS = {"train": "training", "val": "validation"}
"""{split: the release's folder name}; the folder names are accepted as splits too."""

ADE20K_URL = SOURCE_KINDS["ade20k"].where
"""ADEChallengeData2016.zip, from the MIT Scene Parsing benchmark (http://sceneparsing.csail.mit.edu/)."""

_FIX = f"Pass the ADEChallengeData2016 folder unzipped from {ADE20K_URL} (a direct download, no registration)."


def read_ade20k_labels(path):
    """Reads an ADEChallengeData2016 annotation PNG as class indices: k in 1..150 is class k-1, 0 ("other") is 255.

    Args:
        path: the annotation PNG (8-bit grayscale, values 0..150).

    Returns:
        ``np.ndarray`` uint8 (H, W) of 0..149 (see ``ADE20K_CLASSES``) and 255.

    Raises:
        DataError: the file is missing or unreadable, or holds values above 150.

    Example:
        >>> from PIL import Image
        >>> Image.fromarray(np.array([[0, 1, 3, 150]], np.uint8)).save("ADE_val_00000001.png")
        >>> read_ade20k_labels("ADE_val_00000001.png").tolist()
        [[255, 0, 2, 149]]
    """
    raw = read_mask(path)
    check_range(raw, 0, len(ADE20K_CLASSES), path, "0 other, 1..150 classes")
    return np.where(raw == 0, IGNORE_LABEL, raw - 1).astype(np.uint8)


def _stems(folder, extension):
    return sorted(os.path.basename(path)[:-len(extension)]
                  for path in glob.glob(os.path.join(glob.escape(folder), f"*{extension}")))


def ade20k_segmentation(root, split="train"):
    """ADE20K SceneParsing (ADEChallengeData2016) as ``(image, mask)`` pairs.

    Args:
        root: the ``ADEChallengeData2016`` folder (``images/``, ``annotations/``).
        split: ``"train"`` or ``"val"`` (or the release's folder names, ``"training"``, ``"validation"``).

    Returns:
        ``tf.data.Dataset`` of ``(uint8 (H, W, 3) RGB, uint8 (H, W))`` sorted by file name; mask values 0..149 index
        ``ADE20K_CLASSES``, 255 is "other" (ignored).

    Raises:
        ValueError: an unknown split (the test images have no public annotations).
        DataError: a missing folder, an empty split, or an image without its annotation (or the reverse), named with
            where to get the data.

    Example:
        >>> from PIL import Image
        >>> for part in ("images/validation", "annotations/validation"):
        ...     os.makedirs(f"ADEChallengeData2016/{part}")
        >>> Image.new("L", (16, 8), 90).save("ADEChallengeData2016/images/validation/ADE_val_00000001.jpg")
        >>> Image.new("L", (16, 8), 3).save("ADEChallengeData2016/annotations/validation/ADE_val_00000001.png")
        >>> image, mask = next(iter(ade20k_segmentation("ADEChallengeData2016", "val")))
        >>> image.shape, ADE20K_CLASSES[mask[0, 0]]
        (TensorShape([8, 16, 3]), 'sky')
    """
    folder = ADE20K_SPLITS.get(split, split)
    if folder not in ADE20K_SPLITS.values():
        raise ValueError(f"ADE20K SceneParsing has the splits {list(ADE20K_SPLITS)}, not {split!r} (its test images, "
                         "release_test.zip, have no public annotations).")
    check_folders(root, [os.path.join("images", folder), os.path.join("annotations", folder)], _FIX)
    image_dir, label_dir = os.path.join(root, "images", folder), os.path.join(root, "annotations", folder)
    stems = _stems(image_dir, ".jpg")
    if not stems:
        raise DataError(f"{image_dir}: no images (*.jpg) in this split. {_FIX}")
    images = [os.path.join(image_dir, f"{stem}.jpg") for stem in stems]
    labels = [os.path.join(label_dir, f"{stem}.png") for stem in stems]
    check_files_exist(labels, f"annotations of the images in {image_dir}", _FIX)
    check_files_exist([os.path.join(image_dir, f"{stem}.jpg") for stem in _stems(label_dir, ".png")],
                      f"images of the annotations in {label_dir}", _FIX)
    return file_pairs_dataset(images, labels, mask_reader=read_ade20k_labels, num_classes=len(ADE20K_CLASSES))


def open_ade20k(request):
    """Opens "ade20k:ROOT" for `fcn_keras.data.open_source` (a `SourceRequest`): 150 classes."""
    root, = request.arguments
    return Source(ade20k_segmentation(root, request.split), len(ADE20K_CLASSES), ADE20K_CLASSES)
