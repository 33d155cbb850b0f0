"""Scores against the reference score.py formulas; the streaming metric against one-shot NumPy."""

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import fcn_keras
from fcn_keras.losses import SegmentationCrossEntropy
from fcn_keras.metrics import (
    SCORE_NAMES,
    MeanIoU,
    SegmentationScores,
    confusion_matrix,
    scores_from_confusion,
)


def reference_scores(hist):
    """The reference score.py, line for line (rows: truth, columns: prediction)."""
    hist = hist.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        acc = np.diag(hist).sum() / hist.sum()
        acc_cls = np.nanmean(np.diag(hist) / hist.sum(1))
        iu = np.diag(hist) / (hist.sum(1) + hist.sum(0) - np.diag(hist))
        mean_iu = np.nanmean(iu)
        freq = hist.sum(1) / hist.sum()
        fwavacc = (freq[freq > 0] * iu[freq > 0]).sum()
    return acc, acc_cls, mean_iu, fwavacc, iu


def reference_confusion(labels, predictions, n):
    hist = np.zeros((n, n), np.int64)
    for t, p in zip(labels.reshape(-1), predictions.reshape(-1)):
        if t != 255:
            hist[t, p] += 1
    return hist


def random_confusion(seed, n=6):
    """Counts with a class absent everywhere, one never true, one never predicted."""
    rng = np.random.default_rng(seed)
    hist = rng.integers(0, 50, size=(n, n)) * (rng.random((n, n)) < 0.6)
    hist[1, :] = hist[:, 1] = 0  # absent: IU NaN, accuracy NaN
    hist[2, :] = 0  # predicted but never true: IU 0, accuracy NaN
    hist[:, 3] = 0  # true but never predicted: IU 0
    hist[0, 0] += 1
    return hist


@pytest.mark.parametrize("seed", range(5))
def test_scores_match_reference_formulas_with_absent_classes(seed):
    hist = random_confusion(seed)
    scores = scores_from_confusion(hist)
    acc, acc_cls, mean_iu, fwavacc, iu = reference_scores(hist)
    np.testing.assert_allclose(
        [scores[k] for k in SCORE_NAMES], [acc, acc_cls, mean_iu, fwavacc], rtol=1e-12
    )
    np.testing.assert_allclose(scores["per_class_iou"], iu, rtol=1e-12)  # NaN where NaN
    assert np.isnan(scores["per_class_iou"][1])
    assert scores["per_class_iou"][2] == 0 and scores["per_class_iou"][3] == 0


def test_scores_by_hand():
    scores = scores_from_confusion([[3, 1, 0], [0, 4, 0], [0, 0, 0]])
    assert scores["pixel_accuracy"] == 7 / 8
    assert scores["mean_accuracy"] == (3 / 4 + 1) / 2
    assert scores["mean_iou"] == pytest.approx((3 / 4 + 4 / 5) / 2)
    assert scores["frequency_weighted_iou"] == pytest.approx(0.5 * 3 / 4 + 0.5 * 4 / 5)
    assert np.isnan(scores["per_class_iou"][2])


@pytest.mark.parametrize(
    "bad, message",
    [([[0, 0], [0, 0]], "counts no pixel"), ([[1, 2, 3]], "square"), ([[1, -1], [0, 1]], "non-negative")],
)
def test_scores_reject_bad_matrices(bad, message):
    with pytest.raises(ValueError, match=message):
        scores_from_confusion(bad)


def test_confusion_matrix_matches_pixel_loop_and_skips_ignored():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 5, size=(3, 7, 9))
    labels[rng.random(labels.shape) < 0.2] = 255
    predictions = rng.integers(0, 5, size=(3, 7, 9))
    hist = confusion_matrix(labels[..., None], predictions, 5)
    np.testing.assert_array_equal(hist, reference_confusion(labels, predictions, 5))
    assert hist.sum() == (labels != 255).sum()


@pytest.mark.parametrize(
    "labels, predictions, message",
    [
        ([[0, 5]], [[0, 1]], r"Labels \[5\] are outside \[0, 3\)"),
        ([[0, -1]], [[0, 1]], r"Labels \[-1\]"),
        ([[0, 1]], [[0, 3]], r"Predictions \[3\]"),
        ([[0, 1]], [[[0.1, 0.9, 0.0], [0.2, 0.3, 0.5]]], "pass class maps"),
    ],
)
def test_confusion_matrix_refuses_values_it_cannot_count(labels, predictions, message):
    with pytest.raises(ValueError, match=message):
        confusion_matrix(np.array(labels), np.array(predictions), 3)


def test_ignore_index_that_is_a_class_is_refused():
    with pytest.raises(ValueError, match="also a class index"):
        SegmentationScores(3, ignore_index=0)


def batches(seed=0, count=3, num_classes=4):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        labels = rng.integers(0, num_classes, size=(2, 5, 7))
        labels[rng.random(labels.shape) < 0.25] = 255
        yield labels, rng.normal(size=(2, 5, 7, num_classes)).astype(np.float32)


@pytest.mark.backends
def test_streaming_scores_equal_one_shot_scores_and_reset():
    metric, mean_iou = SegmentationScores(4), MeanIoU(4)
    data = list(batches())
    for labels, logits in data:
        metric.update_state(labels[..., None].astype(np.uint8), logits.astype(np.float16))
        mean_iou.update_state(labels, logits)
    labels = np.concatenate([y for y, _ in data])
    predictions = np.concatenate([x for _, x in data]).argmax(-1)
    hist = reference_confusion(labels, predictions, 4)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(metric.confusion), hist)
    expected = reference_scores(hist)[:4]
    result = metric.result()
    assert set(result) == set(SCORE_NAMES)
    np.testing.assert_allclose([float(result[k]) for k in SCORE_NAMES], expected, rtol=1e-6)
    np.testing.assert_allclose(float(mean_iou.result()), expected[2], rtol=1e-6)
    metric.reset_state()
    assert keras.ops.convert_to_numpy(metric.confusion).sum() == 0 and float(metric.result()["mean_iou"]) == 0.0


@pytest.mark.backends
def test_streaming_metric_reports_absent_classes_like_the_reference():
    metric = SegmentationScores(4)
    logits = np.eye(4)[[0, 0, 2]][None, None].astype(np.float32)  # predicts 0, 0, 2
    metric.update_state(np.array([[[0, 2, 2]]]), logits)  # classes 1 and 3 absent
    hist = reference_confusion(np.array([0, 2, 2]), np.array([0, 0, 2]), 4)
    expected = reference_scores(hist)[:4]
    np.testing.assert_allclose([float(metric.result()[k]) for k in SCORE_NAMES], expected, rtol=1e-6)


def test_streaming_metric_fails_on_out_of_range_label_naming_it():
    metric = SegmentationScores(3)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"A mask has the label\W+9\W+(b')?but the model"):
        metric.update_state(np.array([[[0, 9]]]), np.zeros((1, 1, 2, 3), np.float32))


@pytest.mark.backends
@pytest.mark.skipif(keras.backend.backend() == "tensorflow", reason="TensorFlow asserts (the test above)")
def test_streaming_metric_turns_out_of_range_labels_into_nan_where_no_assert_runs():
    metric = SegmentationScores(3)
    metric.update_state(np.array([[[0, 1]]]), np.zeros((1, 1, 2, 3), np.float32))
    assert float(metric.result()["pixel_accuracy"]) == 0.5
    metric.update_state(np.array([[[0, 9]]]), np.zeros((1, 1, 2, 3), np.float32))
    assert all(np.isnan(float(value)) for value in metric.result().values())


def test_streaming_metric_under_xla_turns_out_of_range_labels_into_nan():
    metric = SegmentationScores(3)
    update = tf.function(metric.update_state, jit_compile=True)
    update(tf.constant([[[0, 1]]]), tf.zeros((1, 1, 2, 3)))
    assert float(metric.result()["pixel_accuracy"]) == 0.5
    update(tf.constant([[[0, 9]]]), tf.zeros((1, 1, 2, 3)))
    assert all(np.isnan(float(v)) for v in metric.result().values())


@pytest.mark.backends
def test_streaming_metric_checks_channels():
    with pytest.raises(ValueError, match="expects logits with 3 channels"):
        SegmentationScores(3).update_state(np.zeros((1, 2, 2)), np.zeros((1, 2, 2, 4), np.float32))


@pytest.mark.backends
def test_sample_weights_scale_pixel_counts():
    labels, logits = next(batches())
    predictions = logits.argmax(-1)
    per_image, per_pixel = SegmentationScores(4), SegmentationScores(4)
    per_image.update_state(labels, logits, sample_weight=np.array([2.0, 0.0]))
    pixel_weights = np.random.default_rng(5).random(labels.shape).astype(np.float32)
    per_pixel.update_state(labels, logits, sample_weight=pixel_weights[..., None])
    expected_first = 2 * reference_confusion(labels[:1], predictions[:1], 4)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(per_image.confusion), expected_first)
    expected = np.zeros((4, 4))
    valid = labels != 255
    np.add.at(expected, (labels[valid], predictions[valid]), pixel_weights[valid])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(per_pixel.confusion), expected, rtol=1e-6)


@pytest.mark.backends
def test_metrics_serialize_without_custom_objects():
    for metric in (SegmentationScores(5, ignore_index=9, name="s"), MeanIoU(5)):
        restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(metric))
        assert type(restored) is type(metric) and restored.get_config() == metric.get_config()


@pytest.mark.backends
def test_compile_fit_and_evaluate_report_the_numpy_scores():
    keras.utils.set_random_seed(0)
    model = fcn_keras.build_fcn8s(3, backbone="vgg16_tiny", padding="same")
    model.compile(
        "adam", loss=SegmentationCrossEntropy(), metrics=[SegmentationScores(3), MeanIoU(3, name="miou")]
    )
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, size=(4, 16, 16, 3)).astype(np.float32)
    masks = (images[..., 0] > 127).astype(np.uint8)
    masks[:, :3] = 255
    history = model.fit(images, masks, batch_size=2, epochs=1, validation_data=(images, masks), verbose=0)
    assert {"val_mean_iou", "val_miou", "val_pixel_accuracy", "mean_iou"} <= set(history.history)
    result = model.evaluate(images, masks, batch_size=2, return_dict=True, verbose=0)
    hist = confusion_matrix(masks, model.predict(images, verbose=0).argmax(-1), 3)
    expected = scores_from_confusion(hist)
    for key in SCORE_NAMES:
        assert result[key] == pytest.approx(expected[key], rel=1e-5)
    np.testing.assert_allclose(result["miou"], expected["mean_iou"], rtol=1e-5)


MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, fcn_keras
    from fcn_keras.losses import SegmentationCrossEntropy
    from fcn_keras.metrics import MeanIoU, SegmentationScores, confusion_matrix, scores_from_confusion

    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, size=(4, 16, 16, 3)).astype(np.float32)
    masks = rng.integers(0, 3, size=(4, 16, 16)).astype(np.uint8)
    masks[:2, :5] = 255  # replicas get different numbers of labelled pixels
    keras.utils.set_random_seed(0)
    reference = fcn_keras.build_fcn8s(3, backbone="vgg16_tiny", padding="same")
    logits = reference.predict(images, verbose=0)
    out = {"expected": scores_from_confusion(confusion_matrix(masks, logits.argmax(-1), 3))}
    out["expected"].pop("per_class_iou")
    out["expected_sum"] = float(SegmentationCrossEntropy(reduction="sum")(masks, logits))
    halves = [SegmentationCrossEntropy()(masks[i:i + 2], logits[i:i + 2]) for i in (0, 2)]
    out["expected_mean_of_replica_means"] = float(sum(halves) / 2)

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    out["replicas"] = strategy.num_replicas_in_sync
    weights = {}
    for name, reduction, scope in (("single", "sum", tf.distribute.get_strategy()),
                                   ("mirrored", "sum", strategy), ("mirrored", "mean", strategy)):
        with scope.scope():
            model = fcn_keras.build_fcn8s(3, backbone="vgg16_tiny", padding="same")
            model.set_weights(reference.get_weights())
            model.compile(keras.optimizers.SGD(1e-5),
                          loss=SegmentationCrossEntropy(reduction=reduction),
                          metrics=[SegmentationScores(3), MeanIoU(3, name="miou")])
        if name == "mirrored":
            out[f"{reduction}_eval"] = model.evaluate(
                images, masks, batch_size=4, return_dict=True, verbose=0)
        if reduction == "sum":
            model.fit(images, masks, batch_size=4, epochs=1, shuffle=False, verbose=0)
            weights[name] = model.get_weights()
    def max_diff(a, b):
        return max(float(np.abs(x - y).max()) for x, y in zip(a, b))
    out["max_weight_diff"] = max_diff(weights["single"], weights["mirrored"])
    out["max_weight_change"] = max_diff(weights["single"], reference.get_weights())
    print("RESULT" + json.dumps(out))
    """
)


def test_mirrored_strategy_on_two_cpus_matches_a_single_device():
    run = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.split("RESULT", 1)[1])
    assert out["replicas"] == 2
    for reduction in ("sum", "mean"):
        result = out[f"{reduction}_eval"]
        for key in SCORE_NAMES:
            assert result[key] == pytest.approx(out["expected"][key], rel=1e-6)
        assert result["miou"] == pytest.approx(out["expected"]["mean_iou"], rel=1e-6)
    # Keras reports the global sum, and for "mean" the mean of the replicas' per-pixel means.
    assert out["sum_eval"]["loss"] == pytest.approx(out["expected_sum"], rel=1e-5)
    assert out["mean_eval"]["loss"] == pytest.approx(out["expected_mean_of_replica_means"], rel=1e-5)
    # Gradients of the summed loss add up over replicas: one SGD step equals a single device's.
    assert out["max_weight_change"] > 1e-4
    assert out["max_weight_diff"] < 1e-3 * out["max_weight_change"]
