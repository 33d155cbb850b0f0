"""The authors' weights as Keras models: layout conversion, the original net's scores, presets and downloads."""

import hashlib
import os
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from helpers import random_images
from weight_fixtures import (
    authors_layers,
    caffe_forward,
    write_caffemodel,
    write_chainer_npz,
    write_torch_pth,
)

import fcn_keras
from fcn_keras import network
from fcn_keras.models import PRESETS, Preset, WeightSource, fcn_from_weights, from_preset, get_preset
from fcn_keras.models.conversion import CAFFE_MEAN_BGR, convert_weights_file
from fcn_keras.models.presets import preset_path
from fcn_keras.weight_files import read_weights

CLASSES = 3


@pytest.mark.parametrize("variant", ["fcn32s", "fcn16s", "fcn8s"])
def test_every_keras_weight_is_the_source_array_in_keras_layout(tmp_path, variant):
    layers = authors_layers(variant, CLASSES, seed=3)
    model = fcn_from_weights(read_weights(write_caffemodel(tmp_path / "n.caffemodel", layers)))
    assert fcn_keras.models.variant_of(model) == variant and fcn_keras.models.num_classes_of(model) == CLASSES
    for name, arrays in layers.items():
        weights = model.get_layer(name).get_weights()
        # conv (out, in, kh, kw) -> (kh, kw, in, out); deconv (in, out, kh, kw) -> (kh, kw, out, in): same axes
        np.testing.assert_array_equal(weights[0], arrays[0].transpose(2, 3, 1, 0), err_msg=name)
        if len(arrays) > 1:
            np.testing.assert_array_equal(weights[1], arrays[1], err_msg=name)
    assert model.get_layer("preprocess").mean_rgb == CAFFE_MEAN_BGR[::-1]
    assert model.get_layer("conv1_1_pad").padding == ((100, 100), (100, 100))  # the paper geometry


@pytest.mark.parametrize("variant, at_once, size", [("fcn8s", False, (23, 31)), ("fcn16s", False, (40, 17)),
                                                    ("fcn8s", True, (18, 18))])
def test_converted_model_gives_the_original_networks_scores(tmp_path, variant, at_once, size):
    """Plain RGB in, the Caffe net's scores out (BGR and the Caffe mean inside), at odd sizes."""
    layers = authors_layers(variant, CLASSES, at_once=at_once, seed=4)
    model = fcn_from_weights(read_weights(write_caffemodel(tmp_path / "n.caffemodel", layers)))
    image = random_images(1, *size, seed=5)[0]
    expected = caffe_forward(layers, image, variant, at_once)
    assert np.abs(expected).max() > 1 and expected.std() > 0.1  # the check is not 0 == 0
    got = keras.ops.convert_to_numpy(model(image[None]))[0]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_npz_and_pth_convert_to_the_same_model_as_the_caffemodel(tmp_path):
    layers = authors_layers("fcn8s", CLASSES, seed=6)
    image = random_images(1, 21, 26, seed=7)
    reference = keras.ops.convert_to_numpy(
        fcn_from_weights(read_weights(write_caffemodel(tmp_path / "n.caffemodel", layers)))(image))
    files = [write_chainer_npz(tmp_path / "n.npz", layers)]
    if _torch_available():
        files.append(write_torch_pth(tmp_path / "n.pth", layers))
    for path in files:
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(fcn_from_weights(read_weights(path))(image)),
                                      reference)


def test_at_once_needs_saying_for_formats_without_scale_layers(tmp_path):
    layers = authors_layers("fcn8s", CLASSES, at_once=True, seed=8)
    npz = read_weights(write_chainer_npz(tmp_path / "a.npz", layers))
    image = random_images(1, 16, 16, seed=9)[0]
    model = fcn_from_weights(npz, at_once=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(image[None]))[0],
                               caffe_forward(layers, image, "fcn8s", at_once=True), rtol=1e-4, atol=1e-3)
    caffe = read_weights(write_caffemodel(tmp_path / "a.caffemodel", layers))
    with pytest.raises(ValueError, match="scale layers .*convert it with at_once=True"):
        fcn_from_weights(caffe, at_once=False)
    layers["scale_pool4"] = [np.full(32, 0.5, np.float32)]
    with pytest.raises(ValueError, match="'scale_pool4' multiplies by \\[0.5\\]"):
        fcn_from_weights(read_weights(write_caffemodel(tmp_path / "b.caffemodel", layers)))


def test_mismatches_name_the_layer_and_both_shapes(tmp_path):
    layers = authors_layers("fcn16s", CLASSES, seed=10)
    layers["score_pool4"][0] = layers["score_pool4"][0][:, :5]  # 5 input channels where pool4 has 32
    with pytest.raises(ValueError, match=r"'score_pool4' has weights of shapes \[\(1, 1, 5, 3\), \(3,\)\] .* "
                                         r"needs \[\(1, 1, 32, 3\), \(3,\)\]"):
        fcn_from_weights(read_weights(write_caffemodel(tmp_path / "a.caffemodel", layers)))
    layers = authors_layers("fcn16s", CLASSES, seed=10)
    path = write_caffemodel(tmp_path / "b.caffemodel", layers, extra_layers=[("score_extra", layers["score_fr"])])
    with pytest.raises(ValueError, match=r"layers that an fcn16s on vgg16_tiny does not: \['score_extra'\]"):
        fcn_from_weights(read_weights(path))
    del layers["fc7"]
    with pytest.raises(ValueError, match="no weights for layer 'fc7'"):
        fcn_from_weights(read_weights(write_caffemodel(tmp_path / "c.caffemodel", layers)))
    layers = authors_layers("fcn8s", CLASSES, seed=10)
    del layers["score_pool4"]
    with pytest.raises(ValueError, match=r"score layers \['score_fr', 'score_pool3'\]"):
        fcn_from_weights(read_weights(write_caffemodel(tmp_path / "d.caffemodel", layers)))


def test_convert_writes_a_keras_file_that_keeps_the_mean_and_never_overwrites(tmp_path):
    source = write_caffemodel(tmp_path / "fcn16s-tiny.caffemodel", authors_layers("fcn16s", CLASSES, seed=11))
    model = convert_weights_file(source, tmp_path / "out.keras")
    loaded = keras.models.load_model(tmp_path / "out.keras")
    assert loaded.get_layer("preprocess").mean_rgb == CAFFE_MEAN_BGR[::-1]
    image = random_images(1, 19, 22)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(image)), keras.ops.convert_to_numpy(model(image)))
    with pytest.raises(FileExistsError, match="out.keras already exists"):
        convert_weights_file(source, tmp_path / "out.keras")


# ---------------------------------------------------------------------------------------------- presets


def md5(path):
    return "md5:" + hashlib.md5(open(path, "rb").read()).hexdigest()


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("FCN_KERAS_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def tiny_preset(monkeypatch, *sources, variant="fcn8s", name="tiny-pascal", at_once=False):
    preset = Preset(name, variant, at_once, ("background", "a", "b"), CAFFE_MEAN_BGR, {"seg11valid mean IU": 1.0},
                    tuple(sources), 1, "test", "a tiny test preset")
    monkeypatch.setitem(PRESETS, name, preset)
    return preset


def test_preset_downloads_converts_caches_and_is_offline_afterwards(tmp_path, home, monkeypatch):
    layers = authors_layers("fcn8s", CLASSES, seed=12)
    npz = write_chainer_npz(tmp_path / "served.npz", layers)
    tiny_preset(monkeypatch, WeightSource(npz.as_uri(), "tiny.npz", md5(npz)))
    model = from_preset("tiny-pascal")
    assert os.path.exists(preset_path("tiny-pascal"))
    assert not os.path.exists(home / "downloads" / "tiny.npz")  # the .keras file holds the same weights
    os.remove(npz)  # no source any more: the cache must serve
    again = from_preset("tiny-pascal")
    image = random_images(1, 20, 20, seed=13)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(again(image)), keras.ops.convert_to_numpy(model(image)))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(image))[0],
                               caffe_forward(layers, image[0], "fcn8s"), rtol=1e-4, atol=1e-3)


def test_failed_sources_are_named_and_the_next_one_is_tried(tmp_path, home, monkeypatch):
    layers = authors_layers("fcn8s", CLASSES, seed=14)
    good = write_caffemodel(tmp_path / "good.caffemodel", layers)
    truncated = tmp_path / "cut.caffemodel"
    truncated.write_bytes(good.read_bytes()[:3000])
    npz = write_chainer_npz(tmp_path / "wrong.npz", layers)
    sources = [WeightSource((tmp_path / "missing.caffemodel").as_uri(), "a.caffemodel"),
               WeightSource(npz.as_uri(), "b.npz", "md5:0123456789abcdef0123456789abcdef"),
               WeightSource(truncated.as_uri(), "c.caffemodel")]
    tiny_preset(monkeypatch, *sources)
    with pytest.raises(FileNotFoundError) as failure:
        from_preset("tiny-pascal")
    message = str(failure.value)
    for source in sources:
        assert source.url in message
    assert "download failed" in message and "checksum" in message and "not a readable .caffemodel" in message
    assert f"by hand into {home / 'downloads'}/" in message and "fcn-keras convert FILE" in message
    assert not os.listdir(home / "downloads")  # nothing corrupt is kept for next time
    tiny_preset(monkeypatch, *sources, WeightSource(good.as_uri(), "d.caffemodel"))
    assert fcn_keras.models.variant_of(from_preset("tiny-pascal")) == "fcn8s"


def test_a_file_placed_by_hand_is_used_without_downloading_and_kept(tmp_path, home, monkeypatch):
    preset = tiny_preset(monkeypatch, WeightSource("http://unreachable.invalid/x.caffemodel", "x.caffemodel"))
    (home / "downloads").mkdir(parents=True)
    placed = write_caffemodel(home / "downloads" / "x.caffemodel", authors_layers("fcn8s", CLASSES, seed=15))
    content = placed.read_bytes()
    assert fcn_keras.models.num_classes_of(from_preset(preset.name, download=False)) == CLASSES
    assert placed.read_bytes() == content  # the user's file stays


def test_a_wrong_file_placed_by_hand_is_named_and_kept(tmp_path, home, monkeypatch, capsys):
    """Another network, or not a Caffe model at all: refused, saying which file and what to do; never deleted."""
    from fcn_keras import cli

    served = write_caffemodel(tmp_path / "served.caffemodel", authors_layers("fcn8s", CLASSES, seed=24))
    tiny_preset(monkeypatch, WeightSource(served.as_uri(), "x.caffemodel"))
    placed = home / "downloads" / "x.caffemodel"
    placed.parent.mkdir(parents=True)
    write_caffemodel(placed, authors_layers("fcn16s", CLASSES, seed=25))
    content = placed.read_bytes()
    with pytest.raises(ValueError) as failure:
        from_preset("tiny-pascal")
    assert str(failure.value) == (
        f"{placed} holds an fcn16s of 3 classes, not the preset's fcn8s of 3. The file was there before this call "
        f"(put there by hand?) and is kept: replace it with x.caffemodel from {served.as_uri()}, or remove it to "
        "download again.")
    assert placed.read_bytes() == content and not os.path.exists(preset_path("tiny-pascal"))
    placed.write_bytes(b"<html>Service unavailable</html>")
    photos = tmp_path / "photos"
    photos.mkdir()
    assert cli.main(["predict", "--preset", "tiny-pascal", str(photos), "--output", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"fcn-keras predict: error: {placed} is not a readable .caffemodel (")
    assert error.endswith("The file was there before this call (put there by hand?) and is kept: replace it with "
                          f"x.caffemodel from {served.as_uri()}, or remove it to download again.\n")
    assert placed.read_bytes() == b"<html>Service unavailable</html>"


def test_a_file_of_another_network_is_refused(tmp_path, home, monkeypatch):
    other = write_caffemodel(tmp_path / "fcn16s.caffemodel", authors_layers("fcn16s", CLASSES, seed=16))
    tiny_preset(monkeypatch, WeightSource(other.as_uri(), "y.caffemodel"))
    with pytest.raises(FileNotFoundError, match="holds an fcn16s of 3 classes, not the preset's fcn8s of 3"):
        from_preset("tiny-pascal")


def test_an_at_once_preset_from_a_format_without_scale_layers(tmp_path, home, monkeypatch):
    layers = authors_layers("fcn8s", CLASSES, at_once=True, seed=22)
    npz = write_chainer_npz(tmp_path / "served.npz", layers)
    tiny_preset(monkeypatch, WeightSource(npz.as_uri(), "tiny.npz", md5(npz)), at_once=True)
    image = random_images(1, 18, 22, seed=23)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(from_preset("tiny-pascal")(image))[0],
                               caffe_forward(layers, image[0], "fcn8s", at_once=True), rtol=1e-4, atol=1e-3)


def test_at_once_is_read_from_the_caffemodel_or_the_file_name(tmp_path):
    from fcn_keras.models.conversion import at_once_of_file

    plain = read_weights(write_caffemodel(tmp_path / "p.caffemodel", authors_layers("fcn8s", CLASSES)))
    with pytest.raises(ValueError, match="is not an at-once FCN .*drop at_once"):
        at_once_of_file(tmp_path / "p.caffemodel", plain, at_once=True)
    npz_layers = authors_layers("fcn8s", CLASSES)
    assert at_once_of_file("fcn8s-atonce_from_caffe.npz", npz_layers) is True
    assert at_once_of_file("fcn8s_from_caffe.npz", npz_layers) is False
    assert at_once_of_file("fcn8s_from_caffe.npz", npz_layers, at_once=True) is True


def test_a_file_in_downloads_that_fails_its_md5_is_refused_and_never_overwritten(tmp_path, home, monkeypatch):
    served = write_chainer_npz(tmp_path / "served.npz", authors_layers("fcn8s", CLASSES, seed=26))
    tiny_preset(monkeypatch, WeightSource(served.as_uri(), "z.npz", md5(served)))
    (home / "downloads").mkdir(parents=True)
    placed = write_chainer_npz(home / "downloads" / "z.npz", authors_layers("fcn8s", CLASSES, seed=27))
    content = placed.read_bytes()
    for download in (False, True):  # a good file is served, yet the one there is not replaced
        with pytest.raises(ValueError) as failure:
            from_preset("tiny-pascal", download=download)
        assert str(failure.value) == (
            f"{placed} is already there, but its md5 is {md5(placed)[4:]}, not the {md5(served)[4:]} published for "
            f"{served.as_uri()}: another file, or a damaged one. It is left as it is: replace it with the right "
            "file, or remove it to download again.")
        assert placed.read_bytes() == content


def test_download_false_never_fetches(tmp_path, home, monkeypatch):
    served = write_chainer_npz(tmp_path / "served.npz", authors_layers("fcn8s", CLASSES, seed=28))
    tiny_preset(monkeypatch, WeightSource(served.as_uri(), "z.npz", md5(served)))
    with pytest.raises(FileNotFoundError, match=f"- {served.as_uri()}: {home / 'downloads' / 'z.npz'} is not there "
                                                "and download=False"):
        from_preset("tiny-pascal", download=False)
    assert not (home / "downloads").exists()


def test_offline_each_source_fails_in_seconds_and_the_summary_says_how_to_place_a_file(home, monkeypatch):
    def unknown(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(network, "_RESOLVED", set())
    monkeypatch.setattr(socket, "getaddrinfo", unknown)
    sources = [WeightSource("http://weights.invalid/tiny.caffemodel", "tiny.caffemodel"),
               WeightSource("https://mirror.invalid/tiny.npz", "tiny.npz", "md5:" + "0" * 32)]
    tiny_preset(monkeypatch, *sources)
    started = time.monotonic()
    with pytest.raises(FileNotFoundError) as failure:
        from_preset("tiny-pascal")
    assert time.monotonic() - started < 10
    downloads = home / "downloads"
    assert str(failure.value).splitlines() == [
        "Could not get the preset 'tiny-pascal':",
        "- http://weights.invalid/tiny.caffemodel: Cannot reach weights.invalid (name not resolved: Name or service "
        "not known) to fetch tiny.caffemodel from http://weights.invalid/tiny.caffemodel: no network access? Instead, "
        f"download it by hand to {downloads / 'tiny.caffemodel'}.",
        "- https://mirror.invalid/tiny.npz: Cannot reach mirror.invalid (name not resolved: Name or service not "
        "known) to fetch tiny.npz from https://mirror.invalid/tiny.npz: no network access? Instead, download it by "
        f"hand to {downloads / 'tiny.npz'}.",
        f"Download one of the files above by hand into {downloads}/ under its name (tiny.caffemodel, tiny.npz) and "
        "call again, or convert it yourself with fcn_keras.models.convert_weights_file (`fcn-keras convert FILE "
        "--output model.keras`)."]
    assert not downloads.exists() or not os.listdir(downloads)


def test_the_registry_needs_neither_tensorflow_nor_keras():
    code = ("import sys; from fcn_keras.models.preset_table import PRESETS; "
            "print(len(PRESETS), sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout == "14 []\n"
    from fcn_keras.models import preset_table

    assert fcn_keras.presets.PRESETS is fcn_keras.models.PRESETS is preset_table.PRESETS


def test_unknown_presets_and_local_files(tmp_path):
    with pytest.raises(ValueError, match="Unknown preset 'fcn9s'. Presets: fcn32s-heavy-pascal"):
        from_preset("fcn9s")
    path = write_caffemodel(tmp_path / "local.caffemodel", authors_layers("fcn32s", CLASSES, seed=17))
    assert fcn_keras.models.variant_of(from_preset(str(path))) == "fcn32s"


def test_the_registry_holds_the_authors_models_with_their_reported_scores():
    assert {name: (p.variant, p.at_once, p.num_classes, p.scores) for name, p in PRESETS.items()} == {
        "fcn32s-heavy-pascal": ("fcn32s", False, 21, {"seg11valid mean IU": 63.6}),
        "fcn16s-heavy-pascal": ("fcn16s", False, 21, {"seg11valid mean IU": 65.0}),
        "fcn8s-heavy-pascal": ("fcn8s", False, 21, {"seg11valid mean IU": 65.5, "seg12test mean IU": 67.2}),
        "fcn8s-atonce-pascal": ("fcn8s", True, 21, {"seg11valid mean IU": 65.4}),
        "fcn-alexnet-pascal": ("fcn32s", False, 21, {"seg11valid mean IU": 48.0}),
        "siftflow-fcn32s-heavy": ("fcn32s", False, {"semantic": 33, "geometric": 3}, {}),
        "siftflow-fcn16s-heavy": ("fcn16s", False, {"semantic": 33, "geometric": 3},
                                  {"test semantic mean IU": 39.5, "test geometric pixel accuracy": 94.3}),
        "siftflow-fcn8s-heavy": ("fcn8s", False, {"semantic": 33, "geometric": 3}, {}),
        "nyud-fcn32s-color-heavy": ("fcn32s", False, 40, {"test mean IU": 29.2}),
        "nyud-fcn32s-hha-heavy": ("fcn32s", False, 40, {"test mean IU": 24.2}),
        "nyud-fcn32s-color-hha-heavy": ("fcn32s", False, 40, {"test mean IU": 32.8}),
        "pascalcontext-fcn32s-heavy": ("fcn32s", False, 60, {}),
        "pascalcontext-fcn16s-heavy": ("fcn16s", False, 60, {}),
        "pascalcontext-fcn8s-heavy": ("fcn8s", False, 60, {})}
    for preset in PRESETS.values():
        assert preset.sources[0].url == f"http://dl.caffe.berkeleyvision.org/{preset.name}.caffemodel"
        assert all(source.checksum for source in preset.sources[1:])  # the converted copies' published md5s


def _torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------------------------------------- command line


def test_convert_command_reads_every_format(tmp_path, capsys):
    from fcn_keras import cli

    layers = authors_layers("fcn8s", CLASSES, at_once=True, seed=18)
    files = [write_caffemodel(tmp_path / "a.caffemodel", layers), write_chainer_npz(tmp_path / "a.npz", layers)]
    if _torch_available():
        files.append(write_torch_pth(tmp_path / "a.pth", layers))
    image = random_images(1, 17, 21, seed=19)
    outputs = []
    for path in files:
        output = tmp_path / f"{path.suffix[1:]}.keras"
        assert cli.main(["convert", str(path), "--output", str(output), "--at-once"]) == 0
        assert f"fcn8s, {CLASSES} classes -> {output}" in capsys.readouterr().out
        outputs.append(keras.ops.convert_to_numpy(keras.models.load_model(output)(image)))
    for output in outputs[1:]:
        np.testing.assert_array_equal(output, outputs[0])
    assert cli.main(["convert", str(files[0]), "--output", str(tmp_path / "caffemodel.keras")]) == 2
    assert "already exists" in capsys.readouterr().err


def test_commands_take_a_preset_instead_of_a_model_file(tmp_path, home, monkeypatch, capsys):
    from PIL import Image

    from fcn_keras import cli
    from fcn_keras.data import make_shapes, read_mask
    from fcn_keras.evaluation import predict

    npz = write_chainer_npz(tmp_path / "served.npz", authors_layers("fcn8s", CLASSES, seed=20))
    tiny_preset(monkeypatch, WeightSource(npz.as_uri(), "tiny.npz", md5(npz)))
    assert cli.main(["presets"]) == 0
    listing = capsys.readouterr().out
    assert "tiny-pascal" in listing and "fcn8s-heavy-pascal" in listing and str(home) in listing
    photos = tmp_path / "photos"
    photos.mkdir()
    images, _ = make_shapes(2, (30, 26), seed=21)
    for index, image in enumerate(images):
        Image.fromarray(image).save(photos / f"p{index}.png")
    assert cli.main(["predict", "--preset", "tiny-pascal", str(photos), "--output", str(tmp_path / "out")]) == 0
    model = from_preset("tiny-pascal")
    np.testing.assert_array_equal(read_mask(str(tmp_path / "out" / "p1.png")), predict(model, images[1]))
    assert cli.main(["evaluate", "--preset", "tiny-pascal", "--data", "synthetic:3"]) == 0
    assert "mean IU" in capsys.readouterr().out
    assert cli.main(["export", "--preset", "tiny-pascal", "--format", "tflite", "--output", str(tmp_path / "l")]) == 0
    assert (tmp_path / "l" / "model.tflite").stat().st_size > 0
    from fcn_keras.export.tflite import read_tflite_metadata

    assert read_tflite_metadata(tmp_path / "l" / "model.tflite")["class_names"] == list(get_preset("tiny-pascal")
                                                                                          .class_names)
    assert "for MediaPipe, export with --input-size HEIGHT WIDTH" in capsys.readouterr().out  # a dynamic file
    assert cli.main(["evaluate", str(tmp_path / "x.keras"), "--preset", "tiny-pascal", "--data", "synthetic:3"]) == 2
    assert "exactly one" in capsys.readouterr().err


@pytest.mark.slow
def test_the_authors_fcn8s_reproduces_its_reported_mean_iu_on_seg11valid():
    """Runs only where the converted preset is cached and VOC2011 with seg11valid.txt is given (never in CI)."""
    from fcn_keras import cli

    voc2011 = os.environ.get("FCN_KERAS_VOC2011")
    if not os.path.exists(preset_path("fcn8s-heavy-pascal")):
        pytest.skip(f"fcn8s-heavy-pascal is not cached at {preset_path('fcn8s-heavy-pascal')}: run "
                    "`fcn-keras presets` / fcn_keras.from_preset('fcn8s-heavy-pascal') once with network access")
    if not voc2011 or not os.path.isfile(os.path.join(voc2011, "ImageSets", "Segmentation", "seg11valid.txt")):
        pytest.skip("set FCN_KERAS_VOC2011 to a VOC2011 folder holding ImageSets/Segmentation/seg11valid.txt "
                    "(fcn_keras.data.write_seg11valid writes it)")
    import json
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        scores = os.path.join(folder, "scores.json")
        assert cli.main(["evaluate", "--preset", "fcn8s-heavy-pascal", "--data", f"voc:{voc2011}",
                         "--split", "seg11valid", "--output", scores]) == 0
        mean_iou = json.load(open(scores))["mean_iou"]
    assert 100 * mean_iou == pytest.approx(PRESETS["fcn8s-heavy-pascal"].scores["seg11valid mean IU"], abs=0.15)


def test_the_authors_fcn_alexnet_converts_to_their_scores(tmp_path):
    from weight_fixtures import alexnet_layers, caffe_alexnet_forward

    layers = alexnet_layers(CLASSES, seed=21)
    model = fcn_from_weights(read_weights(write_caffemodel(tmp_path / "fcn-alexnet.caffemodel", layers)))
    assert model.get_layer("conv2").groups == 2 and model.get_layer("upscore").kernel_size == (63, 63)
    image = np.random.default_rng(5).uniform(0, 255, (45, 58, 3)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(image[None]))[0],
                               caffe_alexnet_forward(layers, image), rtol=1e-4, atol=1e-3)
