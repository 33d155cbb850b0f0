"""Numeric arguments, one rule each for the library and the command line; TensorFlow's errors in plain words."""

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
