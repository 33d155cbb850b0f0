"""Shared fixtures: deterministic seeds and a clean mixed-precision policy per test."""

import keras
import pytest


@pytest.fixture(autouse=True)
def _deterministic_keras():
    keras.utils.set_random_seed(0)
    policy = keras.mixed_precision.global_policy()
    yield
    keras.mixed_precision.set_global_policy(policy)

