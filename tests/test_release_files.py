"""Files written by an earlier release load and give the outputs they gave then."""

import os

import keras
import numpy as np
import pytest

import fcn_keras

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
EXPECTED = np.load(os.path.join(FIXTURES, "outputs.npz"))
IMAGES = EXPECTED["images"]
FILES = {
    "fcn8s_one_head.keras": (IMAGES, {None: "fcn8s_one_head"}),
    "fcn16s_two_heads_rgbd.keras": ({"color": IMAGES, "depth": EXPECTED["depth"]},
                                    {"semantic": "fcn16s_two_heads_semantic",
                                     "geometric": "fcn16s_two_heads_geometric"}),
    "late_fusion.keras": ({"color": IMAGES, "hha": EXPECTED["hha"]}, {None: "late_fusion"}),
}


def _outputs(model, inputs):
    outputs = model.predict_on_batch(inputs)
    return {None: np.asarray(outputs)} if not isinstance(outputs, dict) else \
        {head: np.asarray(value) for head, value in outputs.items()}


@pytest.mark.parametrize("loader", [fcn_keras.load_fcn, keras.models.load_model], ids=["load_fcn", "load_model"])
@pytest.mark.parametrize("name", list(FILES))
def test_an_earlier_release_file_gives_its_outputs(name, loader):
    inputs, expected = FILES[name]
    outputs = _outputs(loader(os.path.join(FIXTURES, name)), inputs)
    assert set(outputs) == set(expected)
    for head, key in expected.items():
        np.testing.assert_allclose(outputs[head], EXPECTED[key], rtol=1e-5, atol=1e-5 * np.abs(EXPECTED[key]).max())
