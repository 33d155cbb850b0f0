"""Shared fixtures: deterministic seeds and a clean mixed-precision policy per test; data set folders.

The suite runs under the Keras backend `KERAS_BACKEND` names (TensorFlow by default). Under
JAX or PyTorch only the tests marked `backends` run (the rest need TensorFlow itself:
tf.data sources, export, serving); see the README's test command.
"""

import copy

import keras
import pytest
from nyud_folder import write_nyud_folder

from fcn_keras.data import modalities, specs


def pytest_ignore_collect(collection_path, config):
    """Under JAX or PyTorch, a test module that marks no test `backends` is not even imported (it may import
    TensorFlow's export, which refuses on other backends)."""
    if keras.backend.backend() != "tensorflow" and collection_path.name.startswith("test_") \
            and collection_path.suffix == ".py":
        return "pytest.mark.backends" not in collection_path.read_text(encoding="utf-8")
    return None


def pytest_collection_modifyitems(config, items):
    if keras.backend.backend() == "tensorflow":
        return
    kept = [item for item in items if item.get_closest_marker("backends")]
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept


@pytest.fixture(autouse=True)
def _deterministic_keras():
    keras.utils.set_random_seed(0)
    policy = keras.mixed_precision.global_policy()
    yield
    keras.mixed_precision.set_global_policy(policy)


@pytest.fixture
def nyud_root(tmp_path):
    """A NYUDv2 folder of three images in the FCN authors' layout (see `nyud_folder`)."""
    return write_nyud_folder(tmp_path / "nyud")


@pytest.fixture
def registries():
    """The registries of data sources and modalities, given back as they were after a test that registers more."""
    containers = [specs.SOURCE_KINDS, specs.SPECS, specs.SPLITLESS_SOURCES, specs.COUNTED_BY_CALLER,
                  modalities.MODALITIES]
    saved = [copy.copy(container) for container in containers]
    yield
    for container, before in zip(containers, saved):
        container.clear()
        (container.update if isinstance(container, dict) else container.extend)(before)


@pytest.fixture(scope="module")
def served_fcn():
    """A tiny FCN (`helpers.tiny_fcn`), as the serving tests export and serve it."""
    from helpers import tiny_fcn

    return tiny_fcn()


@pytest.fixture(scope="module")
def serving_dir(served_fcn, tmp_path_factory):
    """A SavedModel base folder holding `served_fcn` as version 3."""
    from fcn_keras.export import export_saved_model

    base_dir = tmp_path_factory.mktemp("serving") / "fcn"
    export_saved_model(served_fcn, base_dir, version=3)
    return base_dir
