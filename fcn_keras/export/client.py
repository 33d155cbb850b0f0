"""REST client for an FCN served by TF Serving (or by `fcn_keras.export.server`).

This module itself uses only NumPy and the standard library, but importing it as
`fcn_keras.export.client` (or `from fcn_keras.export import ServingClient`) imports
the fcn_keras package and with it TensorFlow. On a machine without TensorFlow,
copy this file next to your code and `from client import ServingClient`
(`export/rest_client_example.py` falls back to exactly that), or send the JSON
yourself with urllib (export/README.md shows how). Float images go to the
`serving_default` signature; encoded JPEG/PNG bytes go to `predict_image_bytes`
as `{"b64": ...}`, which keeps requests small. `class_map_arguments` is the command
line the example scripts in `export/` share.
"""

import argparse
import base64
import json
import urllib.error
import urllib.request

import numpy as np

_DTYPES = {"classes": np.int32}  # every other output is float32


class ServingError(Exception):
    """An error answer of a TF Serving REST endpoint.

    Attributes:
        status: the HTTP status (400 malformed request or rejected input, 404 unknown
            model/version/route, 500 server error).
        message: the server's `"error"` text.
    """

    def __init__(self, status, message):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class ServingClient:
    """Calls TF Serving's REST API for one model.

    Args:
        url: the server's base URL, e.g. "http://localhost:8501".
        model_name: the served model's name (TF Serving's `--model_name`).
        version: a version number to pin, or None for the newest one served.
        timeout: seconds to wait for each answer.

    Example:
        A model exported with `export_saved_model` and served on this machine by
        `fcn_keras.export.server.ModelServer` (TF Serving at "http://localhost:8501" answers the same):

        >>> from PIL import Image
        >>> from fcn_keras.export.saved_model import export_saved_model
        >>> from fcn_keras.export.server import ModelServer
        >>> _ = export_saved_model(fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", padding="same"), "serving/fcn")
        >>> server = ModelServer("serving/fcn", port=0).start()
        >>> client = ServingClient(server.url, "fcn")
        >>> client.status()["model_version_status"][0]["state"]
        'AVAILABLE'
        >>> sorted(client.metadata()["metadata"]["signature_def"]["signature_def"])
        ['logits', 'predict_image_bytes', 'serving_default']
        >>> Image.new("RGB", (500, 375)).save("cat.jpg")
        >>> client.predict(open("cat.jpg", "rb").read())["classes"].shape
        (1, 375, 500)
        >>> client.predict(np.zeros((64, 64, 3), np.float32))["probabilities"].shape
        (1, 64, 64, 3)
        >>> server.stop()
    """

    def __init__(self, url="http://localhost:8501", model_name="fcn", version=None, timeout=60.0):
        self.model_url = f"{url.rstrip('/')}/v1/models/{model_name}"
        if version is not None:
            self.model_url += f"/versions/{int(version)}"
        self.timeout = timeout
        self._metadata = None

    def status(self):
        """Returns the model's version status, as TF Serving reports it.

        Returns:
            A dict like `{"model_version_status": [{"version": "1", "state": "AVAILABLE", ...}]}`.
        """
        return self._call(self.model_url)

    def metadata(self):
        """Returns the model's metadata: the model spec and every signature's inputs and outputs.

        Returns:
            A dict `{"model_spec": {...}, "metadata": {"signature_def": {"signature_def": {NAME: ...}}}}`.
        """
        self._metadata = self._call(self.model_url + "/metadata")
        return self._metadata

    def predict(self, images, signature_name=None, request_format="instances"):
        """Segments images on the server.

        Args:
            images: float RGB in [0, 255] as an array (H, W, 3) or (N, H, W, 3);
                or encoded image files as `bytes` or a list of `bytes` (all of one
                size: one request returns one dense batch).
            signature_name: default "serving_default" for arrays and
                "predict_image_bytes" for bytes; "logits" for raw scores.
            request_format: "instances" (row format) or "inputs" (columnar).

        Returns:
            A dict of NumPy arrays keyed by output name, e.g. "classes" int32
            (N, H, W) and "probabilities" float32 (N, H, W, C).

        Raises:
            ServingError: the server answered with an error.
            ValueError: `images` is not an RGB array or bytes, or the format is unknown.
        """
        if request_format not in ("instances", "inputs"):
            raise ValueError(f"request_format must be 'instances' or 'inputs', got {request_format!r}.")
        key, values, default_signature = _encode(images)
        signature_name = signature_name or default_signature
        if request_format == "instances":
            request = {"signature_name": signature_name, "instances": [{key: value} for value in values]}
        else:
            request = {"signature_name": signature_name, "inputs": {key: values}}
        answer = self._call(self.model_url + ":predict", request)
        if request_format == "instances":
            rows = answer["predictions"]
            outputs = {name: [row[name] for row in rows] for name in rows[0]} if isinstance(rows[0], dict) else rows
        else:
            outputs = answer["outputs"]
        if not isinstance(outputs, dict):  # TF Serving leaves out the name of a sole output
            outputs = {self._sole_output_name(signature_name): outputs}
        return {name: np.asarray(value, _DTYPES.get(name, np.float32)) for name, value in outputs.items()}

    def _sole_output_name(self, signature_name):
        signatures = (self._metadata or self.metadata())["metadata"]["signature_def"]["signature_def"]
        (name,) = signatures[signature_name]["outputs"]
        return name

    def _call(self, url, request=None):
        data = None if request is None else json.dumps(request).encode()
        http_request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(http_request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            body = error.read()
            try:
                message = json.loads(body)["error"]
            except (ValueError, KeyError, TypeError):
                message = body.decode(errors="replace") or error.reason
            raise ServingError(error.code, message) from None
        except urllib.error.URLError as error:
            raise ConnectionError(f"Cannot reach the model server at {url}: {error.reason}. Is it running?") from None


def class_map_arguments(description, address_flag, default_address, address_help):
    """The command line of a script that segments one image on a model server and writes its class map.

    Args:
        description: what the script does, for `--help`.
        address_flag: the option naming the server, e.g. "--url".
        default_address: its default, e.g. "http://localhost:8501".
        address_help: its help text.

    Returns:
        An `argparse.ArgumentParser` taking the image, the server's address, `--model-name`,
        `--version` and `--out`; a script adds its own options before parsing.

    Example:
        >>> parser = class_map_arguments("Segments an image.", "--url", "http://localhost:8501", "REST address")
        >>> vars(parser.parse_args(["photo.jpg", "--version", "2"]))
        {'image': 'photo.jpg', 'url': 'http://localhost:8501', 'model_name': 'fcn', 'version': 2, 'out': 'classes.png'}
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("image", help="a JPEG or PNG file")
    parser.add_argument(address_flag, default=default_address, help=address_help)
    parser.add_argument("--model-name", default="fcn")
    parser.add_argument("--version", type=int, help="pin a model version (default: newest)")
    parser.add_argument("--out", default="classes.png", help="where to write the class map")
    return parser


def _encode(images):
    """Returns (input name, JSON values per image, default signature) for arrays or encoded bytes."""
    if isinstance(images, (bytes, bytearray)):
        images = [images]
    if isinstance(images, (list, tuple)) and images and all(isinstance(item, (bytes, bytearray)) for item in images):
        values = [{"b64": base64.b64encode(item).decode("ascii")} for item in images]
        return "image_bytes", values, "predict_image_bytes"
    array = np.asarray(images, np.float32)
    array = array[np.newaxis] if array.ndim == 3 else array
    if array.ndim != 4 or array.shape[-1] != 3:
        raise ValueError(
            f"images must be RGB arrays (H, W, 3) or (N, H, W, 3), or encoded image bytes; got shape {array.shape}."
        )
    return "images", array.tolist(), "serving_default"
