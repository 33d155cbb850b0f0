"""AlexNet (Krizhevsky et al. 2012) as an FCN backbone, in the Caffe geometry of the authors' FCN-AlexNet.

conv1 11x11/4, LRN after pool1 and pool2, conv2/4/5 in two groups, 3x3/2 max
pools rounding up, fc6 a 6x6 convolution, fc7 1x1. "paper" pads conv1 by 100 and
leaves fc6 VALID, as the authors' voc-fcn-alexnet does (its upscore is 63/32 and
its crop 18, which the derived grid reproduces). "same" pads every layer to keep
maps at ceil(H / stride). ImageNet weights: the BVLC release's
`bvlc_alexnet.caffemodel`, given as `backbone_weights=PATH`.
"""

import functools

from fcn_keras.backbones.caffe_trained import ceil_max_pool, register_caffe_backbone
from fcn_keras.backbones.registry import CAFFE_IMAGENET, PAPER_PAD
from fcn_keras.backbones.surgery import fully_connected_as_convolutions

CONVS = (("conv1", 11, 4, 1), ("conv2", 5, 1, 2), ("conv3", 3, 1, 1), ("conv4", 3, 1, 2), ("conv5", 3, 1, 2))
POOLED = {"conv1": "pool1", "conv2": "pool2", "conv5": "pool5"}  # a 3x3/2 max pool after these
# An LRN (size 5, alpha 1e-4, beta 0.75) after these pools: its name and the stride it is the tap of.
NORMALIZED = {"pool1": ("norm1", 8), "pool2": ("norm2", 16)}
FC_KERNEL = 6


def build_alexnet_taps(images, padding, dropout, widths, fc_units):
    """Builds AlexNet's layers (the authors' names) on `images`; returns its taps at strides 8, 16 and 32.

    Args:
        images, padding, dropout: as `BackboneSpec.build` takes them; `dropout` (a rate, 0 for none) follows fc6, fc7.
        widths: filters of conv1..conv5, (96, 256, 384, 384, 256) for AlexNet.
        fc_units: filters of fc6 and fc7, 4096 for AlexNet.

    Returns:
        {8: norm1, 16: norm2, 32: fc7 (after its dropout)}.

    Example:
        >>> taps = build_alexnet_taps(keras.Input((None, None, 3)), "paper", 0.5, (96, 256, 384, 384, 256), 4096)
        >>> tensor_grid(taps[32])
        Grid(stride=32, offset=13.0)
    """
    import keras

    from fcn_keras.layers.grouped_conv import GroupedConv2D
    from fcn_keras.layers.lrn import LocalResponseNormalization

    x, taps = images, {}
    for (name, kernel, stride, groups), width in zip(CONVS, widths):
        pad = PAPER_PAD if padding == "paper" and name == "conv1" else (kernel - 1) // 2
        if pad:
            x = keras.layers.ZeroPadding2D(pad, name=f"{name}_pad")(x)
        x = GroupedConv2D(width, kernel, strides=stride, groups=groups, activation="relu", name=name)(x)
        if name in POOLED:
            x = ceil_max_pool(x, POOLED[name], padding)
            if POOLED[name] in NORMALIZED:
                norm, tap_stride = NORMALIZED[POOLED[name]]
                x = taps[tap_stride] = LocalResponseNormalization(5, 1e-4, 0.75, name=norm)(x)
    taps[32] = fully_connected_as_convolutions(x, fc_units, FC_KERNEL, padding, dropout)
    return taps


CLASSIFIER_LAYERS = tuple(name for name, *_ in CONVS) + ("fc6", "fc7")

# name: (conv1..conv5 widths, fc6/fc7 units, description). Only "alexnet" has ImageNet weights.
ALEXNET_FAMILY = {
    "alexnet": ((96, 256, 384, 384, 256), 4096,
                "AlexNet, the paper's FCN-AlexNet (57M parameters as FCN-32s); ImageNet weights from "
                "bvlc_alexnet.caffemodel."),
    "alexnet_tiny": ((8, 16, 24, 24, 16), 64,
                     "AlexNet layout, narrow (conv 8..24, fc6/fc7: 64); for tests (weights: a Caffe file of its "
                     "widths)."),
}

for _name, (_widths, _fc_units, _description) in ALEXNET_FAMILY.items():
    register_caffe_backbone(_name, functools.partial(build_alexnet_taps, widths=_widths, fc_units=_fc_units),
                            CAFFE_IMAGENET, CLASSIFIER_LAYERS, (*_widths, _fc_units, _fc_units),
                            "bvlc_alexnet.caffemodel", _description)
