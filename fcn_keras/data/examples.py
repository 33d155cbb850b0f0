"""Helpers of the multi-file readers (SIFT Flow, NYUDv2, PASCAL-Context): .mat label maps, size checks, tf.data."""

import numpy as np
import scipy.io
import tensorflow as tf

from fcn_keras.data.checks import DataError

_MAT_ERRORS = (OSError, ValueError, KeyError, IndexError, TypeError, NotImplementedError,
               scipy.io.matlab.MatReadError)


def read_mat_array(path, key, fix):
    """Reads the 2-D integer array stored under ``key`` in a MATLAB ``.mat`` file.

    Args:
        path: the ``.mat`` file.
        key: the variable name, e.g. ``"S"`` or ``"LabelMap"``.
        fix: how to repair a bad file, appended to error messages.

    Returns:
        ``np.ndarray`` (H, W) of integers (int64).

    Raises:
        DataError: the file is missing or unreadable, lacks ``key``, or holds no 2-D map of whole numbers.

    Example:
        >>> read_mat_array("no_such.mat", "S", "Re-extract the data set.")
        Traceback (most recent call last):
        fcn_keras.data.checks.DataError: no_such.mat: cannot read the label map 'S' (file not found). Re-extract ...
    """
    try:
        array = scipy.io.loadmat(path)[key]
    except FileNotFoundError:
        raise DataError(f"{path}: cannot read the label map {key!r} (file not found). {fix}") from None
    except KeyError:
        raise DataError(f"{path}: has no variable {key!r}. {fix}") from None
    except _MAT_ERRORS as error:
        raise DataError(f"{path}: cannot read the label map {key!r} ({error!r}). {fix}") from None
    array = np.asarray(array)
    if array.ndim != 2 or not (np.issubdtype(array.dtype, np.number) and np.all(np.isfinite(array))
                               and np.all(array == np.round(array))):
        raise DataError(f"{path}: {key!r} is not a 2-D map of whole numbers (dtype {array.dtype}, shape "
                        f"{array.shape}). {fix}")
    return array.astype(np.int64)


def check_range(raw, low, high, path, meaning):
    """Raises :class:`DataError` naming ``path`` unless every value of ``raw`` lies in ``low..high``.

    Args:
        raw: integer array as stored in the file.
        low: the smallest allowed value.
        high: the largest allowed value.
        path: the file, for the message.
        meaning: what the allowed values mean, for the message.

    Returns:
        ``raw`` unchanged.

    Example:
        >>> check_range(np.array([[0, 34]]), 0, 33, "a.mat", "0 void, 1..33 classes")
        Traceback (most recent call last):
        fcn_keras.data.checks.DataError: a.mat: label values [34] lie outside 0..33 (0 void, 1..33 classes) in 1 ...
    """
    bad = np.unique(raw[(raw < low) | (raw > high)])
    if bad.size:
        raise DataError(f"{path}: label values {bad.tolist()[:10]} lie outside {low}..{high} ({meaning}) in "
                        f"{int(np.isin(raw, bad).sum())} pixels; the file is not from this data set's release.")
    return raw


def check_sizes(arrays, paths):
    """Raises :class:`DataError` unless all ``arrays`` share their height and width; the message lists the files.

    Args:
        arrays: NumPy arrays (H, W, ...) of one example.
        paths: the file each came from, same order.

    Returns:
        ``arrays`` unchanged.

    Example:
        >>> check_sizes([np.zeros((2, 3, 3)), np.zeros((2, 4))], ["a.png", "a.mat"])
        Traceback (most recent call last):
        fcn_keras.data.checks.DataError: the files of one example differ in size (WxH): a.png 3x2, a.mat 4x2; ...
    """
    sizes = [array.shape[:2] for array in arrays]
    if len(set(sizes)) > 1:
        listed = ", ".join(f"{path} {w}x{h}" for path, (h, w) in zip(paths, sizes))
        raise DataError(f"the files of one example differ in size (WxH): {listed}; they must share the image's "
                        "size (re-extract the data set).")
    return arrays


def arrays_dataset(columns, load, outputs):
    """Dataset of the arrays ``load`` makes from each row of file paths, in row order, decoded in parallel.

    Args:
        columns: lists of path strings of equal length; row ``i`` is one example's files.
        load: ``f(*paths) -> tuple of np.ndarray``, run in Python; its :class:`DataError` surfaces as
            ``tf.errors.InvalidArgumentError`` with the same message.
        outputs: ``(tf.DType, shape)`` of each array ``load`` returns.

    Returns:
        ``tf.data.Dataset`` of tuples of tensors.

    Example:
        >>> ds = arrays_dataset([["a", "b"]], lambda p: (np.full((1, 2), len(p), np.uint8),), [(tf.uint8, (None, 2))])
        >>> [t.numpy().tolist() for (t,) in ds]
        [[[1, 1]], [[1, 1]]]
    """
    if not columns or not columns[0]:
        raise DataError("No examples to read: the split is empty.")
    dtypes = [dtype for dtype, _ in outputs]

    def run(*paths):
        return tuple(load(*(p.decode() for p in paths)))

    def decode(*paths):
        tensors = tf.numpy_function(run, list(paths), dtypes, stateful=False)
        for tensor, (_, shape) in zip(tensors, outputs):
            tensor.set_shape(shape)
        return tuple(tensors)

    paths = tf.data.Dataset.from_tensor_slices(tuple([str(p) for p in column] for column in columns))
    return paths.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
