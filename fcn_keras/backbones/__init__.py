"""Backbones: registry plus one module per network; importing registers them."""

from fcn_keras.backbones import vgg  # noqa: F401  (registers the VGG16 family)
from fcn_keras.backbones.registry import (
    BackboneSpec,
    Tap,
    available_backbones,
    get_backbone,
    register_backbone,
)

__all__ = ["BackboneSpec", "Tap", "available_backbones", "get_backbone", "register_backbone"]
