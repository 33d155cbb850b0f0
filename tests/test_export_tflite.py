"""TFLite export checked with the ai-edge-litert interpreter: fp32, float16, int8, fixed size, metadata.

MediaPipe running the files is tested in test_mediapipe.py.
"""

import os
import sys

import keras
import numpy as np
import pytest
from helpers import NUM_CLASSES, random_images, tiny_fcn
from rectangles import rectangles, train_rectangles_model
from tensorflow.lite.python import schema_py_generated as schema

import fcn_keras
from fcn_keras.export import export_model, export_tflite, read_tflite_metadata

Interpreter = pytest.importorskip("ai_edge_litert.interpreter").Interpreter
INT8_AGREEMENT = 0.98  # share of pixels whose int8 class equals Keras fp32's (issue 6)


@pytest.fixture(scope="module")
def model():
    return tiny_fcn()


def run_tflite(path, images):
    """Logits of a .tflite FCN through its signature runner, which resizes dynamic inputs."""
    return Interpreter(model_path=str(path)).get_signature_runner()(images=images)["logits"]


def has_standard_metadata(path):
    """Whether the file holds the standard TFLite Metadata (the entry MediaPipe and the Task Library read)."""
    with open(path, "rb") as file:
        root = schema.Model.GetRootAsModel(bytearray(file.read()), 0)
    return any(root.Metadata(index).Name() == b"TFLITE_METADATA" for index in range(root.MetadataLength()))


def test_fp32_matches_keras_at_any_size(model, tmp_path):
    path = export_tflite(model, tmp_path / "model.tflite")
    for shape in ((1, 16, 16), (2, 24, 40)):
        images = random_images(*shape)
        np.testing.assert_allclose(run_tflite(path, images), keras.ops.convert_to_numpy(model(images)), atol=1e-4)
    metadata = read_tflite_metadata(path)
    assert metadata["input"] == {"name": "images", "shape": [-1, -1, -1, 3], "dtype": "float32", "range": "RGB 0..255"}
    assert metadata["num_classes"] == NUM_CLASSES and metadata["quantization"] == "none"
    assert metadata["class_names"] is None
    assert not has_standard_metadata(path)  # MediaPipe would resize images to the dynamic tensor's 1x1


def test_float16_is_close_and_about_half_the_size(model, tmp_path):
    fp16 = export_tflite(model, tmp_path / "model_float16.tflite", quantization="float16")
    images = random_images(2, 32, 32)
    logits = keras.ops.convert_to_numpy(model(images))
    np.testing.assert_allclose(run_tflite(fp16, images), logits, atol=0.01 * np.abs(logits).max())
    assert os.path.getsize(fp16) < 0.6 * 4 * model.count_params()  # fp32 weights take 4 bytes each
    assert read_tflite_metadata(fp16)["quantization"] == "float16"


def test_fixed_input_size_is_in_the_file_and_its_metadata(model, tmp_path):
    path = export_tflite(model, tmp_path / "fixed.tflite", input_size=(24, 32))
    interpreter = Interpreter(model_path=str(path))
    assert list(interpreter.get_input_details()[0]["shape_signature"]) == [1, 24, 32, 3]
    assert read_tflite_metadata(path)["input"]["shape"] == [1, 24, 32, 3]
    images = random_images(1, 24, 32)
    np.testing.assert_allclose(run_tflite(path, images), keras.ops.convert_to_numpy(model(images)), atol=1e-4)


def test_bad_requests_fail_clearly_and_write_nothing(model, tmp_path):
    with pytest.raises(ValueError, match="int8 quantization .* needs representative_data"):
        export_tflite(model, tmp_path / "a.tflite", quantization="int8")
    with pytest.raises(ValueError, match="Unknown quantization 'int4'"):
        export_tflite(model, tmp_path / "b.tflite", quantization="int4")
    with pytest.raises(ValueError, match=r"must be RGB .* got shape \(4, 8, 8, 1\)"):
        export_tflite(model, tmp_path / "c.tflite", "int8", representative_data=np.zeros((4, 8, 8, 1)))
    with pytest.raises(ValueError, match="input_size must be"):
        export_tflite(model, tmp_path / "d.tflite", input_size=(0, 16))
    for names in (["a", "b"], "abc", ["a", "b\nc", "d"], ["a", "", "c"], {"semantic": ["a", "b", "c"]}):
        with pytest.raises(ValueError, match=r"class_names of '\w+' must be its 3 classes' names in order"):
            export_tflite(model, tmp_path / "e.tflite", class_names=names)
    existing = tmp_path / "existing.tflite"
    existing.write_bytes(b"keep")
    with pytest.raises(FileExistsError, match="never overwrite"):
        export_tflite(model, existing)
    assert existing.read_bytes() == b"keep"
    assert sorted(os.listdir(tmp_path)) == ["existing.tflite"]


def test_without_mediapipe_the_file_says_how_to_get_the_standard_metadata(model, tmp_path, monkeypatch):
    """The default install has no mediapipe: the file is written with fcn_keras' metadata, and one warning."""
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # what `import mediapipe` finds where it is not installed
    with pytest.warns(UserWarning, match=r"no standard TFLite Metadata, which MediaPipe needs: mediapipe is missing "
                                         r"or fails to import \(pip install 'fcn-keras\[mediapipe\]'\)"):
        path = export_tflite(model, tmp_path / "fixed.tflite", input_size=(16, 16), class_names=["sky", "sea", "sand"])
    assert not has_standard_metadata(path)
    assert read_tflite_metadata(path)["class_names"] == ["sky", "sea", "sand"]
    images = random_images(1, 16, 16)
    np.testing.assert_allclose(run_tflite(path, images), keras.ops.convert_to_numpy(model(images)), atol=1e-4)


def test_class_names_of_several_heads_are_given_per_head(tmp_path):
    model = fcn_keras.build_fcn("fcn32s", heads={"semantic": 3, "geometric": 2}, backbone="vgg16_tiny", padding="same")
    names = {"semantic": ["sky", "tree", "road"], "geometric": ["horizontal", "vertical"]}
    with pytest.raises(ValueError, match=r"has the heads \['semantic', 'geometric'\]: give class_names as \{head: nam"):
        export_tflite(model, tmp_path / "a.tflite", class_names=names["semantic"])
    with pytest.raises(ValueError, match="class_names of head 'geometric' must be its 2 classes' names in order"):
        export_tflite(model, tmp_path / "b.tflite", class_names={**names, "geometric": ["flat"]})
    assert read_tflite_metadata(export_tflite(model, tmp_path / "two.tflite", class_names=names))["class_names"] == names


def test_export_model_names_files_by_quantization(model, tmp_path):
    model.save(tmp_path / "fcn.keras")
    calibration = tmp_path / "calibration.npy"
    np.save(calibration, random_images(4, 16, 16))
    written = export_model(tmp_path / "fcn.keras", "tflite", tmp_path / "out", "int8", representative_data=calibration)
    assert written == str(tmp_path / "out" / "model_int8.tflite")
    assert read_tflite_metadata(written)["quantization"] == "int8"


def test_representative_data_may_be_a_generator_function(model, tmp_path):
    """The TFLite converter's own convention (`representative_dataset`) works here too."""
    calls = []

    def calibration():
        calls.append(1)
        for seed in range(3):
            yield random_images(1, 16, 16, seed=seed)

    path = export_tflite(model, tmp_path / "g.tflite", "int8", representative_data=calibration)
    assert calls == [1] and read_tflite_metadata(path)["quantization"] == "int8"


def test_int8_agrees_with_keras_on_a_trained_demo_model(tmp_path):
    """Full-int8 argmax agreement on synthetic rectangles, with a confidently trained tiny model.

    Without export_tflite's REVERSE_V2 quantization fix this model agrees on only ~95.5% of pixels.
    """
    model = train_rectangles_model(steps=200)
    images, _ = rectangles(20, 32, seed=1000)
    calibration, _ = rectangles(100, 32, seed=2000)
    path = export_tflite(model, tmp_path / "model_int8.tflite", "int8", representative_data=calibration)
    int8_classes = run_tflite(path, images).argmax(-1)
    keras_classes = keras.ops.convert_to_numpy(model(images)).argmax(-1)
    assert np.mean(int8_classes == keras_classes) >= INT8_AGREEMENT
    assert os.path.getsize(path) < 0.35 * 4 * model.count_params()  # int8 weights: about a quarter of fp32


def test_representative_folders_take_the_images_that_predict_takes(model, tmp_path):
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(random_images(1, 8, 8)[0].astype(np.uint8)).save(folder / "a.bmp")  # predict skips .bmp too
    with pytest.raises(ValueError, match=r"no representative images \(\.png/\.jpg/\.jpeg files\)"):
        export_tflite(model, tmp_path / "a.tflite", "int8", representative_data=folder)
    (folder / "b.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="b.png: cannot decode the image"):
        export_tflite(model, tmp_path / "b.tflite", "int8", representative_data=folder)
    assert not (tmp_path / "a.tflite").exists() and not (tmp_path / "b.tflite").exists()


def test_int8_of_paper_alexnet_runs(tmp_path):
    """XNNPack failed ("failed to create XNNPACK runtime") on the skip_border graph of an int8 AlexNet; TFLite files
    start from the plain graph."""
    model = fcn_keras.build_fcn8s(NUM_CLASSES, backbone="alexnet_tiny", padding="paper")
    images = random_images(2, 48, 40)
    path = export_tflite(model, tmp_path / "alexnet_int8.tflite", "int8", representative_data=images)
    logits = run_tflite(path, images[:1])
    assert logits.shape == (1, 48, 40, NUM_CLASSES) and np.all(np.isfinite(logits))


def test_a_mediapipe_that_fails_to_import_counts_as_missing(model, tmp_path, monkeypatch):
    broken = tmp_path / "site" / "mediapipe"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise OSError('PortAudio library not found')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    for name in [name for name in sys.modules if name == "mediapipe" or name.startswith("mediapipe.")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.warns(UserWarning, match="mediapipe is missing or fails to import"):
        path = export_tflite(model, tmp_path / "fixed.tflite", input_size=(16, 16))
    assert not has_standard_metadata(path) and read_tflite_metadata(path)["num_classes"] == 3
