"""Median-frequency class weights against numbers worked out by hand, and the command line's --class-weights."""

import numpy as np
import pytest
import tensorflow as tf

from fcn_keras.loss_specs import parse_class_weights
from fcn_keras.training.class_weights import median_frequency_weights

# Three 2x3 masks of 4 classes (class 3 never appears), 255 = ignored.
MASKS = np.array([
    [[0, 0, 0], [0, 1, 255]],      # 5 labelled: class 0 x4, class 1 x1
    [[0, 0, 2], [2, 2, 2]],        # 6 labelled: class 0 x2, class 2 x4
    [[1, 1, 255], [255, 255, 0]],  # 3 labelled: class 1 x2, class 0 x1
])
# pixels: 0 -> 7, 1 -> 3, 2 -> 4; labelled pixels of the images holding them: 0 -> 5+6+3, 1 -> 5+3, 2 -> 6
# freq: 7/14 = 1/2, 3/8, 4/6 = 2/3; median 1/2; weights 1, 4/3, 3/4; class 3 absent: 1.
EXPECTED = (1.0, 4 / 3, 0.75, 1.0)


def dataset(masks, batch=None):
    data = tf.data.Dataset.from_tensor_slices((np.zeros(masks.shape[:3] + (3,), np.float32), masks))
    return data if batch is None else data.batch(batch)


@pytest.mark.parametrize("form", ["(H, W)", "(N, H, W) batches", "(H, W, 1) float", "(N, H, W, 1) unknown count"])
def test_median_frequency_weights_are_the_hand_computed_ones(form):
    data = {"(H, W)": dataset(MASKS), "(N, H, W) batches": dataset(MASKS, batch=2),
            "(H, W, 1) float": dataset(MASKS[..., None].astype(np.float32)),
            "(N, H, W, 1) unknown count": dataset(MASKS[..., None], batch=2).filter(lambda *_: True)}[form]
    with pytest.warns(UserWarning, match=r"never hold the classes \[3\]: their weight is 1.0"):
        weights = median_frequency_weights(data, 4, verbose=0)
    assert isinstance(weights, tuple) and all(type(weight) is float for weight in weights)
    np.testing.assert_allclose(weights, EXPECTED, rtol=1e-12)


def test_masks_by_head_give_weights_by_head():
    geometric = np.array([[[0, 1, 1], [1, 1, 1]], [[0, 0, 0], [0, 0, 1]], [[1, 1, 1], [1, 1, 1]]])
    # geometric pixels: 0 -> 6 of 12 labelled, 1 -> 12 of 18: freq 1/2, 2/3, median 7/12: weights 7/6, 7/8.
    data = tf.data.Dataset.from_tensor_slices((np.zeros((3, 2, 3, 3), np.float32),
                                               {"semantic": MASKS, "geometric": geometric}))
    with pytest.warns(UserWarning, match=r"'semantic' masks never hold the classes \[3\]"):
        weights = median_frequency_weights(data.batch(3), {"semantic": 4, "geometric": 2}, verbose=0)
    assert set(weights) == {"semantic", "geometric"}
    np.testing.assert_allclose(weights["semantic"], EXPECTED, rtol=1e-12)
    np.testing.assert_allclose(weights["geometric"], (7 / 6, 7 / 8), rtol=1e-12)


def test_a_progress_bar_counts_the_batches(capsys):
    median_frequency_weights(dataset(MASKS[:, :, :2] % 2, batch=1), 2, verbose=1)  # classes 0, 1 only: no warning
    assert "3/3" in capsys.readouterr().out


def test_bad_data_is_refused_naming_the_fix():
    with pytest.raises(ValueError, match="hold no labelled pixel .* give labelled data, or class weights of your own"):
        median_frequency_weights(dataset(np.full((2, 2, 2), 255)), 3, verbose=0)
    with pytest.raises(ValueError, match=r"hold labels \[7\] outside \[0, 3\) and not 255 .* right number of classes"):
        median_frequency_weights(dataset(np.array([[[0, 7]]])), 3, verbose=0)
    with pytest.raises(ValueError, match=r"never ends \(it repeats\).*before .repeat\(\)"):
        median_frequency_weights(dataset(MASKS).repeat(), 4, verbose=0)
    with pytest.raises(ValueError, match="give {head: mask} for every head"):
        median_frequency_weights(dataset(MASKS), {"semantic": 4, "geometric": 2}, verbose=0)


@pytest.mark.parametrize("text, expected", [("auto", "auto"), (" Auto ", "auto"), ("1,2.5,0.5", (1.0, 2.5, 0.5)),
                                            ("0, 1e-1", (0.0, 0.1))])
def test_parse_class_weights_reads_auto_and_numbers(text, expected):
    assert parse_class_weights(text) == expected


@pytest.mark.parametrize("text, num_classes, problem", [
    ("1,,2", None, "'' \\(class 1\\) is not a number"),
    ("a,b", None, "'a' \\(class 0\\) is not a number"),
    ("-1,2", None, "the weight -1.0 of class 0 is below 0"),
    ("0,0", None, "every weight is 0"),
    ("1,inf", None, "the weight inf of class 1 is not finite"),
    ("1,2", 3, "it gives 2 weights but the model has 3 classes"),
])
def test_parse_class_weights_refuses_bad_text_in_one_line(text, num_classes, problem):
    with pytest.raises(ValueError, match=f"^Bad class weights {text!r}: {problem}; write auto .* e.g. 1,2.5,0.5.$"):
        parse_class_weights(text, num_classes)
