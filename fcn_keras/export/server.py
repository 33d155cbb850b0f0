"""A small local HTTP server that answers TF Serving's REST API for one exported model.

For trying an export without Docker: it serves the newest version of a TF Serving
model folder, or a `.tflite` or OpenVINO `.xml` file run by its own runtime
(`fcn_keras.export.served_model`), with TF Serving's routes, JSON bodies and error
answers (`fcn_keras.export.rest`). While it serves a folder, a watcher thread looks
for a newer version every `poll_seconds` and moves to it without dropping a request
(one log line per version served or failed). This module moves the bytes: it reads each
request, hands it to the REST API and writes the answer back; a request body
without a usable Content-Length gets HTTP 400, one too large for the server's
limit 413, and a request the standard library cannot parse a JSON error too.
Each failed request is logged as one line, without a traceback.

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

import contextlib
import http.server
import logging
import numbers
import os
import sys
import tempfile
import threading

from fcn_keras.error_text import plain_message
from fcn_keras.export.options import (
    DEFAULT_HOST,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_IMAGE_PIXELS,
    DEFAULT_MODEL_NAME,
    DEFAULT_POLL_SECONDS,
    DEFAULT_PORT,
)
from fcn_keras.export.rest import Request, RestApi, error_answer, internal_error_answer
from fcn_keras.export.served_model import ModelSource

DEFAULT_REQUEST_TIMEOUT = 30.0
DRAIN_FACTOR = 16
LISTEN_BACKLOG = 1024  # connections the kernel queues before the server accepts them (Linux caps it at somaxconn)
_LOG = logging.getLogger(__name__)


class ModelServer:
    """TF Serving's REST routes (and a page at /) for the newest version of one exported model, moving to newer
    ones as they appear.

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
        poll_seconds: while serving a folder, seconds between looks for a newer version
            (`ModelSource.poll`); 0 or None does not look. A model file is not watched.
        class_names: the class names the page and the `:segment` route show (a list, or
            {head: names}); None shows indices.

    Raises:
        ValueError: `poll_seconds` is negative or not a number.

    Attributes:
        model_source: the `fcn_keras.export.served_model.ModelSource` that loaded the model.
        rest: the `fcn_keras.export.rest.RestApi` that answers each request.

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
        poll_seconds=DEFAULT_POLL_SECONDS,
        class_names=None,
    ):
        self._poll_seconds = _checked_poll_seconds(poll_seconds)
        self.model_source = ModelSource(export_dir, runtime)
        self.rest = RestApi(self.model_source, model_name, max_concurrency, max_image_pixels, class_names)
        self._httpd = _HTTPServer((host, port), self.rest, max_request_bytes, request_timeout)
        self._thread = None
        self._serving = False  # serve_forever was (or is about to be) entered: shutdown() can wait for it
        self._lock = threading.Lock()
        self._watcher = None
        self._stop_watching = threading.Event()

    @property
    def watching(self):
        """Whether the server looks for new versions while it serves (a folder, and a poll interval)."""
        return bool(self._poll_seconds) and self.model_source.watches

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
        self._begin_serving(threading.Thread(target=self._httpd.serve_forever, name="fcn-serving", daemon=True))
        return self

    def serve_forever(self):
        """Serves on the calling thread until `stop()` (from another thread) or KeyboardInterrupt.

        The port is freed when it returns.

        Returns:
            None.

        Raises:
            RuntimeError: the server is already serving.
        """
        self._begin_serving()
        try:
            self._httpd.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self._end_watching()
            self._httpd.server_close()

    def _begin_serving(self, thread=None):
        """Marks the server as serving, starts the version watcher if it watches, and starts `thread` (serving in
        the background), under the same lock.

        Raises:
            RuntimeError: the server is already serving.
        """
        with self._lock:
            if self._serving:
                raise RuntimeError("This ModelServer is already serving; call stop() first.")
            self._serving = True
            if self.watching:
                self._stop_watching.clear()
                self._watcher = threading.Thread(target=self._watch, name="fcn-version-watcher", daemon=True)
                self._watcher.start()
            if thread is not None:
                self._thread = thread
                thread.start()

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
        self._end_watching()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def _watch(self):
        """The watcher thread: polls the model source until `_end_watching`, logging each version it tried."""
        while not self._stop_watching.wait(self._poll_seconds):
            try:
                status = self.model_source.poll()
            except Exception as error:  # a folder that cannot be listed, say: the next poll tries again
                _LOG.warning("Looking for new versions of %s failed (%s); version %d keeps serving.",
                             self.rest.model_name, plain_message(error), self.model_source.current().version)
                continue
            if status is None:
                continue
            name = self.rest.model_name
            if status.error:
                _LOG.warning("Version %d of %s did not load (%s); version %d keeps serving. Export the model again "
                             "(a new version), or fix that folder.", status.version, name, status.error,
                             self.model_source.current().version)
            else:
                _LOG.info("Serving version %d of %s", status.version, name)

    def _end_watching(self):
        """Stops the watcher thread, after the version it may be loading."""
        self._stop_watching.set()
        if self._watcher is not None:
            self._watcher.join()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


def serve(export_dir, port=DEFAULT_PORT, host=DEFAULT_HOST, model_name=DEFAULT_MODEL_NAME,
          max_image_pixels=DEFAULT_MAX_IMAGE_PIXELS, max_concurrency=DEFAULT_MAX_CONCURRENCY, runtime="saved_model",
          poll_seconds=DEFAULT_POLL_SECONDS, class_names=None):
    """Serves an exported model with TF Serving's REST API until Ctrl-C, logging one line per request.

    Args:
        export_dir: a TF Serving model folder written by `export_saved_model`; a `.keras`
            file (exported to a SavedModel for this session); or with `runtime` "tflite"
            or "openvino" a `.tflite` or OpenVINO `.xml` file.
        port: TCP port (TF Serving's REST default is 8501).
        host: interface; "0.0.0.0" answers other machines too.
        model_name: the NAME in `/v1/models/NAME`.
        max_image_pixels: requests with more image pixels in all get HTTP 413.
        max_concurrency: requests parsed and predicted at the same time.
        runtime: "saved_model", "tflite" or "openvino".
        poll_seconds: seconds between looks for a newer version in the folder; 0 or None does not look.
        class_names: the class names the page and `:segment` show; None shows indices.

    Returns:
        None, once interrupted.
    """
    _checked_poll_seconds(poll_seconds)  # refused before a .keras file is exported
    with _saved_model_folder(export_dir, runtime) as folder:
        poll_seconds = poll_seconds if folder == export_dir else 0  # a session's export gets no new versions
        server = ModelServer(folder, port=port, host=host, model_name=model_name, max_image_pixels=max_image_pixels,
                             max_concurrency=max_concurrency, runtime=runtime, poll_seconds=poll_seconds,
                             class_names=class_names)
        _serve_until_interrupted(server, export_dir, model_name, poll_seconds)


@contextlib.contextmanager
def _saved_model_folder(export_dir, runtime):
    """`export_dir` as the server takes it: a `.keras` file exported to a SavedModel folder that lasts while
    it serves; anything else as it is."""
    if runtime != "saved_model" or not os.fspath(export_dir).endswith(".keras"):
        yield export_dir
        return
    from fcn_keras.export.saved_model import export_saved_model

    with tempfile.TemporaryDirectory(prefix="fcn_serve_") as session:
        folder = os.path.join(session, "model")
        export_saved_model(export_dir, folder)
        yield folder


def _serve_until_interrupted(server, export_dir, model_name, poll_seconds):
    """Logs requests (unless the caller set up logging), says where it serves and serves until Ctrl-C."""
    if not _LOG.handlers and not logging.getLogger().handlers:  # the access log, unless the caller set up logging
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        _LOG.addHandler(handler)
        _LOG.setLevel(logging.INFO)
    watching = f", watching {export_dir} for new versions every {poll_seconds:g} s" if server.watching else ""
    print(
        f"Serving {model_name} version {server.model_source.current().version} from {export_dir} "
        f"at {server.url}/v1/models/{model_name}{watching}; a page to try it at {server.url}/ (Ctrl-C stops)",
        flush=True,
    )
    server.serve_forever()


def _checked_poll_seconds(poll_seconds):
    """`poll_seconds` as a float (0.0 for None), refused when negative or not a number."""
    if poll_seconds is None:
        return 0.0
    number = isinstance(poll_seconds, numbers.Real) and not isinstance(poll_seconds, bool)
    if not number or not 0 <= poll_seconds <= threading.TIMEOUT_MAX:
        raise ValueError(f"`poll_seconds` must be a finite number of seconds >= 0 (0 does not watch for new "
                         f"versions), got {poll_seconds!r}.")
    return float(poll_seconds)


class _RequestHandler(http.server.BaseHTTPRequestHandler):
    """Reads one request, has the server's `RestApi` answer it, and writes the answer back."""

    server_version = "fcn-keras-serving"

    @property
    def timeout(self):
        """The socket timeout: a silent client cannot hold a thread forever."""
        return self.server.request_timeout

    def do_GET(self):
        self._answer(b"")

    def do_POST(self):
        length = self.headers.get("Content-Length")
        if length is None or not (length.isascii() and length.isdigit()):
            self._send(error_answer(400, "Malformed request: POST needs a Content-Length header"))
            return
        length = int(length[-19:]) if len(length.lstrip("0")) < 19 else 10**19  # int() refuses 4300+ digits
        if length > self.server.max_request_bytes:
            # A client that sent "Expect: 100-continue" waits for a word before sending the body.
            waiting = self.headers.get("Expect", "").lower() == "100-continue"
            self._refuse_body(length, read=not waiting)
        else:
            self._answer(self.rfile.read(length))

    def _refuse_body(self, length, read=True):
        """413 with a JSON error; a body of plausible size is read and dropped first, so that a client
        still sending it gets the answer instead of a broken pipe."""
        limit = self.server.max_request_bytes
        if read and length <= DRAIN_FACTOR * limit:
            left = length
            while left > 0:
                chunk = self.rfile.read(min(left, 1 << 20))
                if not chunk:
                    break
                left -= len(chunk)
        self.close_connection = True
        self._send(error_answer(413, f"Request body of {length} bytes exceeds this server's limit of {limit} bytes; "
                                     "send fewer or smaller images."))

    def _answer(self, body):
        try:
            answer = self.server.rest.respond(Request(self.command, self.path, self.headers, body))
        except Exception as error:  # a fault of the server must not kill it; the client gets a 500
            _LOG.error("%s \"%s %s\" 500: %s: %s", self.address_string(), self.command, self.path,
                       type(error).__name__, error, exc_info=_LOG.isEnabledFor(logging.DEBUG))
            answer = internal_error_answer(error)
        self._send(answer)

    def _send(self, answer):
        """Writes an `Answer`; a refused request is logged as one line with its reason."""
        if 400 <= answer.status < 500:
            _LOG.warning("%s \"%s %s\" %d: %s", self.address_string(), self.command, getattr(self, "path", ""),
                         answer.status, answer.error)
        try:
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
        except OSError as error:  # the client hung up before its answer
            self.close_connection = True
            _LOG.warning("%s: the client left before its answer (%s)", self.address_string(), error)

    def send_error(self, code, message=None, explain=None):
        """The standard library's answer to a request it cannot parse, as JSON (an unknown method: 405)."""
        self.close_connection = True
        status = 405 if code == http.HTTPStatus.NOT_IMPLEMENTED else code
        reason = message or http.HTTPStatus(code).phrase
        self._send(error_answer(status, f"Malformed request: {reason}"))

    def log_request(self, code="-", size="-"):
        if isinstance(code, int) and code >= 400:
            return  # failed requests are logged once, with their reason, by _send
        super().log_request(code, size)

    def log_message(self, format, *args):
        _LOG.info("%s %s", self.address_string(), format % args)


class _HTTPServer(http.server.ThreadingHTTPServer):
    """A thread per connection, a deep listening queue, and one log line for a connection that fails.

    Its handlers read `rest` (the `RestApi` that answers), `max_request_bytes` and `request_timeout`.
    """

    request_queue_size = LISTEN_BACKLOG
    daemon_threads = True

    def __init__(self, address, rest, max_request_bytes, request_timeout):
        self.rest = rest
        self.max_request_bytes = max_request_bytes
        self.request_timeout = request_timeout
        super().__init__(address, _RequestHandler)

    def handle_error(self, request, client_address):
        _LOG.warning("%s: connection dropped (%s)", client_address[0], plain_message(sys.exc_info()[1]))
