"""TFRecords in the TF Model Garden segmentation layout.

Each record is a ``tf.train.Example`` with ``image/encoded`` (PNG or JPEG bytes),
``image/segmentation/class/encoded`` (a PNG of class indices), their formats and the
image size, so files from Model Garden's converters read here and files written here
read there.
"""

import os

import numpy as np
import tensorflow as tf

from fcn_keras.data.checks import DataError
from fcn_keras.data.decoding import check_same_size, read_image, read_mask
from fcn_keras.data.files import python_pair
from fcn_keras.data.specs import Source

IMAGE_KEY = "image/encoded"
MASK_KEY = "image/segmentation/class/encoded"


def _bytes(value):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _int(value):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))


def encode_example(image, mask, image_format="png"):
    """Serializes one ``(image, mask)`` pair as a Model Garden segmentation ``tf.train.Example``.

    Args:
        image: uint8 (H, W, 3) RGB.
        mask: uint8 (H, W) class indices (stored losslessly as a grayscale PNG).
        image_format: ``"png"`` (lossless) or ``"jpeg"`` (quality 95, smaller).

    Returns:
        the serialized example (bytes).

    Example:
        >>> record = encode_example(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8))
    """
    image, mask = np.asarray(image, np.uint8), np.asarray(mask, np.uint8)
    check_same_size(image, mask, "encode_example")
    if image_format == "png":
        encoded = tf.io.encode_png(image)
    elif image_format == "jpeg":
        encoded = tf.io.encode_jpeg(image, quality=95)
    else:
        raise ValueError(f"image_format must be 'png' or 'jpeg', got {image_format!r}.")
    features = {
        IMAGE_KEY: _bytes(encoded.numpy()),
        "image/format": _bytes(image_format.encode()),
        "image/height": _int(image.shape[0]),
        "image/width": _int(image.shape[1]),
        MASK_KEY: _bytes(tf.io.encode_png(mask[..., None]).numpy()),
        "image/segmentation/class/format": _bytes(b"png"),
    }
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def write_tfrecords(dataset, path, shards=1, image_format="png"):
    """Writes an ``(image, mask)`` dataset to sharded TFRecord files.

    Example ``i`` goes to shard ``i % shards``, so :func:`tfrecord_dataset` reads them back in
    the written order.

    Args:
        dataset: ``tf.data.Dataset`` (or iterable) of ``(uint8 (H, W, 3), uint8 (H, W))``.
        path: output prefix; files are ``{path}-00000-of-0000N.tfrecord``. Folders are created.
        shards: number of files.
        image_format: ``"png"`` (lossless) or ``"jpeg"``.

    Returns:
        list of the written file paths.

    Example:
        >>> write_tfrecords(synthetic_shapes(8, (32, 32)), "shapes/train", shards=2)
        ['shapes/train-00000-of-00002.tfrecord', 'shapes/train-00001-of-00002.tfrecord']
        >>> ds = tfrecord_dataset("shapes/train-*.tfrecord")
        >>> len(list(ds))
        8
    """
    if shards < 1:
        raise ValueError(f"shards must be >= 1, got {shards}.")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    files = [f"{path}-{i:05d}-of-{shards:05d}.tfrecord" for i in range(shards)]
    writers = [tf.io.TFRecordWriter(f) for f in files]
    try:
        for index, (image, mask) in enumerate(dataset):
            writers[index % shards].write(encode_example(image, mask, image_format))
    finally:
        for writer in writers:
            writer.close()
    return files


def tfrecord_dataset(pattern, num_classes=None, cycle_length=16):
    """Reads segmentation TFRecords (``image/encoded``, ``image/segmentation/class/encoded``).

    Masks may be grayscale or palette PNGs (palette indices are read, not colours). A bad
    record fails with an error naming its file and record number.

    Args:
        pattern: a glob (``"data/train-*.tfrecord"``) or a file path.
        num_classes: if given, masks are checked to hold only ``0..num_classes-1`` and 255.
        cycle_length: files read at once, interleaved one record at a time.

    Returns:
        ``tf.data.Dataset`` of ``(uint8 (H, W, 3), uint8 (H, W))``, in a deterministic order
        (the written order for files from :func:`write_tfrecords` with ``shards <= cycle_length``).

    Example:
        >>> _ = write_tfrecords(synthetic_shapes(4, (32, 48)), "shapes/train", shards=2)
        >>> ds = tfrecord_dataset("shapes/train-*.tfrecord", num_classes=5)
        >>> image, mask = next(iter(ds))
        >>> image.shape, mask.shape
        (TensorShape([32, 48, 3]), TensorShape([32, 48]))
    """
    files = sorted(tf.io.gfile.glob(pattern))
    if not files:
        raise DataError(f"{pattern}: no TFRecord files match this pattern; check the path.")
    # Missing keys parse as b"" and are reported with the record's file below.
    spec = {key: tf.io.FixedLenFeature([], tf.string, default_value="") for key in (IMAGE_KEY, MASK_KEY)}

    def decode(file, index, image_bytes, mask_bytes):
        where = f"{file.decode()} record {index}"
        for key, value in ((IMAGE_KEY, image_bytes), (MASK_KEY, mask_bytes)):
            if not value:
                raise DataError(f"{where}: the {key!r} feature is missing or empty; segmentation records "
                                f"need {IMAGE_KEY!r} and {MASK_KEY!r}.")
        image = read_image(image_bytes, where)
        mask = read_mask(mask_bytes, where, num_classes)
        return check_same_size(image, mask, where)

    def parse(file, index, record):
        features = tf.io.parse_single_example(record, spec)
        return python_pair(decode, [file, index, features[IMAGE_KEY], features[MASK_KEY]])

    def records(file):
        return tf.data.TFRecordDataset(file).enumerate().map(lambda index, record: (file, index, record))

    dataset = tf.data.Dataset.from_tensor_slices(files).interleave(
        records, cycle_length=min(cycle_length, len(files)), block_length=1)
    return dataset.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def open_tfrecord(request):
    """Opens "tfrecord:PATTERN" for `fcn_keras.data.open_source` (a `SourceRequest`), of the classes given."""
    pattern, = request.arguments
    return Source(tfrecord_dataset(pattern, num_classes=request.num_classes), request.num_classes, None)
