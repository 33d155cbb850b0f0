"""evaluate() and predict() on a model whose predictions are known exactly.

The tests marked `backends` take NumPy data and run under every Keras backend; tf.data pipelines are
TensorFlow's own (imported only by those tests)."""

import textwrap

import keras
import numpy as np
import pytest
from helpers import run_under
from PIL import Image

import fcn_keras
from fcn_keras.evaluation import _without_border, evaluate, predict
from fcn_keras.metrics import SCORE_NAMES


def channel_argmax_model():
    """Logits = the RGB values, so the predicted class of a pixel is its brightest channel."""
    inputs = keras.Input((None, None, 3))
    per_pixel = keras.layers.Dense(3, use_bias=False, kernel_initializer="identity")
    return keras.Model(inputs, per_pixel(inputs))


def reference_scores(masks, images):
    """score.py on the pixels of a list of (mask, image) pairs, predictions = brightest channel."""
    hist = np.zeros((3, 3))
    for mask, image in zip(masks, images):
        valid = mask != 255
        np.add.at(hist, (mask[valid], image.argmax(-1)[valid]), 1)
    with np.errstate(invalid="ignore"):
        iu = np.diag(hist) / (hist.sum(1) + hist.sum(0) - np.diag(hist))
        class_accuracy = np.diag(hist) / hist.sum(1)
    freq = hist.sum(1) / hist.sum()
    return {
        "pixel_accuracy": np.diag(hist).sum() / hist.sum(),
        "mean_accuracy": np.nanmean(class_accuracy),
        "mean_iou": np.nanmean(iu),
        "frequency_weighted_iou": (freq[freq > 0] * iu[freq > 0]).sum(),
        "per_class_iou": iu,
    }


@pytest.fixture
def pairs():
    rng = np.random.default_rng(0)
    images, masks = [], []
    for height, width in [(6, 8), (9, 5), (6, 8)]:
        image = rng.permutation(np.arange(height * width * 3) % 250).reshape(height, width, 3)
        images.append(image.astype(np.uint8))
        mask = rng.integers(0, 2, size=(height, width)).astype(np.uint8)  # class 2 never true
        mask[0] = 255
        masks.append(mask)
    return images, masks


def as_dataset(images, masks, mask_shape=lambda m: m):
    import tensorflow as tf

    return tf.data.Dataset.from_generator(
        lambda: ((image, mask_shape(mask)) for image, mask in zip(images, masks)),
        output_signature=(
            tf.TensorSpec((None, None, 3), tf.uint8),
            tf.TensorSpec(None, tf.uint8),
        ),
    )


def as_pairs(images, masks, mask_shape=lambda m: m):
    """The same elements as `as_dataset`, as a generator of NumPy pairs (any backend)."""
    return ((image, mask_shape(mask)) for image, mask in zip(images, masks))


SOURCES = [pytest.param(as_pairs, id="numpy", marks=pytest.mark.backends), pytest.param(as_dataset, id="tf.data")]


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("mask_shape", [lambda m: m, lambda m: m[..., None]], ids=["(H,W)", "(H,W,1)"])
def test_unbatched_images_of_different_sizes_match_reference(pairs, mask_shape, source, tmp_path):
    images, masks = pairs
    plot = tmp_path / "confusion.png"
    scores = evaluate(channel_argmax_model(), source(images, masks, mask_shape), 3, confusion_plot=plot)
    expected = reference_scores(masks, images)
    assert set(scores) == set(SCORE_NAMES) | {"per_class_iou"}
    for key in SCORE_NAMES:
        assert isinstance(scores[key], float)
        assert scores[key] == pytest.approx(expected[key], rel=1e-12)
    assert isinstance(scores["per_class_iou"], list) and len(scores["per_class_iou"]) == 3
    np.testing.assert_allclose(scores["per_class_iou"], expected["per_class_iou"])
    assert Image.open(plot).size == (800, 700)


@pytest.mark.parametrize("source", SOURCES)
def test_batched_dataset_gives_the_same_scores(pairs, source):
    images, masks = pairs
    same_size = [0, 2]
    batch = (np.stack([images[i] for i in same_size]), np.stack([masks[i] for i in same_size])[..., None])
    if source is as_dataset:
        import tensorflow as tf

        dataset = tf.data.Dataset.from_tensor_slices(batch).batch(2)
    else:
        dataset = [batch]
    scores = evaluate(channel_argmax_model(), dataset, 3)
    expected = reference_scores([masks[i] for i in same_size], [images[i] for i in same_size])
    for key in SCORE_NAMES:
        assert scores[key] == pytest.approx(expected[key], rel=1e-12)


@pytest.mark.backends
def test_fcn_model_runs_through_evaluate_and_predict():
    model = fcn_keras.build_fcn8s(3, backbone="vgg16_tiny", padding="same")
    image = np.random.default_rng(1).integers(0, 255, size=(20, 28, 3)).astype(np.uint8)
    mask = np.zeros((20, 28), np.uint8)
    scores = evaluate(model, [(image, mask)], 3)
    prediction = predict(model, image)
    assert scores["pixel_accuracy"] == pytest.approx(np.mean(prediction == 0))
    logits = keras.ops.convert_to_numpy(model(image[None].astype(np.float32)))
    np.testing.assert_array_equal(prediction, logits[0].argmax(-1))


@pytest.mark.backends
def test_predict_skips_the_paper_border_with_the_same_classes():
    model = fcn_keras.build_fcn8s(4, backbone="vgg16_tiny", padding="paper")
    rng = np.random.default_rng(2)
    model.set_weights([rng.normal(0, 0.1, weights.shape).astype("float32") for weights in model.get_weights()])
    images = rng.integers(0, 255, (2, 30, 37, 3)).astype(np.uint8)
    logits = keras.ops.convert_to_numpy(model(images.astype(np.float32)))
    np.testing.assert_array_equal(predict(model, images), logits.argmax(-1))
    assert _without_border(model) is not model and _without_border(model) is _without_border(model)


@pytest.mark.parametrize(
    "num_classes, data, message",
    [
        (4, None, "predicts 3 classes, the data has 4"),
        (3, [], "data set is empty"),
        (3, [(np.zeros((4, 4, 3)), np.zeros((4, 5)))], r"Batch 1: masks of shape \(1, 4, 5\)"),
        (3, [(np.zeros((4, 4, 3)), np.full((4, 4), 7))], r"Batch 1: Labels \[7\]"),
        (3, [(np.zeros((4, 4, 3)), np.full((4, 4), 255))], "counts no pixel"),
        (3, [{"image": np.zeros((4, 4, 3))}], r"\(image, mask\) pair"),
        (3, [(np.zeros((4, 4)), np.zeros((4, 4)))], r"images has shape \(4, 4\); .* takes RGB images \(H, W, 3\)"),
    ],
    ids=["classes", "empty", "size", "label", "all ignored", "dict", "gray"],
)
@pytest.mark.backends
def test_bad_inputs_are_explained(pairs, num_classes, data, message):
    data = as_pairs(*pairs) if data is None else data
    with pytest.raises(ValueError, match=message):
        evaluate(channel_argmax_model(), data, num_classes)


@pytest.mark.backends
def test_predict_single_batch_and_list_of_sizes(pairs):
    images, _ = pairs
    model = channel_argmax_model()
    single = predict(model, images[1])
    assert single.shape == (9, 5) and single.dtype == np.uint8
    np.testing.assert_array_equal(single, images[1].argmax(-1))
    batch = predict(model, np.stack([images[0], images[2]]).astype(np.float32))
    np.testing.assert_array_equal(batch, np.stack([images[0], images[2]]).argmax(-1))
    listed = predict(model, [images[0], Image.fromarray(images[1]), keras.ops.convert_to_tensor(images[2])])
    assert [p.shape for p in listed] == [(6, 8), (9, 5), (6, 8)]
    for prediction, image in zip(listed, images):
        np.testing.assert_array_equal(prediction, image.argmax(-1))


@pytest.mark.backends
def test_errors_of_other_data_pass_through():
    def failing():
        yield np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8)
        raise RuntimeError("the reader broke")

    with pytest.raises(RuntimeError, match="the reader broke"):
        evaluate(channel_argmax_model(), failing(), 3)


def test_a_bad_file_in_a_tf_data_pipeline_raises_its_data_error(tmp_path):
    from fcn_keras.data import DataError, write_mask
    from fcn_keras.data.files import file_pairs_dataset

    Image.new("RGB", (4, 4)).save(tmp_path / "a.jpg")
    write_mask(tmp_path / "a.png", np.full((4, 4), 9))
    data = file_pairs_dataset([str(tmp_path / "a.jpg")], [str(tmp_path / "a.png")], num_classes=3)
    with pytest.raises(DataError, match=r"a.png: mask values \[9\] are not class indices 0..2"):
        evaluate(channel_argmax_model(), data, 3)


@pytest.mark.backends
@pytest.mark.skipif(keras.backend.backend() == "tensorflow", reason="Keras' TensorFlow backend imports TensorFlow")
def test_evaluate_predict_and_pictures_import_no_tensorflow(tmp_path):
    script = textwrap.dedent("""
        import sys
        import keras
        import numpy as np
        import fcn_keras
        from fcn_keras.tiling import activation_bytes, context_margin, score_image
        from fcn_keras.visualize import comparison_grid, overlay

        inputs = keras.Input((None, None, 3))  # a two-layer FCN: its classes are its brightest channels
        padded = keras.layers.ZeroPadding2D(2)(inputs)
        scores = keras.layers.Conv2D(3, 5, kernel_initializer="zeros")(padded)
        model = keras.Model(inputs, keras.layers.Add()([scores, inputs]))
        image = np.random.default_rng(0).integers(0, 256, (24, 20, 3), np.uint8)
        classes = fcn_keras.predict(model, image)  # its activations estimated against the default limit
        assert (classes == image.argmax(-1)).all()
        assert activation_bytes(model, 24, 20) > 0 and context_margin(model) == 96
        assert (score_image(model, image, memory_limit=None, reduce=lambda logits: logits.argmax(-1)) == classes).all()
        scores = fcn_keras.evaluate(model, [(image, classes)], 3, confusion_plot="confusion.png")
        assert scores["pixel_accuracy"] == 1.0, scores
        comparison_grid([image], [classes], [classes], "grid.png")
        overlay(image, classes)
        loaded = sorted(name for name in sys.modules if name.split(".")[0] == "tensorflow")
        assert not loaded, loaded[:5]
    """)
    done = run_under(keras.backend.backend(), script, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.backends
def test_predict_refuses_non_rgb():
    with pytest.raises(ValueError, match="convert grayscale or RGBA"):
        predict(channel_argmax_model(), np.zeros((4, 4, 4), np.uint8))


@pytest.mark.backends
def test_save_metrics_writes_strict_json(tmp_path):
    import json

    from fcn_keras.evaluation import save_metrics

    path = tmp_path / "metrics.json"
    save_metrics({"mean_iou": 0.5, "per_class_iou": [1.0, float("nan"), 0.0]}, path)
    text = path.read_text()
    assert "NaN" not in text
    assert json.loads(text) == {"mean_iou": 0.5, "per_class_iou": [1.0, None, 0.0]}


def test_write_predictions_refuses_colliding_outputs(tmp_path):
    from PIL import Image

    from fcn_keras.prediction_files import write_predictions

    for name in ("a.png", "a_overlay.png"):  # a's overlay and a_overlay's mask share a file name
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / name)
    with pytest.raises(ValueError, match="a_overlay.png"):
        write_predictions(channel_argmax_model(), [str(tmp_path)], str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_write_predictions_names_the_classes_in_the_overlay_legends(tmp_path):
    from fcn_keras.prediction_files import write_predictions
    from fcn_keras.visualize import overlay, with_legend

    image = np.zeros((8, 90, 3), np.uint8)
    image[:, 30:60, 1] = image[:, 60:, 2] = 200  # classes 0, 1 and 2: the brightest channels
    Image.fromarray(image).save(tmp_path / "photo.png")
    names = ["red", "green", "blue"]
    write_predictions(channel_argmax_model(), [str(tmp_path / "photo.png")], str(tmp_path / "out"), class_names=names)
    picture = np.asarray(Image.open(tmp_path / "out" / "photo_overlay.png"))
    classes = image.argmax(-1)
    np.testing.assert_array_equal(picture, with_legend(overlay(image, classes), [classes], names))
    assert not np.array_equal(picture, with_legend(overlay(image, classes), [classes]))  # not "class 1"
    inputs = keras.Input((None, None, 3))
    two_heads = keras.Model(inputs, {"semantic": keras.layers.Dense(3)(inputs),
                                     "geometric": keras.layers.Dense(2)(inputs)})
    with pytest.raises(ValueError, match=r"has the heads \['semantic', 'geometric'\]: give class_names as"):
        write_predictions(two_heads, [str(tmp_path / "photo.png")], str(tmp_path / "heads"), class_names=names)
    assert not (tmp_path / "heads").exists()


@pytest.mark.backends
def test_a_subclassed_model_is_scored_as_it_is_called():
    """A model that declares no inputs (subclassed) is given the arrays as they come: Keras checks its calls."""

    class PerPixel(keras.Model):
        def __init__(self):
            super().__init__()
            self.score = keras.layers.Conv2D(3, 1, kernel_initializer="glorot_uniform")

        def call(self, images):
            return self.score(images)

    model, images = PerPixel(), np.random.default_rng(0).uniform(0, 255, (2, 8, 10, 3)).astype("float32")
    expected = keras.ops.convert_to_numpy(model(images)).argmax(-1)
    np.testing.assert_array_equal(predict(model, images), expected)
    scores = evaluate(model, [(images[0], expected[0])], num_classes=3)
    assert scores["pixel_accuracy"] == 1.0
