"""Bad arguments give errors that name the problem and the fix."""

import numpy as np
import pytest

import fcn_keras


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"backbone": "resnet9000"}, r"Unknown backbone 'resnet9000'\. Valid backbones: alexnet, alexnet_tiny, "
                                     r"efficientnetv2b0, .*, vgg16_tiny, or hub:<name>\.$"),
        ({"num_classes": 0}, "num_classes must be a whole number >= 1, got 0"),
        ({"num_classes": -3}, "num_classes must be a whole number >= 1"),
        ({"num_classes": 2.5}, "num_classes must be a whole number >= 1"),
        ({"num_classes": True}, "num_classes must be a whole number >= 1"),
        ({"input_shape": (None, None, 1)}, r"input_shape must be \(height, width, 3\).*grayscale"),
        ({"input_shape": (64, 64, 4)}, r"RGB images, got \(64, 64, 4\)"),
        ({"input_shape": (64, 64)}, "input_shape must be"),
        ({"padding": "valid"}, "Unknown padding 'valid'. Valid padding modes: paper, same"),
    ],
)
def test_builder_argument_errors(kwargs, message):
    kwargs = {"num_classes": 3, "backbone": "vgg16_tiny", **kwargs}
    with pytest.raises(ValueError, match=message):
        fcn_keras.build_fcn("fcn8s", **kwargs)


def test_unknown_variant_lists_valid_ones():
    with pytest.raises(ValueError, match="Unknown variant 'fcn4s'. Valid variants: fcn32s, fcn16s, fcn8s"):
        fcn_keras.build_fcn("fcn4s", 3, backbone="vgg16_tiny")


def test_at_once_needs_skips():
    with pytest.raises(ValueError, match="fcn32s has none"):
        fcn_keras.build_fcn("fcn32s", 3, backbone="vgg16_tiny", at_once=True)


def test_wrong_channel_count_at_call_time():
    model = fcn_keras.build_fcn8s(3, backbone="vgg16_tiny")
    with pytest.raises(ValueError, match=r"expected shape=\(None, None, None, 3\), found shape=\(1, 32, 32, 4\)"):
        model(np.zeros((1, 32, 32, 4), "float32"))


def test_registering_a_taken_name_fails():
    spec = fcn_keras.get_backbone("vgg16_tiny")
    with pytest.raises(ValueError, match="already registered"):
        fcn_keras.register_backbone(spec)


def test_tensorflow_errors_give_back_the_library_exception_they_carry():
    import tensorflow as tf

    from fcn_keras.data import DataError
    from fcn_keras.error_text import library_exception

    label = ("assertion failed: [train_data has the label] [9] [but the model predicts] [3] [classes (labels 0 to] "
             "[2] [and] [255] [= ignore); fix the masks.]")
    own = library_exception(tf.errors.InvalidArgumentError(None, None, f"Graph execution error:\n\n{label}\n"))
    assert type(own) is ValueError and str(own).startswith("train_data has the label 9 but the model predicts 3")
    own = library_exception(tf.errors.InvalidArgumentError(None, None, "DataError: a.png: cannot decode the image"))
    assert type(own) is DataError and str(own) == "a.png: cannot decode the image"
    assert library_exception(tf.errors.InvalidArgumentError(None, None, "Invalid PNG data")) is None
    assert library_exception(ValueError("DataError: a.png: cannot decode the image")) is None  # no TensorFlow error
