"""What the local server serves: one exported model, as its signatures, and its newer versions.

`ModelSource` loads the newest version of a TF Serving model folder (as TF Serving's
default version policy does), or a `.tflite` or OpenVINO `.xml` file run by its own
runtime (served as version 1, with the SavedModel's three signatures). The REST API
asks it for the model at each request (`current()`), so that what is served can be
swapped in one place: `poll()` loads a newer version folder beside the served one and
then switches to it, as TF Serving does when a version appears; a request that
started on the old version finishes on it, and the old version is freed after.
"""

import os
import threading
import typing

import tensorflow as tf

from fcn_keras.error_text import plain_message
from fcn_keras.export.runtime_models import load_runtime_model
from fcn_keras.export.saved_model import (
    IMAGE_BYTES,
    IMAGES,
    classes_and_probabilities,
    decode_same_size_images,
    per_head,
    saved_model_versions,
)


class Signature(typing.NamedTuple):
    """What a request can call: `call(**tensors) -> {output name: tensor or array}`, its inputs `{name: TensorSpec}`."""

    inputs: dict
    call: typing.Callable


class ServedModel(typing.NamedTuple):
    """One loaded version: its number, `{name: Signature}`, and the SignatureDefs as TF Serving's metadata API
    prints them; `loaded` is the object the signatures run on (kept referenced: they need its variables)."""

    version: int
    signatures: dict
    signature_defs: dict
    loaded: object


class VersionStatus(typing.NamedTuple):
    """A version a `ModelSource` knows, in TF Serving's words: its number, its `state` ("LOADING", "AVAILABLE" for
    the served one, or "END": replaced, or failed to load) and, for a failed load, why (`error`, else "")."""

    version: int
    state: str
    error: str = ""


class ModelSource:
    """Loads an exported model for the server, hands it to the REST API, and moves to newer versions.

    Args:
        export_dir: a TF Serving model folder (`export_dir/<version>/saved_model.pb`),
            as written by `export_saved_model`; with `runtime` "tflite" or "openvino",
            the `.tflite` or `.xml` file `export_tflite` or `export_openvino` wrote.
        runtime: "saved_model" (TensorFlow), or "tflite" or "openvino" for a model file.

    Raises:
        FileNotFoundError: the folder holds no model version.

    Attributes:
        watches: whether `poll()` looks for new versions (a SavedModel folder does; a model file is served as it is).

    Example:
        >>> from fcn_keras.export.saved_model import export_saved_model
        >>> model = fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", padding="same")
        >>> _ = export_saved_model(model, "serving/fcn")
        >>> source = ModelSource("serving/fcn")
        >>> source.poll(), source.current().version  # nothing new
        (None, 1)
        >>> _ = export_saved_model(model, "serving/fcn")
        >>> source.poll()
        VersionStatus(version=2, state='AVAILABLE', error='')
        >>> [(status.version, status.state) for status in source.versions()]
        [(2, 'AVAILABLE'), (1, 'END')]
    """

    def __init__(self, export_dir, runtime="saved_model"):
        self.watches = runtime == "saved_model"
        self._export_dir = export_dir
        self._served = _load_saved_model(*_newest_version(export_dir)) if self.watches else _load_file(
            export_dir, runtime)
        self._statuses = {self._served.version: VersionStatus(self._served.version, "AVAILABLE")}
        self._failed = {}  # version -> modification time of its folder when it failed to load
        self._polling = threading.Lock()  # one poll at a time
        self._statuses_lock = threading.Lock()  # the statuses are read by requests while a poll writes them

    def current(self):
        """Returns the `ServedModel` requests are answered with."""
        return self._served

    def versions(self):
        """Returns the `VersionStatus` of each version served, loading, replaced or failed, newest first."""
        with self._statuses_lock:
            return sorted(self._statuses.values(), reverse=True)

    def poll(self):
        """Looks once for a version newer than the served one, and if there is one, loads it and serves it.

        The newest version folder above the served version is loaded, while requests keep being answered by
        the served one. Lower or equal versions are ignored, and so is a version that failed to load until its
        folder changes (the next newest is tried); a folder that cannot be read holds nothing new.

        Returns:
            The new version's `VersionStatus`: "AVAILABLE" once it serves, or "END" with its `error` when it
            did not load (the served version stays); None when there was nothing new to load.
        """
        if not self.watches:
            return None
        with self._polling:
            newer = {version: path for version, path in _version_folders(self._export_dir).items()
                     if version > self._served.version and not self._failed_as_it_is(version, path)}
            if not newer:
                return None
            version = max(newer)
            path, modified = newer[version], _modified(newer[version])
            self._set_status(VersionStatus(version, "LOADING"))
            try:
                served = _load_saved_model(version, path)
                _check_same_signatures(served, self._served)
            except Exception as error:  # any fault of the folder, or another kind of model: the served version stays
                self._failed[version] = modified
                return self._set_status(VersionStatus(version, "END", plain_message(error)))
            previous, self._served = self._served, served
            return self._set_status(VersionStatus(previous.version, "END"), VersionStatus(version, "AVAILABLE"))

    def _failed_as_it_is(self, version, path):
        """Whether `version` failed to load and its folder has not changed since."""
        return version in self._failed and self._failed[version] == _modified(path)

    def _set_status(self, *statuses):
        """Records `statuses` at once (a switch ends one version as another becomes available); returns the last."""
        with self._statuses_lock:
            self._statuses.update((status.version, status) for status in statuses)
        return statuses[-1]


def _load_saved_model(version, path):
    loaded = tf.saved_model.load(path)
    signatures = {name: Signature(function.structured_input_signature[1], function)
                  for name, function in loaded.signatures.items()}
    return ServedModel(version, signatures, _signature_defs(path), loaded)


def _load_file(path, runtime):
    model = load_runtime_model(path, runtime)
    return ServedModel(1, _runtime_signatures(model), _runtime_signature_defs(model), model)


def _newest_version(export_dir):
    """(version, its folder) of the newest version in a TF Serving model folder."""
    versions = saved_model_versions(export_dir)
    if not versions:
        raise FileNotFoundError(
            f"{export_dir} holds no model version: export one with fcn_keras.export.export_saved_model "
            "(or `fcn-keras export MODEL.keras --format saved_model --output DIR`)."
        )
    return versions[-1], os.path.join(export_dir, str(versions[-1]))


def _version_folders(export_dir):
    """{version: its folder} of the numeric folders that hold a saved_model.pb, empty when `export_dir` cannot be
    read; anything else in the folder is ignored, as TF Serving does."""
    try:
        names = os.listdir(export_dir)
    except OSError:
        return {}
    folders = {name: os.path.join(export_dir, name) for name in names if name.isascii() and name.isdigit()}
    return {int(name): path for name, path in folders.items() if os.path.isfile(os.path.join(path, "saved_model.pb"))}


def _modified(path):
    """The latest modification time of a folder and the entries directly in it (a rewritten saved_model.pb too)."""
    try:
        with os.scandir(path) as entries:
            return max([os.stat(path).st_mtime_ns, *(entry.stat().st_mtime_ns for entry in entries)])
    except OSError:
        return None


def _signature_defs(path):
    """The SignatureDef map as TF Serving's metadata API prints it (proto field names)."""
    from google.protobuf import json_format
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as file:
        saved_model.ParseFromString(file.read())
    signatures = saved_model.meta_graphs[0].signature_def
    return {
        key: json_format.MessageToDict(value, preserving_proto_field_name=True)
        for key, value in signatures.items()
        if not key.startswith("__")  # internal entries such as __saved_model_init_op
    }


def _runtime_signatures(model):
    """The SavedModel's signatures (serving_default, predict_image_bytes, logits), run by an exported file."""
    images = {IMAGES: tf.TensorSpec(model.input.shape, tf.float32, name=IMAGES)}

    def logits(images):
        return model.predict_on_batch(images.numpy())

    def segment(images):
        return per_head(logits(images), classes_and_probabilities)

    return {
        "serving_default": Signature(images, segment),
        "predict_image_bytes": Signature({IMAGE_BYTES: tf.TensorSpec((None,), tf.string, name=IMAGE_BYTES)},
                                         lambda image_bytes: segment(decode_same_size_images(image_bytes))),
        "logits": Signature(images, lambda images: per_head(logits(images), lambda scores: {"logits": scores})),
    }


def _runtime_signature_defs(model):
    """`_runtime_signatures`' SignatureDefs as TF Serving's metadata API prints them."""

    def info(dtype, shape):
        return {"dtype": dtype, "tensor_shape": {"dim": [{"size": str(-1 if side is None else side)}
                                                         for side in shape]}}

    images = {IMAGES: info("DT_FLOAT", model.input.shape)}
    segments = per_head(model.output, lambda spec: {"classes": info("DT_INT32", spec.shape[:-1]),
                                                     "probabilities": info("DT_FLOAT", spec.shape)})
    signatures = {
        "serving_default": (images, segments),
        "predict_image_bytes": ({IMAGE_BYTES: info("DT_STRING", (None,))}, segments),
        "logits": (images, per_head(model.output, lambda spec: {"logits": info("DT_FLOAT", spec.shape)})),
    }
    return {name: {"inputs": inputs, "outputs": outputs, "method_name": "tensorflow/serving/predict"}
            for name, (inputs, outputs) in signatures.items()}


def _check_same_signatures(new, served):
    """Refuses a new version that lacks signatures the served one answers (a SavedModel written otherwise than by
    `export_saved_model`): requests that work now would fail after the switch."""
    missing = sorted(set(served.signatures) - set(new.signatures))
    if missing:
        raise ValueError(f"it lacks the signatures {', '.join(missing)} that version {served.version} answers; "
                         "export it with fcn_keras.export.export_saved_model (fcn-keras export --format saved_model)")
