"""fcn_keras: Fully Convolutional Networks for semantic segmentation in Keras 3."""

from fcn_keras import data, losses, metrics, visualize
from fcn_keras.backbones import available_backbones, get_backbone, register_backbone
from fcn_keras.evaluation import evaluate, predict
from fcn_keras.layers import BilinearUpsampling, CaffePreprocessing, CropToReference
from fcn_keras.models import (
    build_fcn,
    build_fcn8s,
    build_fcn16s,
    build_fcn32s,
    convolutionalize,
    copy_shared_weights,
    load_fcn,
)
from fcn_keras.training import train, train_staged

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
    "data",
    "evaluate",
    "get_backbone",
    "load_fcn",
    "losses",
    "metrics",
    "predict",
    "register_backbone",
    "train",
    "train_staged",
    "visualize",
]
