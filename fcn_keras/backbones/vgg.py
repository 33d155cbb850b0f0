"""VGG16 (Simonyan & Zisserman) as an FCN backbone: conv1_1 ... pool5, fc6, fc7 as convolutions.

"paper" geometry is the reference FCN's: conv1_1 zero-pads by 100, 2x2/2 max
pools round up, fc6 is a 7x7 VALID convolution. "same" geometry pads every layer
to keep sizes at ceil(H / stride), which needs no large crops and about half the
FLOPs.
"""

import functools

from fcn_keras.backbones.pretrained import PretrainedNetwork, load_pretrained, register_pretrained
from fcn_keras.backbones.registry import CAFFE_IMAGENET, PAPER_PAD, BackboneSpec, register_backbone
from fcn_keras.backbones.surgery import convolutionalize, fully_connected_as_convolutions

CONVS_PER_BLOCK = (2, 2, 3, 3, 3)
FC_KERNEL = 7


def build_vgg16_taps(images, padding, dropout, widths, fc_units):
    """Builds VGG16's layers on `images` and returns its taps at strides 8, 16 and 32.

    Args:
        images, padding, dropout: as `BackboneSpec.build` takes them; `dropout` (a rate, 0 for none) follows fc6, fc7.
        widths: filters of the five conv blocks, (64, 128, 256, 512, 512) for VGG16.
        fc_units: filters of fc6 and fc7, 4096 for VGG16.

    Returns:
        {8: pool3, 16: pool4, 32: fc7 (after its dropout)}.

    Example:
        >>> images = keras.Input((None, None, 3))
        >>> taps = build_vgg16_taps(images, "paper", 0.5, (64, 128, 256, 512, 512), 4096)
        >>> tensor_grid(taps[32])
        Grid(stride=32, offset=12.5)
    """
    import keras

    x, taps = images, {}
    for block, (width, convs) in enumerate(zip(widths, CONVS_PER_BLOCK), start=1):
        for index in range(1, convs + 1):
            name = f"conv{block}_{index}"
            paper_padded = padding == "paper" and name == "conv1_1"
            if paper_padded:
                x = keras.layers.ZeroPadding2D(PAPER_PAD, name="conv1_1_pad")(x)
            x = keras.layers.Conv2D(width, 3, padding="valid" if paper_padded else "same", activation="relu",
                                    name=name)(x)
        # "same" 2x2/2 pooling pads only bottom/right: Caffe's ceil rounding.
        x = keras.layers.MaxPooling2D(2, 2, padding="same", name=f"pool{block}")(x)
        if block in (3, 4):
            taps[2**block] = x
    taps[32] = fully_connected_as_convolutions(x, fc_units, FC_KERNEL, padding, dropout)
    return taps


def load_vgg16_classifier(fcn, weights):
    """Convolutionalizes keras.applications.VGG16 with its classifier top into an FCN on "vgg16".

    Args:
        fcn: an FCN built on the "vgg16" backbone (changed in place).
        weights: "imagenet" (downloaded by Keras) or a local weights file of
            `keras.applications.VGG16(include_top=True)`.

    Returns:
        The FCN layer names that received weights.
    """
    return convolutionalize(load_pretrained("vgg16", weights), fcn, VGG16_CLASSIFIER_LAYERS)


def _vgg16_classifier(weights):
    """keras.applications.VGG16 with its classifier top (for 224 x 224 images), its `weights` None, "imagenet" or a
    path."""
    import keras

    return keras.applications.VGG16(include_top=True, weights=weights)


VGG16_CLASSIFIER_LAYERS = {
    **{
        f"block{block}_conv{index}": f"conv{block}_{index}"
        for block, convs in enumerate(CONVS_PER_BLOCK, start=1)
        for index in range(1, convs + 1)
    },
    "fc1": "fc6",
    "fc2": "fc7",
}

# name: (conv block widths, fc6/fc7 units, description). Only "vgg16" has ImageNet weights.
VGG16_FAMILY = {
    "vgg16": ((64, 128, 256, 512, 512), 4096, "VGG16, the paper's backbone (134M parameters as FCN-8s)."),
    "vgg16_slim": ((16, 32, 64, 128, 128), 1024,
                   "VGG16 layout at a quarter of the width (fc6/fc7: 1024); CPU-friendly."),
    "vgg16_mini": ((8, 16, 32, 64, 64), 256,
                   "VGG16 layout at 1/8 of the width (fc6/fc7: 256); the demo's, trains in minutes on 2 CPU cores."),
    "vgg16_tiny": ((4, 8, 16, 32, 32), 64,
                   "VGG16 layout at 1/16 of the width (fc6/fc7: 64); for tests and smoke runs."),
}

register_pretrained(PretrainedNetwork("vgg16", "VGG16", _vgg16_classifier,
                                      "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5", include_top=True))
for _name, (_widths, _fc_units, _description) in VGG16_FAMILY.items():
    register_backbone(
        BackboneSpec(
            name=_name,
            build=functools.partial(build_vgg16_taps, widths=_widths, fc_units=_fc_units),
            preprocessing=CAFFE_IMAGENET,
            load_weights=load_vgg16_classifier if _name == "vgg16" else None,
            description=_description,
            layer_widths={**{f"conv{block}_1": width for block, width in enumerate(_widths, start=1)},
                          "fc6": _fc_units},
        )
    )
