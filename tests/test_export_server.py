"""The local TF Serving-compatible REST server and ServingClient, on 127.0.0.1 with a free port; its REST API
without a socket."""

import base64
import http.client
import json
import re
import socket
import threading
import time

import keras
import numpy as np
import pytest
from helpers import NUM_CLASSES, png_bytes

from fcn_keras.export import ModelServer, ServingClient, ServingError
from fcn_keras.export.rest import Request, RestApi


@pytest.fixture(scope="module")
def server(serving_dir):
    with ModelServer(serving_dir, port=0, model_name="fcn") as running:
        yield running


@pytest.fixture()
def client(server):
    return ServingClient(server.url, "fcn")


def images(*shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (*shape, 3)).astype(np.uint8)


def expected(model, batch):
    logits = keras.ops.convert_to_numpy(model(batch.astype(np.float32)))
    return logits.argmax(-1), keras.ops.convert_to_numpy(keras.ops.softmax(logits))


def raw_request(server, method, path, body=None, headers=None):
    """Sends a request as given (no client-side checks) and returns (status, decoded JSON)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    status, payload = response.status, json.loads(response.read())
    connection.close()
    return status, payload


def test_status_and_metadata_follow_tf_serving(client):
    assert client.status() == {
        "model_version_status": [
            {"version": "3", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        ]
    }
    metadata = client.metadata()
    assert metadata["model_spec"] == {"name": "fcn", "signature_name": "", "version": "3"}
    signatures = metadata["metadata"]["signature_def"]["signature_def"]
    assert sorted(signatures) == ["logits", "predict_image_bytes", "serving_default"]
    images_input = signatures["serving_default"]["inputs"]["images"]
    assert images_input["dtype"] == "DT_FLOAT"
    assert [dim["size"] for dim in images_input["tensor_shape"]["dim"]] == ["-1", "-1", "-1", "3"]
    assert signatures["serving_default"]["method_name"] == "tensorflow/serving/predict"


@pytest.mark.parametrize("request_format", ["instances", "inputs"])
def test_predict_arrays_and_encoded_images_match_keras(served_fcn, client, request_format):
    batch = images(2, 16, 24)
    classes, probabilities = expected(served_fcn, batch)
    for payload in (batch.astype(np.float32), [png_bytes(image) for image in batch]):
        result = client.predict(payload, request_format=request_format)
        assert result["classes"].dtype == np.int32
        np.testing.assert_array_equal(result["classes"], classes)
        np.testing.assert_allclose(result["probabilities"], probabilities, atol=1e-5)
    logits = client.predict(batch[0].astype(np.float32), signature_name="logits", request_format=request_format)
    assert list(logits) == ["logits"] and logits["logits"].shape == (1, 16, 24, NUM_CLASSES)


def test_versioned_route_and_unknown_servables(server, served_fcn):
    batch = images(1, 16, 16)
    result = ServingClient(server.url, "fcn", version=3).predict(png_bytes(batch[0]))
    np.testing.assert_array_equal(result["classes"], expected(served_fcn, batch)[0])
    unknown = {
        "Specific(fcn, 1)": ServingClient(server.url, "fcn", version=1),
        "Latest(other)": ServingClient(server.url, "other"),
    }
    for spec, client in unknown.items():
        with pytest.raises(ServingError, match=re.escape(f"HTTP 404: Servable not found for request: {spec}")):
            client.status()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "JSON Parse error"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"signature_name": "serving_default"}', "exactly one of 'instances'"),
        (b'{"instances": [], "inputs": []}', "exactly one of 'instances'"),
        (b'{"instances": []}', "non-empty JSON list"),
        (b'{"instances": [[[1, 2, 3]], [[1, 2]]]}', "not a rectangular array"),
        (b'{"instances": [[[[1, 2]]]]}', r"has shape \[1, 1, 1, 2\], the signature expects"),
        (b'{"instances": ["text"]}', "not a rectangular array of numbers"),
        (b'{"inputs": {"pixels": [[[[1, 2, 3]]]]}}', "unknown: \\['pixels'\\]"),
        (b'{"signature_name": "nope", "instances": [1]}', 'Serving signature name: "nope" not found'),
        (b'{"signature_name": ["x"], "instances": [1]}', "Serving signature name"),
        (b'{"signature_name": "predict_image_bytes", "instances": ["raw"]}', 'send each item as {"b64"'),
        (b'{"signature_name": "predict_image_bytes", "instances": [{"b64": "%%%"}]}', "invalid base64"),
        (b'{"signature_name": "predict_image_bytes", "instances": [{"b64": "aGVsbG8="}]}', "item 1 is not an image"),
        (b'{"signature_name": "predict_image_bytes", "inputs": {"image_bytes": []}}', "'image_bytes' is an empty list"),
        (b'{"inputs": []}', "'images' is an empty list"),
    ],
)
def test_malformed_requests_get_tf_serving_json_errors(server, body, message):
    status, payload = raw_request(server, "POST", "/v1/models/fcn:predict", body, {"Content-Length": str(len(body))})
    assert status == 400
    assert list(payload) == ["error"]
    assert re.search(message, payload["error"])


def test_bad_routes_and_methods_do_not_crash_the_server(server, client):
    assert raw_request(server, "GET", "/v2/nothing")[0] == 404
    assert raw_request(server, "GET", "/v1/models/fcn:predict")[0] == 405
    status, payload = raw_request(server, "POST", "/v1/models/fcn:predict", None, {"Content-Length": "many"})
    assert status == 400 and "Content-Length" in payload["error"]
    status, payload = raw_request(server, "POST", "/v1/models/fcn:predict", None, {"Content-Length": str(2**40)})
    assert status == 413 and "exceeds this server's limit" in payload["error"]
    mixed = [png_bytes(images(1, 16, 16)[0]), png_bytes(images(1, 16, 24)[0])]
    with pytest.raises(ServingError, match="HTTP 400: .*must share a size, but item 1 is 16x16 .* item 2 is 24x16"):
        client.predict(mixed)
    assert client.status()["model_version_status"][0]["state"] == "AVAILABLE"


def test_concurrent_clients_lose_no_request(server, served_fcn):
    batches = [images(1, 16, 16, seed=seed) for seed in range(4)]
    answers = [expected(served_fcn, batch)[0] for batch in batches]
    failures, completed = [], []

    def worker(index):
        client = ServingClient(server.url, "fcn")
        for request in range(25):
            try:
                result = client.predict(png_bytes(batches[index][0]))
                np.testing.assert_array_equal(result["classes"], answers[index])
                completed.append((index, request))
            except Exception as error:  # collected and reported by the main thread
                failures.append(repr(error))

    # daemon threads: a hung worker fails the test instead of keeping pytest from exiting
    threads = [threading.Thread(target=worker, args=(index,), daemon=True) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert len(completed) == 100


def test_stop_without_start_returns_promptly_and_frees_the_port(serving_dir):
    unstarted = ModelServer(serving_dir, port=0, model_name="fcn")
    port = unstarted.port
    stopper = threading.Thread(target=unstarted.stop, daemon=True)
    stopper.start()
    stopper.join(timeout=10)
    assert not stopper.is_alive()
    with socket.socket() as probe:  # the port is free again
        probe.bind(("127.0.0.1", port))


def test_a_client_that_never_sends_its_body_is_disconnected(serving_dir):
    with ModelServer(serving_dir, port=0, model_name="fcn", request_timeout=0.5) as quick:
        with socket.create_connection(("127.0.0.1", quick.port), timeout=10) as connection:
            connection.sendall(b"POST /v1/models/fcn:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            start = time.monotonic()
            assert connection.recv(1024) == b""  # closed by the server, without an answer
            assert time.monotonic() - start < 5
        assert ServingClient(quick.url, "fcn").status()["model_version_status"][0]["state"] == "AVAILABLE"


def test_oversized_bodies_and_images_get_413_json_not_a_broken_connection(serving_dir):
    with ModelServer(serving_dir, port=0, model_name="fcn", max_request_bytes=8000, max_image_pixels=1000) as small:
        body = json.dumps({"instances": images(1, 40, 40).tolist()}).encode()  # ~20 kB: over the byte limit
        assert len(body) > 8000
        status, payload = raw_request(small, "POST", "/v1/models/fcn:predict", body,
                                      {"Content-Length": str(len(body))})
        assert status == 413 and "8000 bytes" in payload["error"]
        client = ServingClient(small.url, "fcn")
        with pytest.raises(ServingError, match="HTTP 413: .*1024 pixels, more than this server's limit of 1000"):
            client.predict([png_bytes(images(1, 32, 32)[0])])  # small body, too many pixels
        assert np.shape(client.predict([png_bytes(images(1, 16, 16)[0])])["classes"]) == (1, 16, 16)  # answered
        assert client.status()["model_version_status"][0]["state"] == "AVAILABLE"


def test_a_client_waiting_for_100_continue_gets_413_at_once(serving_dir):
    with ModelServer(serving_dir, port=0, model_name="fcn", max_request_bytes=1000) as small:
        connection = http.client.HTTPConnection("127.0.0.1", small.port, timeout=10)
        connection.putrequest("POST", "/v1/models/fcn:predict")
        connection.putheader("Content-Length", "5000")
        connection.putheader("Expect", "100-continue")
        connection.endheaders()  # the body is never sent: the client waits for the server's word
        started = time.monotonic()
        response = connection.getresponse()
        assert response.status == 413 and "5000 bytes" in json.loads(response.read())["error"]
        assert time.monotonic() - started < 5  # not after the server's request timeout
        connection.close()


def test_an_image_header_announcing_a_decompression_bomb_gets_413(client):
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0))  # 400M pixels, no data
    bomb = b"\x89PNG\r\n\x1a\n" + header + chunk(b"IEND", b"")
    with pytest.raises(ServingError, match="HTTP 413: Input .image_bytes. item 1 is too large to decode"):
        client.predict([bomb])


@pytest.mark.parametrize("runtime", ["tflite", "openvino"])
def test_a_tflite_or_openvino_file_answers_as_the_saved_model_does(served_fcn, tmp_path, runtime):
    pytest.importorskip({"tflite": "ai_edge_litert", "openvino": "openvino"}[runtime])
    from fcn_keras.export import export_model

    path = export_model(served_fcn, runtime, tmp_path)
    batch = images(2, 16, 24)
    classes, probabilities = expected(served_fcn, batch)
    with ModelServer(path, port=0, runtime=runtime) as server:
        client = ServingClient(server.url, "fcn")
        assert client.status()["model_version_status"][0]["version"] == "1"
        signatures = client.metadata()["metadata"]["signature_def"]["signature_def"]
        assert sorted(signatures) == ["logits", "predict_image_bytes", "serving_default"]
        images_input = signatures["serving_default"]["inputs"]["images"]
        assert [dim["size"] for dim in images_input["tensor_shape"]["dim"]] == ["-1", "-1", "-1", "3"]
        assert sorted(signatures["predict_image_bytes"]["outputs"]) == ["classes", "probabilities"]
        for payload in (batch.astype(np.float32), [png_bytes(image) for image in batch]):
            result = client.predict(payload)
            np.testing.assert_array_equal(result["classes"], classes)
            np.testing.assert_allclose(result["probabilities"], probabilities, atol=1e-5)
        logits = client.predict(batch[:1].astype(np.float32), signature_name="logits")["logits"]
        np.testing.assert_allclose(logits, keras.ops.convert_to_numpy(served_fcn(batch[:1].astype(np.float32))),
                                   rtol=1e-4, atol=1e-4)
        body = b'{"instances": [[[[1, 2]]]]}'
        status, payload = raw_request(server, "POST", "/v1/models/fcn:predict", body,
                                      {"Content-Length": str(len(body))})
        assert status == 400 and "has shape [1, 1, 1, 2], the signature expects" in payload["error"]


def image_bytes_request(*encoded):
    instances = [{"b64": base64.b64encode(data).decode()} for data in encoded]
    return json.dumps({"signature_name": "predict_image_bytes", "instances": instances}).encode()


def test_the_rest_api_answers_a_predict_request_without_a_socket(server, served_fcn):
    batch = images(1, 16, 24)
    body = json.dumps({"instances": batch.astype(np.float32).tolist()}).encode()
    answer = server.rest.respond(Request("POST", "/v1/models/fcn/versions/3:predict", {}, body))
    assert (answer.status, answer.headers, answer.error) == (200, {"Content-Type": "application/json"}, None)
    prediction = json.loads(answer.body)["predictions"][0]
    np.testing.assert_array_equal(prediction["classes"], expected(served_fcn, batch)[0][0])


@pytest.mark.parametrize(
    ("max_image_pixels", "image", "status", "message"),
    [
        (None, b"hello, I am text", 400, "Input 'image_bytes' item 1 is not an image"),
        (1000, png_bytes(images(1, 32, 32)[0]), 413, "1024 pixels, more than this server's limit of 1000"),
    ],
)
def test_the_rest_api_refuses_bad_and_oversized_images_without_a_socket(server, max_image_pixels, image, status,
                                                                         message):
    rest = server.rest if max_image_pixels is None else RestApi(server.model_source, "fcn",
                                                                max_image_pixels=max_image_pixels)
    answer = rest.respond(Request("POST", "/v1/models/fcn:predict", {}, image_bytes_request(image)))
    assert answer.status == status and message in answer.error
    assert json.loads(answer.body) == {"error": answer.error}
