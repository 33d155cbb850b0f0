"""Layers and initializers that FCN models are built from."""

from fcn_keras.layers.bilinear import BilinearUpsampling, bilinear_kernel
from fcn_keras.layers.crop import CropToReference
from fcn_keras.layers.preprocessing import CaffePreprocessing, ImagePreprocessing

__all__ = ["BilinearUpsampling", "CaffePreprocessing", "CropToReference", "ImagePreprocessing", "bilinear_kernel"]
