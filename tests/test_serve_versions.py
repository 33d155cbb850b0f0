"""The local server moves to a new model version as TF Serving does: it loads a newer version folder beside
the served one and switches without dropping a request; a broken folder leaves the old version serving."""

import gc
import http.client
import json
import logging
import os
import tempfile
import threading
import time
import weakref

import keras
import numpy as np
import pytest
from helpers import NUM_CLASSES, tiny_fcn

from fcn_keras import cli
from fcn_keras.export import ModelServer, export_saved_model, serve
from fcn_keras.export import served_model as served_model_module
from fcn_keras.export.rest import Request, RestApi
from fcn_keras.export.served_model import ModelSource, VersionStatus
from fcn_keras.models import VARIANTS

POLL_SECONDS = 0.2
IMAGE = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
BODY = json.dumps({"instances": [IMAGE.astype(np.float32).tolist()]}).encode()


@pytest.fixture(scope="module")
def models():
    """The old version and the new one: the same tiny network, but the new one's score layer has a bias that
    makes class 0 win everywhere."""
    old, new = tiny_fcn(variant="fcn32s"), tiny_fcn(variant="fcn32s")
    score = new.get_layer(VARIANTS["fcn32s"].score_layers[0])
    score.bias.assign(np.eye(NUM_CLASSES, dtype=np.float32)[0] * 1000)
    return old, new


@pytest.fixture(scope="module")
def class_maps(models):
    maps = [keras.ops.convert_to_numpy(model(IMAGE[None].astype(np.float32)))[0].argmax(-1).tolist()
            for model in models]
    assert maps[0] != maps[1] and {*np.ravel(maps[1])} == {0}  # the versions' answers can be told apart
    return maps


def predict(port):
    """POSTs BODY on a new connection; returns (status, the class map answered)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", "/v1/models/fcn:predict", BODY, {"Content-Type": "application/json"})
        response = connection.getresponse()
        payload = json.loads(response.read())
        return response.status, payload["predictions"][0]["classes"] if response.status == 200 else payload
    finally:
        connection.close()


def status_of(api, path="/v1/models/fcn"):
    answer = api.respond(Request("GET", path, {}, b""))
    return answer.status, json.loads(answer.body)


def state(version, name="AVAILABLE", error_code="OK", error_message=""):
    return {"version": str(version), "state": name, "status": {"error_code": error_code,
                                                               "error_message": error_message}}


def wait_until(condition, timeout=30):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_clients_are_answered_throughout_a_new_version_and_switch_to_it(models, class_maps, tmp_path):
    base_dir = tmp_path / "fcn"
    export_saved_model(models[0], base_dir)
    answers = {index: [] for index in range(2)}  # per client thread: (status, version whose classes came back)
    stop = threading.Event()

    with ModelServer(base_dir, port=0, model_name="fcn", poll_seconds=POLL_SECONDS) as server:
        def client(index):
            while not stop.is_set():
                try:
                    status, classes = predict(server.port)
                    answers[index].append((status, class_maps.index(classes) + 1 if classes in class_maps else None))
                except Exception as error:  # a refused or reset connection: reported by the assertions below
                    answers[index].append((repr(error), None))

        threads = [threading.Thread(target=client, args=(index,), daemon=True) for index in answers]
        for thread in threads:
            thread.start()
        wait_until(lambda: all(len(got) >= 3 for got in answers.values()))
        export_saved_model(models[1], base_dir)  # version 2, renamed into place while the clients ask
        exported = time.monotonic()
        wait_until(lambda: all(got[-1][1] == 2 for got in answers.values()))
        switched = time.monotonic() - exported
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        assert status_of(server.rest) == (200, {"model_version_status": [state(2), state(1, "END")]})

    for got in answers.values():
        assert {status for status, _ in got} == {200}
        versions = [version for _, version in got]
        assert versions[0] == 1 and versions[-1] == 2
        assert versions == sorted(versions)  # each client's answers switch once, from version 1 to version 2
    assert switched < POLL_SECONDS + 10  # the poll interval plus a load of a tiny model, with room for a busy machine


def test_a_broken_version_leaves_the_old_one_serving_with_one_log_line(models, class_maps, tmp_path, caplog):
    base_dir = tmp_path / "fcn"
    export_saved_model(models[0], base_dir)
    with ModelServer(base_dir, port=0, model_name="fcn", poll_seconds=POLL_SECONDS) as server:
        broken = base_dir / ".staging"  # written aside and renamed into place, as exports are
        broken.mkdir()
        (broken / "saved_model.pb").write_bytes(b"not a SavedModel")
        caplog.set_level(logging.INFO, logger="fcn_keras.export.server")
        os.rename(broken, base_dir / "3")
        wait_until(lambda: status_of(server.rest)[1]["model_version_status"][0]["state"] == "END")
        time.sleep(5 * POLL_SECONDS)  # more polls: the failure is remembered, not retried and logged again

        assert predict(server.port) == (200, class_maps[0])
        status, payload = status_of(server.rest)
        failed, served = payload["model_version_status"]
        assert failed["version"] == "3" and failed["state"] == "END"
        assert failed["status"]["error_code"] == "UNKNOWN"
        assert "saved_model.pb" in failed["status"]["error_message"]
        assert served == state(1)
        assert status_of(server.rest, "/v1/models/fcn/versions/3") == (200, {"model_version_status": [failed]})
        lines = [record.getMessage() for record in caplog.records if "Version 3" in record.getMessage()]
        assert len(lines) == 1 and "\n" not in lines[0]
        assert lines[0].startswith("Version 3 of fcn did not load (") and "version 1 keeps serving" in lines[0]

        (base_dir / "3" / "new.pb").write_bytes(b"still not a SavedModel")
        os.replace(base_dir / "3" / "new.pb", base_dir / "3" / "saved_model.pb")  # a changed folder is retried
        wait_until(lambda: len([record for record in caplog.records if "Version 3" in record.getMessage()]) == 2)
        assert predict(server.port) == (200, class_maps[0])


def test_the_status_route_lists_loading_served_and_ended_versions(models, tmp_path, monkeypatch):
    base_dir = tmp_path / "fcn"
    export_saved_model(models[0], base_dir)
    source = ModelSource(base_dir)
    api = RestApi(source, "fcn")
    assert (source.poll(), status_of(api)) == (None, (200, {"model_version_status": [state(1)]}))
    export_saved_model(models[1], base_dir)

    loading, release = threading.Event(), threading.Event()
    load = served_model_module._load_saved_model

    def slow_load(version, path):
        loading.set()
        release.wait(30)
        return load(version, path)

    monkeypatch.setattr(served_model_module, "_load_saved_model", slow_load)
    old = weakref.ref(source.current().loaded)
    poller = threading.Thread(target=lambda: source.poll(), daemon=True)
    poller.start()
    assert loading.wait(30)
    assert status_of(api) == (200, {"model_version_status": [state(2, "LOADING"), state(1)]})
    assert api.respond(Request("POST", "/v1/models/fcn/versions/1:predict", {}, BODY)).status == 200
    release.set()
    poller.join(30)

    assert status_of(api) == (200, {"model_version_status": [state(2), state(1, "END")]})
    assert status_of(api, "/v1/models/fcn/versions/1") == (200, {"model_version_status": [state(1, "END")]})
    assert api.respond(Request("POST", "/v1/models/fcn/versions/1:predict", {}, BODY)).error == (
        "Servable not found for request: Specific(fcn, 1)")
    assert status_of(api, "/v1/models/fcn/versions/7")[0] == 404
    gc.collect()
    assert old() is None  # the replaced version is freed

    (base_dir / "6").mkdir()
    (base_dir / "6" / "saved_model.pb").write_bytes(b"broken")
    (base_dir / "1").rename(base_dir / "5")  # not a newer export, but a folder with a higher number
    (base_dir / "2").rename(base_dir / "0")  # lower numbers are ignored
    assert source.poll()[:2] == (6, "END")
    assert source.poll() == VersionStatus(5, "AVAILABLE")  # the newest that has not failed
    assert source.poll() is None and source.current().version == 5


def test_a_model_file_is_not_watched_and_serve_says_what_it_watches(models, tmp_path, monkeypatch, capsys):
    base_dir = tmp_path / "fcn"
    export_saved_model(models[0], base_dir)
    monkeypatch.setattr(ModelServer, "serve_forever", lambda server: server.stop())
    serve(base_dir, port=0, poll_seconds=0.5)
    started = capsys.readouterr().out
    assert f"/v1/models/fcn, watching {base_dir} for new versions every 0.5 s; a page to try it at http" in started
    serve(base_dir, port=0, poll_seconds=0)
    assert "watching" not in capsys.readouterr().out
    with ModelServer(base_dir, port=0, poll_seconds=None) as unwatched:
        assert not unwatched.watching
    with pytest.raises(ValueError, match="`poll_seconds` must be a finite number of seconds >= 0"):
        ModelServer(base_dir, port=0, poll_seconds=-1)


def test_serve_command_passes_the_poll_interval(tmp_path, monkeypatch, capsys):
    import fcn_keras.export

    served = {}
    monkeypatch.setattr(fcn_keras.export, "serve", lambda path, **options: served.update(path=path, **options))
    assert cli.main(["serve", str(tmp_path), "--poll-seconds", "0.5"]) == 0
    assert served["poll_seconds"] == 0.5
    assert cli.main(["serve", str(tmp_path)]) == 0
    assert served["poll_seconds"] == 2.0
    monkeypatch.undo()
    assert cli.main(["serve", str(tmp_path), "--poll-seconds", "-1"]) == 2
    assert "--poll-seconds must be a finite number of seconds >= 0" in capsys.readouterr().err


def test_a_keras_file_is_served_from_an_export_for_the_session(models, tmp_path, monkeypatch, capsys):
    models[0].save(tmp_path / "model.keras")
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # where the session's export goes
    answers = {}

    def answer_once(server):
        answers["status"] = server.rest.respond(Request("GET", "/v1/models/fcn", {}, b"")).status
        answers["served"] = [os.path.join(root, name) for root, _, names in os.walk(tmp_path / "tmp")
                             for name in names if name == "saved_model.pb"]
        server.stop()

    monkeypatch.setattr(ModelServer, "serve_forever", answer_once)
    assert cli.main(["serve", str(tmp_path / "model.keras"), "--port", "0"]) == 0
    started = capsys.readouterr().out
    assert answers["status"] == 200 and f"from {tmp_path / 'model.keras'} at http" in started
    assert "watching" not in started and len(answers["served"]) == 1
    assert not os.path.exists(answers["served"][0])  # the session's export is gone with it


def test_a_version_without_the_served_signatures_is_not_switched_to(models, tmp_path):
    export_saved_model(models[0], tmp_path / "fcn")
    source = ModelSource(tmp_path / "fcn")
    models[1].export(str(tmp_path / "fcn" / "2"), verbose=False)  # Keras' own SavedModel: its signatures only
    status = source.poll()
    assert (status.version, status.state, source.current().version) == (2, "END", 1)
    assert "lacks the signatures" in status.error and "export_saved_model" in status.error
