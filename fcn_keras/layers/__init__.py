"""Layers and initializers that FCN models are built from."""

from fcn_keras.layers.bilinear import BilinearUpsampling, bilinear_kernel
from fcn_keras.layers.crop import CropToReference
from fcn_keras.layers.preprocessing import CaffePreprocessing

__all__ = ["BilinearUpsampling", "CaffePreprocessing", "CropToReference", "bilinear_kernel"]
