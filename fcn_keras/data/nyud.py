"""NYUDv2 (Silberman et al. 2012) with the 40-class task of Gupta et al. (CVPR 2013): colour, depth and HHA inputs.

The layout is the FCN authors' (``nyud.tar.gz``, from Gupta's data): ``<root>/{split}.txt``
lists ids, and image ``id`` has ``data/images/img_{id}.png`` (colour),
``data/depth/img_{id}.png`` (16-bit depth in millimetres), ``data/hha/img_{id}.png`` and
``segmentation/img_{id}.mat`` (``segmentation``: 0 void, 1..40 the classes).

The authors' preprocessing, for the model side (the means are in ``fcn_keras.data.means``):
colour BGR minus ``NYUD_COLOR_MEAN_BGR``; depth ``log(millimetres) - NYUD_LOG_DEPTH_MEAN``; HHA
minus ``NYUD_HHA_MEAN`` in the PNG's own channel order.
"""

import logging
import os
import threading

import numpy as np
import tensorflow as tf
from PIL import Image

from fcn_keras.data.checks import DataError
from fcn_keras.data.classes import NYUD_CLASSES
from fcn_keras.data.decoding import _open, read_image
from fcn_keras.data.examples import arrays_dataset, check_range, check_sizes, read_mat_array
from fcn_keras.data.files import check_files_exist, check_folders
from fcn_keras.data.hha import NYUD_KINECT, hha_from_depth
from fcn_keras.data.modalities import MODALITIES
from fcn_keras.data.specs import SOURCE_KINDS, Source
from fcn_keras.data.voc import read_ids

NYUD_MODALITIES = SOURCE_KINDS["nyud"].modalities
"""The inputs :func:`nyud_segmentation` can give."""

NYUD_URL = SOURCE_KINDS["nyud"].where
"""The FCN authors' NYUDv2 in the layout read here (their data/nyud/README.md gives it)."""

_FIX = f"Re-extract the FCN authors' nyud.tar.gz ({NYUD_URL})."
_DEPTH_MODES = ("I;16", "I;16B", "I", "F")  # 16-bit (as PNGs store depth), 32-bit integer or float
_LOG = logging.getLogger(__name__)


def read_nyud_labels(path):
    """Reads a ``segmentation/img_{id}.mat`` file and shifts it as the authors do: 0 (void) -> 255, k -> k-1.

    Args:
        path: the ``.mat`` file (variable ``segmentation``, values 0..40).

    Returns:
        ``np.ndarray`` uint8 (H, W) of 0..39 (see ``NYUD_CLASSES``) and 255.

    Raises:
        DataError: the file is unreadable or holds values outside 0..40.

    Example:
        >>> import tempfile, scipy.io
        >>> path = os.path.join(tempfile.mkdtemp(), "img_5001.mat")
        >>> scipy.io.savemat(path, {"segmentation": np.array([[0, 1, 40]], np.uint8)})
        >>> read_nyud_labels(path).tolist()
        [[255, 0, 39]]
    """
    raw = read_mat_array(path, "segmentation", _FIX)
    check_range(raw, 0, len(NYUD_CLASSES), path, "0 void, 1..40 classes")
    return ((raw - 1) % 256).astype(np.uint8)


def read_depth_png(path):
    """Reads a depth PNG as the stored numbers (NYUDv2: millimetres), float32 (H, W, 1).

    Args:
        path: a 16-bit grayscale PNG (32-bit integer and float images are read too).

    Returns:
        ``np.ndarray`` float32 (H, W, 1) of the stored values, unscaled.

    Raises:
        DataError: the file is missing, corrupt, 8-bit (0..255 cannot be millimetres of a room),
            or not a grayscale image.

    Example:
        >>> import tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "img_5001.png")
        >>> Image.fromarray(np.array([[2551, 0]], np.uint16)).save(path)
        >>> read_depth_png(path)[..., 0].tolist()
        [[2551.0, 0.0]]
        >>> Image.fromarray(np.array([[255, 0]], np.uint8)).save(path)
        >>> read_depth_png(path)
        Traceback (most recent call last):
        fcn_keras.data.checks.DataError: .../img_5001.png: depth image is 8-bit (mode 'L'); depth PNGs are 16-bit ...
    """
    image = _open(path, path)
    if image.mode not in _DEPTH_MODES:
        kind = "is 8-bit (mode 'L')" if image.mode == "L" else f"has mode {image.mode!r}"
        raise DataError(f"{path}: depth image {kind}; depth PNGs are 16-bit grayscale, millimetres (NYUDv2's raw "
                        f"depth). {_FIX}")
    return np.asarray(image).astype(np.float32)[..., None]


def _write_once(path, hha):
    """Writes ``hha`` to ``path`` unless a file is there already; concurrent writers never leave half a file."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        Image.fromarray(hha).save(temporary, format="PNG")
        os.link(temporary, path)
    except FileExistsError:
        pass
    except OSError as error:
        raise DataError(f"{path}: cannot cache the HHA computed from depth ({error}); make {os.path.dirname(path)} "
                        "writable, or write the HHA PNGs there yourself with fcn_keras.data.hha_from_depth.") from None
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _modalities(modalities):
    names = (modalities,) if isinstance(modalities, str) else tuple(modalities)
    unknown = [name for name in names if name not in NYUD_MODALITIES]
    if not names or unknown or len(set(names)) != len(names):
        raise ValueError(f"modalities must be distinct names among {NYUD_MODALITIES}, got {modalities!r}.")
    return names


def _split_ids(root, split):
    if not isinstance(split, str):
        return list(split)
    path = os.path.join(root, f"{split}.txt")
    if split == "trainval" and not os.path.isfile(path) and all(
            os.path.isfile(os.path.join(root, f"{name}.txt")) for name in ("train", "val")):
        return read_ids(os.path.join(root, "train.txt")) + read_ids(os.path.join(root, "val.txt"))
    return read_ids(path)


def nyud_segmentation(root, split="train", modalities=("color",), hha_intrinsics=NYUD_KINECT):
    """NYUDv2 as ``(inputs, mask)`` pairs, laid out as the FCN authors read it.

    When ``"hha"`` is asked and ``data/hha/img_{id}.png`` is missing, it is computed from the
    depth PNG with :func:`fcn_keras.data.hha_from_depth` and cached there (an existing file
    is never overwritten).

    Args:
        root: the unpacked ``nyud`` folder (``data/``, ``segmentation/``, the split files).
        split: ``"train"`` (381 images), ``"val"`` (414), ``"trainval"`` (the authors' training
            set; ``train.txt`` then ``val.txt`` when there is no ``trainval.txt``), ``"test"``
            (654), any other ``<root>/<split>.txt``, or a list of ids.
        modalities: the inputs, in order, among ``"color"`` (uint8 (H, W, 3) RGB), ``"depth"``
            (float32 (H, W, 1): the PNG's values, millimetres; the authors feed
            ``log(depth) - NYUD_LOG_DEPTH_MEAN``) and ``"hha"`` (uint8 (H, W, 3): disparity,
            height, angle).
        hha_intrinsics: the camera used to compute missing HHA images; ``NYUD_KINECT`` fits
            full 640x480 frames (shift ``cx``/``cy`` for crops).

    Returns:
        ``tf.data.Dataset`` of ``(inputs, uint8 (H, W))`` in split order: ``inputs`` is the
        one modality's array, or a dict {name: array} in the order asked; mask values are
        0..39 (see ``NYUD_CLASSES``) and 255 (void).

    Raises:
        DataError: a missing folder, split file or file, named with the fix.
        ValueError: unknown modalities.

    Example:
        >>> nyud_segmentation("no_such_folder", modalities=("color", "hha"))
        Traceback (most recent call last):
        fcn_keras.data.checks.DataError: no_such_folder: missing folder(s) ['data/images', ..., from \
http://dl.caffe.berkeleyvision.org/nyud.tar.gz.
    """
    names = _modalities(modalities)
    folders = {"color": "data/images", "depth": "data/depth"}
    needed = [folders[name] for name in names if name in folders] + ["segmentation"]
    if "hha" in names and "depth" not in names and not os.path.isdir(os.path.join(root, "data", "hha")):
        needed.append("data/depth")  # the HHA images are computed from it
    check_folders(root, needed, "pass the unpacked folder of the FCN authors' nyud.tar.gz (data/images, data/depth, "
                                f"data/hha, segmentation, split files), from {NYUD_URL}.")
    ids = _split_ids(root, split)
    paths = {name: [os.path.join(root, "data", folder, f"img_{i}.png") for i in ids]
             for name, folder in (("color", "images"), ("depth", "depth"), ("hha", "hha"))}
    labels = [os.path.join(root, "segmentation", f"img_{i}.mat") for i in ids]
    for name in names:
        if name != "hha":
            check_files_exist(paths[name], f"NYUDv2 {name} images", _FIX)
    check_files_exist(labels, "NYUDv2 label files", _FIX)
    if "hha" in names:
        absent = [i for i, path in enumerate(paths["hha"]) if not os.path.isfile(path)]
        if absent:
            check_files_exist([paths["depth"][i] for i in absent], "NYUDv2 depth images (to compute missing HHA)",
                              _FIX)
            _LOG.warning("%d of %d HHA images are not in %s: computing them from data/depth as they are first read "
                         "(fcn_keras.data.hha_from_depth) and caching them there.", len(absent), len(ids),
                         os.path.join(root, "data", "hha"))

    def load_hha(hha_path, depth_path):
        if os.path.isfile(hha_path):
            return read_image(hha_path)
        hha = hha_from_depth(read_depth_png(depth_path)[..., 0] / 1000.0, hha_intrinsics)
        _write_once(hha_path, hha)
        return hha

    def load(label_path, depth_path, *inputs):
        readers = {"color": read_image, "depth": read_depth_png, "hha": lambda path: load_hha(path, depth_path)}
        arrays = [readers[name](path) for name, path in zip(names, inputs)] + [read_nyud_labels(label_path)]
        return check_sizes(arrays, [*inputs, label_path])

    outputs = [(tf.as_dtype(MODALITIES[name].dtype), (None, None, MODALITIES[name].channels)) for name in names]
    dataset = arrays_dataset([labels, paths["depth"]] + [paths[name] for name in names], load,
                             outputs + [(tf.uint8, (None, None))])

    def structure(*arrays):
        inputs, mask = arrays[:-1], arrays[-1]
        return (inputs[0] if len(names) == 1 else dict(zip(names, inputs))), mask

    return dataset.map(structure)


def open_nyud(request):
    """Opens "nyud:ROOT" for `fcn_keras.data.open_source` (a `SourceRequest`), in the modalities asked."""
    root, = request.arguments
    dataset = nyud_segmentation(root, request.split, request.modalities or ("color",))
    return Source(dataset, len(NYUD_CLASSES), NYUD_CLASSES)
