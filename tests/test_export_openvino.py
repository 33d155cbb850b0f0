"""OpenVINO export (float32 and NNCF int8) and the exported files as models (`load_runtime_model`), against Keras."""

import os

import keras
import numpy as np
import pytest
from helpers import NUM_CLASSES, random_images, tiny_fcn
from rectangles import rectangles, train_rectangles_model

import fcn_keras
from fcn_keras.evaluation import evaluate
from fcn_keras.export import export_model, export_openvino, load_runtime_model
from fcn_keras.models import heads_of

pytest.importorskip("openvino")
FP32_RELATIVE = 1e-5  # largest logit difference against Keras, relative to the largest logit
INT8_MEAN_IU_LOST = 0.01  # at most one point of mean IU
INT8_AGREEMENT = 0.99  # share of pixels whose int8 class is Keras float32's


@pytest.fixture(scope="module")
def model():
    return tiny_fcn()


def keras_logits(model, images):
    return keras.ops.convert_to_numpy(model(images))


def test_fp32_matches_keras_at_any_size_and_batch(model, tmp_path):
    path = export_model(model, "openvino", tmp_path)  # a folder gets model.xml
    assert path == str(tmp_path / "model.xml") and sorted(os.listdir(tmp_path)) == ["model.bin", "model.xml"]
    runtime = load_runtime_model(path, "openvino")
    assert runtime.input.shape == (None, None, None, 3) and heads_of(runtime) is None
    assert fcn_keras.models.num_classes_of(runtime) == NUM_CLASSES
    for shape in ((1, 16, 16), (2, 24, 40)):
        images = random_images(*shape)
        expected = keras_logits(model, images)
        np.testing.assert_allclose(runtime.predict_on_batch(images), expected,
                                   atol=FP32_RELATIVE * np.abs(expected).max())


def test_int8_loses_at_most_a_point_of_mean_iu_on_a_trained_model(tmp_path):
    """Through export_model, calibrated from a .npy file, at a fixed size. With NNCF's default activation ranges
    this model lost 2.6 points and agreed on 98.3% of pixels."""
    model = train_rectangles_model(steps=400)
    images, labels = rectangles(20, 32, seed=1000)
    np.save(tmp_path / "calibration.npy", rectangles(32, 32, seed=2000)[0])
    path = export_model(model, "openvino", tmp_path / "out", "int8", tmp_path / "calibration.npy", input_size=(32, 32))
    assert path == str(tmp_path / "out" / "model_int8.xml")
    int8 = load_runtime_model(path, "openvino")
    assert int8.input.shape == (1, 32, 32, 3)
    held_out = list(zip(images, labels))
    keras_iu, int8_iu = (evaluate(runtime, held_out, 4)["mean_iou"] for runtime in (model, int8))
    assert keras_iu > 0.6  # the model has learnt the rectangles
    assert keras_iu - int8_iu <= INT8_MEAN_IU_LOST, (keras_iu, int8_iu)
    keras_classes = keras_logits(model, images).argmax(-1)
    assert np.mean(np.stack(fcn_keras.predict(int8, list(images))) == keras_classes) >= INT8_AGREEMENT
    assert os.path.getsize(tmp_path / "out" / "model_int8.bin") < 0.35 * 4 * model.count_params()  # about a quarter
    with pytest.raises(ValueError, match=r"model_int8.xml takes images of shape \(1, 32, 32, 3\) \(fixed at export\), "
                                         r"got \(1, 16, 16, 3\)"):
        fcn_keras.predict(int8, random_images(16, 16))


def test_every_head_is_exported_and_several_inputs_are_refused(tmp_path):
    heads = fcn_keras.build_fcn8s(heads={"semantic": 4, "geometric": 3}, backbone="vgg16_tiny", padding="same")
    runtime = load_runtime_model(export_openvino(heads, tmp_path / "heads.xml"), "openvino")
    assert heads_of(runtime) == {"semantic": 4, "geometric": 3}
    images = random_images(1, 16, 24)
    expected, logits = heads.predict_on_batch(images), runtime.predict_on_batch(images)
    for head in expected:
        np.testing.assert_allclose(logits[head], expected[head], atol=FP32_RELATIVE * np.abs(expected[head]).max())
    rgbd = fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", modalities=("color", "depth"))
    with pytest.raises(ValueError, match="OpenVINO export takes models of one input, and .* takes color, depth"):
        export_openvino(rgbd, tmp_path / "rgbd.xml")
    assert not (tmp_path / "rgbd.xml").exists()


def test_bad_requests_fail_in_one_line_and_overwrite_nothing(model, tmp_path):
    with pytest.raises(ValueError, match="int8 quantization .* needs `representative_data`"):
        export_openvino(model, tmp_path / "a.xml", "int8")
    with pytest.raises(ValueError, match="Unknown OpenVINO quantization 'float16'; choose None"):
        export_openvino(model, tmp_path / "b.xml", "float16")
    with pytest.raises(ValueError, match=r"c.bin does not end in .xml"):
        export_openvino(model, tmp_path / "c.bin")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="broken.png: cannot decode the image"):
        export_openvino(model, tmp_path / "d.xml", "int8", representative_data=tmp_path / "photos")
    (tmp_path / "kept.bin").write_bytes(b"keep")
    with pytest.raises(FileExistsError, match="kept.bin already exists; exports never overwrite"):
        export_openvino(model, tmp_path / "kept.xml")
    assert (tmp_path / "kept.bin").read_bytes() == b"keep"
    assert sorted(os.listdir(tmp_path)) == ["kept.bin", "photos"]


def test_export_model_refuses_the_file_name_of_another_format(model, tmp_path):
    with pytest.raises(ValueError, match=r"output=.*fcn.onnx names a .onnx file, not an export of format=openvino; "
                                         r"give a path ending in .xml, or a folder\.$"):
        export_model(model, "openvino", tmp_path / "fcn.onnx")
    with pytest.raises(ValueError, match=r"fcn.bin names a .bin file, not an export of format=openvino; give a path "
                                         r"ending in .xml"):
        export_model(model, "openvino", tmp_path / "fcn.bin")
    with pytest.raises(ValueError, match=r"names a .xml file, not an export of format=saved_model; give a folder\.$"):
        export_model(model, "saved_model", tmp_path / "fcn.xml")
    assert os.listdir(tmp_path) == []


def test_files_that_are_not_exports_are_named_with_the_fix(tmp_path):
    pytest.importorskip("ai_edge_litert")
    (tmp_path / "garbage.xml").write_text("<net>")
    (tmp_path / "garbage.tflite").write_bytes(b"nope")
    refusals = {
        (tmp_path / "garbage.tflite", "openvino"): (ValueError, r"runtime=openvino runs .xml files, and "
                                                                r".*garbage.tflite is not one"),
        (tmp_path / "none.xml", "openvino"): (FileNotFoundError, r"none.xml: no such file; export one with"),
        (tmp_path / "garbage.xml", "openvino"): (ValueError, r"garbage.xml is not an OpenVINO model OpenVINO can read"),
        (tmp_path / "garbage.tflite", "tflite"): (ValueError, r"garbage.tflite is not a TFLite file of one signature"),
        (tmp_path / "garbage.tflite", "onnx"): (ValueError, r"Unknown runtime 'onnx'; choose one of tflite, openvino"),
    }
    for (path, runtime), (error, message) in refusals.items():
        with pytest.raises(error, match=message):
            load_runtime_model(path, runtime)
