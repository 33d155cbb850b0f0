"""Soft Dice, focal, Lovasz-softmax, class-weighted cross-entropy and their sums, against NumPy float64 references:
values on every backend, gradients (TensorFlow) against central finite differences of the references."""

import functools
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import fcn_keras
from fcn_keras.losses import (
    FocalLoss,
    LovaszSoftmaxLoss,
    SegmentationCrossEntropy,
    SoftDiceLoss,
    WeightedSum,
    segmentation_loss,
)

CLASSES = 3
WEIGHTS = [0.5, 2.0, 1.5]


# NumPy references, float64, written from the definitions (boolean selection of the labelled pixels).

def log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def labelled(labels, logits):
    """(log-probabilities (M, C), labels (M,)) of the labelled pixels."""
    valid = labels != 255
    return log_softmax(np.asarray(logits, np.float64))[valid], labels[valid]


def reference_cross_entropy(labels, logits, class_weights=None, reduction="mean"):
    log_probs, truth = labelled(labels, logits)
    weights = np.ones(CLASSES) if class_weights is None else np.asarray(class_weights)
    losses = -log_probs[np.arange(len(truth)), truth] * weights[truth]
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / weights[truth].sum() if len(truth) else 0.0


def reference_focal(labels, logits, gamma=2.0, alpha=None):
    log_probs, truth = labelled(labels, logits)
    alpha = np.ones(CLASSES) if alpha is None else np.asarray(alpha)
    log_p = log_probs[np.arange(len(truth)), truth]
    losses = -alpha[truth] * (1 - np.exp(log_p)) ** gamma * log_p
    return losses.mean() if len(truth) else 0.0


def reference_dice(labels, logits, smooth=1.0, class_weights=None):
    log_probs, truth = labelled(labels, logits)
    present = np.unique(truth)
    if not len(present):
        return 0.0
    probabilities, one_hot = np.exp(log_probs)[:, present], np.eye(CLASSES)[truth][:, present]
    dice = 1 - (2 * (probabilities * one_hot).sum(0) + smooth) / (probabilities.sum(0) + one_hot.sum(0) + smooth)
    weights = (np.ones(CLASSES) if class_weights is None else np.asarray(class_weights))[present]
    return (weights * dice).sum() / weights.sum()


def reference_lovasz(labels, logits):
    log_probs, truth = labelled(labels, logits)
    probabilities = np.exp(log_probs)
    losses = []
    for c in np.unique(truth):
        member = (truth == c).astype(np.float64)
        errors = np.abs(member - probabilities[:, c])
        order = np.argsort(-errors, kind="stable")
        errors, member = errors[order], member[order]
        jaccard = 1 - (member.sum() - np.cumsum(member)) / (member.sum() + np.cumsum(1 - member))
        losses.append(errors @ np.diff(jaccard, prepend=0.0))
    return np.mean(losses) if losses else 0.0


def reference_ce_plus_half_dice(labels, logits):
    return reference_cross_entropy(labels, logits, WEIGHTS) + 0.5 * reference_dice(labels, logits, 1.0, WEIGHTS)


CASES = {  # id: (the loss, its reference)
    "ce weighted": (lambda: SegmentationCrossEntropy(class_weights=WEIGHTS),
                    functools.partial(reference_cross_entropy, class_weights=WEIGHTS)),
    "ce weighted sum": (lambda: SegmentationCrossEntropy(reduction="sum", class_weights=WEIGHTS),
                        functools.partial(reference_cross_entropy, class_weights=WEIGHTS, reduction="sum")),
    "focal": (FocalLoss, reference_focal),
    "focal gamma 0.5 alpha": (lambda: FocalLoss(gamma=0.5, alpha=WEIGHTS),
                              functools.partial(reference_focal, gamma=0.5, alpha=WEIGHTS)),
    "dice": (SoftDiceLoss, reference_dice),
    "dice smooth 0 weighted": (lambda: SoftDiceLoss(smooth=0.0, class_weights=WEIGHTS),
                               functools.partial(reference_dice, smooth=0.0, class_weights=WEIGHTS)),
    "lovasz": (LovaszSoftmaxLoss, reference_lovasz),
    "ce+0.5*dice": (lambda: segmentation_loss("ce+0.5*dice", class_weights=WEIGHTS), reference_ce_plus_half_dice),
}


def batch(kind):
    """(labels (2, 3, 4), logits (2, 3, 4, 3) float32): "mixed" (every class, a quarter ignored), "class 2 absent"
    or "all ignored"."""
    rng = np.random.default_rng(3)
    logits = rng.normal(scale=2.0, size=(2, 3, 4, CLASSES)).astype(np.float32)
    labels = rng.integers(0, 2 if kind == "class 2 absent" else CLASSES, size=(2, 3, 4))
    labels[rng.random(labels.shape) < (1.0 if kind == "all ignored" else 0.25)] = 255
    return labels, logits


KINDS = ["mixed", "class 2 absent", "all ignored"]


def finite_difference_gradient(reference, labels, logits, step=1e-5):
    logits = logits.astype(np.float64)
    gradient = np.zeros_like(logits)
    for index in np.ndindex(logits.shape):
        up, down = logits.copy(), logits.copy()
        up[index] += step
        down[index] -= step
        gradient[index] = (reference(labels, up) - reference(labels, down)) / (2 * step)
    return gradient


def value_and_gradient(loss, labels, logits):
    variable = tf.Variable(logits)
    with tf.GradientTape() as tape:
        value = loss(labels, variable)
    return float(value), tape.gradient(value, variable).numpy()


@pytest.mark.backends
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", CASES)
def test_values_match_the_numpy_reference_on_every_backend(case, kind):
    make, reference = CASES[case]
    labels, logits = batch(kind)
    value = make()(labels, logits)
    assert keras.backend.standardize_dtype(value.dtype) == "float32"
    np.testing.assert_allclose(float(value), reference(labels, logits), rtol=1e-5, atol=1e-6)
    channel_last = make()(labels[..., None].astype(np.uint8), logits)  # (N, H, W, 1) masks read alike
    np.testing.assert_allclose(float(channel_last), float(value), rtol=1e-6)
    if kind == "all ignored":
        assert float(value) == 0.0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", CASES)
def test_gradients_match_finite_differences_of_the_reference(case, kind):
    make, reference = CASES[case]
    labels, logits = batch(kind)
    _, gradient = value_and_gradient(make(), labels, logits)
    assert np.all(np.isfinite(gradient))
    np.testing.assert_allclose(gradient, finite_difference_gradient(reference, labels, logits), rtol=1e-3, atol=2e-6)
    assert np.all(gradient[labels == 255] == 0)
    if kind == "all ignored":
        assert np.all(gradient == 0)


@pytest.mark.parametrize("case", CASES)
def test_logits_at_ignored_pixels_change_neither_value_nor_gradient(case):
    labels, logits = batch("mixed")
    noisy = np.where((labels == 255)[..., None], 1e3 * np.sign(logits), logits).astype(np.float32)
    value, gradient = value_and_gradient(CASES[case][0](), labels, logits)
    noisy_value, noisy_gradient = value_and_gradient(CASES[case][0](), labels, noisy)
    assert noisy_value == pytest.approx(value, rel=1e-6)
    np.testing.assert_allclose(noisy_gradient, gradient, rtol=1e-5, atol=1e-8)


@pytest.mark.backends
@pytest.mark.parametrize("case", CASES)
def test_mixed_precision_logits_are_scored_in_float32(case):
    make, reference = CASES[case]
    labels, logits = batch("mixed")
    half = keras.ops.cast(logits, "float16")
    value = make()(labels, half)
    assert keras.backend.standardize_dtype(value.dtype) == "float32"
    np.testing.assert_allclose(float(value), reference(labels, logits.astype(np.float16)), rtol=1e-5)


@pytest.mark.backends
def test_dice_of_a_confident_right_prediction_is_near_0_and_of_a_wrong_one_near_1():
    labels, _ = batch("mixed")
    right = 30.0 * np.eye(CLASSES, dtype=np.float32)[np.where(labels == 255, 0, labels)]
    assert float(SoftDiceLoss()(labels, right)) < 1e-6
    assert float(SoftDiceLoss(smooth=0.0)(labels, -right)) > 1 - 1e-6


@pytest.mark.backends
def test_lovasz_of_hard_predictions_is_the_mean_jaccard_loss_of_the_classes_present():
    labels, logits = batch("class 2 absent")
    predicted = logits.argmax(-1)
    hard = 40.0 * np.eye(CLASSES, dtype=np.float32)[predicted]  # probabilities 0 or 1: the extension's vertices
    valid = labels != 255
    ious = [((labels == c) & (predicted == c)).sum() / (((labels == c) | (predicted == c)) & valid).sum()
            for c in np.unique(labels[valid])]
    np.testing.assert_allclose(float(LovaszSoftmaxLoss()(labels, hard)), 1 - np.mean(ious), rtol=1e-6)


@pytest.mark.backends
def test_cross_entropy_with_equal_class_weights_is_the_unweighted_mean_and_a_scaled_sum():
    labels, logits = batch("mixed")
    plain, total = SegmentationCrossEntropy(), SegmentationCrossEntropy(reduction="sum")
    equal = SegmentationCrossEntropy(class_weights=[3.0] * CLASSES)
    equal_sum = SegmentationCrossEntropy(reduction="sum", class_weights=[3.0] * CLASSES)
    np.testing.assert_allclose(float(equal(labels, logits)), float(plain(labels, logits)), rtol=1e-6)
    np.testing.assert_allclose(float(equal_sum(labels, logits)), 3 * float(total(labels, logits)), rtol=1e-6)


@pytest.mark.parametrize("make", [lambda w: SegmentationCrossEntropy(class_weights=w), lambda w: FocalLoss(alpha=w)],
                         ids=["ce", "focal"])
def test_class_weights_reach_only_the_pixels_of_their_class(make):
    labels, logits = batch("mixed")
    _, gradient = value_and_gradient(make([0.0, 1.0, 0.0]), labels, logits)
    assert np.all(gradient[labels == 0] == 0) and np.all(gradient[labels == 2] == 0)
    assert np.all(np.abs(gradient[labels == 1]).sum(-1) > 0)


def test_dice_weighted_on_one_class_is_that_class_dice():
    labels, logits = batch("mixed")
    valid = labels != 255
    probability = np.exp(log_softmax(logits.astype(np.float64)))[..., 1][valid]
    truth = labels[valid] == 1
    expected = 1 - (2 * probability[truth].sum() + 1) / (probability.sum() + truth.sum() + 1)
    np.testing.assert_allclose(float(SoftDiceLoss(class_weights=[0.0, 1.0, 0.0])(labels, logits)), expected, rtol=1e-6)


def test_weighted_cross_entropy_of_one_class_is_the_mean_over_its_pixels():
    labels, logits = batch("mixed")
    only_ones = np.where(labels == 1, 1, 255)
    weighted = SegmentationCrossEntropy(class_weights=[0.0, 1.0, 0.0])(labels, logits)
    np.testing.assert_allclose(float(weighted), float(SegmentationCrossEntropy()(only_ones, logits)), rtol=1e-6)


def test_focal_with_gamma_0_is_the_cross_entropy_and_weighs_down_easy_pixels():
    labels, logits = batch("mixed")
    np.testing.assert_allclose(float(FocalLoss(gamma=0.0)(labels, logits)),
                               float(SegmentationCrossEntropy()(labels, logits)), rtol=1e-6)
    assert float(FocalLoss(gamma=2.0)(labels, logits)) < float(FocalLoss(gamma=0.5)(labels, logits))


def test_focal_stays_finite_on_saturated_logits():
    logits = tf.Variable(np.array([[[[1e4, -1e4, 0.0], [-3e4, 3e4, 0.0]]]], np.float32))
    for gamma in (0.0, 0.5, 2.0):
        with tf.GradientTape() as tape:
            value = FocalLoss(gamma=gamma)(np.array([[[0, 0]]]), logits)
        assert float(value) == pytest.approx(3e4, rel=1e-6)  # the right pixel adds 0, the wrong one 1^gamma * 6e4
        assert np.all(np.isfinite(tape.gradient(value, logits).numpy()))


def test_per_pixel_losses_take_sample_weights_and_class_averaged_ones_refuse_them():
    labels, logits = batch("mixed")
    weights = np.array([2.0, 0.0])
    np.testing.assert_allclose(float(FocalLoss()(labels, logits, sample_weight=weights)),
                               2 * float(FocalLoss()(labels[:1], logits[:1])) * (labels[0] != 255).sum()
                               / (labels != 255).sum(), rtol=1e-6)
    for loss in (SoftDiceLoss(), LovaszSoftmaxLoss()):
        with pytest.raises(ValueError, match="takes no sample_weight: weigh classes with class_weights"):
            loss(labels, logits, sample_weight=weights)


def test_class_averaged_losses_take_masks_of_unknown_rank_in_a_graph():
    labels, logits = batch("mixed")
    for loss in (SoftDiceLoss(), LovaszSoftmaxLoss()):
        traced = tf.function(loss, input_signature=[tf.TensorSpec(None, tf.int64), tf.TensorSpec([None] * 4)])
        np.testing.assert_allclose(float(traced(labels, logits)), float(loss(labels, logits)), rtol=1e-6)


@pytest.mark.backends
@pytest.mark.skipif(keras.backend.backend() == "tensorflow", reason="TensorFlow asserts (the test below)")
@pytest.mark.parametrize("case", CASES)
def test_out_of_range_label_gives_nan_where_no_assert_runs(case):
    assert np.isnan(float(CASES[case][0]()(np.array([[[0, 7], [2, 255]]]), np.zeros((1, 2, 2, 3), np.float32))))


@pytest.mark.parametrize("loss", [SoftDiceLoss(), LovaszSoftmaxLoss(), FocalLoss()], ids=lambda loss: loss.name)
def test_out_of_range_label_fails_naming_the_value(loss):
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"A mask has the label\W+7\W"):
        loss(np.array([[[0, 7], [2, 255]]]), tf.zeros((1, 2, 2, 3)))


@pytest.mark.backends
@pytest.mark.parametrize("make", [lambda: SegmentationCrossEntropy(class_weights=[1.0, 2.0]),
                                  lambda: FocalLoss(alpha=[1.0, 2.0]), lambda: SoftDiceLoss(class_weights=[1.0, 2.0])],
                         ids=["ce", "focal", "dice"])
def test_class_weights_of_another_class_count_are_refused_naming_both(make):
    with pytest.raises(ValueError, match=r"has 2 weights but the logits have 3 classes: give one weight per class"):
        make()(np.zeros((1, 2, 2)), np.zeros((1, 2, 2, 3), np.float32))


@pytest.mark.parametrize("weights, problem", [
    ([1.0, -1.0], "the weight -1.0 of class 1 is below 0"),
    ([0, 0.0], "every weight is 0"),
    ([1.0, float("nan")], "the weight nan of class 1 is not finite"),
    ([], "there is no weight"),
    ("1,2", "got '1,2'"),
    (["a"], "the weight 'a' of class 0 is not a number"),
])
def test_bad_class_weights_are_explained(weights, problem):
    for make in (lambda: SegmentationCrossEntropy(class_weights=weights), lambda: SoftDiceLoss(class_weights=weights),
                 lambda: segmentation_loss("ce+focal", class_weights=weights)):
        with pytest.raises(ValueError, match=r"class_weights must be one finite number >= 0 per class, not all 0 "
                                             rf"\(e.g. \[1.0, 2.5, 0.5\]\): {problem}"):
            make()
    with pytest.raises(ValueError, match=f"alpha must be .*: {problem}"):
        FocalLoss(alpha=weights)


def test_bad_numbers_are_explained():
    with pytest.raises(ValueError, match=r"gamma must be a finite number >= 0 \(the paper's 2.0"):
        FocalLoss(gamma=-1.0)
    with pytest.raises(ValueError, match=r"smooth must be a finite number >= 0 \(1.0 by default\), got nan"):
        SoftDiceLoss(smooth=float("nan"))
    with pytest.raises(ValueError, match=r"WeightedSum has 2 losses but 1 weights"):
        WeightedSum([FocalLoss(), SoftDiceLoss()], [1.0])
    with pytest.raises(ValueError, match=r"weights\[1\] must be a finite number >= 0"):
        WeightedSum([FocalLoss(), SoftDiceLoss()], [1.0, -2.0])


@pytest.mark.backends
@pytest.mark.parametrize("case", CASES)
def test_every_loss_serializes_without_custom_objects(case):
    loss = CASES[case][0]()
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(restored) is type(loss) and restored.get_config() == loss.get_config()
    assert type(loss).from_config(loss.get_config()).get_config() == loss.get_config()
    labels, logits = batch("mixed")
    np.testing.assert_allclose(float(restored(labels, logits)), float(loss(labels, logits)), rtol=1e-6)


def test_configs_name_every_argument():
    assert SegmentationCrossEntropy(class_weights=[1, 2]).get_config() == {
        "name": "segmentation_cross_entropy", "reduction": "mean", "ignore_index": 255, "class_weights": [1.0, 2.0]}
    assert FocalLoss(0.5, [1, 2], 7).get_config() == {
        "name": "focal_loss", "reduction": "mean", "ignore_index": 7, "alpha": [1.0, 2.0], "gamma": 0.5}
    assert SoftDiceLoss(0.0, ignore_index=7).get_config() == {"name": "soft_dice_loss", "ignore_index": 7,
                                                              "smooth": 0.0}
    assert LovaszSoftmaxLoss().get_config() == {"name": "lovasz_softmax_loss", "ignore_index": 255}


@pytest.mark.parametrize("spec, parts, weights", [
    ("ce", "SegmentationCrossEntropy", None),
    ("lovasz", "LovaszSoftmaxLoss", None),
    ("CE + Dice", ["SegmentationCrossEntropy", "SoftDiceLoss"], [1.0, 1.0]),
    ("ce+0.5*lovasz", ["SegmentationCrossEntropy", "LovaszSoftmaxLoss"], [1.0, 0.5]),
    ("2*focal", ["FocalLoss"], [2.0]),
    ("1e-1*dice+focal", ["SoftDiceLoss", "FocalLoss"], [0.1, 1.0]),
])
def test_segmentation_loss_builds_what_the_spec_names(spec, parts, weights):
    loss = segmentation_loss(spec, ignore_index=7)
    if weights is None:
        assert type(loss).__name__ == parts and loss.ignore_index == 7
    else:
        assert isinstance(loss, WeightedSum) and loss.weights == weights
        assert [type(part).__name__ for part in loss.losses] == parts
        assert all(part.ignore_index == 7 for part in loss.losses)


def test_segmentation_loss_gives_class_weights_to_every_loss_but_lovasz():
    loss = segmentation_loss("ce+dice+focal+lovasz", class_weights=WEIGHTS)
    assert [part.class_weights for part in loss.losses] == [tuple(WEIGHTS)] * 3 + [None]
    assert loss.losses[2].get_config()["alpha"] == WEIGHTS
    with pytest.raises(ValueError, match="Lovasz-softmax takes no class weights .* e.g. 'ce\\+lovasz'"):
        segmentation_loss("lovasz", class_weights=WEIGHTS)


@pytest.mark.parametrize("spec, problem", [
    ("dice+", "it has an empty term"),
    ("foo", "'foo' is not a loss"),
    ("2*", "'2\\*' has no loss name after '\\*'"),
    ("-1*ce", "the weight '-1' of 'ce' must be a finite number > 0"),
    ("ce+ce", "'ce' appears twice \\(give it one weight, e.g. '2\\*ce'\\)"),
    ("*ce", "'\\*ce' has no weight before '\\*'"),
    ("x*ce", "'x' in 'x\\*ce' is not a weight"),
])
def test_bad_specs_are_refused_in_one_line_naming_the_part_and_the_forms(spec, problem):
    with pytest.raises(ValueError) as error:
        segmentation_loss(spec)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"Bad loss {spec!r}: ")
    assert re.search(problem, message), message
    assert message.endswith("(e.g. 'ce', 'ce+dice', 'ce+0.5*lovasz').")


def test_only_the_cross_entropy_alone_is_summed():
    assert segmentation_loss("ce", reduction="sum").reduction == "sum"
    for spec in ("ce+dice", "focal", "lovasz"):
        with pytest.raises(ValueError, match="the paper recipe trains on the summed cross-entropy .* use recipe "
                                             "practical or paper_normalized"):
            segmentation_loss(spec, reduction="sum")
    with pytest.raises(ValueError, match="reduction must be 'mean' or 'sum'"):
        segmentation_loss("ce", reduction="none")


def test_a_tiny_fcn_trains_on_ce_plus_dice_and_saves_and_loads_with_its_loss(tmp_path):
    model = fcn_keras.build_fcn8s(3, backbone="vgg16_tiny", padding="same", input_shape=(32, 32, 3))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=segmentation_loss("ce+dice", class_weights=WEIGHTS),
                  run_eagerly=True)  # a traced step costs 4 s; the losses run traced in the unknown-rank test
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, size=(2, 32, 32, 3)).astype(np.float32)
    masks = rng.integers(0, CLASSES, size=(2, 32, 32))
    masks[:, :4] = 255
    before = [weight.copy() for weight in model.get_weights()]
    loss = float(model.train_on_batch(images, masks))
    assert np.isfinite(loss) and any(np.any(a != b) for a, b in zip(before, model.get_weights()))
    model.save(tmp_path / "fcn.keras")
    loaded = keras.models.load_model(tmp_path / "fcn.keras")
    assert isinstance(loaded.loss, WeightedSum)
    assert loaded.loss.get_config() == model.loss.get_config()
    assert loaded.loss.losses[1].class_weights == tuple(WEIGHTS)
    np.testing.assert_allclose(float(loaded.loss(masks, loaded(images))), float(model.loss(masks, model(images))),
                               rtol=1e-5)


@pytest.mark.slow
def test_under_tf_distribute_every_replica_gives_its_share_of_the_loss():
    """Keras sums the replicas' gradients: each replica's loss must be divided by their count, Dice's as CE's."""
    from helpers import run_under

    script = """
import tensorflow as tf
tf.config.set_logical_device_configuration(tf.config.list_physical_devices("CPU")[0],
                                           [tf.config.LogicalDeviceConfiguration()] * 2)
import numpy as np
from fcn_keras.losses import segmentation_loss
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
labels, logits = np.array([[[0, 1], [2, 255]]]), np.random.default_rng(0).normal(size=(1, 2, 2, 3)).astype("float32")
for spec in ("ce", "dice", "lovasz", "ce+0.5*dice"):
    loss = segmentation_loss(spec)
    shares = strategy.experimental_local_results(strategy.run(tf.function(lambda: loss(labels, logits))))
    np.testing.assert_allclose([float(share) for share in shares], float(loss(labels, logits)) / 2, rtol=1e-6)
"""
    done = run_under("tensorflow", script, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
