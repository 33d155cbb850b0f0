"""What the local server serves: one exported model, loaded once, as its signatures.

`ModelSource` loads the newest version of a TF Serving model folder (as TF Serving's
default version policy does), or a `.tflite` or OpenVINO `.xml` file run by its own
runtime (served as version 1, with the SavedModel's three signatures). The REST API
asks it for the model at each request (`current()`), so that what is served can be
swapped in one place.
"""

import os
import typing

import tensorflow as tf

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


class ModelSource:
    """Loads an exported model for the server and hands it to the REST API.

    Args:
        export_dir: a TF Serving model folder (`export_dir/<version>/saved_model.pb`),
            as written by `export_saved_model`; with `runtime` "tflite" or "openvino",
            the `.tflite` or `.xml` file `export_tflite` or `export_openvino` wrote.
        runtime: "saved_model" (TensorFlow), or "tflite" or "openvino" for a model file.

    Raises:
        FileNotFoundError: the folder holds no model version.

    `fcn_keras.export.rest.RestApi`'s example serves one.
    """

    def __init__(self, export_dir, runtime="saved_model"):
        self._served = _load_saved_model(export_dir) if runtime == "saved_model" else _load_file(export_dir, runtime)

    def current(self):
        """Returns the `ServedModel` requests are answered with."""
        return self._served


def _load_saved_model(export_dir):
    version, path = _newest_version(export_dir)
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
