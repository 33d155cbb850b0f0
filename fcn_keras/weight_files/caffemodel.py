"""Reading Caffe's `.caffemodel` (a binary `NetParameter`) without Caffe.

Both layer encodings are read: the current `layer` field (LayerParameter, type as
a string) and the legacy `layers` field (V1LayerParameter, type as an enum); and
both blob shape encodings: `shape` (BlobShape dims) and the legacy
num/channels/height/width. Field numbers are those of caffe.proto.
"""

import numpy as np

from fcn_keras.weight_files.protobuf import WireFormatError, fields, packed_or_repeated
from fcn_keras.weight_files.source_layer import SourceLayer

# NetParameter
NET_LAYER, NET_LEGACY_LAYERS = 100, 2
# LayerParameter / V1LayerParameter: (name, type, blobs)
LAYER_FIELDS = (1, 2, 7)
LEGACY_LAYER_FIELDS = (4, 5, 6)
# BlobProto
BLOB_LEGACY_DIMS = (1, 2, 3, 4)  # num, channels, height, width
BLOB_DATA, BLOB_SHAPE, BLOB_DOUBLE_DATA = 5, 7, 8
BLOB_SHAPE_DIM = 1
# V1LayerParameter.LayerType values of the layers that carry weights here
LEGACY_TYPES = {4: "Convolution", 39: "Deconvolution", 14: "InnerProduct"}
KINDS = {"Convolution": "conv", "Deconvolution": "deconv", "Scale": "scale", "InnerProduct": "dense"}


def read_caffemodel(path):
    """The weights of every layer of a `.caffemodel` that has any.

    Args:
        path: the `.caffemodel` file.

    Returns:
        {layer name: `SourceLayer`} in file order; arrays keep Caffe's layout
        (convolution (out, in, kh, kw), deconvolution (in, out, kh, kw)).

    Raises:
        ValueError: the file is not a readable NetParameter (names the path and what broke).
    """
    with open(path, "rb") as file:
        data = file.read()
    try:
        layers = {}
        for number, _, value in fields(data):
            if number in (NET_LAYER, NET_LEGACY_LAYERS):
                layer = _layer(value, LAYER_FIELDS if number == NET_LAYER else LEGACY_LAYER_FIELDS)
                if layer is not None:
                    name, source_layer = layer
                    layers[name] = source_layer
    except WireFormatError as error:
        raise ValueError(f"{path} is not a readable .caffemodel ({error}); the file may be truncated: download "
                         "it again.") from None
    if not layers:
        raise ValueError(f"{path} holds no layer with weights: is it a .caffemodel (binary NetParameter) and not a "
                         ".prototxt or a solver state?")
    return layers


def _layer(message, field_numbers):
    name_field, type_field, blobs_field = field_numbers
    name, layer_type, blobs = None, None, []
    for number, _, value in fields(message):
        if number == name_field:
            name = bytes(value).decode("utf-8")
        elif number == type_field:
            layer_type = bytes(value).decode("utf-8") if isinstance(value, memoryview) else LEGACY_TYPES.get(value)
        elif number == blobs_field:
            blobs.append(_blob(value))
    if not blobs:
        return None
    return name, SourceLayer(KINDS.get(layer_type, layer_type or "unknown"), tuple(blobs))


def _blob(message):
    occurrences = {}
    for number, wire_type, value in fields(message):
        occurrences.setdefault(number, []).append((wire_type, value))
    data = packed_or_repeated(occurrences.get(BLOB_DATA, []), "<f4")
    if BLOB_DOUBLE_DATA in occurrences and not data.size:
        data = packed_or_repeated(occurrences[BLOB_DOUBLE_DATA], "<f8").astype(np.float32)
    if BLOB_SHAPE in occurrences:
        dims = [(wire_type, value) for _, shape in occurrences[BLOB_SHAPE]
                for number, wire_type, value in fields(shape) if number == BLOB_SHAPE_DIM]
        shape = tuple(int(d) for d in packed_or_repeated(dims, "varint"))
    else:
        shape = tuple(int(occurrences[n][-1][1]) if n in occurrences else 1 for n in BLOB_LEGACY_DIMS)
    if int(np.prod(shape)) != data.size:
        raise WireFormatError(f"a blob of shape {shape} holds {data.size} values")
    return data.reshape(shape)

