"""TF Serving's REST API for one model, as requests in and answers out: no socket, no threads.

`RestApi.respond` answers

* `GET  /v1/models/NAME[/versions/N]`           version status
* `GET  /v1/models/NAME[/versions/N]/metadata`  signature defs
* `POST /v1/models/NAME[/versions/N]:predict`   `{"signature_name": ..., "instances": [...]}`
  (row format) or `{"inputs": ...}` (columnar); string inputs as `{"b64": "..."}`

with TF Serving's JSON bodies, and two routes of this server's own:

* `POST /v1/models/NAME[/versions/N]:segment[?probability=K]`  the bytes of one image file ->
  its class map as a palette PNG and the classes present (`fcn_keras.export.compact`)
* `GET  /` (or `/index.html`)  a page that sends dropped images to `:segment` and shows the answers

Errors are `{"error": "..."}` in plain words (no
TensorFlow internals): HTTP 400 for malformed requests and inputs the model
rejects (text, truncated or empty images, images of different sizes in one
request, NaN pixels, JSON nested too deeply), 404 for an unknown model, version or
route, 405 for a wrong method, 413 for a batch of images too large for the server's
limits. A fault of the server itself raises: the transport answers it with
`internal_error_answer` (HTTP 500).
"""

import base64
import binascii
import json
import re
import threading
import time
import typing
import urllib.parse

import numpy as np
import tensorflow as tf

from fcn_keras.error_text import plain_message
from fcn_keras.export.client import ServingError
from fcn_keras.export.compact import segment_answer
from fcn_keras.export.options import DEFAULT_MAX_CONCURRENCY, DEFAULT_MAX_IMAGE_PIXELS
from fcn_keras.export.request_images import check_request_images
from fcn_keras.export.saved_model import IMAGE_BYTES
from fcn_keras.export.web_page import page_html

_MODEL_PATH = r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?"


class Request(typing.NamedTuple):
    """One HTTP request: its method, path (with any query), headers (a mapping) and body bytes."""

    method: str
    path: str
    headers: typing.Mapping
    body: bytes


class Answer(typing.NamedTuple):
    """One HTTP answer: status, headers (the transport adds Content-Length), body bytes, and for a refused
    request its reason in words (`error`, for the access log)."""

    status: int
    headers: dict
    body: bytes
    error: str = None


class _Route(typing.NamedTuple):
    pattern: re.Pattern
    method: str
    wrong_method: str  # what a 405 answer adds
    answer: typing.Callable  # answer(request, served model, None for routes that name none) -> Answer
    any_version: bool = False  # it answers for versions not served too (and reads the version from the path)


def json_answer(payload, status=200):
    """An answer with a JSON body.

    Example:
        >>> answer = json_answer({"model_version_status": []})
        >>> answer.status, answer.headers, answer.body
        (200, {'Content-Type': 'application/json'}, b'{"model_version_status": []}')
    """
    return Answer(status, {"Content-Type": "application/json"}, json.dumps(payload).encode())


def error_answer(status, message):
    """The answer `{"error": message}` with an error status, as TF Serving writes it; `message` is its `error`.

    Example:
        >>> error_answer(400, "JSON Parse error").body
        b'{"error": "JSON Parse error"}'
    """
    return json_answer({"error": message}, status)._replace(error=message)


def internal_error_answer(error):
    """The HTTP 500 answer to an exception `RestApi.respond` raised (a fault of the server, not of the request).

    Example:
        >>> internal_error_answer(KeyError("logits")).error
        "Internal error of the server: 'logits'"
    """
    return error_answer(500, f"Internal error of the server: {plain_message(error)}")


class RestApi:
    """TF Serving's REST routes for the model a `ModelSource` serves, the compact `:segment` route and the page.

    Args:
        model_source: a `fcn_keras.export.served_model.ModelSource` (anything whose `current()`
            returns a `ServedModel` and `versions()` its `VersionStatus`es), asked for the model at each request.
        model_name: the NAME in `/v1/models/NAME`.
        max_concurrency: `:predict` and `:segment` requests parsed and predicted at the same time; the others
            wait.
        max_image_pixels: a request whose images hold more pixels in all is refused
            with HTTP 413 before the model runs (activations grow with pixels).
        class_names: the names of the model's classes in index order ({head: names} for
            several heads), which `:segment` answers name; None: classes by index only.

    Example:
        >>> from fcn_keras.export.saved_model import export_saved_model
        >>> from fcn_keras.export.served_model import ModelSource
        >>> _ = export_saved_model(fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", padding="same"), "serving/fcn")
        >>> api = RestApi(ModelSource("serving/fcn"), "fcn")
        >>> answer = api.respond(Request("POST", "/v1/models/fcn:predict", {}, b'{"instances": [[[[0, 0, 0]]]]}'))
        >>> answer.status, sorted(json.loads(answer.body)["predictions"][0])
        (200, ['classes', 'probabilities'])
        >>> api.respond(Request("GET", "/v1/models/fcn/versions/2", {}, b"")).error
        'Servable not found for request: Specific(fcn, 2)'
    """

    def __init__(self, model_source, model_name, max_concurrency=DEFAULT_MAX_CONCURRENCY,
                 max_image_pixels=DEFAULT_MAX_IMAGE_PIXELS, class_names=None):
        self.model_source = model_source
        self.model_name = model_name
        self.max_image_pixels = max_image_pixels
        self.class_names = class_names
        self._slots = threading.Semaphore(max_concurrency)
        self._routes = (
            _Route(re.compile(_MODEL_PATH + "$"), "GET", "use GET", self._version_status, any_version=True),
            _Route(re.compile(_MODEL_PATH + "/metadata$"), "GET", "use GET", self._metadata),
            _Route(re.compile(_MODEL_PATH + ":predict$"), "POST", ":predict takes POST", self._predict),
            _Route(re.compile(_MODEL_PATH + ":segment$"), "POST", ":segment takes POST", self._segment),
            _Route(re.compile(r"^/(?:index\.html)?$"), "GET", "use GET", self._page),
        )

    def respond(self, request):
        """Answers one request.

        Args:
            request: a `Request`.

        Returns:
            An `Answer`: 200 with TF Serving's JSON (the page: HTML), or a 4xx `{"error": ...}`.

        Raises:
            Exception: a fault of the server (not of the request); answer it with `internal_error_answer`.
        """
        try:
            return self._route(request)
        except ServingError as error:
            return error_answer(error.status, error.message)
        except RecursionError:  # json and the request walkers recurse once per nesting level
            return error_answer(400, "JSON Value: the request nests deeper than this server reads; "
                                     "send images as arrays of rank 4 at most.")
        except MemoryError:
            return error_answer(413, "The request needs more memory than this server has; send fewer or smaller "
                                     "images.")

    def _route(self, request):
        """The route's answer; a route that names a model has it looked up before the method is checked."""
        path = request.path.split("?", 1)[0]
        for route in self._routes:
            match = route.pattern.match(path)
            if match:
                break
        else:
            raise ServingError(404, f"Malformed request: {request.method} {request.path}")
        served = None
        if "name" in route.pattern.groupindex:
            served = self._served(match["name"], None if route.any_version else match["version"])
        if request.method != route.method:
            raise ServingError(405, f"Malformed request: {request.method} {request.path}; {route.wrong_method}")
        return route.answer(request, served)

    def _served(self, name, version):
        """The served model a route names; 404 for another name or version."""
        served = self.model_source.current()
        if name != self.model_name or (version is not None and version != str(served.version)):
            spec = f"Specific({name}, {version})" if version is not None else f"Latest({name})"
            raise ServingError(404, f"Servable not found for request: {spec}")
        return served

    def _version_status(self, request, served):
        """The versions the model source knows, newest first, or the one the path names, with TF Serving's states
        (a version that failed to load is "END" with its error)."""
        version = re.match(_MODEL_PATH, request.path.split("?", 1)[0])["version"]
        statuses = [status for status in self.model_source.versions() if version in (None, str(status.version))]
        if not statuses:
            raise ServingError(404, f"Servable not found for request: Specific({self.model_name}, {version})")
        return json_answer({"model_version_status": [
            {"version": str(status.version), "state": status.state,
             "status": {"error_code": "UNKNOWN" if status.error else "OK", "error_message": status.error}}
            for status in statuses
        ]})

    def _metadata(self, request, served):
        return json_answer({
            "model_spec": {"name": self.model_name, "signature_name": "", "version": str(served.version)},
            "metadata": {"signature_def": {"signature_def": served.signature_defs}},
        })

    def _predict(self, request, served):
        with self._slots:  # parsing a body can take many times its size: bounded like the predictions
            return json_answer(self._predictions(request.body, served.signatures))

    def _predictions(self, body, signatures):
        payload = _parse_json(body)
        signature_name = payload.get("signature_name") or "serving_default"
        if not isinstance(signature_name, str) or signature_name not in signatures:
            raise ServingError(400, f'Serving signature name: "{signature_name}" not found in signature def')
        specs, function = signatures[signature_name]
        if ("instances" in payload) == ("inputs" in payload):
            raise ServingError(
                400, "JSON Value: must have exactly one of 'instances' (row format) or 'inputs' (columnar format)"
            )
        row_format = "instances" in payload
        values = _rows_to_columns(payload["instances"], specs) if row_format else _named(payload["inputs"], specs)
        tensors = {key: _to_tensor(values[key], spec, key) for key, spec in specs.items()}
        check_request_images(tensors, self.max_image_pixels)
        outputs = _run_signature(function, tensors)
        return _tf_serving_outputs({key: np.asarray(value).tolist() for key, value in outputs.items()}, row_format)

    def _segment(self, request, served):
        probability = _probability_parameter(request.path)
        signature = served.signatures.get("predict_image_bytes")
        if signature is None:
            inputs = ", ".join(served.signatures["serving_default"].inputs)
            raise ServingError(400, f"This model takes several images ({inputs}), and :segment one image file; "
                                    "send them to :predict.")
        with self._slots:
            tensors = {IMAGE_BYTES: tf.constant([request.body], dtype=tf.string)}
            check_request_images(tensors, self.max_image_pixels)
            start = time.perf_counter()
            outputs = _run_signature(signature.call, tensors)
            seconds = time.perf_counter() - start
            try:
                answer = segment_answer(outputs, self.class_names, probability)
            except ValueError as error:
                raise ServingError(400, str(error)) from error
        return json_answer({"model_spec": {"name": self.model_name, "version": str(served.version)},
                            "seconds": round(seconds, 4), **answer})

    def _page(self, request, served):
        return Answer(200, {"Content-Type": "text/html; charset=utf-8"}, page_html(self.model_name))


def _run_signature(function, tensors):
    """A signature's outputs; inputs the model rejects get 400, a request too large for memory 413."""
    try:
        return function(**tensors)
    except (tf.errors.InvalidArgumentError, ValueError, TypeError) as error:
        raise ServingError(400, plain_message(error)) from error
    except tf.errors.ResourceExhaustedError as error:
        raise ServingError(413, f"The request needs more memory than this server has ({plain_message(error)}); "
                                "send fewer or smaller images.") from error


def _probability_parameter(path):
    """The class index of `:segment`'s `?probability=K`, or None without it."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query, keep_blank_values=True)
    unknown = sorted(set(query) - {"probability"})
    if unknown:
        raise ServingError(400, f"Unknown parameter {unknown[0]!r}: :segment takes probability=K (a class index).")
    values = query.get("probability")
    if values is None:
        return None
    if len(values) != 1 or not re.fullmatch("[0-9]{1,9}", values[0]):
        raise ServingError(400, f"probability must be one class index (0, 1, ...), got {'&'.join(values)!r}.")
    return int(values[0])


def _tf_serving_outputs(outputs, row_format):
    """`{"predictions": rows}` or `{"outputs": columns}`, the name of a sole output left out as TF Serving does."""
    sole_output = next(iter(outputs.values())) if len(outputs) == 1 else None
    if not row_format:
        return {"outputs": outputs if sole_output is None else sole_output}
    if sole_output is not None:
        return {"predictions": sole_output}
    count = len(next(iter(outputs.values())))
    return {"predictions": [{key: value[i] for key, value in outputs.items()} for i in range(count)]}


def _parse_json(body):
    try:
        request = json.loads(body or b"")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ServingError(400, f"JSON Parse error: {error}") from error
    if not isinstance(request, dict):
        raise ServingError(400, "JSON Value: the request body must be a JSON object")
    return request


def _named(inputs, specs):
    """Columnar inputs: a dict keyed by input name, or a bare value for a one-input signature."""
    if isinstance(inputs, dict) and not _is_b64(inputs):
        unknown, missing = set(inputs) - set(specs), set(specs) - set(inputs)
        if unknown or missing:
            raise ServingError(
                400, f"inputs must name exactly {sorted(specs)}; unknown: {sorted(unknown)}, missing: {sorted(missing)}"
            )
        return inputs
    if len(specs) != 1:
        raise ServingError(400, f"inputs must be an object keyed by {sorted(specs)}")
    return {next(iter(specs)): inputs}


def _rows_to_columns(instances, specs):
    """Row format: a list of instances, each a dict of named inputs or a bare value."""
    if not isinstance(instances, list) or not instances:
        raise ServingError(400, "instances must be a non-empty JSON list, one entry per example")
    rows = [_named(instance, specs) for instance in instances]
    return {key: [row[key] for row in rows] for key in specs}


def _to_tensor(value, spec, key):
    if spec.shape.rank and isinstance(value, list) and not value:
        raise ServingError(400, f"Input '{key}' is an empty list; send at least one example")
    if spec.dtype == tf.string:
        array = np.asarray(_decode_b64(value, key), dtype=object)
    else:
        try:
            array = np.asarray(value, dtype=spec.dtype.as_numpy_dtype)
        except (TypeError, ValueError, OverflowError) as error:
            raise ServingError(
                400, f"Input '{key}' is not a rectangular array of numbers ({error}); all rows need the same shape"
            ) from error
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise ServingError(400, f"Input '{key}' holds NaN or infinite values; send pixel values in [0, 255].")
    if not spec.shape.is_compatible_with(array.shape):
        raise ServingError(400, f"Input '{key}' has shape {list(array.shape)}, the signature expects {spec.shape}")
    return tf.constant(array, dtype=spec.dtype)


def _decode_b64(value, key):
    if isinstance(value, list):
        return [_decode_b64(item, key) for item in value]
    if not _is_b64(value):
        raise ServingError(400, f"Input '{key}' is binary: send each item as {{\"b64\": \"<base64 string>\"}}")
    try:
        return base64.b64decode(value["b64"], validate=True)
    except (binascii.Error, TypeError, ValueError) as error:
        raise ServingError(400, f"Input '{key}' holds invalid base64 ({error})") from error


def _is_b64(value):
    return isinstance(value, dict) and set(value) == {"b64"}
