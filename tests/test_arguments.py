"""Numeric arguments, one rule each for the library and the command line; TensorFlow's errors in plain words."""

import numpy as np
import pytest

import fcn_keras
from fcn_keras.data import prepare, synthetic_shapes
from fcn_keras.training import recipe_optimizer_and_loss, train


@pytest.mark.parametrize("call, message", [
    (lambda: prepare(synthetic_shapes(2, (16, 16)), batch_size=0), "batch_size must be a whole number >= 1, got 0"),
    (lambda: prepare(synthetic_shapes(2, (16, 16)), batch_size=2.0), "batch_size must be a whole number"),
    (lambda: prepare(synthetic_shapes(2, (16, 16)), training=True, scale_range=(2.0, 1.0)),
     r"scale_range must be \(low, high\) with low <= high, got \(2.0, 1.0\)"),
    (lambda: prepare(synthetic_shapes(2, (16, 16)), training=True, scale_range=(0, 1.0)),
     "scale_range factors must be a finite number > 0, got 0"),
    (lambda: recipe_optimizer_and_loss("practical", "fcn8s", learning_rate=-1e-3),
     "learning_rate must be a finite number > 0, got -0.001"),
    (lambda: recipe_optimizer_and_loss("practical", "fcn8s", warmup_steps=-1),
     "warmup_steps must be a whole number >= 0, got -1"),
    (lambda: train(fcn_keras.build_fcn8s(3, backbone="vgg16_tiny"), None, output_dir="unused", epochs=0),
     "epochs must be a whole number >= 1, got 0"),
    (lambda: train(fcn_keras.build_fcn8s(3, backbone="vgg16_tiny"), None, output_dir="unused", steps_per_epoch=0),
     "steps_per_epoch must be a whole number >= 1, got 0"),
])
def test_library_arguments_are_refused_by_name(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def tiny(build=fcn_keras.build_fcn16s, *args, **kwargs):
    return build(*args, backbone="vgg16_tiny", padding="same", **kwargs)


def strided_net():
    """Five stride-2 convolutions, named p1 ... p5 (strides 2 ... 32)."""
    import keras

    x = images = keras.Input((None, None, 3))
    for level in range(1, 6):
        x = keras.layers.Conv2D(4, 3, strides=2, padding="same", name=f"p{level}")(x)
    return keras.Model(images, x)


@pytest.mark.parametrize("call, error, message", [
    (lambda: tiny(heads={"a": 3, "b": 2}, init_from=tiny(fcn_keras.build_fcn32s, heads={"x": 3, "y": 2})), ValueError,
     r"init_from='fcn32s_vgg16_tiny' has heads 'x' \(3\), 'y' \(2\), the new model heads 'a' \(3\), 'b' \(2\)"),
    (lambda: tiny(heads={"a": 3, "b": 2}, init_from=tiny(fcn_keras.build_fcn32s, 3)), ValueError,
     r"has one head of 3 classes, the new model heads 'a' \(3\), 'b' \(2\).* with num_classes=3"),
    (lambda: tiny(num_classes=3, init_from="fcn32s.keras"), TypeError, "init_from must be a trained FCN"),
    (lambda: fcn_keras.build_fcn8s(5, backbone=strided_net(), taps=["p3", "p4", "p5"]), TypeError,
     r"taps must be a dict \{stride: layer name\}, e.g. \{8: 'p3', 16: 'p4', 32: 'p5'\}, got the list"),
    (lambda: fcn_keras.build_fcn8s(5, backbone=strided_net(), taps={4: "p2"}), ValueError,
     "taps: stride 4 is not one of 8, 16, 32"),
    (lambda: tiny(fcn_keras.build_fcn8s, 3.0), ValueError, "num_classes must be a whole number >= 1, got 3.0"),
])
def test_builder_arguments_are_refused_by_name(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_class_counts_may_be_numpy_integers_as_a_mask_gives_them():
    mask = np.array([[0, 2], [1, 255]], np.uint8)
    classes = mask[mask != 255].max() + 1  # np.uint8(3)
    one, two = tiny(fcn_keras.build_fcn8s, classes), tiny(heads={"semantic": classes, "geometric": np.int64(2)})
    assert one.output.shape[-1] == 3 and fcn_keras.models.heads_of(two) == {"semantic": 3, "geometric": 2}
    assert type(one.get_layer("score_fr").filters) is int  # saved as JSON
