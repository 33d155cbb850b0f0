"""The server's `:segment` route and its page at `/`, through `RestApi.respond` (no socket): the class map as a
palette PNG equal to the model's argmax, the classes ranked by area, a class's probability map, the limits."""

import base64
import io
import json
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import HEADS, png_bytes, two_headed
from PIL import Image

from fcn_keras.data.classes import voc_palette
from fcn_keras.export import export_saved_model
from fcn_keras.export.compact import segment_answer
from fcn_keras.export.rest import Request, RestApi
from fcn_keras.export.served_model import ModelSource, ServedModel, Signature

NAMES = ("background", "circle", "square")


@pytest.fixture(scope="module")
def source(serving_dir):
    return ModelSource(serving_dir)


@pytest.fixture(scope="module")
def api(source):
    return RestApi(source, "fcn", class_names=NAMES)


def image(height, width, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3)).astype(np.uint8)


def segment(api, body, query="", method="POST", path="/v1/models/fcn:segment"):
    answer = api.respond(Request(method, path + query, {}, body))
    return answer.status, json.loads(answer.body)


def decoded(png_base64):
    return Image.open(io.BytesIO(base64.b64decode(png_base64)))


def test_the_class_map_is_the_models_argmax_with_its_classes_ranked_by_area(api, served_fcn):
    picture = image(24, 40)
    status, answer = segment(api, png_bytes(picture))
    assert status == 200
    logits = keras.ops.convert_to_numpy(served_fcn(picture[None].astype(np.float32)))[0]
    expected = logits.argmax(-1)
    assert answer["model_spec"] == {"name": "fcn", "version": "3"}
    assert (answer["height"], answer["width"]) == (24, 40) and answer["seconds"] > 0
    [head] = answer["heads"]
    assert head["head"] is None and "probability" not in head
    mask = decoded(head["mask_png"])
    assert mask.mode == "P"
    np.testing.assert_array_equal(np.array(mask), expected)
    counts = np.bincount(expected.ravel(), minlength=3)
    assert len(np.flatnonzero(counts)) > 1  # the tiny model's classes vary, so the ranking is tested
    ranked = sorted(np.flatnonzero(counts), key=lambda index: -counts[index])
    assert head["classes"] == [{"index": int(index), "name": NAMES[index], "pixels": int(counts[index]),
                                "fraction": round(counts[index] / expected.size, 6),
                                "color": voc_palette(3)[index].tolist()} for index in ranked]


def test_a_class_probability_map_is_the_softmax_in_8_bits(api, served_fcn):
    picture = image(16, 24, seed=1)
    status, answer = segment(api, png_bytes(picture), "?probability=2")
    assert status == 200
    probability = answer["heads"][0]["probability"]
    assert probability["index"] == 2
    gray = decoded(probability["png"])
    assert gray.mode == "L"
    softmax = keras.ops.convert_to_numpy(keras.ops.softmax(served_fcn(picture[None].astype(np.float32))))[0, ..., 2]
    np.testing.assert_allclose(np.array(gray) / 255, softmax, atol=1 / 255)


def test_a_500x500_answer_of_21_classes_takes_a_few_kilobytes():
    rows, columns = np.mgrid[0:500, 0:500]
    classes = np.zeros((500, 500), np.int32)
    for index, (row, column, radius) in enumerate([(100, 120, 90), (300, 350, 140), (420, 80, 60)], 1):
        classes[(rows - row) ** 2 + (columns - column) ** 2 < radius**2] = index * 5
    outputs = {"classes": classes[None], "probabilities": np.zeros((1, 500, 500, 21), np.float32)}
    body = json.dumps(segment_answer(outputs))
    assert len(body) < 5000
    assert [entry["index"] for entry in json.loads(body)["heads"][0]["classes"]] == [0, 10, 5, 15]


@pytest.mark.parametrize(("body", "query", "status", "message"), [
    (b"plain text, not an image", "", 400, "Input 'image_bytes' item 1 is not an image: send the bytes of a BMP"),
    (b"", "", 400, "is not an image"),
    (png_bytes(image(16, 16))[:-30], "", 400, "is a damaged image"),
    (png_bytes(image(40, 40)), "", 413, "hold 1600 pixels, more than this server's limit of 1000"),
    (png_bytes(image(16, 16)), "?probability=3", 400, "probability=3 names no class: the model scores 3 classes"),
    (png_bytes(image(16, 16)), "?probability=-1", 400, "probability must be one class index"),
    (png_bytes(image(16, 16)), "?probability=1&probability=2", 400, "probability must be one class index"),
    (png_bytes(image(16, 16)), "?alpha=1", 400, "Unknown parameter 'alpha'"),
])
def test_refusals_are_answered_as_on_the_other_routes(source, body, query, status, message):
    answer = segment(RestApi(source, "fcn", max_image_pixels=1000), body, query)
    assert answer[0] == status and message in answer[1]["error"]


def test_routes_methods_and_versions(api):
    assert segment(api, b"", method="GET")[0] == 405
    assert segment(api, png_bytes(image(8, 8)), path="/v1/models/other:segment")[0] == 404
    assert segment(api, png_bytes(image(8, 8)), path="/v1/models/fcn/versions/3:segment")[0] == 200
    assert segment(api, png_bytes(image(8, 8)), path="/v1/models/fcn/versions/2:segment")[0] == 404


def test_a_two_headed_model_answers_each_head(tmp_path):
    model = two_headed()
    export_saved_model(model, tmp_path / "sift")
    names = {"semantic": [f"thing {index}" for index in range(HEADS["semantic"])]}
    picture = image(20, 28, seed=2)
    status, answer = segment(RestApi(ModelSource(tmp_path / "sift"), "fcn", class_names=names), png_bytes(picture),
                             "?probability=4")
    assert status == 200
    logits = model(picture[None].astype(np.float32))
    heads = {head["head"]: head for head in answer["heads"]}
    assert set(heads) == set(HEADS)
    for name, head in heads.items():
        np.testing.assert_array_equal(np.array(decoded(head["mask_png"])),
                                      keras.ops.convert_to_numpy(logits[name])[0].argmax(-1))
    assert heads["semantic"]["classes"][0]["name"].startswith("thing ")
    assert {entry["name"] for entry in heads["geometric"]["classes"]} == {None}
    assert heads["semantic"]["probability"]["index"] == 4 and "probability" not in heads["geometric"]


class StubSource:
    """A served model whose signatures are given, for models too costly to build (several inputs, 300 classes)."""

    def __init__(self, signatures):
        self.signatures = signatures

    def current(self):
        return ServedModel(1, self.signatures, {}, None)


def test_models_the_route_cannot_answer_are_named():
    images = Signature({"color": None, "depth": None}, None)
    status, answer = segment(RestApi(StubSource({"serving_default": images}), "fcn"), png_bytes(image(8, 8)))
    assert status == 400 and answer["error"].startswith("This model takes several images (color, depth)")

    def many_classes(image_bytes):
        return {"classes": tf.zeros((1, 8, 8), tf.int32), "probabilities": tf.zeros((1, 8, 8, 300))}

    api = RestApi(StubSource({"predict_image_bytes": Signature({}, many_classes)}), "fcn")
    status, answer = segment(api, png_bytes(image(8, 8)))
    assert status == 400 and "scores 300 classes, more than the 256 a palette PNG holds" in answer["error"]


def test_the_page_is_served_at_the_root_with_the_model_name_and_no_external_url(api):
    for path in ("/", "/index.html"):
        answer = api.respond(Request("GET", path, {}, b""))
        assert answer.status == 200 and answer.headers["Content-Type"] == "text/html; charset=utf-8"
        page = answer.body.decode()
        assert '<meta name="fcn-model" content="fcn">' in page
        assert not re.search(r"https?:|\b(src|href)\s*=\s*[\"']", page)
    assert api.respond(Request("POST", "/", {}, b"")).status == 405
