"""Backbones: the registry, one module per family, and any Keras model; importing registers them.

Importing needs neither Keras nor TensorFlow (nor NumPy): the families import them inside the functions
that lay layers or load weights, so reading the registry (names, descriptions, which load weights) is instant.
"""

from fcn_keras.backbones import alexnet, applications, googlenet, hub, vgg  # noqa: F401  (register the families)
from fcn_keras.backbones.from_model import model_backbone
from fcn_keras.backbones.registry import (
    BackboneSpec,
    available_backbones,
    get_backbone,
    register_backbone,
)
from fcn_keras.backbones.surgery import convolutionalize

__all__ = ["BackboneSpec", "available_backbones", "convolutionalize", "get_backbone", "model_backbone",
           "register_backbone"]
