"""Shared fixtures: deterministic seeds and a clean mixed-precision policy per test.

The suite runs under the Keras backend `KERAS_BACKEND` names (TensorFlow by default). Under
JAX or PyTorch only the tests marked `backends` run (the rest need TensorFlow itself:
tf.data sources, export, serving); see the README's test command.
"""

import keras
import pytest


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
