"""MediaPipe's ImageSegmenter runs export_tflite files as they are: fp32, float16 and int8, both geometries."""

import flatbuffers
import keras
import numpy as np
import pytest
from helpers import HEADS, two_headed
from rectangles import RECTANGLE_COLOURS, rectangles, train_rectangles_model

import fcn_keras
from fcn_keras.export import export_tflite
from fcn_keras.export.tflite_metadata import minimum_parser_version

mp = pytest.importorskip("mediapipe", reason="MediaPipe runs the files: pip install 'fcn-keras[mediapipe]'")
vision = pytest.importorskip("mediapipe.tasks.python.vision")
schema = pytest.importorskip("mediapipe.tasks.metadata.metadata_schema_py_generated")
Interpreter = pytest.importorskip("ai_edge_litert.interpreter").Interpreter

SIZE = 32
CLASS_NAMES = ["background", "red", "green", "blue"]
# Share of pixels where MediaPipe's category mask equals Keras' float32 argmax (int8 quantizes the network itself).
AGREEMENT = {None: 0.999, "float16": 0.999, "int8": 0.99}


def segment(path, images):
    """MediaPipe's category masks (N, H, W) and confidence masks (N, H, W, C) of uint8 RGB images."""
    options = vision.ImageSegmenterOptions(base_options=mp.tasks.BaseOptions(model_asset_path=str(path)),
                                           output_category_mask=True, output_confidence_masks=True)
    with vision.ImageSegmenter.create_from_options(options) as segmenter:
        results = [segmenter.segment(mp.Image(image_format=mp.ImageFormat.SRGB, data=image)) for image in images]
        labels = segmenter.labels
    categories = np.stack([result.category_mask.numpy_view()[..., 0] for result in results])
    confidences = np.stack([np.stack([mask.numpy_view()[..., 0] for mask in result.confidence_masks], -1)
                            for result in results])
    return categories, confidences, labels


def softmax(logits):
    exponentials = np.exp(logits - logits.max(-1, keepdims=True))
    return exponentials / exponentials.sum(-1, keepdims=True)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """{(padding, quantization): (file, Keras model)}: the trained rectangles FCN-8s ("same"), and a "paper"
    FCN-8s given its weights (the two geometries' weights have the same shapes), exported at 32x32."""
    folder = tmp_path_factory.mktemp("mediapipe")
    same = train_rectangles_model(steps=200, size=SIZE)
    paper = fcn_keras.build_fcn8s(len(RECTANGLE_COLOURS) + 1, backbone="vgg16_tiny", padding="paper", dropout=0.0)
    paper.set_weights(same.get_weights())
    calibration, _ = rectangles(32, SIZE, seed=2000)
    files = {}
    for padding, model in (("same", same), ("paper", paper)):
        for quantization in (None, "float16", "int8"):
            path = export_tflite(model, folder / f"{padding}_{quantization}.tflite", quantization,
                                 representative_data=calibration if quantization == "int8" else None,
                                 input_size=(SIZE, SIZE), class_names=CLASS_NAMES if quantization is None else None)
            files[padding, quantization] = path, model
    return files


@pytest.mark.parametrize("quantization", [None, "float16", "int8"])
@pytest.mark.parametrize("padding", ["paper", "same"])
def test_mediapipe_segments_as_keras_does(exported, padding, quantization):
    """MediaPipe feeds the pixels as float32 0..255 (normalization mean 0, std 1), the file's input."""
    path, model = exported[padding, quantization]
    images, _ = rectangles(8, SIZE, seed=1000)
    images = images.round().astype(np.uint8)
    categories, confidences, labels = segment(path, images)
    keras_logits = keras.ops.convert_to_numpy(model(images.astype(np.float32)))
    assert np.mean(categories == keras_logits.argmax(-1)) >= AGREEMENT[quantization]
    runner = Interpreter(model_path=str(path)).get_signature_runner()
    file_logits = np.concatenate([runner(images=image[np.newaxis].astype(np.float32))["logits"] for image in images])
    np.testing.assert_allclose(confidences, softmax(file_logits), atol=1e-5)  # SOFTMAX activation in the metadata
    if quantization is None:
        np.testing.assert_allclose(confidences, softmax(keras_logits), atol=1e-5)
    assert labels == (CLASS_NAMES if quantization is None else ["0", "1", "2", "3"])


def test_two_headed_files_are_refused_and_one_head_runs(tmp_path):
    """MediaPipe's segmenter reads one output: a two-headed file carries no standard metadata (MediaPipe refuses
    it), and a model of one of its heads runs."""
    model = two_headed()
    with pytest.warns(UserWarning, match=r"reads one output .* export one head"):
        both = export_tflite(model, tmp_path / "both.tflite", input_size=(SIZE, SIZE))
    with pytest.raises(Exception, match="NormalizationOptions"):
        segment(both, np.zeros((1, SIZE, SIZE, 3), np.uint8))
    semantic = keras.Model(model.input, model.output["semantic"])
    names = [f"class {index}" for index in range(HEADS["semantic"])]
    path = export_tflite(semantic, tmp_path / "semantic.tflite", input_size=(SIZE, SIZE), class_names=names)
    images = np.random.default_rng(0).integers(0, 256, (2, SIZE, SIZE, 3), dtype=np.uint8)
    categories, _, labels = segment(path, images)
    expected = keras.ops.convert_to_numpy(model(images.astype(np.float32))["semantic"]).argmax(-1)
    assert np.mean(categories == expected) >= AGREEMENT[None] and labels == names


def metadata_buffer(**subgraph_fields):
    """A ModelMetadata flatbuffer with one subgraph holding `subgraph_fields` (model-level files under "files")."""
    model, subgraph = schema.ModelMetadataT(), schema.SubGraphMetadataT()
    model.associatedFiles = subgraph_fields.pop("files", None)
    for name, value in subgraph_fields.items():
        setattr(subgraph, name, value)
    model.subgraphMetadata = [subgraph]
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), b"M001")
    return builder.Output()


def tensor(associated_file_type=None, unit_options=None, audio=False):
    metadata = schema.TensorMetadataT()
    if associated_file_type is not None:
        metadata.associatedFiles = [associated_file(associated_file_type)]
    if unit_options is not None:
        metadata.processUnits = [process_unit(unit_options)]
    if audio:
        metadata.content = schema.ContentT()
        metadata.content.contentPropertiesType = schema.ContentProperties.AudioProperties
        metadata.content.contentProperties = schema.AudioPropertiesT()
    return metadata


def associated_file(file_type, version=None):
    file = schema.AssociatedFileT()
    file.name, file.type, file.version = "file.txt", file_type, version
    return file


def process_unit(options_type):
    unit = schema.ProcessUnitT()
    unit.optionsType = options_type
    unit.options = {schema.ProcessUnitOptions.NormalizationOptions: schema.NormalizationOptionsT,
                    schema.ProcessUnitOptions.RegexTokenizerOptions: schema.RegexTokenizerOptionsT}[options_type]()
    return unit


@pytest.mark.parametrize("fields, version", [
    ({}, "1.0.0"),
    ({"outputTensorMetadata": [tensor(schema.AssociatedFileType.TENSOR_AXIS_LABELS)]}, "1.0.0"),
    ({"inputTensorMetadata": [tensor(unit_options=schema.ProcessUnitOptions.NormalizationOptions)]}, "1.0.0"),
    ({"inputTensorMetadata": [tensor(schema.AssociatedFileType.VOCABULARY)]}, "1.0.1"),
    ({"inputProcessUnits": [process_unit(schema.ProcessUnitOptions.NormalizationOptions)]}, "1.1.0"),
    ({"outputTensorGroups": []}, "1.2.0"),
    ({"inputTensorMetadata": [tensor(unit_options=schema.ProcessUnitOptions.RegexTokenizerOptions)]}, "1.2.1"),
    ({"inputTensorMetadata": [tensor(audio=True)]}, "1.3.0"),
    ({"files": [associated_file(schema.AssociatedFileType.SCANN_INDEX_FILE)]}, "1.4.0"),
    ({"associatedFiles": [associated_file(schema.AssociatedFileType.DESCRIPTIONS, version="2")]}, "1.4.1"),
    ({"customMetadata": [schema.CustomMetadataT()]}, "1.5.0"),
])
def test_minimum_parser_version_follows_mediapipes_rules(fields, version):
    """The stand-in for the compiled module the mediapipe wheel lacks gives metadata_version.cc's answers."""
    assert minimum_parser_version(metadata_buffer(**fields)) == version
