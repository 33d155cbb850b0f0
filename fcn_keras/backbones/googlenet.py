"""GoogLeNet (Inception v1, Szegedy et al. 2015) as an FCN backbone, in the Caffe geometry of BVLC's bvlc_googlenet.

The trunk of BVLC's train_val.prototxt up to inception_5b, without its 7x7
average pool, classifier and auxiliary heads (the paper: "discard the final
average pooling layer"; 6M parameters): conv1/7x7_s2, 3x3/2 max pool rounding
up, LRN, conv2/3x3_reduce, conv2/3x3, LRN, pool, inception 3a-3b, pool, 4a-4e,
pool, 5a-5b; every convolution with ReLU. An inception module concatenates, in
this order, a 1x1; a 1x1 reduce then 3x3 (pad 1); a 1x1 reduce then 5x5 (pad 2);
a 3x3/1 max pool (pad 1) then a 1x1 projection. Taps: inception_3b (stride 8),
inception_4e (16), inception_5b (32). `dropout` (if nonzero) follows inception_5b
as `pool5_drop`, where GoogLeNet's own 0.4 dropout sat (after the average pool
the FCN drops).

"paper" pads conv1 by 100 instead of 3, as the reference FCNs do; "same" keeps
Caffe's pads and frames the 3x3/2 pools all round, so maps are ceil(H / stride).
Keras layer names cannot hold "/": each Caffe name's "/" becomes "_"
(`conv1/7x7_s2` -> `conv1_7x7_s2`), and `CAFFE_LAYERS` maps one to the other.
ImageNet weights: BVLC's `bvlc_googlenet.caffemodel`, given as
`backbone_weights=PATH`; its input is BGR minus (104, 117, 123), the mean of its
train_val.prototxt.
"""

import functools

from fcn_keras.backbones.caffe_trained import ceil_max_pool, register_caffe_backbone
from fcn_keras.backbones.registry import PAPER_PAD

BVLC_GOOGLENET_MEAN = {"mean_rgb": (123.0, 117.0, 104.0), "channel_order": "BGR"}  # mean_value 104, 117, 123 (BGR)
BRANCHES = ("1x1", "3x3_reduce", "3x3", "5x5_reduce", "5x5", "pool_proj")  # an inception module's convolutions
STEM = ("conv1/7x7_s2", "conv2/3x3_reduce", "conv2/3x3")
# Inception modules by stride, each with its BRANCHES' widths (BVLC's train_val.prototxt); a 3x3/2 pool
# (Caffe name) comes before each stage after the first, and the stage's last module is its tap.
STAGES = (
    (8, None, {"inception_3a": (64, 96, 128, 16, 32, 32), "inception_3b": (128, 128, 192, 32, 96, 64)}),
    (16, "pool3/3x3_s2", {"inception_4a": (192, 96, 208, 16, 48, 64), "inception_4b": (160, 112, 224, 24, 64, 64),
                          "inception_4c": (128, 128, 256, 24, 64, 64), "inception_4d": (112, 144, 288, 32, 64, 64),
                          "inception_4e": (256, 160, 320, 32, 128, 128)}),
    (32, "pool4/3x3_s2", {"inception_5a": (256, 160, 320, 32, 128, 128),
                          "inception_5b": (384, 192, 384, 48, 128, 128)}),
)
STEM_WIDTHS = (64, 64, 192)


def keras_name(caffe_name):
    """The Keras layer name of a Caffe layer: "/" (which Keras names cannot hold) becomes "_"."""
    return caffe_name.replace("/", "_")


def build_googlenet_taps(images, padding, dropout, stem_widths=STEM_WIDTHS, stages=STAGES):
    """Builds GoogLeNet's trunk (Keras forms of BVLC's names) on `images`; returns its taps at strides 8, 16, 32.

    Args:
        images: preprocessed (BGR, mean-subtracted) image tensor (N, H, W, 3).
        padding: "paper" or "same" (see the module docstring).
        dropout: rate of `pool5_drop` after inception_5b (0 for none).
        stem_widths: filters of conv1/7x7_s2, conv2/3x3_reduce and conv2/3x3, (64, 64, 192) for GoogLeNet.
        stages: (stride, pool before it or None, {module: BRANCHES' widths}) for each stage, as `STAGES`.

    Returns:
        {8: inception_3b's output, 16: inception_4e's, 32: inception_5b's (after pool5_drop)}.

    Example:
        >>> taps = build_googlenet_taps(keras.Input((None, None, 3)), "paper", 0.4)
        >>> tensor_grid(taps[8]), tensor_grid(taps[32])
        (Grid(stride=8, offset=-91.0), Grid(stride=32, offset=-67.0))
        >>> tensor_grid(build_googlenet_taps(keras.Input((None, None, 3)), "same", 0)[32])
        Grid(stride=32, offset=0.0)
    """
    import keras

    from fcn_keras.layers.lrn import LocalResponseNormalization

    conv1, reduce2, conv2 = (keras_name(name) for name in STEM)
    x = keras.layers.ZeroPadding2D(PAPER_PAD if padding == "paper" else 3, name=f"{conv1}_pad")(images)
    x = keras.layers.Conv2D(stem_widths[0], 7, strides=2, activation="relu", name=conv1)(x)
    x = ceil_max_pool(x, "pool1_3x3_s2", padding)
    x = LocalResponseNormalization(5, 1e-4, 0.75, name="pool1_norm1")(x)
    x = keras.layers.Conv2D(stem_widths[1], 1, activation="relu", name=reduce2)(x)
    x = keras.layers.Conv2D(stem_widths[2], 3, padding="same", activation="relu", name=conv2)(x)
    x = LocalResponseNormalization(5, 1e-4, 0.75, name="conv2_norm2")(x)
    x = ceil_max_pool(x, "pool2_3x3_s2", padding)
    taps = {}
    for stride, pool, modules in stages:
        if pool:
            x = ceil_max_pool(x, keras_name(pool), padding)
        for module, widths in modules.items():
            x = _inception(x, module, widths)
        taps[stride] = x
    if dropout:
        taps[32] = keras.layers.Dropout(dropout, name="pool5_drop")(taps[32])
    return taps


def _inception(x, name, widths):
    """An inception module: its four branches concatenated on the channel axis, in Caffe's order."""
    import keras

    width = dict(zip(BRANCHES, widths))

    def conv(inputs, branch, kernel):
        return keras.layers.Conv2D(width[branch], kernel, padding="same", activation="relu",
                                   name=f"{name}_{branch}")(inputs)

    pooled = keras.layers.MaxPooling2D(3, 1, padding="same", name=f"{name}_pool")(x)  # Caffe's pad-1 max pool
    branches = [conv(x, "1x1", 1), conv(conv(x, "3x3_reduce", 1), "3x3", 3),
                conv(conv(x, "5x5_reduce", 1), "5x5", 5), conv(pooled, "pool_proj", 1)]
    return keras.layers.Concatenate(name=f"{name}_output")(branches)


def caffe_layers(stages=STAGES):
    """{Caffe layer name: Keras layer name} of every convolution of the trunk, in the prototxt's order.

    Example:
        >>> list(caffe_layers().items())[3]
        ('inception_3a/1x1', 'inception_3a_1x1')
    """
    names = list(STEM) + [f"{module}/{branch}" for _, _, modules in stages for module in modules
                          for branch in BRANCHES]
    return {name: keras_name(name) for name in names}


CAFFE_LAYERS = caffe_layers()


def _trunk_widths(stem_widths, stages):
    """The output channels of the convolutions `caffe_layers(stages)` names, in its order."""
    return [*stem_widths, *(width for _, _, modules in stages for widths in modules.values() for width in widths)]


def _narrow(widths, divisor=8, least=4):
    return tuple(max(least, width // divisor) for width in widths)


# name: (stem widths, stages, description). Only "googlenet" has ImageNet weights.
GOOGLENET_FAMILY = {
    "googlenet": (STEM_WIDTHS, STAGES,
                  "GoogLeNet (Inception v1) without its average pool and classifier, the paper's FCN-GoogLeNet "
                  "(6M trunk parameters); ImageNet weights from bvlc_googlenet.caffemodel."),
    "googlenet_tiny": (_narrow(STEM_WIDTHS),
                       tuple((stride, pool, {module: _narrow(widths) for module, widths in modules.items()})
                             for stride, pool, modules in STAGES),
                       "GoogLeNet layout, narrow (widths / 8, at least 4); for tests (weights: a Caffe file of its "
                       "widths)."),
}

for _name, (_stem, _stages, _description) in GOOGLENET_FAMILY.items():
    register_caffe_backbone(_name, functools.partial(build_googlenet_taps, stem_widths=_stem, stages=_stages),
                            BVLC_GOOGLENET_MEAN, CAFFE_LAYERS, _trunk_widths(_stem, _stages),
                            "bvlc_googlenet.caffemodel", _description)
