"""SavedModel export in the TF Serving layout: `base_dir/<version>/saved_model.pb`.

Signatures, all with dynamic batch, height and width:

* `serving_default`: `images` float32 (N, H, W, 3) RGB in [0, 255] ->
  `classes` int32 (N, H, W) and `probabilities` float32 (N, H, W, C).
* `predict_image_bytes`: `image_bytes` string (N,) of encoded JPEG/PNG/BMP/GIF
  (what TF Serving's REST API receives as `{"b64": ...}`) -> the same outputs,
  at the images' own size. The outputs are dense tensors, so every image of one
  call must have the same height and width; a batch that mixes sizes fails with
  INVALID_ARGUMENT ("all images of one predict_image_bytes call must have the same
  size") and TF Serving answers HTTP 400. Send images of different sizes in
  separate requests. An empty batch fails with INVALID_ARGUMENT ("predict_image_bytes
  needs at least one image"). Grayscale and RGBA images are converted to RGB;
  animated GIFs use their first frame.
* `logits`: `images` -> `logits` float32 (N, H, W, C), the raw class scores.

A model with several heads gives each output once per head, named `<head>_classes`,
`<head>_probabilities` and `<head>_logits` (e.g. `semantic_classes`). A model of several
inputs (NYUDv2's colour and depth) takes one float32 input per modality, named by it,
in `serving_default` and `logits`, and has no `predict_image_bytes`.

The signatures of a "paper"-geometry model run `fcn_keras.models.skip_border` of it:
the same outputs without convolving the 100-pixel zero border (about 30% less work
for VGG16 at 500x500). The TFLite files start from the plain graph (`write_logits_saved_model`).
"""

import os
import re
import shutil
import tempfile

import keras
import tensorflow as tf

from fcn_keras.models import load_fcn, skip_border
from fcn_keras.models.fcn_model import takes_named_inputs

IMAGES = "images"
IMAGE_BYTES = "image_bytes"
SIGNATURES = ("serving_default", "predict_image_bytes", "logits")
_VERSION = re.compile(r"^[0-9]+$")


def export_saved_model(model, base_dir, version=None):
    """Writes `model` as a new version of a TF Serving model folder.

    The version is written to a hidden temporary folder inside `base_dir` and
    renamed into place, so TF Serving (which watches `base_dir`) never sees a
    half-written version and no existing version is ever replaced.

    Args:
        model: an FCN `keras.Model` or the path of its `.keras` file.
        base_dir: the model's base folder (what TF Serving's `--model_base_path`
            points at); created if missing. It may hold only numeric version folders.
        version: a positive int; default the next free number (1 in a new folder).

    Returns:
        The path of the written version folder, `base_dir/<version>`.

    Raises:
        ValueError: `base_dir` holds something other than version folders, or
            `version` is not a positive int, or the model is not an FCN.
        FileExistsError: version `version` already exists.

    Example:
        >>> model = fcn_keras.build_fcn32s(21, backbone="vgg16_tiny", padding="same")
        >>> export_saved_model(model, "serving/fcn")
        'serving/fcn/1'
    """
    model = load_fcn(model)
    base_dir = os.fspath(base_dir)
    existing = saved_model_versions(base_dir) if os.path.exists(base_dir) else []
    if version is None:
        version = max(existing, default=0) + 1
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"version must be a positive int (TF Serving version folders are numbers), got {version!r}.")
    target = os.path.join(base_dir, str(version))
    if os.path.lexists(target):
        raise FileExistsError(
            f"Version {version} already exists at {target}; exports never overwrite. "
            "Leave version=None to take the next free number."
        )
    os.makedirs(base_dir, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".export-", dir=base_dir)
    try:
        # a model taking {modality: images} gets one named input per modality, and no predict_image_bytes
        signatures = [name for name in SIGNATURES if name != "predict_image_bytes" or not takes_named_inputs(model)]
        archive = _serving_archive(model, {name: _ENDPOINTS[name] for name in signatures})
        archive.write_out(os.path.join(staging, "model"), verbose=False)
        os.rename(os.path.join(staging, "model"), target)
    finally:
        shutil.rmtree(staging)
    return target


def saved_model_versions(base_dir):
    """Lists the version numbers of a TF Serving model folder, checking its layout.

    Hidden entries (names starting with ".") are ignored, as TF Serving does.

    Args:
        base_dir: an existing model base folder.

    Returns:
        Sorted list of ints, empty for an empty folder.

    Raises:
        NotADirectoryError: `base_dir` is a file.
        ValueError: `base_dir` holds files or folders that are not SavedModel
            versions (for instance a SavedModel itself, or unrelated files).

    Example:
        >>> model = fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", padding="same")
        >>> for version in (1, 3):  # SavedModels in numeric version folders
        ...     _ = write_logits_saved_model(model, f"serving/fcn/{version}")
        >>> saved_model_versions("serving/fcn")
        [1, 3]
    """
    base_dir = os.fspath(base_dir)
    if not os.path.isdir(base_dir):
        raise NotADirectoryError(f"{base_dir} is not a folder: give the model's base folder that holds 1/, 2/, ...")
    names = sorted(name for name in os.listdir(base_dir) if not name.startswith("."))
    strangers = [
        name
        for name in names
        if not (_VERSION.match(name) and os.path.isfile(os.path.join(base_dir, name, "saved_model.pb")))
    ]
    if strangers:
        hint = (
            " It looks like a SavedModel itself: give its parent folder, or move it into a numeric subfolder."
            if "saved_model.pb" in strangers
            else " Use an empty or new folder for the export."
        )
        raise ValueError(
            f"{base_dir} is not a TF Serving model folder: it holds {', '.join(strangers[:5])}"
            f"{' ...' if len(strangers) > 5 else ''}, but only numeric version folders with a "
            f"saved_model.pb belong there.{hint}"
        )
    return sorted(int(name) for name in names)


def write_logits_saved_model(model, path, image_shape=None):
    """Writes a one-signature SavedModel, `serving_default`: `images` -> `logits`.

    This is the form TFLite conversion starts from (`TFLiteConverter.from_saved_model`
    freezes Keras 3 variables, which `from_concrete_functions` does not), with the plain
    graph, not `skip_border`'s.

    Args:
        model: an FCN `keras.Model`.
        path: a folder that does not exist yet.
        image_shape: the input shape, default the model's with any batch size;
            fix (1, H, W, 3) for accelerators that need static shapes.

    Returns:
        `path`.

    Example:
        >>> model = fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", padding="same")
        >>> write_logits_saved_model(model, "logits_sm", (1, 256, 256, 3))
        'logits_sm'
        >>> sorted(os.listdir("logits_sm"))
        ['assets', 'fingerprint.pb', 'saved_model.pb', 'variables']
    """
    # The plain graph: XNNPack fails on skip_border's for int8 AlexNet and GoogLeNet (a double free, or "failed to
    # create XNNPACK runtime").
    archive = _serving_archive(model, {"serving_default": _ENDPOINTS["logits"]}, image_shape, skip_zero_border=False)
    archive.write_out(path, verbose=False)
    return path


def _serving_archive(model, endpoints, image_shape=None, skip_zero_border=True):
    """An ExportArchive of `model`'s endpoints; with `skip_zero_border` a "paper" model's zero border costs nothing
    in them (`skip_border`, the same outputs)."""
    image_shape = tuple(image_shape or (None, *_first_input(model).shape[1:]))
    served = skip_border(model, warn=False) if skip_zero_border else model
    archive = keras.export.ExportArchive()
    archive.track(served)
    forward = _traced_once(served)
    for name, (make_function, input_spec) in endpoints.items():
        spec = {modality: _images_spec((*image_shape[:3], tensor.shape[-1]), modality)
                for modality, tensor in model.input.items()} if takes_named_inputs(model) else input_spec(image_shape)
        archive.add_endpoint(name, make_function(forward), input_signature=[spec])
    return archive


def _traced_once(model):
    """`model` at inference as one `tf.function`, which the endpoints call: those whose images have one spec share
    one trace of it (a `skip_border` graph takes seconds to trace)."""
    forward = tf.function(lambda images: model(images, training=False))
    return lambda images, training=False: forward(images)


def check_one_input(model, what):
    """Refuses a model of several inputs where an export format takes one image tensor.

    Example:
        >>> check_one_input(fcn_keras.build_fcn32s(3, backbone="vgg16_tiny"), "TFLite")
    """
    if takes_named_inputs(model):
        raise ValueError(f"{what} export takes models of one input, and {model.name!r} takes "
                         f"{', '.join(model.input)}; export it as a SavedModel (export_saved_model), which takes "
                         "one input per modality.")


def _first_input(model):
    return next(iter(model.input.values())) if takes_named_inputs(model) else model.input


def _segment(model, images):
    return per_head(model(images, training=False), classes_and_probabilities)


def classes_and_probabilities(logits):
    """The `serving_default` outputs of logits (N, H, W, C): int32 classes and softmax probabilities.

    Example:
        >>> outputs = classes_and_probabilities(tf.constant([[[[1.0, 3.0]]]]))
        >>> outputs["classes"].numpy().tolist(), outputs["probabilities"].shape
        ([[[1]]], TensorShape([1, 1, 1, 2]))
    """
    # tf.argmax, not keras.ops.argmax: the latter lowers to ops TFLite only has with Flex.
    return {"classes": tf.argmax(logits, axis=-1, output_type=tf.int32), "probabilities": tf.nn.softmax(logits)}


def per_head(logits, outputs):
    """A signature's outputs, `outputs(logits)`; for a model with several heads each head's, named
    "<head>_<output>" (e.g. "semantic_classes").

    Example:
        >>> sorted(per_head({"semantic": 1, "geometric": 2}, lambda scores: {"logits": scores}))
        ['geometric_logits', 'semantic_logits']
    """
    if isinstance(logits, dict):
        return {f"{head}_{key}": value for head, scores in logits.items() for key, value in outputs(scores).items()}
    return outputs(logits)


def decode_same_size_images(image_bytes):
    """A batch of encoded images (JPEG/PNG bytes) decoded to float32 RGB (N, H, W, 3); a graph assertion
    refuses an empty batch or images of different sizes, in words a client can act on."""
    not_empty = tf.debugging.assert_positive(
        tf.size(image_bytes), message="predict_image_bytes needs at least one image; the batch is empty"
    )
    with tf.control_dependencies([not_empty]):
        first_size = tf.shape(_decode(image_bytes[0]))[:2]

    def decode_checked(encoded):
        image = _decode(encoded)
        check = tf.debugging.assert_equal(
            tf.shape(image)[:2],
            first_size,
            message="all images of one predict_image_bytes call must have the same size; "
            "send images of different sizes in separate requests",
        )
        with tf.control_dependencies([check]):
            return tf.identity(image)

    return tf.map_fn(decode_checked, image_bytes, fn_output_signature=tf.TensorSpec([None, None, 3], tf.float32))


def _decode(encoded):
    image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
    return tf.cast(image, tf.float32)


def _images_spec(image_shape, name=IMAGES):
    return tf.TensorSpec(image_shape, tf.float32, name=name)


def _image_bytes_spec(image_shape):
    return tf.TensorSpec(image_shape[:1], tf.string, name=IMAGE_BYTES)


# name -> (function of the model returning the endpoint, input spec of the image shape)
_ENDPOINTS = {
    "serving_default": (lambda model: lambda images: _segment(model, images), _images_spec),
    "predict_image_bytes": (
        lambda model: lambda image_bytes: _segment(model, decode_same_size_images(image_bytes)),
        _image_bytes_spec,
    ),
    "logits": (lambda model: lambda images: per_head(model(images, training=False), lambda logits: {"logits": logits}),
               _images_spec),
}
