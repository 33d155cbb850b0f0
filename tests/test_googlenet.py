"""GoogLeNet (BVLC's bvlc_googlenet trunk): the paper's 6M parameters, Caffe geometry, Caffe weights by name."""

import keras
import numpy as np
import pytest
from helpers import random_images
from weight_fixtures import caffe_googlenet_trunk, googlenet_layers, write_caffemodel

import fcn_keras

# (1x1, 3x3_reduce, 3x3, 5x5_reduce, 5x5, pool_proj) of each inception module, read off BVLC's train_val.prototxt
BVLC_INCEPTIONS = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64), "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64), "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128), "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}


def test_fcn32s_has_the_papers_6m_parameters():
    channels = 192
    trunk = (7 * 7 * 3 * 64 + 64) + (64 * 64 + 64) + (3 * 3 * 64 * 192 + 192)  # conv1, conv2 reduce, conv2
    for one, reduce3, three, reduce5, five, proj in BVLC_INCEPTIONS.values():
        trunk += (channels + 1) * (one + reduce3 + reduce5 + proj)  # the 1x1 convolutions on the module's input
        trunk += (9 * reduce3 + 1) * three + (25 * reduce5 + 1) * five
        channels = one + three + five + proj
    score_fr, upscore = (channels + 1) * 21, 63 * 63 * 21 * 21  # upscore: a frozen bilinear 63/32, no bias
    model = fcn_keras.build_fcn32s(21, backbone="googlenet")
    trainable = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
    print(f"FCN-32s GoogLeNet, 21 classes: {trainable:,} trainable (paper: 6M), {model.count_params():,} in all")
    assert channels == 1024 and trunk == 5_973_552
    assert trainable == trunk + score_fr == 5_995_077
    assert model.count_params() == trunk + score_fr + upscore


def test_caffe_geometry_sizes():
    # Caffe at 500 px with conv1 padded by 100: conv1 (700 - 7) // 2 + 1 = 347, then ceil((n - 3) / 2) + 1 pools.
    paper = fcn_keras.build_fcn8s(3, backbone="googlenet_tiny", input_shape=(500, 500, 3))
    expected = {"conv1_7x7_s2": 347, "pool1_3x3_s2": 173, "pool2_3x3_s2": 86, "inception_3b_output": 86,
                "pool3_3x3_s2": 43, "inception_4e_output": 43, "pool4_3x3_s2": 21, "inception_5b_output": 21}
    assert {name: paper.get_layer(name).output.shape[1] for name in expected} == expected
    same = fcn_keras.build_fcn8s(3, backbone="googlenet_tiny", padding="same", input_shape=(333, 417, 3))
    for name, stride in (("inception_3b_output", 8), ("inception_4e_output", 16), ("inception_5b_output", 32)):
        assert same.get_layer(name).output.shape[1:3] == (-(-333 // stride), -(-417 // stride))


@pytest.mark.parametrize("legacy", [False, True])
def test_a_bvlc_googlenet_caffemodel_loads_and_matches_a_numpy_caffe_forward(tmp_path, legacy):
    layers = googlenet_layers(seed=4)
    path = write_caffemodel(tmp_path / "bvlc_googlenet_tiny.caffemodel", layers, legacy=legacy)
    model = fcn_keras.build_fcn32s(3, backbone="googlenet_tiny", backbone_weights=str(path), dropout=0,
                                   input_shape=(37, 50, 3))
    image = random_images(1, 37, 50, seed=5)
    expected = caffe_googlenet_trunk(layers, image[0])
    names = ("inception_3a/output", "inception_3b/output", "inception_4e/output", "inception_5b/output")
    probe = keras.Model(model.input, [model.get_layer(name.replace("/", "_")).output for name in names])
    for name, got in zip(names, probe(image)):
        want = expected[name].transpose(1, 2, 0)
        assert np.abs(want).max() > 0.1, name  # real activations, not ReLU-dead zeros
        np.testing.assert_allclose(keras.ops.convert_to_numpy(got)[0], want, rtol=1e-4, atol=1e-4 * np.abs(want).max(),
                                   err_msg=name)


@pytest.mark.parametrize("change, message", [
    (lambda layers: layers.pop("inception_4c/5x5"), r"has no layer 'inception_4c/5x5'; the backbone loads 57"),
    (lambda layers: layers.__setitem__("inception_3a/pool_proj", [np.zeros((5, 24, 1, 1), np.float32),
                                                                  np.zeros(5, np.float32)]),
     r"layer 'inception_3a/pool_proj' has 120 weights, the FCN's inception_3a_pool_proj needs \(1, 1, 24, 4\)"),
])
def test_a_missing_or_misshapen_layer_is_named(tmp_path, change, message):
    layers = googlenet_layers()
    change(layers)
    path = write_caffemodel(tmp_path / "bad.caffemodel", layers)
    with pytest.raises(ValueError, match=message):
        fcn_keras.build_fcn32s(3, backbone="googlenet_tiny", backbone_weights=str(path))


def test_imagenet_names_the_bvlc_file():
    with pytest.raises(ValueError, match="bvlc_googlenet.caffemodel"):
        fcn_keras.build_fcn32s(3, backbone="googlenet_tiny", backbone_weights="imagenet")
