"""`fcn-keras serve` as users meet it, in its own process: a burst of 100 clients, hostile requests,
clients that hang up. Every refusal is a 4xx JSON error in plain words and one line in the server's log."""

import base64
import http.client
import json
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib

import keras
import numpy as np
import pytest
from helpers import png_bytes

from fcn_keras.export import export_saved_model

INTERNALS = re.compile(r"\{\{|\[\[|function_node|Traceback|\b[A-Z][A-Za-z]*(Error|Exception)\b")


class ServerProcess:
    """`fcn-keras serve` on a free port; its output is collected line by line on a thread."""

    def __init__(self, base_dir, *options):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fcn_keras.cli", "serve", str(base_dir), "--port", "0", *options],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines, self._changed = [], threading.Condition()
        threading.Thread(target=self._collect, daemon=True).start()
        self.port = int(self.wait_for(r"at http://127\.0\.0\.1:(\d+)/v1/models/fcn", timeout=120).group(1))

    def _collect(self):
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_for(self, pattern, timeout=10, start=0):
        """The match of the first output line from index `start` on that matches `pattern`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next((m for line in self.lines[start:] if (m := re.search(pattern, line))), None)
                if found or self.process.poll() is not None or time.monotonic() > deadline:
                    assert found, f"no line matches {pattern!r}; the server wrote:\n" + "\n".join(self.lines)
                    return found
                self._changed.wait(0.1)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def server(served_fcn, tmp_path_factory):
    base_dir = tmp_path_factory.mktemp("serve") / "fcn"
    export_saved_model(served_fcn, base_dir)
    running = ServerProcess(base_dir)
    yield running
    running.stop()


def exchange(port, data, connect_timeout=60):
    """Sends raw bytes on a new connection; returns (status, JSON body) of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=connect_timeout) as connection:
        connection.settimeout(60)
        connection.sendall(data)
        response = http.client.HTTPResponse(connection)
        response.begin()
        return response.status, json.loads(response.read())


def post(port, body, path="/v1/models/fcn:predict", connect_timeout=60):
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {len(body)}\r\n\r\n"
    return exchange(port, head.encode() + body, connect_timeout)


def image_request(*encoded):
    instances = [{"b64": base64.b64encode(data).decode()} for data in encoded]
    return json.dumps({"signature_name": "predict_image_bytes", "instances": instances}).encode()


def image(height, width, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def empty_png():
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 0, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


PNG = png_bytes(image(16, 16))
HOSTILE = {
    "text as an image": (post, image_request(b"hello, I am text"), 400, r"item 1 is not an image"),
    "a PNG cut in half": (post, image_request(PNG[: len(PNG) // 2]), 400, r"item 1 is a damaged image"),
    "a PNG without its end": (post, image_request(PNG[:-20]), 400, r"item 1 is a damaged image"),
    "a PNG header alone": (post, image_request(PNG[:33]), 400, r"item 1 is not an image"),
    "a 0x0 PNG": (post, image_request(empty_png()), 400, r"item 1 is not an image"),
    "images of two sizes": (post, image_request(PNG, png_bytes(image(16, 24))), 400,
                            r"must share a size, but item 1 is 16x16 \(WxH\) and item 2 is 24x16"),
    "a good image after a bad one": (post, image_request(PNG, b"GIF89a..."), 400, r"item 2 is not an image"),
    "JSON 100,000 levels deep": (post, b"[" * 100_000 + b"]" * 100_000, 400, r"nests deeper than"),
    "NaN pixels": (post, b'{"instances": [[[[NaN, 0, 0]]]]}', 400, r"NaN or infinite"),
    "a pixel of 1e999": (post, b'{"instances": [[[[1e999, 0, 0]]]]}', 400, r"NaN or infinite"),
    "a request line of four words": (exchange, b"GET /v1/models/fcn two words HTTP/1.1\r\n\r\n", 400,
                                     r"Malformed request: Bad request syntax"),
    "an unknown method": (exchange, b"BREW /v1/models/fcn HTTP/1.1\r\nHost: x\r\n\r\n", 405, r"Malformed request"),
    "a Content-Length of 5000 digits": (
        exchange, b"POST /v1/models/fcn:predict HTTP/1.1\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n", 413,
        r"exceeds this server's limit"),
    "a Content-Length in other digits": (
        exchange, "POST /v1/models/fcn:predict HTTP/1.1\r\nContent-Length: ²\r\n\r\n".encode(), 400,
        r"Content-Length"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_requests_get_plain_4xx_json_and_one_log_line(server, case):
    send, data, status, message = HOSTILE[case]
    logged = len(server.lines)
    got_status, payload = send(server.port, data)
    assert (got_status, list(payload)) == (status, ["error"])
    assert re.search(message, payload["error"]) and not INTERNALS.search(payload["error"]), payload
    line = server.wait_for(rf" {status}: ", start=logged).string
    assert payload["error"] in line
    time.sleep(0.2)  # anything else it would log for this request comes within milliseconds
    assert len(server.lines) == logged + 1, server.lines[logged:]


def test_a_burst_of_100_clients_is_answered_in_full(server, served_fcn):
    pictures = [image(16, 16, seed) for seed in range(4)]
    expected = [keras.ops.convert_to_numpy(served_fcn(picture[None].astype("float32"))).argmax(-1)
                for picture in pictures]
    bodies = [image_request(png_bytes(picture)) for picture in pictures]
    start = threading.Barrier(100)
    answers = [None] * 100

    def client(index):
        start.wait()  # all 100 connect at the same moment
        try:
            # The kernel completes a handshake at once while the listening queue has room. A full queue
            # drops it (resent after 1 s, then 3 s, ...) or resets the connection, so a connection that
            # is not up within 0.9 s met a full queue, however busy the machine.
            answers[index] = post(server.port, bodies[index % 4], connect_timeout=0.9)
        except OSError as error:
            answers[index] = (type(error).__name__, None)

    threads = [threading.Thread(target=client, args=(index,), daemon=True) for index in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [status for status, _ in answers] == [200] * 100
    for index, (_, payload) in enumerate(answers):
        np.testing.assert_array_equal(payload["predictions"][0]["classes"], expected[index % 4][0])


def test_a_client_that_hangs_up_costs_one_log_line_at_most(server):
    logged = len(server.lines)
    body = image_request(png_bytes(image(64, 64)))  # an answer of ~0.5 MB: writing it meets the closed socket
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
    connection.sendall(f"POST /v1/models/fcn:predict HTTP/1.1\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                       + body)
    connection.close()
    time.sleep(1.0)
    status, payload = exchange(server.port, b"GET /v1/models/fcn HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert status == 200 and payload["model_version_status"][0]["state"] == "AVAILABLE"
    new = [line for line in server.lines[logged:] if '" 200 ' not in line]
    assert len(new) <= 1 and not any("Traceback" in line for line in new), new


def test_serve_runtime_hands_the_exported_file_and_its_runtime_to_the_server(tmp_path, monkeypatch, capsys):
    """What the server does with a .tflite or .xml file is tested in-process (test_export_server.py)."""
    import fcn_keras.export
    from fcn_keras import cli

    served = {}
    monkeypatch.setattr(fcn_keras.export, "serve", lambda path, **options: served.update(path=path, **options))
    assert cli.main(["serve", str(tmp_path / "fcn.xml"), "--runtime", "openvino", "--port", "0"]) == 0
    assert served["path"] == str(tmp_path / "fcn.xml") and served["runtime"] == "openvino" and served["port"] == 0
    assert cli.main(["serve", "--preset", "fcn8s-heavy-pascal", "--runtime", "tflite"]) == 2
    assert "--preset serves the preset's SavedModel; for --runtime tflite export it first" in capsys.readouterr().err
