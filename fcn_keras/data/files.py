"""tf.data pipeline over (image file, mask file) pairs, decoded in parallel with clear errors."""

import os

import tensorflow as tf

from fcn_keras.data.checks import check_labels
from fcn_keras.data.decoding import DataError, check_same_size, read_image, read_mask


def check_folders(root, folders, fix):
    """Raises :class:`DataError` naming the folders of a data set's layout missing under ``root``.

    Args:
        root: the data set's folder.
        folders: the folders it must hold, relative to ``root``.
        fix: how to repair it (which folder to pass, where to get it), appended to the message.

    Returns:
        None.

    Example:
        >>> check_folders("VOC2012", ["JPEGImages"], "pass the VOCdevkit/VOC20xx folder.")
        Traceback (most recent call last):
        fcn_keras.data.checks.DataError: VOC2012: missing folder(s) ['JPEGImages']; pass the VOCdevkit/VOC20xx folder.
    """
    missing = [folder for folder in folders if not os.path.isdir(os.path.join(root, folder))]
    if missing:
        raise DataError(f"{root}: missing folder(s) {missing}; {fix}")


def check_files_exist(paths, what, fix):
    """Raises :class:`DataError` naming the missing files among ``paths`` (eager, cheap).

    Args:
        paths: file paths that must exist.
        what: what the files are, for the message (e.g. "VOC masks").
        fix: how to repair it, appended to the message.

    Returns:
        None.

    Example:
        >>> check_files_exist(["a.png"], "masks", "Re-download the data set.")
        Traceback (most recent call last):
        fcn_keras.data.checks.DataError: 1 of 1 masks missing: a.png. Re-download the data set.
    """
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        shown = ", ".join(str(p) for p in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise DataError(f"{len(missing)} of {len(paths)} {what} missing: {shown}. {fix}")


def python_pair(load, inputs):
    """Runs the NumPy function ``load(*inputs) -> (image, mask)`` inside a tf.data graph.

    Its exceptions (e.g. :class:`DataError` naming a file) surface as
    ``tf.errors.InvalidArgumentError`` with the same message.

    Args:
        load: Python function of NumPy values returning uint8 (H, W, 3) and uint8 (H, W).
        inputs: the tensors to pass it.

    Returns:
        ``(image, mask)`` uint8 tensors with shapes (None, None, 3) and (None, None).

    Example:
        >>> from fcn_keras.data import write_mask
        >>> _ = write_mask("a.png", np.array([[0, 1], [2, 255]]))
        >>> load = lambda path: (read_image(path.decode()), read_mask(path.decode()))
        >>> ds = tf.data.Dataset.from_tensor_slices(["a.png"]).map(lambda path: python_pair(load, [path]))
        >>> image, mask = next(iter(ds))
        >>> image.shape, mask.numpy().tolist()
        (TensorShape([2, 2, 3]), [[0, 1], [2, 255]])
    """
    image, mask = tf.numpy_function(load, list(inputs), [tf.uint8, tf.uint8], stateful=False)
    image.set_shape((None, None, 3))
    mask.set_shape((None, None))
    return image, mask


def file_pairs_dataset(image_paths, mask_paths, mask_reader=read_mask, num_classes=None):
    """Dataset of ``(image, mask)`` decoded from file pairs, in the given order.

    Decoding runs in parallel (order kept) through Pillow, so palette PNGs give their
    indices and every failure names its file: a corrupt or truncated image, an image/mask
    size mismatch, or (with ``num_classes``) mask values that are not class indices or 255.

    Args:
        image_paths: list of image file paths (any format Pillow reads).
        mask_paths: list of mask file paths, same length, paired by position.
        mask_reader: ``f(path) -> uint8 (H, W)``; defaults to :func:`read_mask` (PNG).
        num_classes: if given, masks are checked against it.

    Returns:
        ``tf.data.Dataset`` of ``(uint8 (H, W, 3), uint8 (H, W))``.

    Example:
        >>> from PIL import Image
        >>> from fcn_keras.data import write_mask
        >>> Image.new("RGB", (5, 4)).save("a.jpg")
        >>> _ = write_mask("a.png", np.full((4, 5), 20))
        >>> ds = file_pairs_dataset(["a.jpg"], ["a.png"], num_classes=21)
        >>> image, mask = next(iter(ds))
        >>> image.shape, mask.shape
        (TensorShape([4, 5, 3]), TensorShape([4, 5]))
    """
    if len(image_paths) != len(mask_paths):
        raise ValueError(f"{len(image_paths)} images but {len(mask_paths)} masks; pair them one to one.")
    if not image_paths:
        raise DataError("No (image, mask) pairs to read: the split or folder is empty.")

    def load(image_path, mask_path):
        image_path, mask_path = image_path.decode(), mask_path.decode()
        image = read_image(image_path)
        mask = mask_reader(mask_path)
        if num_classes is not None:
            check_labels(mask, num_classes, mask_path)
        return check_same_size(image, mask, f"{image_path} / {mask_path}")

    paths = tf.data.Dataset.from_tensor_slices(([str(p) for p in image_paths], [str(p) for p in mask_paths]))
    return paths.map(lambda *inputs: python_pair(load, inputs), num_parallel_calls=tf.data.AUTOTUNE,
                     deterministic=True)
