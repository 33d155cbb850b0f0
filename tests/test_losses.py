"""SegmentationCrossEntropy against a NumPy reference of softmax cross-entropy over labelled pixels."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from fcn_keras.losses import SegmentationCrossEntropy, prepare_labels

NUM_CLASSES = 4


def reference_pixel_losses(labels, logits):
    """-log softmax(logits)[label] per pixel, float64, and the mask of labelled pixels."""
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    valid = labels != 255
    picked = np.take_along_axis(log_probs, np.where(valid, labels, 0)[..., None], axis=-1)[..., 0]
    return -picked, valid


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(2, 5, 6, NUM_CLASSES)).astype(np.float32)
    labels = rng.integers(0, NUM_CLASSES, size=(2, 5, 6))
    labels[rng.random(labels.shape) < 0.3] = 255
    return labels, logits


@pytest.mark.backends
@pytest.mark.parametrize(
    "as_labels",
    [
        lambda y: y.astype(np.int64),
        lambda y: y.astype(np.uint8)[..., None],
        lambda y: y.astype(np.float32),
        lambda y: keras.ops.convert_to_tensor(y, "int32"),
    ],
    ids=["int64 (N,H,W)", "uint8 (N,H,W,1)", "float32", "backend int32"],
)
def test_mean_and_sum_match_numpy_reference_over_labelled_pixels(batch, as_labels):
    labels, logits = batch
    per_pixel, valid = reference_pixel_losses(labels, logits)
    mean = float(SegmentationCrossEntropy()(as_labels(labels), logits))
    total = float(SegmentationCrossEntropy(reduction="sum")(as_labels(labels), logits))
    np.testing.assert_allclose(mean, per_pixel[valid].mean(), rtol=1e-6)
    np.testing.assert_allclose(total, per_pixel[valid].sum(), rtol=1e-6)
    np.testing.assert_allclose(total / mean, valid.sum(), rtol=1e-6)


@pytest.mark.backends
def test_none_reduction_gives_the_pixel_map_with_zeros_where_ignored(batch):
    labels, logits = batch
    per_pixel, valid = reference_pixel_losses(labels, logits)
    loss_map = keras.ops.convert_to_numpy(SegmentationCrossEntropy(reduction="none")(labels, logits))
    assert loss_map.shape == labels.shape
    np.testing.assert_allclose(loss_map, np.where(valid, per_pixel, 0.0), rtol=1e-5, atol=1e-6)


def test_logits_at_ignored_pixels_change_neither_loss_nor_gradient(batch):
    labels, logits = batch
    ignored = labels == 255
    noise = np.random.default_rng(1).normal(scale=50.0, size=logits.shape)
    other = np.where(ignored[..., None], noise, logits)
    loss = SegmentationCrossEntropy()
    values, gradients = [], []
    for candidate in (logits, other.astype(np.float32)):
        variable = tf.Variable(candidate)
        with tf.GradientTape() as tape:
            value = loss(labels, variable)
        values.append(float(value))
        gradients.append(tape.gradient(value, variable).numpy())
    assert values[0] == values[1]
    np.testing.assert_array_equal(gradients[0], gradients[1])
    assert np.all(gradients[0][ignored] == 0)
    assert np.any(gradients[0][~ignored] != 0)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_all_ignored_batch_gives_zero_loss_and_zero_gradient(reduction):
    logits = tf.Variable(tf.random.stateless_normal((1, 3, 3, NUM_CLASSES), seed=(1, 2)))
    with tf.GradientTape() as tape:
        value = SegmentationCrossEntropy(reduction=reduction)(np.full((1, 3, 3), 255), logits)
    assert float(value) == 0.0
    np.testing.assert_array_equal(tape.gradient(value, logits).numpy(), 0.0)


@pytest.mark.backends
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_mixed_precision_logits_are_scored_in_float32(batch, dtype):
    labels, logits = batch
    low = keras.ops.cast(logits, dtype)
    per_pixel, valid = reference_pixel_losses(labels, keras.ops.convert_to_numpy(keras.ops.cast(low, "float32")))
    value = SegmentationCrossEntropy()(labels, low)
    assert keras.backend.standardize_dtype(value.dtype) == "float32"
    np.testing.assert_allclose(float(value), per_pixel[valid].mean(), rtol=1e-5)


@pytest.mark.backends
def test_large_logits_stay_finite():
    logits = np.array([[[[1e4, -1e4, 0.0]], [[-3e4, 3e4, 0.0]]]], np.float32)  # (1, 2, 1, 3)
    labels = np.array([[[0], [0]]])
    np.testing.assert_allclose(float(SegmentationCrossEntropy(reduction="sum")(labels, logits)), 6e4)


@pytest.mark.backends
def test_sample_weight_scales_images_and_mean_still_divides_by_labelled_pixels(batch):
    labels, logits = batch
    per_pixel, valid = reference_pixel_losses(labels, logits)
    weights = np.array([2.0, 0.5], np.float32)
    value = float(SegmentationCrossEntropy()(labels, logits, sample_weight=weights))
    expected = (per_pixel * valid * weights[:, None, None]).sum() / valid.sum()
    np.testing.assert_allclose(value, expected, rtol=1e-6)


@pytest.mark.backends
def test_other_ignore_index():
    labels = np.array([[[0, 1], [2, 3]]])
    logits = np.random.default_rng(2).normal(size=(1, 2, 2, 3)).astype(np.float32)
    value = float(SegmentationCrossEntropy(ignore_index=3)(labels, logits))
    per_pixel, _ = reference_pixel_losses(np.where(labels == 3, 255, labels), logits)
    np.testing.assert_allclose(value, per_pixel.reshape(-1)[:3].mean(), rtol=1e-6)


def test_labels_of_unknown_rank_in_a_graph_are_taken_as_masks(batch):
    labels, logits = batch
    loss = SegmentationCrossEntropy()
    traced = tf.function(loss, input_signature=[tf.TensorSpec(None, tf.int64), tf.TensorSpec([None] * 4, tf.float32)])
    np.testing.assert_allclose(float(traced(labels, logits)), float(loss(labels, logits)), rtol=1e-6)


def test_out_of_range_label_fails_naming_the_value():
    logits = tf.zeros((1, 2, 2, 3))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"A mask has the label\W+7\W+(b')?but the model"):
        SegmentationCrossEntropy()(np.array([[[0, 7], [2, 255]]]), logits)


@pytest.mark.backends
@pytest.mark.skipif(keras.backend.backend() == "tensorflow", reason="TensorFlow asserts (the test above)")
def test_out_of_range_label_gives_nan_where_no_assert_runs():
    loss = SegmentationCrossEntropy()(np.array([[[0, 7], [2, 255]]]), np.zeros((1, 2, 2, 3), np.float32))
    assert np.isnan(float(loss))


def test_out_of_range_label_under_xla_gives_nan_not_a_silent_skip():
    loss = SegmentationCrossEntropy()
    compiled = tf.function(lambda y, x: loss(y, x), jit_compile=True)
    assert np.isnan(float(compiled(tf.constant([[[0, 7], [2, 255]]]), tf.zeros((1, 2, 2, 3)))))


def test_prepare_labels_replaces_ignored_and_flags_out_of_range():
    labels, valid, out_of_range = tf.function(prepare_labels, jit_compile=True)(
        tf.constant([[[1, 255, 9]]]), 3
    )
    assert labels.numpy().tolist() == [[[1, 0, 0]]]
    assert valid.numpy().tolist() == [[[True, False, False]]]
    assert out_of_range.numpy().tolist() == [[[False, False, True]]]


@pytest.mark.backends
def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="reduction must be one of"):
        SegmentationCrossEntropy(reduction="sum_over_batch_size")
    with pytest.raises(ValueError, match=r"\(N, H, W\) or \(N, H, W, 1\)"):
        SegmentationCrossEntropy()(np.zeros((1, 2, 2, 3)), np.zeros((1, 2, 2, 3), np.float32))


@pytest.mark.backends
def test_serializes_without_custom_objects():
    loss = SegmentationCrossEntropy(ignore_index=7, reduction="sum", name="xent")
    config = keras.saving.serialize_keras_object(loss)
    restored = keras.saving.deserialize_keras_object(config)
    assert isinstance(restored, SegmentationCrossEntropy)
    assert restored.get_config() == {"name": "xent", "reduction": "sum", "ignore_index": 7}
