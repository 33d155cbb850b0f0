"""The built-in synthetic shapes data set."""

import numpy as np
import pytest

from fcn_keras.data import IGNORE_LABEL, SYNTHETIC_CLASSES, make_shapes, synthetic_shapes


@pytest.fixture(scope="module")
def shapes():
    return make_shapes(64, (48, 48), num_classes=5, seed=0)


def test_arrays_follow_the_contract(shapes):
    images, masks = shapes
    assert images.shape == (64, 48, 48, 3) and images.dtype == np.uint8
    assert masks.shape == (64, 48, 48) and masks.dtype == np.uint8
    assert set(np.unique(masks)) == {0, 1, 2, 3, 4, IGNORE_LABEL}


def test_every_label_boundary_is_ignored(shapes):
    _, masks = shapes
    for a, b in [(masks[:, 1:, :], masks[:, :-1, :]), (masks[:, :, 1:], masks[:, :, :-1])]:
        touching = (a != b) & (a != IGNORE_LABEL) & (b != IGNORE_LABEL)
        assert not touching.any()
    assert (masks == IGNORE_LABEL).mean() < 0.12  # a thin band (2 px across each boundary)


def test_no_border_when_disabled():
    _, masks = make_shapes(8, (32, 32), num_classes=3, seed=0, ignore_border=0)
    assert set(np.unique(masks)) <= {0, 1, 2}


def test_colour_alone_does_not_solve_it():
    """A per-colour majority vote learned on one seed segments another seed badly."""
    train_images, train_masks = make_shapes(200, (32, 32), seed=0)
    test_images, test_masks = make_shapes(100, (32, 32), seed=1)

    def colour_bins(images):
        return (images // 32).astype(np.int64) @ np.array([64, 8, 1])

    keep = train_masks != IGNORE_LABEL
    votes = np.zeros((512, 5))
    np.add.at(votes, (colour_bins(train_images)[keep], train_masks[keep]), 1)
    predicted = votes.argmax(axis=1)[colour_bins(test_images)]
    valid = test_masks != IGNORE_LABEL
    ious = [((predicted == c) & (test_masks == c) & valid).sum() / (((predicted == c) | (test_masks == c)) & valid).sum()
            for c in range(5)]
    assert np.mean(ious) < 0.35, ious


def test_same_seed_same_data_other_seed_other_data():
    a = make_shapes(300, (16, 16), seed=7)  # > one generation chunk
    b = make_shapes(300, (16, 16), seed=7)
    c = make_shapes(300, (16, 16), seed=8)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert (a[0] != c[0]).mean() > 0.5


def test_dataset_yields_the_arrays():
    images, masks = make_shapes(3, (16, 24), num_classes=4, seed=2)
    pairs = list(synthetic_shapes(3, (16, 24), num_classes=4, seed=2).as_numpy_iterator())
    assert [p[0].shape for p in pairs] == [(16, 24, 3)] * 3
    np.testing.assert_array_equal(np.stack([p[0] for p in pairs]), images)
    np.testing.assert_array_equal(np.stack([p[1] for p in pairs]), masks)


@pytest.mark.parametrize("num_classes", [1, len(SYNTHETIC_CLASSES) + 1])
def test_bad_num_classes(num_classes):
    with pytest.raises(ValueError, match="num_classes must be 2..7"):
        make_shapes(2, (16, 16), num_classes=num_classes)
