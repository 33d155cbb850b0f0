"""PASCAL VOC and SBD segmentation sources, and the FCN paper's SBD-train / seg11valid split.

The paper trains on SBD ``train`` (8498 images) and validates on ``seg11valid``: the
VOC2011 segmentation ``val`` images that are not in SBD ``train`` (736 with the official
releases). The list is derived from the two releases' own files by
:func:`seg11valid_ids` rather than shipped with the package.
"""

import os

import numpy as np
import scipy.io

from fcn_keras.data.checks import DataError
from fcn_keras.data.classes import VOC_CLASSES
from fcn_keras.data.download import SBD_RELEASE, VOC_RELEASES
from fcn_keras.data.files import check_files_exist, check_folders, file_pairs_dataset
from fcn_keras.data.specs import SOURCE_KINDS, Source

SEG11VALID = "seg11valid"


def read_ids(path):
    """Reads a split list: one image id per line, blank lines ignored.

    Args:
        path: the ``.txt`` file (e.g. ``ImageSets/Segmentation/val.txt``).

    Returns:
        list of id strings, in file order.

    Raises:
        DataError: the file is missing (the message lists the splits present) or empty.

    Example:
        >>> with open("val.txt", "w") as handle:
        ...     _ = handle.write("2007_000033\\n\\n2007_000042\\n")
        >>> read_ids("val.txt")
        ['2007_000033', '2007_000042']
    """
    if not os.path.isfile(path):
        folder = os.path.dirname(path)
        found = sorted(f[:-4] for f in os.listdir(folder) if f.endswith(".txt")) if os.path.isdir(folder) else []
        raise DataError(
            f"{path}: split file not found (splits present there: {found or 'none'}). "
            "Check the data set root and the split name."
        )
    with open(path, encoding="utf-8") as handle:
        ids = [line.strip() for line in handle if line.strip()]
    if not ids:
        raise DataError(f"{path}: the split file lists no image ids; restore it from the data set release.")
    return ids


def _split_file(root, split):
    return os.path.join(root, "ImageSets", "Segmentation", f"{split}.txt")


def _ids(split, split_file):
    return list(split) if not isinstance(split, str) else read_ids(split_file(split))


def voc_segmentation(root, split="train", num_classes=len(VOC_CLASSES)):
    """PASCAL VOC segmentation as ``(image, mask)`` pairs; masks are the palette indices.

    Args:
        root: the year folder of an unpacked devkit, e.g. ``VOCdevkit/VOC2012`` (holding
            ``JPEGImages/``, ``SegmentationClass/`` and ``ImageSets/Segmentation/``).
        split: a split name (``"train"``, ``"val"``, ``"trainval"``, ``"seg11valid"``
            once :func:`write_seg11valid` wrote it: any ``ImageSets/Segmentation/<split>.txt``)
            or a list of image ids, e.g. ``seg11valid_ids(voc2011_root, sbd_root)``.
        num_classes: masks are checked to hold only ``0..num_classes-1`` and 255.

    Returns:
        ``tf.data.Dataset`` of ``(uint8 (H, W, 3) RGB, uint8 (H, W))``, in split order;
        object borders are 255 as in the release.

    Example:
        >>> from PIL import Image
        >>> from fcn_keras.data import write_mask
        >>> root = "VOCdevkit/VOC2012"
        >>> for folder in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        ...     os.makedirs(f"{root}/{folder}")
        >>> with open(f"{root}/ImageSets/Segmentation/val.txt", "w") as handle:
        ...     _ = handle.write("2007_000033\\n")
        >>> Image.new("RGB", (5, 4)).save(f"{root}/JPEGImages/2007_000033.jpg")
        >>> _ = write_mask(f"{root}/SegmentationClass/2007_000033.png", np.full((4, 5), 255))
        >>> ds = voc_segmentation(root, "val")
        >>> image, mask = next(iter(ds))
        >>> image.shape, mask.shape
        (TensorShape([4, 5, 3]), TensorShape([4, 5]))
    """
    check_folders(root, ["JPEGImages", "SegmentationClass"],
                  f"pass the VOCdevkit/VOC20xx folder, unpacked from {VOC_RELEASES['2012'][0]} or the year's "
                  f"archive ({SOURCE_KINDS['voc'].where} fetches and extracts it).")
    if split == SEG11VALID and not os.path.isfile(_split_file(root, SEG11VALID)):
        raise DataError(f"{_split_file(root, SEG11VALID)} does not exist yet: write it once with "
                        "fcn_keras.data.write_seg11valid(VOC2011_ROOT, SBD_ROOT) (it is VOC2011 val minus SBD train, "
                        "736 images).")
    ids = _ids(split, lambda name: _split_file(root, name))
    images = [os.path.join(root, "JPEGImages", f"{i}.jpg") for i in ids]
    masks = [os.path.join(root, "SegmentationClass", f"{i}.png") for i in ids]
    check_files_exist(images, "VOC images", f"Is {root} a complete VOC release?")
    check_files_exist(masks, "VOC masks", f"Is {root} a complete VOC release?")
    return file_pairs_dataset(images, masks, num_classes=num_classes)


def read_sbd_mask(path):
    """Reads the class mask of an SBD ``cls/*.mat`` file (``GTcls.Segmentation``).

    Args:
        path: the ``.mat`` file.

    Returns:
        ``np.ndarray`` uint8 (H, W) of class indices.

    Raises:
        DataError: the file is unreadable or has no ``GTcls.Segmentation``.

    Example:
        >>> scipy.io.savemat("2008_000002.mat", {"GTcls": {"Segmentation": np.ones((375, 500), np.uint8)}})
        >>> read_sbd_mask("2008_000002.mat").shape
        (375, 500)
    """
    try:
        mask = scipy.io.loadmat(path)["GTcls"]["Segmentation"][0, 0]
    except (OSError, ValueError, KeyError, IndexError, TypeError, NotImplementedError,
            scipy.io.matlab.MatReadError) as error:
        raise DataError(
            f"{path}: not an SBD class file with GTcls.Segmentation ({error!r}); "
            "re-download or re-extract the SBD release."
        ) from None
    mask = np.asarray(mask)
    if mask.ndim != 2 or (mask.size and (mask.min() < 0 or mask.max() > 255)):
        raise DataError(f"{path}: GTcls.Segmentation is not a 2-D mask of uint8 class indices.")
    return mask.astype(np.uint8)


def sbd_segmentation(root, split="train", num_classes=len(VOC_CLASSES)):
    """The Semantic Boundaries Dataset (Hariharan et al. 2011) as ``(image, mask)`` pairs.

    Args:
        root: the ``benchmark_RELEASE/dataset`` folder (``img/``, ``cls/``, ``train.txt``,
            ``val.txt``).
        split: ``"train"`` (8498 images, the FCN paper's training set), ``"val"``, any other
            ``<root>/<split>.txt``, or a list of image ids.
        num_classes: masks are checked to hold only ``0..num_classes-1`` and 255.

    Returns:
        ``tf.data.Dataset`` of ``(uint8 (H, W, 3) RGB, uint8 (H, W))`` in split order.

    Example:
        >>> from PIL import Image
        >>> root = "benchmark_RELEASE/dataset"
        >>> for folder in ("img", "cls"):
        ...     os.makedirs(f"{root}/{folder}")
        >>> Image.new("RGB", (5, 4)).save(f"{root}/img/2008_000002.jpg")
        >>> scipy.io.savemat(f"{root}/cls/2008_000002.mat", {"GTcls": {"Segmentation": np.ones((4, 5), np.uint8)}})
        >>> ds = sbd_segmentation(root, ["2008_000002"])  # a list of ids, or a split: "train" reads root/train.txt
        >>> image, mask = next(iter(ds))
        >>> image.shape, mask.shape
        (TensorShape([4, 5, 3]), TensorShape([4, 5]))
    """
    check_folders(root, ["img", "cls"], f"pass the benchmark_RELEASE/dataset folder, unpacked from {SBD_RELEASE[0]} "
                  f"({SOURCE_KINDS['sbd'].where} fetches and extracts it).")
    ids = _ids(split, lambda name: os.path.join(root, f"{name}.txt"))
    images = [os.path.join(root, "img", f"{i}.jpg") for i in ids]
    masks = [os.path.join(root, "cls", f"{i}.mat") for i in ids]
    check_files_exist(images, "SBD images", f"Is {root} a complete SBD release?")
    check_files_exist(masks, "SBD class files", f"Is {root} a complete SBD release?")
    return file_pairs_dataset(images, masks, mask_reader=read_sbd_mask, num_classes=num_classes)


def open_voc(request):
    """Opens "voc:ROOT" for `fcn_keras.data.open_source` (a `SourceRequest`)."""
    root, = request.arguments
    return Source(voc_segmentation(root, request.split), len(VOC_CLASSES), VOC_CLASSES)


def open_sbd(request):
    """Opens "sbd:ROOT" for `fcn_keras.data.open_source` (a `SourceRequest`)."""
    root, = request.arguments
    return Source(sbd_segmentation(root, request.split), len(VOC_CLASSES), VOC_CLASSES)


def seg11valid_ids(voc2011_root, sbd_root):
    """The paper's validation ids: VOC2011 segmentation ``val`` minus SBD ``train``.

    With the official releases this gives the 736 images of ``seg11valid``. Load them with
    ``voc_segmentation(voc_root, seg11valid_ids(...))`` from VOC2011 or VOC2012 (a superset).

    Args:
        voc2011_root: ``VOCdevkit/VOC2011`` (only ``ImageSets/Segmentation/val.txt`` is read).
        sbd_root: ``benchmark_RELEASE/dataset`` (only ``train.txt`` is read).

    Returns:
        list of id strings in VOC2011 ``val`` order.

    Example:
        >>> os.makedirs("VOC2011/ImageSets/Segmentation")
        >>> os.makedirs("benchmark_RELEASE/dataset")
        >>> with open("VOC2011/ImageSets/Segmentation/val.txt", "w") as handle:
        ...     _ = handle.write("2007_000033\\n2007_000042\\n2007_000061\\n")
        >>> with open("benchmark_RELEASE/dataset/train.txt", "w") as handle:
        ...     _ = handle.write("2007_000042\\n2008_000002\\n")
        >>> seg11valid_ids("VOC2011", "benchmark_RELEASE/dataset")
        ['2007_000033', '2007_000061']
    """
    sbd_train = set(read_ids(os.path.join(sbd_root, "train.txt")))
    val = read_ids(os.path.join(voc2011_root, "ImageSets", "Segmentation", "val.txt"))
    return [i for i in val if i not in sbd_train]


def write_seg11valid(voc2011_root, sbd_root):
    """Writes the paper's validation list as the split ``seg11valid`` of the VOC2011 folder.

    Then ``voc_segmentation(voc2011_root, "seg11valid")`` and
    ``fcn-keras evaluate ... --data voc:VOC2011_ROOT --split seg11valid`` use it.

    Args:
        voc2011_root: ``VOCdevkit/VOC2011``.
        sbd_root: ``benchmark_RELEASE/dataset``.

    Returns:
        The path written, ``voc2011_root/ImageSets/Segmentation/seg11valid.txt``.

    Example:
        >>> os.makedirs("VOC2011/ImageSets/Segmentation")
        >>> os.makedirs("benchmark_RELEASE/dataset")
        >>> with open("VOC2011/ImageSets/Segmentation/val.txt", "w") as handle:
        ...     _ = handle.write("2007_000033\\n2007_000042\\n")
        >>> with open("benchmark_RELEASE/dataset/train.txt", "w") as handle:
        ...     _ = handle.write("2007_000042\\n")
        >>> write_seg11valid("VOC2011", "benchmark_RELEASE/dataset")
        'VOC2011/ImageSets/Segmentation/seg11valid.txt'
        >>> read_ids("VOC2011/ImageSets/Segmentation/seg11valid.txt")
        ['2007_000033']
    """
    path = _split_file(voc2011_root, SEG11VALID)
    ids = seg11valid_ids(voc2011_root, sbd_root)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(ids) + "\n")
    return path
