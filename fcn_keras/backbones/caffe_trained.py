"""What the Caffe-trained backbones (AlexNet, GoogLeNet) share: Caffe's pooling geometry, BVLC weights by name."""

import functools

from fcn_keras.backbones.registry import BackboneSpec, register_backbone
from fcn_keras.backbones.surgery import load_caffe_trunk


def ceil_max_pool(x, name, padding):
    """Caffe's 3x3/2 max pool, whose output size rounds up.

    In "paper" a zero row and column go at the bottom and right (the inputs follow
    a ReLU, so a zero never wins), giving Caffe's ceil((H - 3) / 2) + 1; in "same" a
    zero frame all round, giving ceil(H / 2).

    Args:
        x: the feature map (non-negative).
        name: the pooling layer's name; its padding is `{name}_pad`.
        padding: "paper" or "same".

    Returns:
        The pooled map.

    Example:
        >>> ceil_max_pool(keras.Input((9, 10, 4)), "pool1", "paper").shape  # ceil(6 / 2) + 1, ceil(7 / 2) + 1
        (None, 4, 5, 4)
        >>> ceil_max_pool(keras.Input((9, 10, 4)), "pool1", "same").shape  # ceil(9 / 2), ceil(10 / 2)
        (None, 5, 5, 4)
    """
    import keras

    frame = ((0, 1), (0, 1)) if padding == "paper" else 1
    x = keras.layers.ZeroPadding2D(frame, name=f"{name}_pad")(x)
    return keras.layers.MaxPooling2D(3, 2, name=name)(x)


def register_caffe_backbone(name, build, preprocessing, layer_names, widths, release, description):
    """Registers a backbone whose ImageNet weights are a BVLC `.caffemodel`, loaded by layer name.

    Args:
        name, build, preprocessing, description: as `BackboneSpec`'s.
        layer_names: the layers the file gives, as `load_caffe_trunk` takes them (names, or {Caffe: Keras}).
        widths: the output channels of those layers, in their order (the spec's `layer_widths`).
        release: the BVLC file, e.g. "bvlc_alexnet.caffemodel" (named when "imagenet" is asked for).

    Returns:
        The registered `BackboneSpec`.
    """
    keras_names = layer_names.values() if isinstance(layer_names, dict) else layer_names
    return register_backbone(BackboneSpec(
        name=name,
        build=build,
        preprocessing=preprocessing,
        load_weights=functools.partial(load_caffe_trunk, layer_names=layer_names, release=release),
        description=description,
        layer_widths=dict(zip(keras_names, widths)),
    ))
