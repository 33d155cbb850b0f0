"""Layers and initializers that FCN models are built from."""

from fcn_keras.layers.bilinear import BilinearUpsampling, bilinear_kernel
from fcn_keras.layers.crop import CropToReference
from fcn_keras.layers.grouped_conv import GroupedConv2D
from fcn_keras.layers.log_depth import LogDepth
from fcn_keras.layers.lrn import LocalResponseNormalization
from fcn_keras.layers.preprocessing import CaffePreprocessing, ImagePreprocessing

__all__ = ["BilinearUpsampling", "CaffePreprocessing", "CropToReference", "GroupedConv2D", "ImagePreprocessing",
           "LocalResponseNormalization", "LogDepth", "bilinear_kernel"]
