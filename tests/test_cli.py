"""The `fcn-keras` command line: each command runs end to end on tiny models."""

import pytest

import fcn_keras
from fcn_keras import cli


def test_backbones_lists_the_registry(capsys):
    assert cli.main(["backbones"]) == 0
    out = capsys.readouterr().out
    for name in fcn_keras.available_backbones():
        assert name in out


def test_summary_prints_parameters_and_flops(capsys):
    assert cli.main(["summary", "--backbone", "vgg16_tiny", "--num-classes", "5", "--size", "64", "96",
                     "--padding", "same"]) == 0
    model = fcn_keras.build_fcn8s(5, backbone="vgg16_tiny", padding="same", input_shape=(64, 96, 3))
    flops = fcn_keras.models.convolution_flops(model)
    out = capsys.readouterr().out
    assert f"{model.count_params():,} parameters" in out
    assert f"{flops / 1e9:.1f} GFLOP per 64x96 image (same padding)" in out


def test_errors_exit_2_with_the_library_message(capsys):
    assert cli.main(["summary", "--backbone", "nope"]) == 2
    assert "Unknown backbone 'nope'. Valid backbones:" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_command_help_has_an_example(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([name, "--help"])
    assert exit_info.value.code == 0
    assert "Example:\n  fcn-keras " + name in capsys.readouterr().out
