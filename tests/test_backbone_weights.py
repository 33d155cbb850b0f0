"""Pretrained backbone weights that cannot be had are refused in one line, and the registry reads without Keras.

Offline ImageNet downloads, a weights file of another network, keras-hub names that are no preset. Nothing
here touches the network: the resolver (`socket.getaddrinfo`) is replaced wherever a download could start.
"""

import socket
import subprocess
import sys

import keras
import pytest

from fcn_keras import cli, network
from fcn_keras.backbones import available_backbones, get_backbone, hub, pretrained
from fcn_keras.backbones.applications import application_network
from fcn_keras.network import DownloadError

MOBILENETV2_FILE = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"


def resolve_with(monkeypatch, answer):
    """Replaces the resolver by `answer(host)`; the hosts resolved before are forgotten."""
    monkeypatch.setattr(network, "_RESOLVED", set())
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *args, **kwargs: answer(host))
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)  # the downloads go to the (fake) hosts themselves


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No host resolves; Keras' cache and kagglehub's are empty folders."""

    def unknown(host):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    resolve_with(monkeypatch, unknown)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(keras.src.backend.config, "_KERAS_DIR", str(tmp_path / "keras"))  # read by Keras at import
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "kagglehub"))


@pytest.fixture(scope="module")
def weight_files(tmp_path_factory):
    """A MobileNetV2 `.weights.h5` and an EfficientNetV2-B0 `.keras`, both as the backbones build them."""
    folder = tmp_path_factory.mktemp("weights")
    application_network("MobileNetV2").save_weights(folder / "mobilenetv2.weights.h5")
    application_network("EfficientNetV2B0").save(folder / "efficientnetv2b0.keras")
    return folder


def test_the_registry_reads_without_keras():
    listing = ("[(name, get_backbone(name).description, get_backbone(name).load_weights is not None) "
               "for name in available_backbones()]")
    code = (f"import sys; from fcn_keras.backbones import available_backbones, get_backbone; print({listing}); "
            "print(sorted(name for name in ('keras', 'tensorflow', 'numpy') if name in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    here = eval(listing, {"get_backbone": get_backbone, "available_backbones": available_backbones})
    assert out.splitlines() == [repr(here), "[]"]


@pytest.mark.parametrize("backbone", ["mobilenetv2", "vgg16"])
def test_imagenet_weights_offline_are_refused_before_keras_tries(backbone, offline, tmp_path):
    with pytest.raises(DownloadError) as refusal:
        get_backbone(backbone).load_weights(None, "imagenet")  # refused before the FCN is touched
    network = pretrained._NETWORKS[backbone]
    file_name = network.imagenet_file.split("/")[-1]
    assert str(refusal.value) == (
        f"Cannot reach storage.googleapis.com (name not resolved: Name or service not known) to fetch the ImageNet "
        f"weights of {network.class_name} from {network.imagenet_url}: no network access? Instead, put that file at "
        f"{tmp_path / 'keras' / 'models' / file_name} (Keras' cache), or pass `backbone_weights` the path of a "
        f"{network.class_name} weights file saved with include_top={backbone == 'vgg16'}.")


@pytest.mark.parametrize("backbone", ["mobilenetv2", "efficientnetv2b0", "resnet50"])
def test_a_download_failing_after_the_check_is_keras_own_url_in_one_line(backbone, offline, monkeypatch):
    with socket.socket() as probe:  # a loopback port nobody listens on: Keras' download is refused at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    resolve_with(monkeypatch, lambda host: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))])
    url = pretrained._NETWORKS[backbone].imagenet_url
    with pytest.raises(DownloadError, match=r"^Keras could not fetch the ImageNet weights of \w+ from (\S+) "
                                            r"\(.*Connection refused\): no network access\? Instead, put") as refusal:
        pretrained.load_pretrained(backbone, "imagenet")
    assert str(refusal.value.__cause__).startswith(f"URL fetch failure on {url}: ")  # Keras asked for our URL


@pytest.mark.parametrize("backbone, file, owner", [
    ("mobilenetv2", "efficientnetv2b0.keras", ("EfficientNetV2B0", "efficientnetv2b0")),
    ("efficientnetv2b0", "mobilenetv2.weights.h5", ("MobileNetV2", "mobilenetv2")),
    ("resnet50", "mobilenetv2.weights.h5", ("MobileNetV2", "mobilenetv2")),
])
def test_a_file_of_another_network_is_refused_naming_it(backbone, file, owner, weight_files):
    class_name = pretrained._NETWORKS[backbone].class_name
    with pytest.raises(ValueError) as refusal:
        pretrained.load_pretrained(backbone, weight_files / file)
    assert str(refusal.value) == (f"{file} holds the weights of {owner[0]} (keras.applications), not {class_name}: "
                                  f"give backbone='{owner[1]}', or a {class_name} weights file saved with "
                                  "include_top=False.")


def test_a_file_of_an_unknown_network_is_refused_with_its_size(weight_files, tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "_NETWORKS", {"mobilenetv2": pretrained._NETWORKS["mobilenetv2"]})
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).save_weights(tmp_path / "mine.weights.h5")
    with pytest.raises(ValueError) as refusal:
        pretrained.load_pretrained("mobilenetv2", tmp_path / "mine.weights.h5")
    assert str(refusal.value) == ("mine.weights.h5 holds the weights of another network (2 arrays, 8 values), not "
                                  "MobileNetV2 (260 arrays, 2,257,984 values): give a MobileNetV2 weights file saved "
                                  "with include_top=False.")


@pytest.mark.parametrize("weights, message", [
    ("imagenet", "Cannot reach storage.googleapis.com (name not resolved: Name or service not known) to fetch the "
                 f"ImageNet weights of MobileNetV2 from https://storage.googleapis.com/tensorflow/keras-applications/"
                 f"mobilenet_v2/{MOBILENETV2_FILE}: no network access? Instead, put that file at "
                 f"{{keras}}/models/{MOBILENETV2_FILE} (Keras' cache), or pass --backbone-weights the path of a "
                 "MobileNetV2 weights file saved with include_top=False."),
    ("efficientnetv2b0.keras", "Could not load mobilenetv2 weights from '{file}': efficientnetv2b0.keras holds the "
                               "weights of EfficientNetV2B0 (keras.applications), not MobileNetV2: give --backbone "
                               "efficientnetv2b0, or a MobileNetV2 weights file saved with include_top=False."),
])
def test_train_refuses_weights_it_cannot_have_in_one_line(weights, message, weight_files, offline, tmp_path, capsys):
    path = weights if weights == "imagenet" else str(weight_files / weights)
    assert cli.main(["train", "--data", "synthetic:2", "--num-classes", "3", "--backbone", "mobilenetv2",
                     "--backbone-weights", path, "--output", str(tmp_path / "run"), "--epochs", "1"]) == 2
    expected = message.format(file=path, keras=tmp_path / "keras")
    assert capsys.readouterr().err.splitlines() == [f"fcn-keras train: error: {expected}"]


@pytest.fixture
def keras_hub():
    """keras-hub (an optional extra), its specs made afresh before and after the test."""
    module = pytest.importorskip("keras_hub", reason="keras-hub is an optional extra: pip install 'fcn-keras[hub]'")
    hub.hub_backbone.cache_clear()
    yield module
    hub.hub_backbone.cache_clear()


FORMS = ("write hub:<preset> with a keras-hub preset, e.g. hub:resnet_50_imagenet (an image backbone; "
         "keras_hub.models.ImageClassifier.presets lists them), a handle such as "
         "hub:kaggle://<owner>/<model>/keras/<variant> or hub:hf://<owner>/<model>, or hub:<a local preset folder>.")


@pytest.mark.parametrize("backbone, message", [
    ("hub:", f"hub: names no keras-hub preset: {FORMS}"),
    ("hub:not_a_real_preset", f"'not_a_real_preset' is not a keras-hub preset: {FORMS}"),
    ("hub:resnet_50_imagenett", "'resnet_50_imagenett' is not a keras-hub preset: did you mean hub:resnet_50_imagenet "
                                "or hub:resnet_vd_50_imagenet or hub:resnet_v2_50_imagenet? Otherwise " + FORMS),
])
def test_a_hub_name_that_is_no_preset_says_how_one_is_written(backbone, message, keras_hub, capsys):
    assert cli.main(["summary", "--backbone", backbone]) == 2
    assert capsys.readouterr().err.splitlines() == [f"fcn-keras summary: error: {message}"]


def test_hub_handles_and_local_folders_pass_the_check(keras_hub, tmp_path):
    for preset in ("kaggle://keras/resnetv1/keras/resnet_50_imagenet/3", "hf://keras/resnet_50_imagenet",
                   str(tmp_path)):
        hub.check_preset(preset)


def test_a_hub_preset_offline_is_refused_at_once_unless_cached(keras_hub, offline, tmp_path, monkeypatch):
    handle = keras_hub.models.Backbone.presets["resnet_18_imagenet"]["kaggle_handle"]
    folder = tmp_path / "kagglehub" / "models" / handle.removeprefix("kaggle://")

    def refusal(file):
        return (f"Cannot reach api.kaggle.com (name not resolved: Name or service not known) to fetch {file} of the "
                f"keras-hub preset 'resnet_18_imagenet' ({handle}) from https://api.kaggle.com: no network access? "
                f"Instead, copy the preset's folder, fetched where there is network, to {folder} (keras-hub's cache: "
                "kagglehub's, under $KAGGLEHUB_CACHE when set), or give hub:<a local preset folder>.")

    with pytest.raises(DownloadError) as offline_refusal:
        get_backbone("hub:resnet_18_imagenet")
    assert str(offline_refusal.value) == refusal("config.json")
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")  # its configuration cached: nothing to fetch to build it
    monkeypatch.setattr(keras_hub.layers.ImageConverter, "from_preset", lambda preset: keras_hub.layers.ImageConverter(
        scale=1 / 255))
    spec = get_backbone("hub:resnet_18_imagenet")
    assert (spec.name, spec.preprocessing["std_rgb"]) == ("resnet_18_imagenet", (255.0,) * 3)
    with pytest.raises(DownloadError) as weights_refusal:
        spec.load_weights(None, "imagenet")
    assert str(weights_refusal.value) == refusal("model.weights.h5")


@pytest.mark.parametrize("name, message", [
    ("broken.keras", r"broken.keras is not a Keras model file: a .keras file is a zip archive holding "
                     r"model.weights.h5"),
    ("broken.weights.h5", r"broken.weights.h5 is not a Keras weights file \(HDF5: .*\); give one written by "
                          r"model.save_weights\(\)"),
])
def test_a_file_that_is_no_keras_weights_file_is_called_so(name, message, tmp_path):
    (tmp_path / name).write_text("not weights")
    with pytest.raises(ValueError, match=message):
        pretrained.stored_shapes(tmp_path / name)
