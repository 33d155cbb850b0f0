"""evaluate() and predict() on a model whose predictions are known exactly."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import fcn_keras
from fcn_keras.evaluation import evaluate, predict
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
    return tf.data.Dataset.from_generator(
        lambda: ((image, mask_shape(mask)) for image, mask in zip(images, masks)),
        output_signature=(
            tf.TensorSpec((None, None, 3), tf.uint8),
            tf.TensorSpec(None, tf.uint8),
        ),
    )


@pytest.mark.parametrize("mask_shape", [lambda m: m, lambda m: m[..., None]], ids=["(H,W)", "(H,W,1)"])
def test_unbatched_images_of_different_sizes_match_reference(pairs, mask_shape, tmp_path):
    images, masks = pairs
    plot = tmp_path / "confusion.png"
    scores = evaluate(channel_argmax_model(), as_dataset(images, masks, mask_shape), 3, confusion_plot=plot)
    expected = reference_scores(masks, images)
    assert set(scores) == set(SCORE_NAMES) | {"per_class_iou"}
    for key in SCORE_NAMES:
        assert isinstance(scores[key], float)
        assert scores[key] == pytest.approx(expected[key], rel=1e-12)
    assert isinstance(scores["per_class_iou"], list) and len(scores["per_class_iou"]) == 3
    np.testing.assert_allclose(scores["per_class_iou"], expected["per_class_iou"])
    assert Image.open(plot).size == (800, 700)


def test_batched_dataset_gives_the_same_scores(pairs):
    images, masks = pairs
    same_size = [0, 2]
    dataset = tf.data.Dataset.from_tensor_slices(
        (np.stack([images[i] for i in same_size]), np.stack([masks[i] for i in same_size])[..., None])
    ).batch(2)
    scores = evaluate(channel_argmax_model(), dataset, 3)
    expected = reference_scores([masks[i] for i in same_size], [images[i] for i in same_size])
    for key in SCORE_NAMES:
        assert scores[key] == pytest.approx(expected[key], rel=1e-12)


def test_fcn_model_runs_through_evaluate_and_predict():
    model = fcn_keras.build_fcn8s(3, backbone="vgg16_tiny", padding="same")
    image = np.random.default_rng(1).integers(0, 255, size=(20, 28, 3)).astype(np.uint8)
    mask = np.zeros((20, 28), np.uint8)
    scores = evaluate(model, [(image, mask)], 3)
    prediction = predict(model, image)
    assert scores["pixel_accuracy"] == pytest.approx(np.mean(prediction == 0))
    np.testing.assert_array_equal(prediction, np.asarray(model(image[None].astype(np.float32)))[0].argmax(-1))


@pytest.mark.parametrize(
    "num_classes, data, message",
    [
        (4, None, "predicts 3 classes but num_classes is 4"),
        (3, [], "data set is empty"),
        (3, [(np.zeros((4, 4, 3)), np.zeros((4, 5)))], r"Batch 1: masks of shape \(1, 4, 5\)"),
        (3, [(np.zeros((4, 4, 3)), np.full((4, 4), 7))], r"Batch 1: Labels \[7\]"),
        (3, [(np.zeros((4, 4, 3)), np.full((4, 4), 255))], "counts no pixel"),
        (3, [{"image": np.zeros((4, 4, 3))}], r"\(image, mask\) pair"),
        (3, [(np.zeros((4, 4)), np.zeros((4, 4)))], r"RGB \(H, W, 3\)"),
    ],
    ids=["classes", "empty", "size", "label", "all ignored", "dict", "gray"],
)
def test_bad_inputs_are_explained(pairs, num_classes, data, message):
    data = as_dataset(*pairs) if data is None else data
    with pytest.raises(ValueError, match=message):
        evaluate(channel_argmax_model(), data, num_classes)


def test_predict_single_batch_and_list_of_sizes(pairs):
    images, _ = pairs
    model = channel_argmax_model()
    single = predict(model, images[1])
    assert single.shape == (9, 5) and single.dtype == np.uint8
    np.testing.assert_array_equal(single, images[1].argmax(-1))
    batch = predict(model, np.stack([images[0], images[2]]).astype(np.float32))
    np.testing.assert_array_equal(batch, np.stack([images[0], images[2]]).argmax(-1))
    listed = predict(model, [images[0], Image.fromarray(images[1]), tf.constant(images[2])])
    assert [p.shape for p in listed] == [(6, 8), (9, 5), (6, 8)]
    for prediction, image in zip(listed, images):
        np.testing.assert_array_equal(prediction, image.argmax(-1))


def test_predict_refuses_non_rgb():
    with pytest.raises(ValueError, match="convert grayscale or RGBA"):
        predict(channel_argmax_model(), np.zeros((4, 4, 4), np.uint8))


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
