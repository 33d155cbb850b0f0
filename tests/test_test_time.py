"""Test-time augmentation: exact properties of the averaged views, a NumPy reference, tiles, heads, evaluate.

The tests marked `backends` take NumPy data and run under every Keras backend."""

import keras
import numpy as np
import pytest
from PIL import Image

import fcn_keras
from fcn_keras.evaluation import _head_scores, evaluate, predict
from fcn_keras.export.runtime_models import RuntimeModel
from fcn_keras.metrics import confusion_matrix, scores_from_confusion
from fcn_keras.prediction_files import write_predictions
from fcn_keras import test_time
from fcn_keras.test_time import TestTimeAugmentation, softmax
from fcn_keras.tiling import activation_bytes, context_margin, tile_side

FLIP = TestTimeAugmentation(flip=True)


def mirror_symmetric_model(seed=0):
    """Two 'same' convolutions whose kernels equal their left-right mirror: scoring a mirrored image gives the
    mirrored logits. Small integer weights (the last layer's over 32) on integer images keep every sum exact,
    so the logits of the two ways agree to the last bit."""
    rng = np.random.default_rng(seed)
    inputs = keras.Input((None, None, 3))
    first = keras.layers.Conv2D(4, 3, padding="same", activation="relu")
    second = keras.layers.Conv2D(3, (3, 5), padding="same")
    model = keras.Model(inputs, second(first(inputs)))
    for layer, scale in ((first, 1), (second, 1 / 32)):
        kernel = rng.integers(-1, 2, layer.kernel.shape).astype("float32")
        layer.set_weights([(kernel + kernel[:, ::-1]) * scale, rng.integers(-1, 2, layer.bias.shape) * scale])
    return model


def small_model(seed=0):
    """A 3x3 convolution of random weights: its logits change with every shift, scale and mirror of the image."""
    inputs = keras.Input((None, None, 3))
    scores = keras.layers.Conv2D(3, 3, padding="same", kernel_initializer=keras.initializers.RandomNormal(0, 0.02,
                                                                                                        seed=seed))
    return keras.Model(inputs, scores(inputs))


def bilinear(batch, size):
    """Bilinear resize with half-pixel centres and no antialiasing (TensorFlow's), in NumPy: (N, H, W, C)."""
    for axis, new in zip((1, 2), size):
        old = batch.shape[axis]
        centres = np.clip((np.arange(new) + 0.5) * old / new - 0.5, 0, old - 1)
        low = np.floor(centres).astype(int)
        weight = (centres - low).reshape([-1 if index == axis else 1 for index in range(4)])
        batch = np.take(batch, low, axis) * (1 - weight) + np.take(batch, np.minimum(low + 1, old - 1), axis) * weight
    return batch


def integer_images(count, height, width, top=4, seed=1):
    return np.random.default_rng(seed).integers(0, top, (count, height, width, 3)).astype(np.uint8)


@pytest.mark.backends
def test_flip_of_a_mirror_symmetric_model_gives_its_own_probabilities_exactly():
    model, images = mirror_symmetric_model(), integer_images(2, 13, 17)
    logits = np.asarray(model.predict_on_batch(images.astype("float32")))
    assert not np.array_equal(logits, logits[:, :, ::-1])  # the views differ: only mirroring back makes them agree
    assert 0.05 < softmax(logits).max(-1).mean() < 0.95  # probabilities, not one-hot
    probabilities = FLIP.probabilities(model.predict_on_batch, images)
    np.testing.assert_array_equal(probabilities, softmax(logits))
    np.testing.assert_array_equal(predict(model, images, tta=FLIP), logits.argmax(-1))


@pytest.mark.backends
def test_scale_one_alone_is_the_plain_prediction_exactly():
    model, images = small_model(), integer_images(2, 24, 40, top=256)
    one = TestTimeAugmentation(scales=(1,))
    assert one.is_plain and one.views == ((1.0, False),)
    logits = np.asarray(model.predict_on_batch(images.astype("float32")))
    np.testing.assert_array_equal(one.probabilities(model.predict_on_batch, images), softmax(logits))
    np.testing.assert_array_equal(predict(model, images, tta=one), predict(model, images))


def reference_average(score, images, views, size):
    """The class probabilities averaged over `views` ((height, width, mirrored) of each), in NumPy: every input
    of `images` ({modality: batch}) resized and mirrored alike, the probabilities mirrored back and resized."""
    average = 0
    for height, width, mirrored in views:
        view = {name: bilinear(part.astype(np.float64), (height, width))[:, :, ::-1 if mirrored else 1]
                for name, part in images.items()}
        logits = score({name: part.astype(np.float32) for name, part in view.items()})
        average += bilinear(softmax(logits)[:, :, ::-1 if mirrored else 1].astype(np.float64), size) / len(views)
    return average


def assert_classes_of(classes, probabilities):
    """`classes` are the argmax of `probabilities` wherever no near-tie lets rounding settle it either way."""
    top_two = np.sort(probabilities, axis=-1)[..., -2:]
    clear = top_two[..., 1] - top_two[..., 0] > 1e-4
    assert classes.shape == probabilities.shape[:-1] and clear.mean() > 0.9
    np.testing.assert_array_equal(classes[clear], probabilities.argmax(-1)[clear])


@pytest.mark.backends
def test_flip_and_two_scales_average_as_a_numpy_reference():
    # the resize itself, on a case worked by hand: half-pixel centres, a 2-pixel row to 4 and a 4-pixel row to 2
    np.testing.assert_allclose(bilinear(np.array([0, 1.0]).reshape(1, 1, 2, 1), (1, 4)).ravel(), [0, 0.25, 0.75, 1])
    np.testing.assert_allclose(bilinear(np.array([0, 1.0, 3, 7]).reshape(1, 1, 4, 1), (1, 2)).ravel(), [0.5, 5])
    model, image = small_model(), integer_images(1, 10, 12, top=256)[0]
    tta = TestTimeAugmentation(flip=True, scales=(0.5, 1.5))
    reference = reference_average(lambda view: model.predict_on_batch(view[None]), {None: image[None]},
                                  [(5, 6, False), (5, 6, True), (15, 18, False), (15, 18, True)], (10, 12))[0]
    average = tta.probabilities(model.predict_on_batch, image[None])[0]
    assert average.shape == (10, 12, 3) and average.dtype == np.float32
    np.testing.assert_allclose(average, reference, atol=2e-6)
    assert np.abs(average - softmax(model.predict_on_batch(image[None].astype(np.float32))[0])).max() > 1e-3
    assert_classes_of(predict(model, image, tta=tta), reference)


@pytest.mark.backends
def test_every_input_of_a_model_of_several_is_resized_and_mirrored_alike():
    color, depth = keras.Input((None, None, 3), name="color"), keras.Input((None, None, 1), name="depth")
    both = keras.layers.Concatenate()([color, keras.layers.Rescaling(1 / 20)(depth)])
    scores = keras.layers.Conv2D(3, 3, padding="same",
                                 kernel_initializer=keras.initializers.RandomNormal(0, 0.05, seed=5))(both)
    model = keras.Model({"color": color, "depth": depth}, scores)
    rng = np.random.default_rng(6)
    images = {"color": rng.integers(0, 256, (1, 8, 12, 3)).astype(np.uint8),
              "depth": rng.uniform(500, 4000, (1, 8, 12, 1)).astype(np.float32)}
    tta = TestTimeAugmentation(flip=True, scales=(0.5, 1))
    reference = reference_average(model.predict_on_batch, images,
                                  [(4, 6, False), (4, 6, True), (8, 12, False), (8, 12, True)], (8, 12))[0]
    np.testing.assert_allclose(tta.probabilities(model.predict_on_batch, images)[0], reference, atol=2e-6)
    assert_classes_of(predict(model, {name: part[0] for name, part in images.items()}, tta=tta), reference)


def test_views_scored_in_tiles_average_as_whole_ones():
    model = fcn_keras.build_fcn8s(3, backbone="vgg16_tiny", padding="same")
    margin = context_margin(model)
    limit = activation_bytes(model, 256 + 2 * margin, 256 + 2 * margin)
    assert tile_side(model, limit) == 256
    image = integer_images(1, 700, 660, top=256, seed=2)
    tta = TestTimeAugmentation(flip=True, scales=(0.5, 1.25))
    assert activation_bytes(model, 875, 825) > limit >= activation_bytes(model, 350, 330)  # 1.25 tiled, 0.5 whole
    tiled = tta.probabilities(lambda views: _head_scores(model, views, 3, limit), image)
    whole = tta.probabilities(lambda views: _head_scores(model, views, 3, None), image)
    assert tiled.shape == (1, 700, 660, 3)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)
    agree = predict(model, image, memory_limit=limit, tta=tta) == predict(model, image, memory_limit=None, tta=tta)
    assert agree.mean() > 0.999


@pytest.mark.backends
def test_each_head_is_averaged_on_its_own():
    inputs = keras.Input((None, None, 3))
    heads = {name: keras.layers.Conv2D(classes, 3, padding="same", name=name,
                                       kernel_initializer=keras.initializers.RandomNormal(0, 0.02, seed=seed))(inputs)
             for seed, (name, classes) in enumerate([("semantic", 4), ("geometric", 2)])}
    model = keras.Model(inputs, heads)
    image = integer_images(1, 9, 11, top=256)[0]
    tta = TestTimeAugmentation(flip=True, scales=(0.5, 1))
    classes = predict(model, image, tta=tta)
    assert set(classes) == {"semantic", "geometric"}
    for name in heads:
        alone = keras.Model(inputs, heads[name])
        expected = tta.probabilities(alone.predict_on_batch, image[None])[0]
        assert expected.shape == (9, 11, alone.output.shape[-1])
        np.testing.assert_array_equal(classes[name], expected.argmax(-1))


@pytest.mark.backends
def test_evaluate_scores_the_augmented_class_maps():
    model, tta = small_model(seed=3), TestTimeAugmentation(flip=True, scales=(0.75, 1.25))
    images = list(integer_images(3, 12, 16, top=256, seed=5))
    masks = [np.random.default_rng(index).integers(0, 3, (12, 16)).astype(np.uint8) for index in range(3)]
    scores = evaluate(model, zip(images, masks), 3, tta=tta)
    classes = predict(model, images, tta=tta)
    confusion = sum(confusion_matrix(mask, predicted, 3) for mask, predicted in zip(masks, classes))
    expected = scores_from_confusion(confusion)
    assert scores["mean_iou"] == pytest.approx(expected["mean_iou"])
    assert scores["pixel_accuracy"] == pytest.approx(expected["pixel_accuracy"])
    plain = evaluate(model, zip(images, masks), 3)
    assert plain["pixel_accuracy"] != scores["pixel_accuracy"]  # the views changed some classes


@pytest.mark.backends
@pytest.mark.parametrize("text, bad", [("0.75,,1", "''"), ("a", "'a'"), ("0", "'0'"), ("-1", "'-1'"),
                                       ("1,inf", "'inf'"), ("1,1", "'1' is given twice")])
def test_bad_scales_text_is_named(text, bad):
    with pytest.raises(ValueError, match=f"Test-time scales '{text}': {bad}.*separated by commas, e.g. 0.75,1,1.25"):
        test_time.parse_scales(text)


@pytest.mark.backends
def test_scales_text_and_flip_parse():
    assert test_time.test_time_augmentation() is None
    assert test_time.test_time_augmentation(flip=True) == FLIP
    both = test_time.test_time_augmentation(flip=True, scales=test_time.parse_scales(" 0.75, 1,1.25"))
    assert both == TestTimeAugmentation(flip=True, scales=(0.75, 1.0, 1.25))


@pytest.mark.backends
@pytest.mark.parametrize("arguments, message", [
    ({"scales": (1, 1.0)}, "1.0 is given twice"), ({"scales": (0.5, -1)}, "-1 is no positive finite number"),
    ({"scales": (float("nan"),)}, "nan is no positive finite number"), ({"scales": ()}, "non-empty sequence"),
    ({"scales": 1.5}, "non-empty sequence"), ({"scales": (True,)}, "True is no positive"),
    ({"flip": "yes"}, "flip must be True or False")])
def test_bad_augmentations_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message) as raised:
        TestTimeAugmentation(**arguments)
    assert "\n" not in str(raised.value)


@pytest.mark.backends
def test_exported_files_are_augmented_whole_and_refused_at_a_fixed_size():
    model, image = small_model(seed=4), integer_images(1, 8, 10, top=256)[0]
    tta = TestTimeAugmentation(flip=True, scales=(0.5, 1))

    def exported(input_shape):  # what load_runtime_model returns, with the Keras model as its runtime
        return RuntimeModel("fcn.tflite", lambda batch: {"logits": model.predict_on_batch(batch)}, input_shape,
                            {"logits": (None, None, None, 3)})

    dynamic, fixed = exported((None, None, None, 3)), exported((1, 8, 10, 3))
    np.testing.assert_array_equal(predict(dynamic, image, memory_limit=1, tta=tta), predict(model, image, tta=tta))
    np.testing.assert_array_equal(predict(fixed, image, tta=FLIP), predict(model, image, tta=FLIP))  # same size
    with pytest.raises(ValueError, match=r"'fcn' takes images of 8x10 pixels only .* scales \[0.5\] .* "
                                         r"use scale 1 alone \(flip still works\), or a model of any input size"):
        predict(fixed, image, tta=tta)


@pytest.mark.backends
def test_predict_refuses_what_is_no_augmentation():
    with pytest.raises(TypeError, match="tta must be None or a fcn_keras.test_time.TestTimeAugmentation"):
        predict(small_model(), np.zeros((8, 8, 3), np.uint8), tta="flip")


def test_write_predictions_writes_the_augmented_classes(tmp_path):
    model, image = small_model(seed=7), integer_images(1, 12, 14, top=256)[0]
    Image.fromarray(image).save(tmp_path / "photo.png")
    tta = TestTimeAugmentation(flip=True, scales=(0.5, 1))
    inputs = keras.Input((12, 14, 3))
    fixed = keras.Model(inputs, keras.layers.Conv2D(3, 1)(inputs))
    with pytest.raises(ValueError, match="scales \\[0.5\\]"):  # refused before any file is written
        write_predictions(fixed, [str(tmp_path)], tmp_path / "out", tta=tta)
    assert not (tmp_path / "out").exists()
    written = write_predictions(model, [str(tmp_path / "photo.png")], tmp_path / "out", tta=tta)
    assert len(written) == 2
    expected = predict(model, image, tta=tta)
    assert (expected != predict(model, image)).any()  # the views change some classes
    np.testing.assert_array_equal(np.array(Image.open(written[0])), expected)
