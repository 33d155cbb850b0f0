"""The demo: the README's main job. The full run is slow but CI runs it."""

import json

import pytest

from fcn_keras.demo import run_demo


def test_demo_needs_an_existing_parent_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        run_demo(str(tmp_path / "missing" / "demo"))


@pytest.mark.slow
def test_full_demo_reaches_the_promised_mean_iou(tmp_path):
    metrics = run_demo(str(tmp_path / "demo"), verbose=2)
    print(f"demo: mean IU {metrics['mean_iou']:.3f} in {metrics['training_seconds']:.0f} s")
    assert metrics["mean_iou"] >= 0.80
    assert json.loads((tmp_path / "demo" / "metrics.json").read_text())["mean_iou"] == pytest.approx(
        metrics["mean_iou"])
