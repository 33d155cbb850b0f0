"""keras.applications classifiers as FCN backbones: ResNet-50/101, MobileNetV2, EfficientNetV2-B0.

Each is built without its classifier top for any input size; its stride-8, 16 and 32
block outputs are the taps. `backbone_weights="imagenet"` loads Keras' ImageNet
weights (downloaded by Keras on first use), a path loads a weights file saved from
the same network built with `include_top=False` (see `fcn_keras.backbones.pretrained`).
"""

import functools

from fcn_keras.backbones.from_model import copy_network_weights, model_backbone
from fcn_keras.backbones.pretrained import PretrainedNetwork, load_pretrained, register_pretrained
from fcn_keras.backbones.registry import CAFFE_IMAGENET, INCEPTION, TORCH_IMAGENET, BackboneSpec, register_backbone

# name: (keras.applications class, {stride: tap layer}, preprocessing its weights expect, Keras' file of its
# ImageNet weights (under KERAS_APPLICATIONS), description); smallest first, the order a weights file of
# another network is identified in.
APPLICATIONS = {
    "mobilenetv2": ("MobileNetV2", {8: "block_5_add", 16: "block_12_add", 32: "out_relu"}, INCEPTION,
                    "mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
                    "MobileNetV2 (Sandler et al. 2018), keras.applications; small and fast."),
    # Built without its own normalization layers (whose form depends on the weights in EfficientNet v1).
    "efficientnetv2b0": ("EfficientNetV2B0", {8: "block3b_add", 16: "block5e_add", 32: "top_activation"},
                         TORCH_IMAGENET, "efficientnet_v2/efficientnetv2-b0_notop.h5",
                         "EfficientNetV2-B0 (Tan & Le 2021), keras.applications; small and fast."),
    "resnet50": ("ResNet50", {8: "conv3_block4_out", 16: "conv4_block6_out", 32: "conv5_block3_out"},
                 CAFFE_IMAGENET, "resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
                 "ResNet-50 (He et al. 2016), keras.applications."),
    "resnet101": ("ResNet101", {8: "conv3_block4_out", 16: "conv4_block23_out", 32: "conv5_block3_out"},
                  CAFFE_IMAGENET, "resnet/resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5",
                  "ResNet-101 (He et al. 2016), keras.applications."),
}
OPTIONS = {"EfficientNetV2B0": {"include_preprocessing": False}}  # the normalization is the FCN's own


def application_network(class_name, weights=None):
    """A keras.applications network without its top, for images of any size.

    Args:
        class_name: e.g. "ResNet50".
        weights: None, "imagenet" or a weights file path.

    Returns:
        `keras.Model`.

    Example:
        >>> application_network("MobileNetV2").output.shape
        (None, None, None, 1280)
    """
    import keras

    return getattr(keras.applications, class_name)(include_top=False, weights=weights, input_shape=(None, None, 3),
                                                   **OPTIONS.get(class_name, {}))


def _build(class_name, taps, preprocessing, images, padding, dropout):
    return model_backbone(application_network(class_name), taps, preprocessing).build(images, padding, dropout)


def _load_weights(name, fcn, weights):
    copy_network_weights(load_pretrained(name, weights), fcn, APPLICATIONS[name][0])


for _name, (_class_name, _taps, _preprocessing, _imagenet_file, _description) in APPLICATIONS.items():
    register_pretrained(PretrainedNetwork(_name, _class_name, functools.partial(application_network, _class_name),
                                          _imagenet_file))
    register_backbone(BackboneSpec(
        name=_name,
        build=functools.partial(_build, _class_name, _taps, _preprocessing),
        preprocessing=_preprocessing,
        load_weights=functools.partial(_load_weights, _name),
        description=_description,
    ))
