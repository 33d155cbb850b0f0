"""Readers of the authors' formats on files built here: the arrays come back exactly, bad files are named."""

import numpy as np
import pytest
from weight_fixtures import authors_layers, write_caffemodel, write_chainer_npz, write_torch_pth

from fcn_keras.weight_files import read_weights
from fcn_keras.weight_files.protobuf import WireFormatError, fields, packed_or_repeated, read_varint


def assert_same_layers(read, layers):
    assert list(read) == list(layers) or set(read) == set(layers)
    for name, arrays in layers.items():
        assert len(read[name].arrays) == len(arrays), name
        for got, expected in zip(read[name].arrays, arrays):
            np.testing.assert_array_equal(np.reshape(got, expected.shape), expected, err_msg=name)


@pytest.mark.parametrize("legacy", [False, True], ids=["layer", "legacy V1 layers"])
def test_caffemodel_arrays_and_kinds_round_trip(tmp_path, legacy):
    layers = authors_layers("fcn8s", seed=1)
    read = read_weights(write_caffemodel(tmp_path / "net.caffemodel", layers, legacy=legacy))
    assert_same_layers(read, layers)
    assert read["conv1_1"].kind == "conv" and read["upscore_pool4"].kind == "deconv"
    assert read["conv3_1"].arrays[0].shape == (16, 8, 3, 3)  # (out, in, kh, kw)
    # the legacy encoding keeps 4-D shapes for biases: (1, 1, 1, out)
    assert read["fc7"].arrays[1].shape == ((1, 1, 1, 64) if legacy else (64,))


def test_caffemodel_scale_layers_of_the_at_once_net(tmp_path):
    read = read_weights(write_caffemodel(tmp_path / "a.caffemodel", authors_layers("fcn8s", at_once=True)))
    assert read["scale_pool4"].kind == "scale"
    np.testing.assert_array_equal(read["scale_pool3"].arrays[0], np.full(16, 0.0001, np.float32))


def test_npz_and_pth_arrays_round_trip(tmp_path):
    layers = authors_layers("fcn16s", seed=2)
    read = read_weights(write_chainer_npz(tmp_path / "fcn16s_from_caffe.npz", layers))
    assert_same_layers(read, layers)
    assert read["upscore16"].kind == "deconv" and read["score_pool4"].kind == "conv"
    pytest.importorskip("torch", reason="the .pth reader needs the optional torch (pip install 'fcn-keras[torch]')")
    assert_same_layers(read_weights(write_torch_pth(tmp_path / "fcn16s_from_caffe.pth", layers)), layers)


def test_truncated_and_foreign_files_are_named(tmp_path):
    good = write_caffemodel(tmp_path / "net.caffemodel", authors_layers("fcn32s"))
    truncated = tmp_path / "cut.caffemodel"
    truncated.write_bytes(good.read_bytes()[:5000])
    with pytest.raises(ValueError, match=r"cut.caffemodel is not a readable .caffemodel .*truncated"):
        read_weights(truncated)
    text = tmp_path / "deploy.caffemodel"
    text.write_text('name: "FCN"\nlayer { name: "conv1_1" }\n')
    with pytest.raises(ValueError, match="deploy.caffemodel"):
        read_weights(text)
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ValueError, match="broken.npz is not a readable .npz"):
        read_weights(tmp_path / "broken.npz")
    with pytest.raises(ValueError, match=r"unknown weight format '.h5'"):
        (tmp_path / "w.h5").write_bytes(b"")
        read_weights(tmp_path / "w.h5")
    with pytest.raises(FileNotFoundError, match="missing.caffemodel does not exist"):
        read_weights(tmp_path / "missing.caffemodel")
    with pytest.raises(IsADirectoryError, match=f"{tmp_path} is a folder; give the weight file itself"):
        read_weights(tmp_path)
    np.savez(tmp_path / "random.npz", a=np.zeros(3), b=np.ones((2, 2)))  # arrays, but no Chainer FCN's
    with pytest.raises(ValueError, match=r"random.npz is not a Chainer FCN file: its array 'a' is not named "
                                         r"'<layer>/W' or '<layer>/b'.*conv1_1/W, conv1_1/b"):
        read_weights(tmp_path / "random.npz")


def test_wire_format_primitives():
    assert read_varint(b"\x96\x01", 0) == (150, 2)
    # field 1 varint 150, field 2 length-delimited "hi", field 3 fixed32
    message = b"\x08\x96\x01" + b"\x12\x02hi" + b"\x1d\x00\x00\x80\x3f"
    parsed = [(number, wire, bytes(value) if isinstance(value, memoryview) else value)
              for number, wire, value in fields(message)]
    assert parsed == [(1, 0, 150), (2, 2, b"hi"), (3, 5, b"\x00\x00\x80\x3f")]
    # repeated floats written unpacked (one fixed32 each) read like packed ones
    unpacked = [(5, memoryview(np.float32([1.5]).tobytes())), (5, memoryview(np.float32([-2]).tobytes()))]
    np.testing.assert_array_equal(packed_or_repeated(unpacked, "<f4"), [1.5, -2.0])
    np.testing.assert_array_equal(packed_or_repeated([(2, memoryview(b"\x03\xac\x02"))], "varint"), [3, 300])
    with pytest.raises(WireFormatError, match="needs 5 bytes"):
        list(fields(b"\x12\x05ab"))
