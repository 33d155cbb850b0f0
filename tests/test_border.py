"""skip_border: the "paper" FCNs without convolving their zero border, to float rounding of the plain model."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import random_images

import fcn_keras
from fcn_keras.models import border, skip_border

TOLERANCE = 1e-5  # max |difference| / max |plain output|


def random_model(variant="fcn8s", backbone="vgg16_tiny", num_classes=5, **kwargs):
    """A model with random biases (zero biases make every background zero, and wrong edge bands pass unseen) and
    score layers (zero at first)."""
    model = fcn_keras.build_fcn(variant, num_classes, backbone=backbone, **kwargs)
    rng = np.random.default_rng(1)
    for weight in model.weights:
        if weight.path.endswith("bias"):
            weight.assign(rng.uniform(-0.2, 0.5, weight.shape).astype("float32"))
        elif weight.path.startswith("score") and weight.path.endswith("kernel"):
            weight.assign(rng.normal(0, 0.1, weight.shape).astype("float32"))
    return model


def relative_difference(fast, model, images):
    """Eager calls (no tracing per size); `predict_on_batch` is run by the docstring example and below."""
    expected = keras.ops.convert_to_numpy(model(images, training=False))
    return np.abs(keras.ops.convert_to_numpy(fast(images, training=False)) - expected).max() / np.abs(expected).max()


@pytest.mark.parametrize("backbone, variant, shapes", [
    ("vgg16_tiny", "fcn32s", [(1, 64, 64), (2, 45, 70)]),
    ("vgg16_tiny", "fcn16s", [(1, 97, 33)]),
    ("vgg16_tiny", "fcn8s", [(3, 1, 1), (1, 131, 129), (2, 50, 37)]),
    ("alexnet_tiny", "fcn8s", [(2, 45, 70)]),
    ("googlenet_tiny", "fcn8s", [(1, 97, 33)]),
])
def test_equals_the_plain_model(backbone, variant, shapes):
    model = random_model(variant, backbone)
    fast = skip_border(model)
    assert fast is not model and fast.name == model.name and fast.output_names == model.output_names
    for shape in shapes:
        assert relative_difference(fast, model, random_images(*shape)) <= TOLERANCE, shape


def test_wrong_edge_bands_are_seen(monkeypatch):
    model = random_model()
    monkeypatch.setattr(border, "_bands", lambda band, *args: (0, 0))
    assert relative_difference(skip_border(model), model, random_images(1, 45, 70)) > 1e-3


def test_heads_and_at_once():
    model = random_model(num_classes=None, heads={"semantic": 4, "geometric": 3}, at_once=True)
    fast, images = skip_border(model), random_images(2, 37, 50)
    expected, result = (keras.tree.map_structure(np.asarray, net(images, training=False)) for net in (model, fast))
    for head in ("semantic", "geometric"):
        assert np.abs(result[head] - expected[head]).max() <= TOLERANCE * np.abs(expected[head]).max()


def test_shares_the_weights():
    model = random_model()
    fast = skip_border(model)
    assert {id(weight) for weight in fast.weights} == {id(weight) for weight in model.weights}
    before = fast.predict_on_batch(random_images(1, 40, 40))
    bias = model.get_layer("conv2_1").bias
    bias.assign(bias + 0.3)  # as training would
    assert np.abs(fast.predict_on_batch(random_images(1, 40, 40)) - before).max() > 1e-3
    assert relative_difference(fast, model, random_images(1, 40, 40)) <= TOLERANCE


def test_any_size_in_one_tf_function_and_under_xla():
    model = random_model("fcn16s")
    fast = skip_border(model)
    function = tf.function(lambda x: fast(x, training=False), input_signature=[tf.TensorSpec((None, None, None, 3))])
    compiled = tf.function(lambda x: fast(x, training=False), jit_compile=True)
    for run, images in ((function, random_images(2, 37, 50)), (function, random_images(1, 77, 41)),
                        (compiled, random_images(1, 35, 22))):
        expected = model(images, training=False).numpy()
        assert np.abs(run(images).numpy() - expected).max() <= TOLERANCE * np.abs(expected).max()
    assert function.experimental_get_tracing_count() == 1


def test_inference_only():
    fast = skip_border(random_model())
    with pytest.raises(ValueError, match="inference"):
        fast(random_images(1, 8, 8), training=True)


def test_no_border_returns_the_model_with_a_reason():
    model = fcn_keras.build_fcn8s(5, backbone="vgg16_tiny", padding="same")
    with pytest.warns(UserWarning, match="no ZeroPadding2D of at least 16 pixels"):
        assert skip_border(model) is model


def _bordered(middle):
    """Pad 24, a valid 3x3 convolution, `middle` layers, a "same" convolution, cropped back to the image."""
    images = keras.Input((None, None, 3), name="images")
    x = keras.layers.Conv2D(4, 3, activation="relu", bias_initializer="ones")(keras.layers.ZeroPadding2D(24)(images))
    for layer in middle:
        x = layer(x)
    x = keras.layers.Conv2D(3, 3, padding="same", bias_initializer="ones")(x)
    return keras.Model(images, keras.layers.Cropping2D(23)(x))


def test_unsupported_layer_right_after_the_border():
    images = keras.Input((None, None, 3))
    depthwise = keras.layers.DepthwiseConv2D(3, name="depthwise")  # named: generated names depend on earlier tests
    model = keras.Model(images, depthwise(keras.layers.ZeroPadding2D(24)(images)))
    with pytest.warns(UserWarning, match="'depthwise' .DepthwiseConv2D. is not one whose locality is known"):
        assert skip_border(model) is model


def test_unsupported_layer_later_takes_over_exactly():
    model = _bordered([keras.layers.MaxPooling2D(2, padding="same"), keras.layers.Conv2D(4, 3, padding="same"),
                       keras.layers.DepthwiseConv2D(3, padding="same", bias_initializer="ones"),
                       keras.layers.Conv2D(4, 3, padding="same", activation="relu"), keras.layers.UpSampling2D(2)])
    fast = skip_border(model)
    assert any(isinstance(layer, border.BorderSkip) for layer in fast.layers)
    for shape in [(1, 30, 30), (2, 17, 9)]:
        assert relative_difference(fast, model, random_images(*shape)) <= TOLERANCE
