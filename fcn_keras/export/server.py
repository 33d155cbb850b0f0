"""A small local HTTP server that answers TF Serving's REST API for one exported model.

For trying an export without Docker: it loads the newest version of a TF Serving
model folder (as TF Serving's default version policy does), or a `.tflite` or OpenVINO
`.xml` file run by its own runtime (served as version 1, with the SavedModel's three
signatures), and answers

* `GET  /v1/models/NAME[/versions/N]`           version status
* `GET  /v1/models/NAME[/versions/N]/metadata`  signature defs
* `POST /v1/models/NAME[/versions/N]:predict`   `{"signature_name": ..., "instances": [...]}`
  (row format) or `{"inputs": ...}` (columnar); string inputs as `{"b64": "..."}`

with TF Serving's JSON bodies. Errors are `{"error": "..."}` in plain words (no
TensorFlow internals): HTTP 400 for malformed requests and inputs the model
rejects (text, truncated or empty images, images of different sizes in one
request, NaN pixels, JSON nested too deeply), 404 for an unknown model, version or
route, 405 for a wrong method, 413 for a body or a batch of images too large for
the server's limits, 500 only for a fault of the server
itself. Each failed request is logged as one line, without a traceback.

Load: the listening socket queues up to `LISTEN_BACKLOG` connections that arrive at
once (the standard library's 5 resets most of a burst); every accepted connection
is served on its own thread, and at most `max_concurrency` requests are parsed and
predicted at a time while the others wait their turn, holding only their raw body
(so a server's memory grows with its waiting requests' bodies, each at most
`max_request_bytes`).
A connection that stays silent for `request_timeout` seconds (for instance one that
announces a body it never sends) is closed. It is a development tool: no TLS, no
auth, no batching; use TF Serving in production.
"""

import base64
import binascii
import http.server
import io
import json
import logging
import os
import re
import sys
import threading
import typing

import numpy as np
import tensorflow as tf
from PIL import Image

from fcn_keras.data.decoding import read_image
from fcn_keras.error_text import plain_message
from fcn_keras.export.client import ServingError
from fcn_keras.export.options import (
    DEFAULT_HOST,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_IMAGE_PIXELS,
    DEFAULT_MODEL_NAME,
    DEFAULT_PORT,
)
from fcn_keras.export.runtime_models import load_runtime_model
from fcn_keras.export.saved_model import (
    IMAGE_BYTES,
    IMAGES,
    classes_and_probabilities,
    decode_same_size_images,
    per_head,
    saved_model_versions,
)

DEFAULT_REQUEST_TIMEOUT = 30.0
DRAIN_FACTOR = 16
LISTEN_BACKLOG = 1024  # connections the kernel queues before the server accepts them (Linux caps it at somaxconn)
DECODABLE_FORMATS = ("BMP", "GIF", "JPEG", "MPO", "PNG", "WEBP")  # Pillow's names of what decode_image reads
_ROUTE = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?(?P<tail>/metadata|:predict)?$")
_LOG = logging.getLogger(__name__)


class ModelServer:
    """TF Serving's REST routes for the newest version of one exported model.

    Args:
        export_dir: a TF Serving model folder (`export_dir/<version>/saved_model.pb`),
            as written by `export_saved_model`; with `runtime` "tflite" or "openvino",
            the `.tflite` or `.xml` file `export_tflite` or `export_openvino` wrote.
        port: TCP port; 0 picks a free one (read it back from `.port`).
        host: interface to listen on; the default answers this machine only.
        model_name: the NAME in `/v1/models/NAME`.
        max_concurrency: requests parsed and predicted at the same time; the others wait.
        max_request_bytes: larger request bodies are refused with HTTP 413 (read
            and discarded first, so the client sees the answer, up to 16 times the
            limit; larger announced bodies are refused at once).
        max_image_pixels: a request whose images hold more pixels in all is refused
            with HTTP 413 before the model runs (activations grow with pixels).
        request_timeout: seconds a connection may wait on its client for one read
            or write before it is closed; None waits forever.
        runtime: "saved_model" (TensorFlow), or "tflite" or "openvino" for a model file.

    Example:
        >>> from fcn_keras.export.client import ServingClient
        >>> from fcn_keras.export.saved_model import export_saved_model
        >>> _ = export_saved_model(fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", padding="same"), "serving/fcn")
        >>> with ModelServer("serving/fcn", port=0) as server:
        ...     print(ServingClient(server.url, "fcn").metadata()["model_spec"])
        {'name': 'fcn', 'signature_name': '', 'version': '1'}

        `start()` serves on a background thread until `stop()`, as `ServingClient`'s example shows.
    """

    def __init__(
        self,
        export_dir,
        port=DEFAULT_PORT,
        host=DEFAULT_HOST,
        model_name=DEFAULT_MODEL_NAME,
        max_concurrency=DEFAULT_MAX_CONCURRENCY,
        max_request_bytes=64 * 2**20,
        request_timeout=DEFAULT_REQUEST_TIMEOUT,
        max_image_pixels=DEFAULT_MAX_IMAGE_PIXELS,
        runtime="saved_model",
    ):
        self.model = _ServedModel(export_dir, model_name, max_concurrency, max_image_pixels, runtime)
        self.max_request_bytes = max_request_bytes
        self.request_timeout = request_timeout
        self._httpd = _HTTPServer((host, port), _handler_class(self))
        self._thread = None
        self._serving = False  # serve_forever was (or is about to be) entered: shutdown() can wait for it
        self._lock = threading.Lock()

    @property
    def port(self):
        """The port the server listens on."""
        return self._httpd.server_address[1]

    @property
    def url(self):
        """The base URL, e.g. `http://127.0.0.1:8501`."""
        host = self._httpd.server_address[0]
        return f"http://{host}:{self.port}"

    def start(self):
        """Starts serving on a background (daemon) thread and returns at once.

        Returns:
            `self`, so that `server = ModelServer(...).start()` works; `stop()` ends it.

        Raises:
            RuntimeError: the server is already serving.
        """
        with self._lock:
            if self._serving:
                raise RuntimeError("This ModelServer is already serving; call stop() first.")
            self._serving = True
            self._thread = threading.Thread(target=self._httpd.serve_forever, name="fcn-serving", daemon=True)
            self._thread.start()
        return self

    def serve_forever(self):
        """Serves on the calling thread until `stop()` (from another thread) or KeyboardInterrupt.

        The port is freed when it returns.

        Returns:
            None.

        Raises:
            RuntimeError: the server is already serving.
        """
        with self._lock:
            if self._serving:
                raise RuntimeError("This ModelServer is already serving; call stop() first.")
            self._serving = True
        try:
            self._httpd.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self._httpd.server_close()

    def stop(self):
        """Stops serving, waits for the background thread, and frees the port.

        Safe to call on a server that was never started (it only frees the port)
        and more than once.

        Returns:
            None.
        """
        with self._lock:
            serving, self._serving = self._serving, False
        if serving:
            # shutdown() waits for serve_forever to return: only call it when serve_forever
            # was entered or is about to be (it returns at once if it has already ended).
            self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


def serve(export_dir, port=DEFAULT_PORT, host=DEFAULT_HOST, model_name=DEFAULT_MODEL_NAME,
          max_image_pixels=DEFAULT_MAX_IMAGE_PIXELS, max_concurrency=DEFAULT_MAX_CONCURRENCY, runtime="saved_model"):
    """Serves an exported model with TF Serving's REST API until Ctrl-C, logging one line per request.

    Args:
        export_dir: a TF Serving model folder written by `export_saved_model`, or with
            `runtime` "tflite" or "openvino" a `.tflite` or OpenVINO `.xml` file.
        port: TCP port (TF Serving's REST default is 8501).
        host: interface; "0.0.0.0" answers other machines too.
        model_name: the NAME in `/v1/models/NAME`.
        max_image_pixels: requests with more image pixels in all get HTTP 413.
        max_concurrency: requests parsed and predicted at the same time.
        runtime: "saved_model", "tflite" or "openvino".

    Returns:
        None, once interrupted.
    """
    server = ModelServer(export_dir, port=port, host=host, model_name=model_name, max_image_pixels=max_image_pixels,
                         max_concurrency=max_concurrency, runtime=runtime)
    if not _LOG.handlers and not logging.getLogger().handlers:  # the access log, unless the caller set up logging
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        _LOG.addHandler(handler)
        _LOG.setLevel(logging.INFO)
    print(
        f"Serving {model_name} version {server.model.version} from {export_dir} "
        f"at {server.url}/v1/models/{model_name} (Ctrl-C stops)",
        flush=True,
    )
    server.serve_forever()


class _Signature(typing.NamedTuple):
    """What a request can call: `call(**tensors) -> {output name: tensor or array}`, its inputs `{name: TensorSpec}`."""

    inputs: dict
    call: typing.Callable


class _ServedModel:
    """Loads the newest version (or a model file) and turns parsed requests into TF Serving responses."""

    def __init__(self, export_dir, name, max_concurrency, max_image_pixels, runtime="saved_model"):
        self.name = name
        if runtime == "saved_model":
            self.version, path = _newest_version(export_dir)
            self._loaded = tf.saved_model.load(path)  # keep a reference: signatures need its variables
            self._signatures = {name: _Signature(function.structured_input_signature[1], function)
                                for name, function in self._loaded.signatures.items()}
            self._signature_defs = _signature_defs(path)
        else:
            model = load_runtime_model(export_dir, runtime)
            self.version, self._signatures = 1, _runtime_signatures(model)
            self._signature_defs = _runtime_signature_defs(model)
        self._slots = threading.Semaphore(max_concurrency)
        self.max_image_pixels = max_image_pixels

    def respond(self, method, path, body):
        """Returns the JSON-able answer to one request; raises `ServingError` for an error answer."""
        match = _ROUTE.match(path.split("?", 1)[0])
        if not match:
            raise ServingError(404, f"Malformed request: {method} {path}")
        self._check_servable(match["name"], match["version"])
        tail = match["tail"]
        if tail == ":predict":
            if method != "POST":
                raise ServingError(405, f"Malformed request: {method} {path}; :predict takes POST")
            with self._slots:  # parsing a body can take many times its size: bounded like the predictions
                return self._predict(body)
        if method != "GET":
            raise ServingError(405, f"Malformed request: {method} {path}; use GET")
        if tail == "/metadata":
            return {
                "model_spec": {"name": self.name, "signature_name": "", "version": str(self.version)},
                "metadata": {"signature_def": {"signature_def": self._signature_defs}},
            }
        state = {"error_code": "OK", "error_message": ""}
        return {"model_version_status": [{"version": str(self.version), "state": "AVAILABLE", "status": state}]}

    def _check_servable(self, name, version):
        if name != self.name or (version is not None and version != str(self.version)):
            spec = f"Specific({name}, {version})" if version is not None else f"Latest({name})"
            raise ServingError(404, f"Servable not found for request: {spec}")

    def _predict(self, body):
        request = _parse_json(body)
        signature_name = request.get("signature_name") or "serving_default"
        if not isinstance(signature_name, str) or signature_name not in self._signatures:
            raise ServingError(400, f'Serving signature name: "{signature_name}" not found in signature def')
        function = self._signatures[signature_name].call
        specs = self._signatures[signature_name].inputs
        if ("instances" in request) == ("inputs" in request):
            raise ServingError(
                400, "JSON Value: must have exactly one of 'instances' (row format) or 'inputs' (columnar format)"
            )
        row_format = "instances" in request
        values = _rows_to_columns(request["instances"], specs) if row_format else _named(request["inputs"], specs)
        tensors = {key: _to_tensor(values[key], spec, key) for key, spec in specs.items()}
        pixels = sum(_pixels(tensor, key) for key, tensor in tensors.items())
        if pixels > self.max_image_pixels:
            raise ServingError(413, f"The request's images hold {pixels} pixels, more than this server's limit of "
                                    f"{self.max_image_pixels} (an FCN's activations grow with the pixels it scores); "
                                    "send fewer or smaller images, or start the server with a higher "
                                    "--max-image-pixels.")
        for key, tensor in tensors.items():
            if tensor.dtype == tf.string:
                _check_decodable(tensor, key)
        try:
            outputs = function(**tensors)
        except (tf.errors.InvalidArgumentError, ValueError, TypeError) as error:
            raise ServingError(400, plain_message(error)) from error
        except tf.errors.ResourceExhaustedError as error:
            raise ServingError(413, f"The request needs more memory than this server has ({plain_message(error)}); "
                                    "send fewer or smaller images.") from error
        outputs = {key: np.asarray(value).tolist() for key, value in outputs.items()}
        sole_output = next(iter(outputs.values())) if len(outputs) == 1 else None
        if not row_format:  # TF Serving leaves out the name of a sole output
            return {"outputs": outputs if sole_output is None else sole_output}
        if sole_output is not None:
            return {"predictions": sole_output}
        count = len(next(iter(outputs.values())))
        return {"predictions": [{key: value[i] for key, value in outputs.items()} for i in range(count)]}


def _newest_version(export_dir):
    """(version, its folder) of the newest version in a TF Serving model folder."""
    versions = saved_model_versions(export_dir)
    if not versions:
        raise FileNotFoundError(
            f"{export_dir} holds no model version: export one with fcn_keras.export.export_saved_model "
            "(or `fcn-keras export MODEL.keras --format saved_model --output DIR`)."
        )
    return versions[-1], os.path.join(export_dir, str(versions[-1]))


def _runtime_signatures(model):
    """The SavedModel's signatures (serving_default, predict_image_bytes, logits), run by an exported file."""
    images = {IMAGES: tf.TensorSpec(model.input.shape, tf.float32, name=IMAGES)}

    def logits(images):
        return model.predict_on_batch(images.numpy())

    def segment(images):
        return per_head(logits(images), classes_and_probabilities)

    return {
        "serving_default": _Signature(images, segment),
        "predict_image_bytes": _Signature({IMAGE_BYTES: tf.TensorSpec((None,), tf.string, name=IMAGE_BYTES)},
                                          lambda image_bytes: segment(decode_same_size_images(image_bytes))),
        "logits": _Signature(images, lambda images: per_head(logits(images), lambda scores: {"logits": scores})),
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


def _pixels(tensor, key):
    """Pixels of an image batch: N*H*W of a float (N, H, W, 3) input, or of encoded images by their headers.

    Encoded images must be of a format the signature decodes, hold pixels, and share one size.
    """
    if tensor.dtype != tf.string:
        shape = tensor.shape
        return int(np.prod(shape[:3])) if shape.rank == 4 else 0
    sizes = [_encoded_size(data, f"Input '{key}' item {index}") for index, data in
             enumerate(np.ravel(tensor.numpy()), 1)]
    if len(set(sizes)) > 1:
        other = next(index for index, size in enumerate(sizes) if size != sizes[0])
        raise ServingError(400, f"Input '{key}': the images of one request must share a size, but item 1 is "
                                f"{_size_text(sizes[0])} and item {other + 1} is {_size_text(sizes[other])}; send "
                                "images of different sizes in separate requests.")
    return sum(width * height for width, height in sizes)


def _encoded_size(data, where):
    """(width, height) of an encoded image from its header; refuses what the signature cannot decode."""
    try:
        with Image.open(io.BytesIO(data)) as image:  # reads the header only
            size, image_format = image.size, image.format
    except Image.DecompressionBombError:
        raise ServingError(413, f"{where} is too large to decode (its header announces more pixels than Pillow "
                                "opens); send a smaller image.") from None
    except (OSError, ValueError, SyntaxError):
        raise ServingError(400, f"{where} is not an image: send the bytes of a "
                                f"{', '.join(DECODABLE_FORMATS)} file.") from None
    if image_format not in DECODABLE_FORMATS:
        raise ServingError(400, f"{where} is a {image_format} image; the model decodes "
                                f"{', '.join(DECODABLE_FORMATS)}: convert it first.")
    if 0 in size:
        raise ServingError(400, f"{where} is {_size_text(size)}: it holds no pixels.")
    return size


def _size_text(size):
    return f"{size[0]}x{size[1]} (WxH)"


def _check_decodable(tensor, key):
    """Decodes each encoded image once, so that a truncated or corrupt one is named before the model runs."""
    for index, data in enumerate(np.ravel(tensor.numpy()), 1):
        where = f"Input '{key}' item {index}"
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.verify()  # a PNG's chunks and checksums, which decoding alone may let pass
            read_image(data, where)
        except (OSError, ValueError, SyntaxError):
            raise ServingError(400, f"{where} is a damaged image (truncated or corrupt); send the whole "
                                    "file.") from None


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


def _handler_class(server):
    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "fcn-keras-serving"
        timeout = server.request_timeout  # socket timeout: a silent client cannot hold a thread forever

        def do_GET(self):
            self._answer("GET", None)

        def do_POST(self):
            length = self.headers.get("Content-Length")
            if length is None or not (length.isascii() and length.isdigit()):
                self._send(400, {"error": "Malformed request: POST needs a Content-Length header"})
                return
            length = int(length[-19:]) if len(length.lstrip("0")) < 19 else 10**19  # int() refuses 4300+ digits
            if length > server.max_request_bytes:
                # A client that sent "Expect: 100-continue" waits for a word before sending the body.
                waiting = self.headers.get("Expect", "").lower() == "100-continue"
                self._refuse_body(length, read=not waiting)
            else:
                self._answer("POST", self.rfile.read(length))

        def _refuse_body(self, length, read=True):
            """413 with a JSON error; a body of plausible size is read and dropped first, so that a client
            still sending it gets the answer instead of a broken pipe."""
            if read and length <= DRAIN_FACTOR * server.max_request_bytes:
                left = length
                while left > 0:
                    chunk = self.rfile.read(min(left, 1 << 20))
                    if not chunk:
                        break
                    left -= len(chunk)
            self.close_connection = True
            self._send(413, {"error": f"Request body of {length} bytes exceeds this server's limit of "
                                      f"{server.max_request_bytes} bytes; send fewer or smaller images."})

        def _answer(self, method, body):
            try:
                status, payload = 200, server.model.respond(method, self.path, body)
            except ServingError as error:
                status, payload = error.status, {"error": error.message}
            except RecursionError:  # json and the request walkers recurse once per nesting level
                status, payload = 400, {"error": "JSON Value: the request nests deeper than this server reads; "
                                                 "send images as arrays of rank 4 at most."}
            except MemoryError:
                status, payload = 413, {"error": "The request needs more memory than this server has; send fewer "
                                                 "or smaller images."}
            except Exception as error:  # a fault of the server must not kill it; the client gets a 500
                _LOG.error("%s \"%s %s\" 500: %s: %s", self.address_string(), method, self.path,
                           type(error).__name__, error, exc_info=_LOG.isEnabledFor(logging.DEBUG))
                status, payload = 500, {"error": f"Internal error of the server: {plain_message(error)}"}
            self._send(status, payload)

        def _send(self, status, payload):
            """Answers with JSON; a refused request is logged as one line with its reason."""
            if 400 <= status < 500:
                _LOG.warning("%s \"%s %s\" %d: %s", self.address_string(), self.command, getattr(self, "path", ""),
                             status, payload["error"])
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError as error:  # the client hung up before its answer
                self.close_connection = True
                _LOG.warning("%s: the client left before its answer (%s)", self.address_string(), error)

        def send_error(self, code, message=None, explain=None):
            """The standard library's answer to a request it cannot parse, as JSON (an unknown method: 405)."""
            self.close_connection = True
            status = 405 if code == http.HTTPStatus.NOT_IMPLEMENTED else code
            reason = message or http.HTTPStatus(code).phrase
            self._send(status, {"error": f"Malformed request: {reason}"})

        def log_request(self, code="-", size="-"):
            if isinstance(code, int) and code >= 400:
                return  # failed requests are logged once, with their reason, by _send
            super().log_request(code, size)

        def log_message(self, format, *args):
            _LOG.info("%s %s", self.address_string(), format % args)

    return Handler


class _HTTPServer(http.server.ThreadingHTTPServer):
    """A thread per connection, a deep listening queue, and one log line for a connection that fails."""

    request_queue_size = LISTEN_BACKLOG
    daemon_threads = True

    def handle_error(self, request, client_address):
        _LOG.warning("%s: connection dropped (%s)", client_address[0], plain_message(sys.exc_info()[1]))
