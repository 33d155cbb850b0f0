"""FCN model builders, convolutionalization and staged initialization."""

from fcn_keras.models.cost import convolution_flops
from fcn_keras.models.convolutionalize import convolutionalize, load_backbone_weights
from fcn_keras.models.loading import load_fcn, num_classes_of
from fcn_keras.models.fcn import build_fcn, build_fcn8s, build_fcn16s, build_fcn32s
from fcn_keras.models.staged import copy_shared_weights

__all__ = [
    "build_fcn",
    "build_fcn8s",
    "build_fcn16s",
    "build_fcn32s",
    "convolution_flops",
    "convolutionalize",
    "copy_shared_weights",
    "load_backbone_weights",
    "load_fcn",
    "num_classes_of",
]
