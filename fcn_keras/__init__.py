"""fcn_keras: Fully Convolutional Networks for semantic segmentation in Keras 3."""

from fcn_keras.backbones import available_backbones, get_backbone, register_backbone
from fcn_keras.layers import BilinearUpsampling, CaffePreprocessing, CropToReference
from fcn_keras.models import (
    build_fcn,
    build_fcn8s,
    build_fcn16s,
    build_fcn32s,
    convolutionalize,
    copy_shared_weights,
)

__version__ = "0.1.0"

__all__ = [
    "BilinearUpsampling",
    "CaffePreprocessing",
    "CropToReference",
    "available_backbones",
    "build_fcn",
    "build_fcn8s",
    "build_fcn16s",
    "build_fcn32s",
    "convolutionalize",
    "copy_shared_weights",
    "get_backbone",
    "register_backbone",
]
