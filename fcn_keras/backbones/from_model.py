"""Any Keras Functional model as an FCN backbone: its taps picked by layer name (or keras-hub's pyramid)."""

from fcn_keras.arguments import tap_layers
from fcn_keras.backbones.registry import PAPER_PAD, BackboneSpec

EXTRACTOR = "backbone"  # the name of the tap extractor inside an FCN built on a model
PYRAMID_LEVELS = {8: "P3", 16: "P4", 32: "P5"}  # keras-hub's `pyramid_outputs` keys


def model_backbone(model, taps=None, preprocessing=None, name=None, load_weights=None):
    """A `BackboneSpec` for a Keras Functional model, whose layers named in `taps` feed the FCN head.

    The model becomes one layer of the FCN (named "backbone") that returns the taps:
    the model's own layers, not copies, so training the FCN trains `model`, and two
    FCNs built on one model share it (build each on a fresh model, or clone it with
    `keras.models.clone_model`). It is saved with the FCN. The taps' grids are
    derived from its layers, so any stride-8/16/32 maps work, whatever their padding.
    With `padding="paper"` the image gets 100 pixels of zeros around it first.

    Args:
        model: a Functional `keras.Model` taking images (N, H, W, 3); give it
            `input_shape=(None, None, 3)` to take any size.
        taps: {stride: layer name or tensor of `model`} for strides 8, 16 and 32 (as
            many as the FCN variant needs); default: a keras-hub backbone's
            `pyramid_outputs` P3, P4 and P5.
        preprocessing: `ImagePreprocessing` arguments applied before the model
            (default none: the model gets RGB in [0, 255]).
        name: the spec's name, default the model's.
        load_weights: see `BackboneSpec`.

    Returns:
        `BackboneSpec`.

    Raises:
        ValueError: a tap names no layer of the model, or no taps are given for a
            model without `pyramid_outputs`.

    Example:
        >>> net = keras.applications.MobileNetV2(input_shape=(None, None, 3), weights=None, include_top=False)
        >>> spec = model_backbone(net, {8: "block_5_add", 16: "block_12_add", 32: "out_relu"})
        >>> spec.name
        'mobilenetv2_1.00_None'
    """
    import keras

    outputs = {str(stride): _tap_tensor(model, tap) for stride, tap in _taps(model, taps).items()}
    extractor = keras.Model(model.inputs, outputs, name=EXTRACTOR)

    def build(images, padding, dropout):
        if padding == "paper":
            images = keras.layers.ZeroPadding2D(PAPER_PAD, name="paper_pad")(images)
        return {int(stride): tensor for stride, tensor in extractor(images).items()}

    return BackboneSpec(name=name or model.name, build=build, preprocessing=dict(preprocessing or {}),
                        load_weights=load_weights, description=f"the Keras model {model.name!r}")


def _taps(model, taps):
    if taps is not None:
        return tap_layers(taps)
    pyramid = getattr(model, "pyramid_outputs", None)
    if not pyramid:
        raise ValueError(f"Give the taps of model {model.name!r}: taps={{8: layer name, 16: ..., 32: ...}} "
                         "(a keras-hub backbone's pyramid_outputs are used when it has them).")
    return {stride: pyramid[level] for stride, level in PYRAMID_LEVELS.items() if level in pyramid}


def _tap_tensor(model, tap):
    if not isinstance(tap, str):
        return tap
    try:
        return model.get_layer(tap).output
    except ValueError:
        raise ValueError(f"Model {model.name!r} has no layer named {tap!r} to tap; its layers include "
                         f"{', '.join(layer.name for layer in model.layers[-5:])}.") from None


def copy_network_weights(network, fcn, name):
    """Copies a pretrained network's weights into the backbone of an FCN built on the same network.

    Layers are matched by position (Keras names some layers by how many of their kind
    the process made before), the layers with weights of both taken in build order.

    Args:
        network: the pretrained `keras.Model`.
        fcn: an FCN built on a fresh copy of `network` (changed in place).
        name: the network's name for error messages.

    Raises:
        ValueError: the two have different numbers of layers with weights.
    """
    sources = [layer for layer in network.layers if layer.weights]
    targets = [layer for layer in fcn.get_layer(EXTRACTOR).layers if layer.weights]
    if len(sources) != len(targets):
        raise ValueError(f"The pretrained {name} has {len(sources)} layers with weights, the FCN's backbone "
                         f"{len(targets)}.")
    for source, target in zip(sources, targets):
        target.set_weights(source.get_weights())
