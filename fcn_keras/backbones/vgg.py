"""VGG16 (Simonyan & Zisserman) as an FCN backbone: conv1_1 ... pool5, fc6, fc7 as convolutions.

"paper" geometry is the reference FCN's: conv1_1 zero-pads by 100, 2x2/2 max
pools round up, fc6 is a 7x7 VALID convolution. "same" geometry pads every layer
to keep sizes at ceil(H / stride), which needs no large crops and about half the
FLOPs.
"""

import functools

import keras

from fcn_keras.backbones.registry import BackboneSpec, Tap, register_backbone
from fcn_keras.geometry import Grid, keras_padding_before

CONVS_PER_BLOCK = (2, 2, 3, 3, 3)
FC_KERNEL = 7
PAPER_PAD = 100
# keras.applications.VGG16 weights expect this BGR mean (the Caffe VGG release's).
IMAGENET_MEAN_BGR = (103.939, 116.779, 123.68)


def build_vgg16_taps(images, padding, dropout, widths, fc_units):
    """Builds VGG16's layers on `images` and returns its taps at strides 8, 16 and 32.

    Args:
        images: preprocessed (BGR, mean-subtracted) image tensor (N, H, W, 3).
        padding: "paper" or "same" (see the module docstring).
        dropout: rate of the dropout after fc6 and fc7 (0 for none).
        widths: filters of the five conv blocks, (64, 128, 256, 512, 512) for VGG16.
        fc_units: filters of fc6 and fc7, 4096 for VGG16.

    Returns:
        {8: Tap(pool3), 16: Tap(pool4), 32: Tap(fc7)}.

    Example:
        >>> images = keras.Input((None, None, 3))
        >>> taps = build_vgg16_taps(images, "paper", 0.5, (64, 128, 256, 512, 512), 4096)
        >>> taps[32].grid
        Grid(stride=32, offset=12.5)
    """
    x, grid, taps = images, Grid(), {}
    for block, (width, convs) in enumerate(zip(widths, CONVS_PER_BLOCK), start=1):
        for index in range(1, convs + 1):
            name = f"conv{block}_{index}"
            if padding == "paper" and name == "conv1_1":
                x = keras.layers.ZeroPadding2D(PAPER_PAD, name="conv1_1_pad")(x)
                pad, keras_padding = PAPER_PAD, "valid"
            else:
                pad, keras_padding = 1, "same"
            x = keras.layers.Conv2D(width, 3, padding=keras_padding, activation="relu", name=name)(x)
            grid = grid.conv(3, pad=pad)
        # "same" 2x2/2 pooling pads only bottom/right: Caffe's ceil rounding.
        x = keras.layers.MaxPooling2D(2, 2, padding="same", name=f"pool{block}")(x)
        grid = grid.conv(2, stride=2)
        if block in (3, 4):
            taps[2**block] = Tap(x, grid)
    fc6_padding = "valid" if padding == "paper" else "same"
    for name, kernel, keras_padding in (("fc6", FC_KERNEL, fc6_padding), ("fc7", 1, "valid")):
        x = keras.layers.Conv2D(fc_units, kernel, padding=keras_padding, activation="relu", name=name)(x)
        grid = grid.conv(kernel, pad=keras_padding_before(kernel, 1, keras_padding))
        if dropout:
            x = keras.layers.Dropout(dropout, name=name.replace("fc", "drop"))(x)
    taps[32] = Tap(x, grid)
    return taps


def vgg16_classifier(weights):
    """keras.applications.VGG16 with its classifier top, for convolutionalization.

    Args:
        weights: "imagenet" (downloaded by Keras) or a local weights file path.

    Returns:
        The `keras.Model` with fc1, fc2 and predictions.

    Example:
        >>> vgg16_classifier("vgg16.weights.h5").get_layer("fc1").units  # doctest: +SKIP
        4096
    """
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

for _name, (_widths, _fc_units, _description) in VGG16_FAMILY.items():
    _pretrained = _name == "vgg16"
    register_backbone(
        BackboneSpec(
            name=_name,
            build=functools.partial(build_vgg16_taps, widths=_widths, fc_units=_fc_units),
            mean_bgr=IMAGENET_MEAN_BGR,
            classifier=vgg16_classifier if _pretrained else None,
            classifier_layers=VGG16_CLASSIFIER_LAYERS if _pretrained else {},
            description=_description,
        )
    )
