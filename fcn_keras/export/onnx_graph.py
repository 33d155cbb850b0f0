"""An FCN's Keras layers written as an ONNX graph with the `onnx` package, each weight copied once.

The graph runs in NCHW, as ONNX's convolutions do: one Transpose after the
(N, H, W, C) input, one before the (N, H, W, classes) output, and the kernels
transposed in NumPy as they are written. N, H and W stay dynamic: crops read
their reference's size at run time (`Shape`, `Slice`), pads and pools are fixed
per layer as in Keras ("same" is `SAME_UPPER`, TensorFlow's rounding). It knows
the layers of the Caffe-layout backbones (VGG16, AlexNet, GoogLeNet) and of
every one-input FCN head (`at_once`'s Rescaling included; `LogDepth` comes only
with several inputs, which ONNX export refuses); `unwritable_layers` names what
it does not know (a nested keras.applications model, batch normalization, other
activations).
"""

import keras
import numpy as np

from fcn_keras.keras_internals import tensor_history
from fcn_keras.layers import (CaffePreprocessing, CropToReference, GroupedConv2D, ImagePreprocessing,
                              LocalResponseNormalization)

OPSET = 17  # Shape's start/end need 15
PRODUCER = "fcn_keras"
_ACTIVATIONS = {keras.activations.linear: None, keras.activations.relu: "Relu"}
_NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}


def unwritable_layers(model):
    """The layers of `model` that `onnx_model` cannot write, each as "name (Class[: why])"; empty if it can.

    Example:
        >>> unwritable_layers(build_fcn8s(3, backbone="vgg16_tiny"))
        []
        >>> images = keras.Input((None, None, 3))
        >>> x = keras.layers.Conv2D(4, 3, activation="tanh", name="conv")(images)
        >>> unwritable_layers(keras.Model(images, keras.layers.BatchNormalization(name="norm")(x)))
        ['conv (Conv2D: activation tanh)', 'norm (BatchNormalization)']
    """
    found = []
    for layer in (node.operation for node in _nodes(model)):
        if type(layer) not in _WRITERS:
            found.append(f"{layer.name} ({type(layer).__name__})")
        elif reason := _why_not(layer):
            found.append(f"{layer.name} ({type(layer).__name__}: {reason})")
    return found


def onnx_model(model, input_name, output_name):
    """The ONNX graph (opset 17) of a one-input, one-output FCN whose layers `unwritable_layers` accepts.

    Args:
        model: a Functional `keras.Model` taking (N, H, W, C) and giving (N, H, W, classes).
        input_name, output_name: the names of the graph's input and output.

    Returns:
        `onnx.ModelProto`, float32 in and out, dimensions None in Keras dynamic (named N, H, W).

    Raises:
        ValueError: a layer it cannot write (names them all).
    """
    from onnx import TensorProto, helper

    unwritable = unwritable_layers(model)
    if unwritable:
        raise ValueError(f"Cannot write these layers of {model.name!r} as ONNX: {', '.join(unwritable)}.")
    graph = _Graph()
    nchw = graph.node("Transpose", [input_name], "input_nchw", perm=[0, 3, 1, 2])
    names = {}  # id(Keras tensor) -> name of the ONNX tensor (NCHW)
    for node in _nodes(model):
        inputs = [names[id(tensor)] for tensor in node.input_tensors]
        output = nchw if node.is_input else _WRITERS[type(node.operation)](graph, node.operation, inputs)
        names[id(node.output_tensors[0])] = output
    graph.node("Transpose", [names[id(model.output)]], output_name, perm=[0, 2, 3, 1])
    dimensions = ["N", "H", "W"]
    input_shape = [dimension or dimensions[axis] for axis, dimension in enumerate(model.input.shape[:3])]
    output_shape = [*input_shape, model.output.shape[-1]]
    proto = helper.make_graph(
        graph.nodes, model.name,
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [*input_shape, model.input.shape[-1]])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, output_shape)],
        initializer=graph.initializers)
    return helper.make_model(proto, opset_imports=[helper.make_opsetid("", OPSET)], producer_name=PRODUCER)


def _nodes(model):
    """The Keras nodes from `model`'s input to its output, each after the nodes it takes tensors from."""
    ordered, seen, stack = [], set(), [_node_of(model.output)]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        missing = [_node_of(tensor) for tensor in node.input_tensors if id(_node_of(tensor)) not in seen]
        if missing:  # they come first
            stack.extend([node, *missing])
            continue
        seen.add(id(node))
        ordered.append(node)
    return ordered


def _node_of(tensor):
    """The Keras node that gives `tensor`."""
    return tensor_history(tensor)[1]


class _Graph:
    """The nodes and initializers written so far."""

    def __init__(self):
        self.nodes, self.initializers = [], []

    def node(self, op_type, inputs, output, **attributes):
        from onnx import helper

        self.nodes.append(helper.make_node(op_type, inputs, [output], name=output, **attributes))
        return output

    def constant(self, name, values, dtype=np.float32):
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(values, dtype), name))
        return name


def _channel_constant(values):
    """A per-channel constant broadcast over NCHW (a scalar stays a scalar)."""
    values = np.asarray(values, np.float32)
    return values.reshape(1, -1, 1, 1) if values.size > 1 else values.reshape(())


def _why_not(layer):
    """Why a layer of a known class cannot be written, or None."""
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        return "channels_first"
    if hasattr(layer, "activation") and layer.activation not in _ACTIVATIONS:
        return f"activation {keras.activations.serialize(layer.activation)}"
    if isinstance(layer, keras.layers.Conv2DTranspose) and (
            layer.padding != "valid" or layer.output_padding is not None or layer.dilation_rate != (1, 1)):
        return "only padding valid without output_padding or dilation"
    return None


def _convolution(graph, layer, inputs):
    """Conv2D (groups included) or Conv2DTranspose, then its ReLU if it has one."""
    # Conv2D: (kh, kw, in / groups, out) -> (out, in / groups, kh, kw), as ONNX's Conv takes it;
    # Conv2DTranspose: (kh, kw, out, in) -> (in, out, kh, kw), as ONNX's ConvTranspose takes it.
    kernel = keras.ops.convert_to_numpy(layer.kernel).transpose(3, 2, 0, 1)
    weights = [graph.constant(f"{layer.name}/kernel", kernel)]
    if layer.use_bias:
        weights.append(graph.constant(f"{layer.name}/bias", keras.ops.convert_to_numpy(layer.bias)))
    attributes = {"kernel_shape": list(layer.kernel_size), "strides": list(layer.strides)}
    if isinstance(layer, keras.layers.Conv2DTranspose):  # padding "valid" (`_why_not`)
        op_type = "ConvTranspose"
    else:
        op_type = "Conv"
        attributes.update(dilations=list(layer.dilation_rate), group=layer.groups,
                          auto_pad="SAME_UPPER" if layer.padding == "same" else "VALID")
    activation = _ACTIVATIONS[layer.activation]
    output = graph.node(op_type, [inputs[0], *weights], f"{layer.name}/linear" if activation else layer.name,
                        **attributes)
    return graph.node(activation, [output], layer.name) if activation else output


def _max_pooling(graph, layer, inputs):
    return graph.node("MaxPool", inputs, layer.name, kernel_shape=list(layer.pool_size), strides=list(layer.strides),
                      auto_pad="SAME_UPPER" if layer.padding == "same" else "VALID")


def _zero_padding(graph, layer, inputs):
    (top, bottom), (left, right) = layer.padding
    pads = graph.constant(f"{layer.name}/pads", [0, 0, top, left, 0, 0, bottom, right], np.int64)
    return graph.node("Pad", [inputs[0], pads], layer.name)


def _crop(graph, layer, inputs):
    source, reference = inputs
    offset = graph.constant(f"{layer.name}/offset", layer.offset, np.int64)
    size = graph.node("Shape", [reference], f"{layer.name}/size", start=2, end=4)
    end = graph.node("Add", [size, offset], f"{layer.name}/end")
    axes = graph.constant(f"{layer.name}/axes", [2, 3], np.int64)
    return graph.node("Slice", [source, offset, end, axes], layer.name)


def _preprocessing(graph, layer, inputs):
    centred = graph.node("Sub", [inputs[0], graph.constant(f"{layer.name}/mean", _channel_constant(layer.mean_rgb))],
                         f"{layer.name}/centred")
    scaled = graph.node("Div", [centred, graph.constant(f"{layer.name}/std", _channel_constant(layer.std_rgb))],
                        f"{layer.name}/scaled" if layer.channel_order == "BGR" else layer.name)
    if layer.channel_order == "RGB":
        return scaled
    return graph.node("Gather", [scaled, graph.constant(f"{layer.name}/bgr", [2, 1, 0], np.int64)], layer.name,
                      axis=1)


def _rescaling(graph, layer, inputs):
    scaled = graph.node("Mul", [inputs[0], graph.constant(f"{layer.name}/scale", _channel_constant(layer.scale))],
                        f"{layer.name}/scaled")
    return graph.node("Add", [scaled, graph.constant(f"{layer.name}/offset", _channel_constant(layer.offset))],
                      layer.name)


def _local_response_normalization(graph, layer, inputs):
    return graph.node("LRN", inputs, layer.name, size=layer.size, alpha=layer.alpha, beta=layer.beta, bias=layer.k)


def _concatenate(graph, layer, inputs):
    return graph.node("Concat", inputs, layer.name, axis=_NHWC_TO_NCHW_AXIS[layer.axis % 4])


_WRITERS = {
    keras.layers.InputLayer: None,  # the transposed graph input
    ImagePreprocessing: _preprocessing,
    CaffePreprocessing: _preprocessing,
    keras.layers.Rescaling: _rescaling,
    keras.layers.ZeroPadding2D: _zero_padding,
    keras.layers.Conv2D: _convolution,
    GroupedConv2D: _convolution,
    keras.layers.Conv2DTranspose: _convolution,
    keras.layers.MaxPooling2D: _max_pooling,
    keras.layers.Dropout: lambda graph, layer, inputs: inputs[0],
    CropToReference: _crop,
    keras.layers.Add: lambda graph, layer, inputs: graph.node("Sum", inputs, layer.name),
    keras.layers.Concatenate: _concatenate,
    LocalResponseNormalization: _local_response_normalization,
}
