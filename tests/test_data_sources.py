"""Data sources by name: the registry of their kinds, and what `open_source` checks for every kind."""

import numpy as np
import pytest
import tensorflow as tf

from fcn_keras.data import SourceKind, Source, open_source, register_source_kind
from fcn_keras.data.specs import COUNTED_BY_CALLER, SPECS, SPLITLESS_SOURCES, check_validation_source

STRIPES = np.tile(np.arange(6, dtype=np.uint8) % 3, (4, 1))  # a (4, 6) mask of classes 0, 1, 2


def open_stripes(request):
    """Opens "stripes:N": N images whose mask is `STRIPES` (the number of classes is the caller's)."""
    count, = request.arguments
    images = np.zeros((int(count), 4, 6, 3), np.uint8)
    masks = np.repeat(STRIPES[None], int(count), axis=0)
    return Source(tf.data.Dataset.from_tensor_slices((images, masks)), request.num_classes, None)


def open_pairs(request):
    """Opens "pairs:FIRST,SECOND": one image, of three classes named after the two folders."""
    return Source(tf.data.Dataset.from_tensors((np.zeros((4, 6, 3), np.uint8), STRIPES)), 3,
                  ("background", *request.arguments))


@pytest.fixture
def stripes(registries):
    return register_source_kind(SourceKind("stripes", "N", "vertical stripes (N images; give `num_classes`)",
                                           open_stripes, counted_by_caller=True, splitless=True))


def test_a_registered_kind_is_opened_listed_and_checked_like_the_others(stripes):
    source = open_source("stripes:2", "val", num_classes=3)
    assert source.num_classes == 3 and source.class_names is None
    masks = [mask for _, mask in source.dataset.as_numpy_iterator()]
    np.testing.assert_array_equal(masks, [STRIPES, STRIPES])
    assert SPECS["stripes:N"] == "vertical stripes (N images; give `num_classes`)"
    assert "stripes" in COUNTED_BY_CALLER and "stripes" in SPLITLESS_SOURCES
    with pytest.raises(ValueError, match=r"Unknown data source 'bogus:x'\. The forms are: synthetic\[:N\], .*, "
                                         r"tfrecord:PATTERN, stripes:N \(fcn_keras"):
        open_source("bogus:x")
    with pytest.raises(ValueError, match=r"'stripes' needs an argument after ':'\. The forms are: .*stripes:N"):
        open_source("stripes")
    with pytest.raises(ValueError, match=r"'stripes:2' does not say how many classes it has; give `num_classes`\."):
        open_source("stripes:2")
    with pytest.raises(ValueError, match=r"'stripes:2' has colour images only; modalities=\('depth',\) needs "
                                         r"nyud:ROOT\."):
        open_source("stripes:2", num_classes=3, modalities=("depth",))
    with pytest.raises(ValueError, match=r"'stripes:2' has no splits, so validation would reuse the training images"):
        check_validation_source("stripes:2")
    with pytest.raises(ValueError, match="A data source kind named 'stripes' is already registered"):
        register_source_kind(stripes)


def test_a_kind_of_two_arguments_gets_both_and_its_own_classes_are_checked(registries):
    register_source_kind(SourceKind("pairs", "FIRST,SECOND", "two names; 3 classes", open_pairs))
    assert open_source("pairs:a,b").class_names == ("background", "a", "b")
    with pytest.raises(ValueError, match=r"'pairs:a' needs two folders, pairs:FIRST,SECOND, separated by a comma"):
        open_source("pairs:a")
    with pytest.raises(ValueError, match=r"'pairs:a,b' has 3 classes but num_classes=4 was given\."):
        open_source("pairs:a,b", num_classes=4)


def test_the_built_in_kinds_are_imported_only_when_opened():
    import subprocess
    import sys

    script = ("import sys\nfrom fcn_keras.data.specs import SPECS\nprint(len(SPECS), "
              "sorted(name for name in sys.modules if name.split('.')[0] in ('tensorflow', 'numpy') "
              "or name.startswith('fcn_keras.data.') and name.split('.')[-1] not in ('specs', 'modalities', 'means')))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["11", "[]"], result.stderr
