"""The standard TFLite Metadata of an image segmenter, written with MediaPipe's own writer.

MediaPipe's `ImageSegmenter` (Python, Android, iOS, web), the TFLite Task Library
and Android Studio's model binding read this metadata, not fcn_keras' JSON entry.
`add_segmenter_metadata` writes it with `image_segmenter.MetadataWriter` from
`mediapipe.tasks.python.metadata.metadata_writers` (pip `mediapipe`, the extra
`fcn-keras[mediapipe]`): an RGB image input normalized with mean 0 and std 1,
so MediaPipe feeds the pixels as float32 0..255, which is what fcn_keras models
take (they normalize inside the graph); one output of segmentation masks with
a label file of the class names; activation SOFTMAX, so MediaPipe's confidence
masks are the softmax of the logits and its category mask is their argmax.
MediaPipe resizes each image to the input tensor's static shape and the masks
back to the image's size, so the model needs a fixed input size.

The writer imports one compiled module that the mediapipe 1.2.3 wheel does not
ship, `mediapipe.tasks.cc.metadata.python._pywrap_metadata_version`; upstream's
`metadata.py` still imports it (checked against the mediapipe repository,
2026-08). The module has one function: the lowest metadata parser version that
can read a metadata buffer, which the writer records in the file.
`minimum_parser_version` ports that function's rules from the C++ source
(mediapipe/tasks/cc/metadata/metadata_version.cc); it stands in for the module
only where the module is missing, so a mediapipe release that ships the module
again is used as it is. Everything else is MediaPipe's writer. The older
writer, `tflite-support` 0.4.4 (the last release, 2023), needs protobuf < 4,
which TensorFlow 2.21 (protobuf >= 6.31) cannot use.
"""

import importlib
import importlib.util
import sys
import threading
import types

MISSING_MODULE = "mediapipe.tasks.cc.metadata.python._pywrap_metadata_version"
INSTALL_HINT = "pip install 'fcn-keras[mediapipe]'"
# Schema members added after version 1.0.0 and the version that added them (metadata_version.cc).
VOCABULARY_FILE, SCANN_INDEX_FILE, FILE_VERSION = (1, 0, 1), (1, 4, 0), (1, 4, 1)
PROCESS_UNITS, TENSOR_GROUPS, AUDIO_PROPERTIES, CUSTOM_METADATA = (1, 1, 0), (1, 2, 0), (1, 3, 0), (1, 5, 0)
TOKENIZERS = {"BertTokenizerOptions": (1, 1, 0), "SentencePieceTokenizerOptions": (1, 1, 0),
              "RegexTokenizerOptions": (1, 2, 1)}


def mediapipe_installed():
    """Whether `mediapipe`, which writes the standard TFLite Metadata, imports here (an install that fails to
    import counts as missing).

    Returns:
        bool.
    """
    return importlib.util.find_spec("mediapipe") is not None and _import_on_a_fresh_stack("mediapipe")


def add_segmenter_metadata(flatbuffer, class_names):
    """Adds the standard TFLite Metadata of an image segmenter to a `.tflite` file's bytes.

    The model must have one float32 image input of a fixed size (MediaPipe resizes
    images to the input tensor's static shape) and one output of per-class logits.
    Metadata entries already in the file (such as fcn_keras' own) are kept.

    Args:
        flatbuffer: the `.tflite` file's bytes.
        class_names: the names of the output's classes, in order; they become the
            label file MediaPipe reports (`ImageSegmenter.labels`).

    Returns:
        The file's bytes with the metadata and the label file (a zip archive
        appended to the flatbuffer, as MediaPipe's writer packs it).

    Raises:
        ModuleNotFoundError: mediapipe is not installed (the message says how to get it).
    """
    if not mediapipe_installed():
        raise ModuleNotFoundError(f"Writing the standard TFLite Metadata needs mediapipe (missing, or it fails to "
                                  f"import): {INSTALL_HINT}.", name="mediapipe")
    _stand_in_for_missing_module()
    from mediapipe.tasks.python.metadata.metadata_writers import image_segmenter, metadata_writer

    writer = image_segmenter.MetadataWriter.create(
        bytearray(flatbuffer), input_norm_mean=[0.0], input_norm_std=[1.0],
        labels=metadata_writer.Labels().add(list(class_names)), activation=image_segmenter.Activation.SOFTMAX)
    return bytes(writer.populate()[0])


def minimum_parser_version(metadata_buffer):
    """The lowest TFLite metadata parser version that reads a metadata buffer, as MediaPipe's C++ computes it.

    The version is that of the newest schema member the metadata uses (1.0.0 when
    it uses none added later). Needs mediapipe (its generated metadata schema).

    Args:
        metadata_buffer: bytes of a `ModelMetadata` flatbuffer.

    Returns:
        The version as a string, e.g. "1.5.0".
    """
    from mediapipe.tasks.metadata import metadata_schema_py_generated as schema

    metadata = schema.ModelMetadataT.InitFromPackedBuf(bytearray(metadata_buffer), 0)
    versions = [(1, 0, 0), *_file_versions(metadata.associatedFiles, schema)]
    for subgraph in metadata.subgraphMetadata or []:
        versions += _subgraph_versions(subgraph, schema)
    return ".".join(str(number) for number in max(versions))


def _import_on_a_fresh_stack(name):
    """Imports `name` in a thread of its own, so that no frame of the caller outlives the import.

    Where sounddevice finds no PortAudio library, `import mediapipe` keeps that
    error, traceback and all (`audio_record.sd_error`), which keeps alive every
    frame on the importing stack and their locals: here the caller's model and
    the file's bytes. Returns whether the import succeeded; its error, if any, is
    dropped with the thread's frames.
    """
    imported = []

    def run():
        try:
            importlib.import_module(name)
        except Exception:  # a broken install, whatever it raises: the caller treats mediapipe as missing
            return
        imported.append(name)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return bool(imported)


def _stand_in_for_missing_module():
    """Registers `minimum_parser_version` under the compiled module's name, where mediapipe lacks the module."""
    try:
        importlib.import_module(MISSING_MODULE)
    except ModuleNotFoundError:
        package_name, _, name = MISSING_MODULE.rpartition(".")
        module, package = types.ModuleType(MISSING_MODULE), types.ModuleType(package_name)
        module.GetMinimumMetadataParserVersion = minimum_parser_version
        setattr(package, name, module)
        sys.modules.update({package_name: package, MISSING_MODULE: module})


def _subgraph_versions(subgraph, schema):
    versions = list(_file_versions(subgraph.associatedFiles, schema))
    for tensor in [*(subgraph.inputTensorMetadata or []), *(subgraph.outputTensorMetadata or [])]:
        versions += _file_versions(tensor.associatedFiles, schema)
        versions += _unit_versions(tensor.processUnits, schema)
        content = tensor.content
        if content is not None and content.contentPropertiesType == schema.ContentProperties.AudioProperties:
            versions.append(AUDIO_PROPERTIES)
    for units in (subgraph.inputProcessUnits, subgraph.outputProcessUnits):
        if units is not None:
            versions += [PROCESS_UNITS, *_unit_versions(units, schema)]
    if subgraph.inputTensorGroups is not None or subgraph.outputTensorGroups is not None:
        versions.append(TENSOR_GROUPS)
    if subgraph.customMetadata is not None:
        versions.append(CUSTOM_METADATA)
    return versions


def _file_versions(files, schema):
    for file in files or []:
        if file.type == schema.AssociatedFileType.VOCABULARY:
            yield VOCABULARY_FILE
        if file.type == schema.AssociatedFileType.SCANN_INDEX_FILE:
            yield SCANN_INDEX_FILE
        if file.version is not None:
            yield FILE_VERSION


def _unit_versions(units, schema):
    tokenizers = {getattr(schema.ProcessUnitOptions, option): version for option, version in TOKENIZERS.items()}
    return [tokenizers[unit.optionsType] for unit in units or [] if unit.optionsType in tokenizers]
