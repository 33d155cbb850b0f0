"""Backbones beyond VGG: your own Keras model by tap names, keras.applications with their weights, FLOPs."""

import warnings

import keras
import numpy as np
import pytest
from helpers import random_images, randomize_scores

import fcn_keras
from fcn_keras.backbones.applications import application_network
from fcn_keras.models import convolution_flops


def my_network():
    """A small residual network of the kind users bring: explicit padding, BatchNorm, a projection shortcut."""
    images = keras.Input((None, None, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(images)
    x = keras.layers.ZeroPadding2D(3)(x)
    x = keras.layers.Conv2D(8, 7, strides=2, name="stem")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.MaxPooling2D(3, 2, padding="same", name="stem_pool")(x)
    for stage, width in enumerate((16, 24, 32), start=3):
        shortcut = keras.layers.Conv2D(width, 1, strides=2, name=f"s{stage}_project")(x)
        x = keras.layers.ZeroPadding2D(1)(x)  # so that its 3x3/2 windows centre where the 1x1/2 shortcut reads
        x = keras.layers.Conv2D(width, 3, strides=2, activation="relu", name=f"s{stage}_a")(x)
        x = keras.layers.Conv2D(width, 3, padding="same", name=f"s{stage}_b")(x)
        x = keras.layers.ReLU(name=f"s{stage}_out")(keras.layers.Add()([x, shortcut]))
    return keras.Model(images, x, name="my_net")


TAPS = {8: "s3_out", 16: "s4_out", 32: "s5_out"}


@pytest.mark.backends
def test_your_own_model_by_tap_names_keeps_its_weights_and_round_trips(tmp_path):
    network = my_network()
    model = fcn_keras.build_fcn8s(4, backbone=network, taps=TAPS)
    images = random_images(2, 45, 61)
    assert tuple(model(images).shape) == (2, 45, 61, 4)
    extractor = model.get_layer("backbone")
    for layer in network.layers[1:]:  # all but the input layer
        for mine, used in zip(layer.get_weights(), extractor.get_layer(layer.name).get_weights()):
            np.testing.assert_array_equal(mine, used)
    model.get_layer("score_fr").set_weights([np.full_like(w, 0.01) for w in model.get_layer("score_fr").get_weights()])
    model.save(tmp_path / "mine.keras")
    loaded = keras.models.load_model(tmp_path / "mine.keras")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(images)), keras.ops.convert_to_numpy(model(images)),
                               atol=1e-6)


@pytest.mark.parametrize("taps, message", [
    ({8: "s4_out", 16: "s4_out", 32: "s5_out"}, r"given for stride 8 \('s4_out'\) has stride 16"),
    ({16: "s4_out", 32: "s5_out"}, r"has no tap at stride 8; fcn8s needs strides \[8, 16, 32\]"),
    ({8: "s3_out", 16: "nope", 32: "s5_out"}, r"Model 'my_net' has no layer named 'nope'"),
])
def test_wrong_taps_are_named(taps, message):
    with pytest.raises(ValueError, match=message):
        fcn_keras.build_fcn8s(3, backbone=my_network(), taps=taps)


def test_a_model_without_taps_or_pyramid_is_refused():
    with pytest.raises(ValueError, match=r"Give the taps of model 'my_net'"):
        fcn_keras.build_fcn8s(3, backbone=my_network())
    with pytest.raises(ValueError, match="the registered backbone 'vgg16_tiny' has its own"):
        fcn_keras.build_fcn8s(3, backbone="vgg16_tiny", taps=TAPS)


def test_a_keras_hub_style_pyramid_supplies_the_taps():
    network = my_network()
    network.pyramid_outputs = {f"P{level}": network.get_layer(f"s{level}_out").output for level in (3, 4, 5)}
    model = fcn_keras.build_fcn16s(3, backbone=network)
    assert tuple(model(random_images(1, 40, 40)).shape) == (1, 40, 40, 3)


@pytest.mark.parametrize("backbone, class_name", [("mobilenetv2", "MobileNetV2"),
                                                  ("efficientnetv2b0", "EfficientNetV2B0")])
def test_application_weights_load_from_a_local_file(backbone, class_name, tmp_path):
    network = application_network(class_name)
    for index, weight in enumerate(network.weights):  # distinct from a fresh build's
        weight.assign(np.random.default_rng(index).normal(size=weight.shape).astype("float32"))
    network.save_weights(tmp_path / "pretrained.weights.h5")
    with warnings.catch_warnings():  # Keras' are silenced
        warnings.simplefilter("error")
        model = fcn_keras.build_fcn32s(3, backbone=backbone, backbone_weights=str(tmp_path / "pretrained.weights.h5"))
    loaded = [layer for layer in model.get_layer("backbone").layers if layer.weights]
    expected = [layer for layer in network.layers if layer.weights]
    assert [layer.name for layer in loaded] == [layer.name for layer in expected]
    for source, target in zip(expected, loaded):
        for array, copied in zip(source.get_weights(), target.get_weights()):
            np.testing.assert_array_equal(copied, array)


def test_preprocessing_is_the_backbones_own():
    assert fcn_keras.build_fcn32s(2, backbone="mobilenetv2").get_layer("preprocess").get_config()["std_rgb"] == [
        127.5] * 3
    resnet = fcn_keras.build_fcn32s(2, backbone="resnet50").get_layer("preprocess")
    assert (resnet.channel_order, resnet.mean_rgb) == ("BGR", (123.68, 116.779, 103.939))


def test_flops_count_nested_backbones_at_the_size_they_are_fed():
    model = fcn_keras.build_fcn32s(2, backbone=my_network(), taps={32: "s5_out"}, input_shape=(64, 64, 3),
                                   padding="same")
    # (output pixels, kernel window, in, out) of each convolution of my_network on 64x64: stem 70 -> 32, pool -> 16
    convolutions = [(32 * 32, 49, 3, 8)]
    for size, (before, width) in zip((8, 4, 2), ((8, 16), (16, 24), (24, 32))):
        pixels = size * size
        convolutions += [(pixels, 1, before, width), (pixels, 9, before, width), (pixels, 9, width, width)]
    backbone = sum(2 * pixels * window * inputs * outputs for pixels, window, inputs, outputs in convolutions)
    upscore = model.get_layer("upscore")
    head = 2 * 2 * 2 * 32 * 2 + 2 * 2 * 2 * upscore.kernel_size[0] ** 2 * 2 * 2  # score_fr, then upscore on 2x2
    assert convolution_flops(model) == backbone + head


def test_alexnet_takes_a_caffe_classifiers_weights_fc_layers_convolutionalized(tmp_path):
    from weight_fixtures import alexnet_layers, write_caffemodel

    from fcn_keras.weight_files import read_weights

    path = write_caffemodel(tmp_path / "bvlc_alexnet_tiny.caffemodel", alexnet_layers(seed=3, fc_kind="dense"))
    assert read_weights(path)["fc6"].kind == "dense"
    model = fcn_keras.build_fcn32s(3, backbone="alexnet_tiny", backbone_weights=str(path), dropout=0,
                                   padding="same", input_shape=(188, 188, 3))
    layers = alexnet_layers(seed=3, fc_kind="dense")
    pool5 = keras.Model(model.input, model.get_layer("pool5").output)(random_images(1, 188, 188))
    pool5 = keras.ops.convert_to_numpy(pool5)[0]  # (6, 6, C) at 188 px; "same" fc6 pads 2 above: pixel 2 sees it
    assert pool5.shape[:2] == (6, 6)
    dense = layers["fc6"][0] @ pool5.transpose(2, 0, 1).ravel() + layers["fc6"][1]  # Caffe flattens (C, H, W)
    fc6 = keras.Model(model.input, model.get_layer("fc6").output)(random_images(1, 188, 188))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(fc6)[0, 2, 2], np.maximum(dense, 0), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="bvlc_alexnet.caffemodel"):
        fcn_keras.build_fcn32s(3, backbone="alexnet_tiny", backbone_weights="imagenet")


def needs_keras_hub():
    return pytest.importorskip("keras_hub", reason="keras-hub is an optional extra: pip install 'fcn-keras[hub]'")


def hub_resnet():
    """A small keras-hub ResNet built from its configuration (no download)."""
    return needs_keras_hub().models.ResNetBackbone(
        input_conv_filters=[64], input_conv_kernel_sizes=[7], stackwise_num_filters=[64, 8, 16, 16],
        stackwise_num_blocks=[1, 1, 1, 1], stackwise_num_strides=[1, 2, 2, 2], block_type="basic_block",
        use_pre_activation=False, image_shape=(None, None, 3))


@pytest.mark.backends
def test_a_keras_hub_backbone_feeds_its_pyramid_to_the_fcn(tmp_path):
    model = fcn_keras.build_fcn8s(3, backbone=hub_resnet(), padding="paper")
    # keras-hub's ResNet keeps its pixels at s * i, as keras.applications' does: the same crops.
    assert {layer.name: layer.offset for layer in model.layers if hasattr(layer, "offset")} == {
        "upscore2c": (1, 1), "upscore_pool4c": (1, 1), "score": (107, 107)}
    randomize_scores(model)
    images = random_images(1, 45, 61)
    model.save(tmp_path / "hub.keras")
    loaded = keras.models.load_model(tmp_path / "hub.keras")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(images)), keras.ops.convert_to_numpy(model(images)),
                               atol=1e-5)


def test_a_hub_preset_brings_its_preprocessing_and_weights(monkeypatch, tmp_path):
    keras_hub = needs_keras_hub()
    preset = str(tmp_path / "my_resnet_preset")  # a local preset folder (its files are never read here)
    (tmp_path / "my_resnet_preset").mkdir()
    pretrained = hub_resnet()
    for index, weight in enumerate(pretrained.weights):
        weight.assign(np.random.default_rng(index).normal(size=weight.shape).astype("float32"))
    asked = []

    def from_preset(preset, load_weights=True):
        asked.append((preset, load_weights))
        return pretrained if load_weights else keras_hub.models.ResNetBackbone.from_config(pretrained.get_config())

    monkeypatch.setattr(keras_hub.models.Backbone, "from_preset", from_preset)
    monkeypatch.setattr(keras_hub.layers.ImageConverter, "from_preset", lambda preset: keras_hub.layers.ImageConverter(
        scale=[1 / 58.395, 1 / 57.12, 1 / 57.375], offset=[-123.675 / 58.395, -116.28 / 57.12, -103.53 / 57.375]))
    model = fcn_keras.build_fcn32s(2, backbone=f"hub:{preset}", backbone_weights="imagenet")
    assert model.name == "fcn32s_my_resnet_preset"
    assert asked == [(preset, False), (preset, True)]
    config = model.get_layer("preprocess").get_config()
    np.testing.assert_allclose(config["mean_rgb"], [123.675, 116.28, 103.53], rtol=1e-12)
    np.testing.assert_allclose(config["std_rgb"], [58.395, 57.12, 57.375], rtol=1e-12)
    for source, target in zip(pretrained.weights, model.get_layer("backbone").weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(target), keras.ops.convert_to_numpy(source))
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).save_weights(tmp_path / "dense.weights.h5")
    with pytest.raises(ValueError, match=r"dense.weights.h5 holds the weights of another network \(2 arrays, 8 "
                                         r"values\), not the keras-hub preset 'my_resnet_preset'"):
        fcn_keras.build_fcn32s(2, backbone=f"hub:{preset}", backbone_weights=str(tmp_path / "dense.weights.h5"))


def test_a_hub_name_without_keras_hub_says_how_to_install_it(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "keras_hub", None)
    with pytest.raises(ModuleNotFoundError, match=r'pip install "fcn-keras\[hub\]"'):
        fcn_keras.build_fcn32s(2, backbone="hub:resnet_18_imagenet")
