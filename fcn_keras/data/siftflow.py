"""SIFT Flow (Liu et al. 2011; Tighe and Lazebnik 2010): 2688 outdoor 256x256 scenes, semantic and geometric labels.

The FCN paper trains one net with two heads on it: 33 semantic classes and 3 geometric ones.
The authors' splits ``trainval.txt`` (2486 images) and ``test.txt`` (200) leave out the two
images without annotations; they are not in the release and come from the authors' repository
(``data/sift-flow/``).
"""

import os

import numpy as np
import tensorflow as tf

from fcn_keras.data.checks import DataError
from fcn_keras.data.classes import SIFTFLOW_GEOMETRIC_CLASSES, SIFTFLOW_HEADS, SIFTFLOW_SEMANTIC_CLASSES
from fcn_keras.data.decoding import read_image
from fcn_keras.data.examples import arrays_dataset, check_range, check_sizes, read_mat_array
from fcn_keras.data.files import check_files_exist
from fcn_keras.data.specs import SOURCE_KINDS, Source
from fcn_keras.data.voc import read_ids

SIFTFLOW_SUBSET = "spatial_envelope_256x256_static_8outdoorcategories"
"""The folder of each part (``Images``, ``SemanticLabels``, ``GeoLabels``) that holds the files."""

SIFTFLOW_URL = SOURCE_KINDS["siftflow"].where
"""The release the FCN authors name (their data/sift-flow/README.md)."""
SIFTFLOW_SPLITS = {"train": "trainval", "val": "test"}
"""The authors' two splits under the usual names too, for "siftflow:ROOT"."""

_FIX = f"Re-extract SiftFlowDataset.zip ({SIFTFLOW_URL})."
_SPLITS_FIX = ("The split files are the FCN authors' (fcn.berkeleyvision.org, data/sift-flow/trainval.txt and "
               "test.txt): copy them into the data set folder.")


def read_siftflow_labels(path, kind):
    """Reads one SIFT Flow label file and shifts it to class indices as the authors' data layer does.

    Semantic files hold 0 (void) and 1..33; geometric files hold -1 (void), 0 (also void)
    and 1..3. Value k becomes class k-1 and void becomes 255.

    Args:
        path: a ``SemanticLabels/.../*.mat`` or ``GeoLabels/.../*.mat`` file (variable ``S``).
        kind: ``"semantic"`` or ``"geometric"``.

    Returns:
        ``np.ndarray`` uint8 (H, W): 0..32 (semantic) or 0..2 (geometric), and 255.

    Raises:
        DataError: the file is unreadable or holds other values.

    Example:
        >>> import tempfile, scipy.io
        >>> path = os.path.join(tempfile.mkdtemp(), "a.mat")
        >>> scipy.io.savemat(path, {"S": np.array([[-1, 0, 1, 3]])})
        >>> read_siftflow_labels(path, "geometric").tolist()
        [[255, 255, 0, 2]]
    """
    raw = read_mat_array(path, "S", _FIX)
    if kind == "semantic":
        check_range(raw, 0, len(SIFTFLOW_SEMANTIC_CLASSES), path, "0 void, 1..33 semantic classes")
    elif kind == "geometric":
        check_range(raw, -1, len(SIFTFLOW_GEOMETRIC_CLASSES), path, "-1 void, 1..3 geometric classes")
        raw = np.where(raw == -1, 0, raw)
    else:
        raise ValueError(f"kind must be 'semantic' or 'geometric', got {kind!r}.")
    return ((raw - 1) % 256).astype(np.uint8)  # 0 (void) wraps to 255


def siftflow_segmentation(root, split="trainval"):
    """SIFT Flow as ``(image, {"semantic": mask, "geometric": mask})``, laid out as the authors read it.

    Args:
        root: the unpacked ``SiftFlowDataset`` folder holding ``Images/``, ``SemanticLabels/`` and
            ``GeoLabels/`` (each with a ``spatial_envelope_256x256_static_8outdoorcategories/``
            folder of ``{id}.jpg`` / ``{id}.mat``) and the authors' split files.
        split: ``"trainval"`` or ``"test"`` (any ``<root>/<split>.txt``), or a list of image ids.

    Returns:
        ``tf.data.Dataset`` of ``(uint8 (H, W, 3) RGB, {"semantic": uint8 (H, W), "geometric":
        uint8 (H, W)})`` in split order. Semantic values are 0..32 (see
        ``SIFTFLOW_SEMANTIC_CLASSES``), geometric 0..2 (sky, horizontal, vertical); 255 is void.

    Raises:
        DataError: a missing folder, split file or file, named with the fix.

    Example:
        >>> siftflow_segmentation("no_such_folder")
        Traceback (most recent call last):
        fcn_keras.data.checks.DataError: no_such_folder: missing folder(s) ['Images', 'SemanticLabels', ...; pass \
the folder unpacked from SiftFlowDataset.zip \
(http://www.cs.unc.edu/~jtighe/Papers/ECCV10/siftflow/SiftFlowDataset.zip), with the FCN authors' split files.
    """
    parts = ["Images", "SemanticLabels", "GeoLabels"]
    missing = [part for part in parts if not os.path.isdir(os.path.join(root, part, SIFTFLOW_SUBSET))]
    if missing:
        raise DataError(f"{root}: missing folder(s) {missing} (each with {SIFTFLOW_SUBSET}/); pass the folder "
                        f"unpacked from SiftFlowDataset.zip ({SIFTFLOW_URL}), with the FCN authors' split files.")
    if isinstance(split, str):
        split_file = os.path.join(root, f"{split}.txt")
        if not os.path.isfile(split_file) and split in ("trainval", "test"):
            raise DataError(f"{split_file}: split file not found. {_SPLITS_FIX}")
        ids = read_ids(split_file)
    else:
        ids = list(split)
    images, semantic, geometric = ([os.path.join(root, part, SIFTFLOW_SUBSET, f"{i}{ext}") for i in ids]
                                   for part, ext in zip(parts, [".jpg", ".mat", ".mat"]))
    check_files_exist(images, "SIFT Flow images", _FIX)
    check_files_exist(semantic, "SIFT Flow semantic label files", _FIX)
    check_files_exist(geometric, "SIFT Flow geometric label files", _FIX)

    def load(image_path, semantic_path, geometric_path):
        arrays = [read_image(image_path), read_siftflow_labels(semantic_path, "semantic"),
                  read_siftflow_labels(geometric_path, "geometric")]
        return check_sizes(arrays, [image_path, semantic_path, geometric_path])

    dataset = arrays_dataset([images, semantic, geometric], load,
                             [(tf.uint8, (None, None, 3)), (tf.uint8, (None, None)), (tf.uint8, (None, None))])
    return dataset.map(lambda image, sem, geo: (image, {"semantic": sem, "geometric": geo}))


def open_siftflow(request):
    """Opens "siftflow:ROOT" for `fcn_keras.data.open_source` (a `SourceRequest`): two heads."""
    root, = request.arguments
    dataset = siftflow_segmentation(root, SIFTFLOW_SPLITS.get(request.split, request.split))
    return Source(dataset, {head: len(names) for head, names in SIFTFLOW_HEADS.items()}, SIFTFLOW_HEADS)
