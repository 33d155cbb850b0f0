"""Layer tests for CropToReference, ImagePreprocessing (and CaffePreprocessing) and the BilinearUpsampling initializer."""

import re

import keras
import numpy as np
import pytest

from fcn_keras.layers import BilinearUpsampling, CaffePreprocessing, CropToReference, ImagePreprocessing

pytestmark = pytest.mark.backends  # the layers run on every Keras backend


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


# CropToReference


@pytest.mark.parametrize("offset, expected", [(4, (4, 4)), ((1, 3), (1, 3))])
def test_crop_config_round_trip(offset, expected):
    layer = CropToReference(offset=offset, name="crop_x")
    config = layer.get_config()
    assert config["offset"] == list(expected)
    restored = CropToReference.from_config(config)
    assert restored.offset == expected and restored.name == "crop_x"


def test_crop_matches_numpy_slice():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2, 9, 11, 3)).astype("float32")
    ref = rng.normal(size=(2, 5, 6, 7)).astype("float32")
    out = to_numpy(CropToReference(offset=(1, 3))([a, ref]))
    assert out.shape == (2, 5, 6, 3)
    np.testing.assert_array_equal(out, a[:, 1:6, 3:9, :])


@pytest.mark.parametrize("offset", [-1, (2, -1), (1, 2, 3), (1, 2.0), ("1", 2)])
def test_crop_rejects_bad_offsets(offset):
    with pytest.raises(ValueError, match=r"offset must be one or two non-negative ints, got .*"):
        CropToReference(offset=offset)


@pytest.mark.parametrize("offset", [1.5, True, (1, False)])
def test_crop_rejects_floats_and_bools(offset):
    with pytest.raises(ValueError, match="non-negative ints"):
        CropToReference(offset=offset)


def test_crop_takes_numpy_integers():
    assert CropToReference(offset=np.int64(2)).offset == (2, 2)
    assert CropToReference(offset=(np.int32(1), 3)).offset == (1, 3)


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("shortfall", [0, 1])
def test_crop_too_small_source_at_the_boundary(axis, shortfall):
    offset, ref_hw = (2, 3), (4, 5)
    src_hw = [o + r for o, r in zip(offset, ref_hw)]  # exactly enough on both axes
    src_hw[axis] -= shortfall
    source, reference = keras.Input((*src_hw, 3)), keras.Input((*ref_hw, 1))
    layer = CropToReference(offset=offset)
    if shortfall:
        size = ref_hw[axis]
        pattern = rf"cannot crop {size} rows/columns at offset {offset[axis]} from a map of size {src_hw[axis]}.*too small"
        with pytest.raises(ValueError, match=pattern):
            layer([source, reference])
    else:
        model = keras.Model([source, reference], layer([source, reference]))
        assert model.output.shape == (None, *ref_hw, 3)
        a = np.random.default_rng(1).normal(size=(1, *src_hw, 3)).astype("float32")
        out = to_numpy(model([a, np.zeros((1, *ref_hw, 1), "float32")]))
        np.testing.assert_array_equal(out, a[:, 2:, 3:, :])


def test_crop_with_unknown_spatial_sizes():
    source, reference = keras.Input((None, None, 2)), keras.Input((None, None, 5))
    output = CropToReference(offset=(3, 1))([source, reference])
    assert output.shape == (None, None, None, 2)
    model = keras.Model([source, reference], output)
    rng = np.random.default_rng(2)
    for src_hw, ref_hw in [((10, 8), (4, 6)), ((7, 12), (2, 3))]:
        a = rng.normal(size=(1, *src_hw, 2)).astype("float32")
        ref = np.zeros((1, *ref_hw, 5), "float32")
        out = to_numpy(model([a, ref]))
        np.testing.assert_array_equal(out, a[:, 3 : 3 + ref_hw[0], 1 : 1 + ref_hw[1], :])


# CaffePreprocessing

MEAN_BGR = (10.0, 20.0, 30.0)


def test_preprocessing_reverses_channels_and_subtracts_bgr_mean():
    x = np.random.default_rng(3).uniform(0, 255, (2, 4, 5, 3)).astype("float32")
    out = to_numpy(CaffePreprocessing(mean_bgr=MEAN_BGR)(x))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, x[..., ::-1] - np.float32(MEAN_BGR))
    # A constant pixel shows the order directly: R=1, G=2, B=3 -> (3-10, 2-20, 1-30).
    pixel = to_numpy(CaffePreprocessing(mean_bgr=MEAN_BGR)(np.array([[[[1.0, 2.0, 3.0]]]], "float32")))
    np.testing.assert_array_equal(pixel.ravel(), [-7.0, -18.0, -29.0])


def test_preprocessing_casts_uint8_images_to_float32():
    x = np.random.default_rng(6).integers(0, 256, (1, 3, 4, 3), dtype="uint8")
    out = to_numpy(CaffePreprocessing(mean_bgr=MEAN_BGR)(x))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, x[..., ::-1].astype("float32") - np.float32(MEAN_BGR))


def test_preprocessing_stays_float32_under_mixed_precision():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        layer = CaffePreprocessing(mean_bgr=(103.939, 116.779, 123.68))
        assert layer.compute_dtype == "float32" and layer.dtype_policy.name == "float32"
        x = np.random.default_rng(4).uniform(0, 255, (1, 3, 4, 3)).astype("float32")
        out = layer(x)
        assert keras.backend.standardize_dtype(out.dtype) == "float32"
        expected = x[..., ::-1] - np.array((103.939, 116.779, 123.68), "float32")
        np.testing.assert_array_equal(to_numpy(out), expected)
        symbolic = layer(keras.Input((None, None, 3)))
        assert symbolic.dtype == "float32"
    finally:
        keras.mixed_precision.set_global_policy(previous)


def test_preprocessing_config_round_trip():
    layer = CaffePreprocessing(mean_bgr=(1, 2.5, 3), name="pre")
    config = layer.get_config()
    assert config["mean_bgr"] == [1.0, 2.5, 3.0] and "dtype" not in config
    restored = CaffePreprocessing.from_config(config)
    assert restored.mean_bgr == (1.0, 2.5, 3.0) and restored.name == "pre"
    x = np.random.default_rng(5).uniform(0, 255, (1, 2, 2, 3)).astype("float32")
    np.testing.assert_array_equal(to_numpy(restored(x)), to_numpy(layer(x)))


@pytest.mark.parametrize("mean", [(1.0, 2.0), (1.0, 2.0, 3.0, 4.0)])
def test_preprocessing_rejects_wrong_mean_length(mean):
    with pytest.raises(ValueError, match=r"mean_bgr needs 3 values, one per colour channel, got " + re.escape(repr(mean))):
        CaffePreprocessing(mean_bgr=mean)


def test_image_preprocessing_normalizes_per_channel_then_orders_them():
    x = np.random.default_rng(6).uniform(0, 255, (2, 3, 4, 3)).astype("float32")
    mean, std = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)
    rgb = to_numpy(ImagePreprocessing(mean, std)(x))
    np.testing.assert_allclose(rgb, (x - np.array(mean)) / np.array(std), rtol=1e-6, atol=1e-6)
    bgr = to_numpy(ImagePreprocessing(mean, std, channel_order="BGR")(x))
    np.testing.assert_array_equal(bgr, rgb[..., ::-1])
    caffe = CaffePreprocessing(mean_bgr=mean[::-1])
    np.testing.assert_array_equal(to_numpy(caffe(x)), to_numpy(ImagePreprocessing(mean, channel_order="BGR")(x)))


@pytest.mark.parametrize("kwargs, message", [
    ({"std_rgb": (1.0, 0.0, 1.0)}, r"std_rgb must be positive"),
    ({"channel_order": "GRB"}, r"channel_order must be one of \('RGB', 'BGR'\), got 'GRB'"),
    ({"mean_rgb": (1.0,)}, r"mean_rgb needs 3 values"),
])
def test_image_preprocessing_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ImagePreprocessing(**kwargs)


def test_image_preprocessing_config_round_trip():
    layer = ImagePreprocessing((1, 2, 3), (4, 5, 6), "BGR", name="pre")
    restored = ImagePreprocessing.from_config(layer.get_config())
    assert (restored.mean_rgb, restored.std_rgb, restored.channel_order) == ((1, 2, 3), (4, 5, 6), "BGR")


# BilinearUpsampling (shape checks and the formula are in test_bilinear.py)


@pytest.mark.parametrize("shape", [(4, 4, 3, 3), (5, 5, 2, 2)])
def test_bilinear_serialized_initializer_gives_identical_kernel(shape):
    config = keras.saving.serialize_keras_object(BilinearUpsampling())
    restored = keras.saving.deserialize_keras_object(config)
    expected = to_numpy(BilinearUpsampling()(shape, dtype="float32"))
    assert expected.sum() > 0
    np.testing.assert_array_equal(to_numpy(restored(shape, dtype="float32")), expected)


def test_bilinear_errors_name_the_offending_sizes():
    with pytest.raises(ValueError, match=r"needs a square kernel, got 4x6\."):
        BilinearUpsampling()((4, 6, 2, 2))
    with pytest.raises(ValueError, match=r"got 3 filters for 2 input channels"):
        BilinearUpsampling()((4, 4, 3, 2))
    layer = keras.layers.Conv2DTranspose(5, 4, strides=2, kernel_initializer=BilinearUpsampling())
    with pytest.raises(ValueError, match=r"got 5 filters for 3 input channels"):
        layer.build((None, 6, 6, 3))
