"""Every backbone x variant x padding: shapes, dtypes, layer names, reference geometry."""

import keras
import numpy as np
import pytest
from helpers import random_images

import fcn_keras
from fcn_keras.layers import CropToReference
from fcn_keras.models import PADDINGS, VARIANTS, variant_of

FULL_SIZE = {"vgg16", "alexnet"}  # 134M and 57M parameters: built in the slow tests only
SIZES = [(61, 77), (32, 32), (17, 40)]
# TensorFlow builds every backbone x variant x padding at several sizes. JAX and PyTorch run layers op by op (JAX
# compiles each initializer and op for each shape): there every variant and padding on one backbone, and one
# backbone of each family once (the others differ from it in width or depth only), at one size; of the
# keras.applications family (one module, Keras' own layers) a residual net and a depthwise one.
ON_TENSORFLOW = keras.backend.backend() == "tensorflow"
FAMILIES = {"vgg16_tiny", "alexnet_tiny", "googlenet_tiny", "resnet50", "mobilenetv2"}
GRID = [pytest.param(backbone, variant, padding, marks=[pytest.mark.slow] if backbone in FULL_SIZE else [])
        for backbone in fcn_keras.available_backbones() for variant in VARIANTS for padding in PADDINGS
        if ON_TENSORFLOW or backbone == "vgg16_tiny"
        or (backbone in FAMILIES and (variant, padding) == ("fcn8s", "paper"))]

# The layer names of the authors' prototxts: the variant table must reproduce them.
REFERENCE_NAMES = {
    "fcn32s": ["score_fr", "upscore"],
    "fcn16s": ["score_fr", "upscore2", "score_pool4", "fuse_pool4", "upscore16"],
    "fcn8s": ["score_fr", "upscore2", "score_pool4", "fuse_pool4", "upscore_pool4",
              "score_pool3", "fuse_pool3", "upscore8"],
}
BACKBONE_NAMES = [f"conv{b}_{i}" for b, n in enumerate((2, 2, 3, 3, 3), 1) for i in range(1, n + 1)] + [
    f"pool{b}" for b in range(1, 6)] + ["fc6", "fc7"]
# Crop offsets by crop layer. VGG16 "paper": the reference nets' (Caffe's). VGG16 "same": its pools centre
# stride-s pixels at s*i + (s-1)/2, so even bilinear kernels land half a pixel off and are trimmed. ResNet
# (keras.applications): every map has its pixels at s*i (offset 0), so odd kernels (2f - 1) fit, and an
# upsampled map starts (f - 1) fine pixels early; "paper" adds the 100 pixels of padding.
CROPS = {
    ("vgg16", "paper"): {"fcn32s": {"score": 19}, "fcn16s": {"score_pool4c": 5, "score": 27},
                         "fcn8s": {"score_pool4c": 5, "score_pool3c": 9, "score": 31}},
    ("vgg16", "same"): {"fcn32s": {"score": 16}, "fcn16s": {"upscore2c": 1, "score": 8},
                        "fcn8s": {"upscore2c": 1, "upscore_pool4c": 1, "score": 4}},
    # AlexNet "paper": the authors' voc-fcn-alexnet (upscore 63/32, crop 18), hand-checked for the skips.
    ("alexnet", "paper"): {"fcn32s": {"score": 18}, "fcn16s": {"score_pool4c": 5, "score": 18},
                           "fcn8s": {"score_pool4c": 5, "score_pool3c": 10, "score": 18}},
    ("alexnet", "same"): {"fcn32s": {"score": 15}, "fcn16s": {"upscore2c": 0, "score": 15},
                          "fcn8s": {"upscore2c": 0, "upscore_pool4c": 1, "score": 7}},
    # GoogLeNet "paper": conv1 7x7/2 after 100 px of zeros centres at 2i - 100 + 3 = 2i - 97; each ceil 3x3/2 pool
    # (no leading pad) moves the start by one input pixel of its stride: pool1 -97 + 2 = -95, pool2 -95 + 4 = -91
    # (stride 8, inception_3b), pool3 -91 + 8 = -83 (16, inception_4e), pool4 -83 + 16 = -67 (32, inception_5b).
    # Whole-pixel lags -> odd kernels 2f - 1: upscore 63/32 puts the first output at -67 - 31 = -98 (crop 98);
    # upscore2 3/2: -67 - 16 = -83, on pool4's scores (crop 0); upscore_pool4 3/2: -83 - 8 = -91 (crop 0);
    # upscore16 31/16: -83 - 15 = -98; upscore8 15/8: -91 - 7 = -98. "same": every tap at s*i, as ResNet's.
    ("googlenet", "paper"): {"fcn32s": {"score": 98}, "fcn16s": {"upscore2c": 0, "score": 98},
                             "fcn8s": {"upscore2c": 0, "upscore_pool4c": 0, "score": 98}},
    ("googlenet", "same"): {"fcn32s": {"score": 31}, "fcn16s": {"upscore2c": 1, "score": 15},
                            "fcn8s": {"upscore2c": 1, "upscore_pool4c": 1, "score": 7}},
    ("resnet", "same"): {"fcn32s": {"score": 31}, "fcn16s": {"upscore2c": 1, "score": 15},
                         "fcn8s": {"upscore2c": 1, "upscore_pool4c": 1, "score": 7}},
    ("resnet", "paper"): {"fcn32s": {"score": 131}, "fcn16s": {"upscore2c": 1, "score": 115},
                          "fcn8s": {"upscore2c": 1, "upscore_pool4c": 1, "score": 107}},
}
PAPER_CROPS = CROPS[("vgg16", "paper")]


def table_names(variant):
    spec = VARIANTS[variant]
    return {*spec.score_layers, *spec.upsamplers, *(skip.fuse for skip in spec.skips)}


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_table_names_the_reference_layers(variant):
    assert table_names(variant) == set(REFERENCE_NAMES[variant])
    assert {skip.crop for skip in VARIANTS[variant].skips} | {"score"} == set(PAPER_CROPS[variant])


def test_variant_of_reads_at_once_models_and_refuses_other_models():
    assert variant_of(fcn_keras.build_fcn8s(2, at_once=True, backbone="vgg16_tiny")) == "fcn8s"
    with pytest.raises(ValueError, match=r"is not an FCN-32s, -16s or -8s: its score layers \[\]"):
        variant_of(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]))


def crops(model):
    return {layer.name: layer.offset for layer in model.layers if isinstance(layer, CropToReference)}


@pytest.mark.backends
@pytest.mark.parametrize("backbone, variant, padding", GRID)
def test_every_backbone_variant_and_padding_scores_every_pixel(backbone, variant, padding):
    model = fcn_keras.build_fcn(variant, 5, backbone=backbone, padding=padding)
    several_sizes = ON_TENSORFLOW and backbone in ("vgg16_tiny", "alexnet_tiny", "googlenet_tiny")
    for height, width in SIZES if several_sizes else SIZES[:1]:
        logits = model(random_images(1, height, width))
        assert tuple(logits.shape) == (1, height, width, 5)
        assert keras.backend.standardize_dtype(logits.dtype) == "float32"
    names = {layer.name for layer in model.layers}
    assert table_names(variant) <= names
    assert variant_of(model) == variant
    family = next((name for name in ("vgg16", "alexnet", "googlenet", "resnet") if backbone.startswith(name)), None)
    if family == "vgg16":
        assert set(BACKBONE_NAMES) <= names
    if family:
        assert crops(model) == {name: (o, o) for name, o in CROPS[(family, padding)][variant].items()}


@pytest.mark.parametrize("size", [(1, 1), (2, 3), (15, 16), (31, 33), (47, 95), (64, 64)])
@pytest.mark.parametrize("padding", PADDINGS)
def test_odd_and_tiny_sizes(size, padding):
    model = fcn_keras.build_fcn8s(3, backbone="vgg16_tiny", padding=padding)
    assert tuple(model(np.zeros((1, *size, 3), "float32")).shape) == (1, *size, 3)


def test_paper_geometry_matches_caffe_shapes_at_500():
    # Blob sizes of the reference voc-fcn8s for a 500x500 image.
    model = fcn_keras.build_fcn8s(21, backbone="vgg16_tiny", input_shape=(500, 500, 3))
    expected = {"conv1_1": 698, "pool1": 349, "pool2": 175, "pool3": 88, "pool4": 44, "pool5": 22,
                "fc7": 16, "upscore2": 34, "score_pool4c": 34, "upscore_pool4": 70,
                "score_pool3c": 70, "upscore8": 568, "score": 500}
    got = {name: model.get_layer(name).output.shape[1] for name in expected}
    assert got == expected
    assert model.get_layer("conv1_1_pad").padding == ((100, 100), (100, 100))
    assert model.get_layer("fc6").kernel_size == (7, 7) and model.get_layer("fc6").padding == "valid"


def test_same_geometry_keeps_ceil_sizes():
    model = fcn_keras.build_fcn8s(21, backbone="vgg16_tiny", padding="same", input_shape=(333, 417, 3))
    for block in range(1, 6):
        shape = model.get_layer(f"pool{block}").output.shape
        assert shape[1:3] == (-(-333 // 2**block), -(-417 // 2**block))
    assert model.get_layer("score").output.shape[1:3] == (333, 417)


def test_fixed_input_shape():
    model = fcn_keras.build_fcn16s(4, backbone="vgg16_tiny", input_shape=(40, 48, 3))
    assert tuple(model.input_shape) == (None, 40, 48, 3)
    assert tuple(model.output_shape) == (None, 40, 48, 4)


def test_upsamplers_are_bilinear_and_frozen_by_default():
    model = fcn_keras.build_fcn8s(3, backbone="vgg16_tiny")
    for name, kernel in (("upscore2", 4), ("upscore_pool4", 4), ("upscore8", 16)):
        layer = model.get_layer(name)
        assert isinstance(layer, keras.layers.Conv2DTranspose) and not layer.use_bias
        assert not layer.trainable
        weights = layer.get_weights()[0]
        np.testing.assert_allclose(weights[:, :, 1, 1], fcn_keras.layers.bilinear_kernel(kernel))
        assert np.count_nonzero(weights[:, :, 0, 1]) == 0
    learned = fcn_keras.build_fcn8s(3, backbone="vgg16_tiny", learn_upsampling=True)
    assert all(learned.get_layer(n).trainable for n in ("upscore2", "upscore_pool4", "upscore8"))
    extra = sum(int(np.prod(w.shape)) for w in learned.trainable_weights) - sum(
        int(np.prod(w.shape)) for w in model.trainable_weights)
    assert extra == 3 * 3 * (4 * 4 + 4 * 4 + 16 * 16)


def test_score_layers_start_at_zero():
    model = fcn_keras.build_fcn8s(3, backbone="vgg16_tiny")
    for name in ("score_fr", "score_pool4", "score_pool3"):
        assert all(np.count_nonzero(w) == 0 for w in model.get_layer(name).get_weights())


def test_at_once_scales_skip_features():
    model = fcn_keras.build_fcn8s(3, backbone="vgg16_tiny", at_once=True)
    probe = keras.Model(model.input, [model.get_layer(n).output for n in
                                      ("pool4", "scale_pool4", "pool3", "scale_pool3")])
    images = np.random.default_rng(1).uniform(0, 255, (1, 40, 40, 3)).astype("float32")
    pool4, scaled4, pool3, scaled3 = (keras.ops.convert_to_numpy(t) for t in probe(images))
    assert np.abs(pool4).max() > 0
    np.testing.assert_allclose(scaled4, pool4 * 0.01, rtol=1e-6)
    np.testing.assert_allclose(scaled3, pool3 * 0.0001, rtol=1e-6)
    assert model.get_layer("score_pool4").input is model.get_layer("scale_pool4").output
    plain = fcn_keras.build_fcn8s(3, backbone="vgg16_tiny")
    assert not [layer for layer in plain.layers if layer.name.startswith("scale_")]


def test_preprocessing_matches_keras_vgg16():
    model = fcn_keras.build_fcn32s(3, backbone="vgg16_tiny")
    preprocess = keras.Model(model.input, model.get_layer("preprocess").output)
    images = np.random.default_rng(2).uniform(0, 255, (2, 9, 11, 3)).astype("float32")
    expected = keras.applications.vgg16.preprocess_input(images.copy())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(preprocess(images)), expected, atol=1e-4)


def test_dropout_only_in_training():
    model = fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", padding="same")
    fc7 = keras.Model(model.input, model.get_layer("drop7").output)
    images = np.random.default_rng(3).uniform(0, 255, (1, 64, 64, 3)).astype("float32")
    first, second = fc7(images), fc7(images)
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(fc7(images, training=True), first)
    assert not [l for l in fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", dropout=0).layers
                if isinstance(l, keras.layers.Dropout)]


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_logits_are_float32_under_mixed_precision(policy):
    images = np.random.default_rng(4).uniform(0, 255, (1, 37, 45, 3)).astype("float32")
    keras.utils.set_random_seed(5)
    reference = fcn_keras.build_fcn8s(4, backbone="vgg16_tiny", padding="same")
    keras.mixed_precision.set_global_policy(policy)
    mixed = fcn_keras.build_fcn8s(4, backbone="vgg16_tiny", padding="same")
    mixed.set_weights(reference.get_weights())
    for name in ("score_fr", "score_pool4", "score_pool3"):  # non-zero scores to compare
        for model in (reference, mixed):
            kernel, bias = model.get_layer(name).get_weights()
            model.get_layer(name).set_weights([np.full_like(kernel, 0.01), bias])
    assert mixed.get_layer("fc7").compute_dtype != "float32"
    logits = mixed(images)
    assert logits.dtype == "float32"
    expected = keras.ops.convert_to_numpy(reference(images))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(logits), expected,
                               atol=0.05 * np.abs(expected).max())


@pytest.mark.slow
def test_full_size_fcn8s_has_the_papers_134m_parameters():
    model = fcn_keras.build_fcn8s(21)
    conv = 14_714_688  # VGG16 conv1_1 .. conv5_3
    fc = (7 * 7 * 512 * 4096 + 4096) + (4096 * 4096 + 4096)
    scores = (4096 + 512 + 256) * 21 + 3 * 21
    upsamplers = (4 * 4 + 4 * 4 + 16 * 16) * 21 * 21
    print(f"FCN-8s VGG16, 21 classes: {model.count_params():,} parameters (paper: 134M)")
    assert model.count_params() == conv + fc + scores + upsamplers == 134_489_759


def test_convolution_flops_counts_multiply_adds():
    inputs = keras.Input((10, 12, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    x = keras.layers.MaxPooling2D(2)(x)
    outputs = keras.layers.Conv2DTranspose(5, 4, strides=2)(x)
    model = keras.Model(inputs, outputs)
    expected = 2 * (10 * 12 * 3 * 3 * 3 * 4) + 2 * (5 * 6 * 4 * 4 * 4 * 5)
    assert fcn_keras.models.convolution_flops(model) == expected
    with pytest.raises(ValueError, match="fixed input_shape"):
        fcn_keras.models.convolution_flops(fcn_keras.build_fcn32s(3, backbone="vgg16_tiny"))


@pytest.mark.slow
def test_same_padding_costs_about_half_the_paper_flops():
    flops = {padding: fcn_keras.models.convolution_flops(
        fcn_keras.build_fcn8s(21, padding=padding, input_shape=(500, 500, 3))) for padding in PADDINGS}
    print({padding: f"{value / 1e9:.1f} GFLOP" for padding, value in flops.items()})
    assert round(flops["paper"] / 1e9) == 363 and round(flops["same"] / 1e9) == 217
    assert 0.5 < flops["same"] / flops["paper"] < 0.65
