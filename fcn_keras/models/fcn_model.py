"""`FCN`: the Functional model the builders return, which knows what it was built as.

Like keras-hub's tasks, an FCN is a Keras Functional model whose config holds its
constructor's facts (`FCNConfig`): `model.variant`, `model.num_classes`,
`model.heads`, `model.backbone`, `model.padding`, `model.modalities` are read from
it, never from layer names. It saves and loads as any Keras model; the layer names
stay the authors' (score_fr, upscore2, ...), which weight conversion relies on.
"""

import dataclasses
from typing import Optional, Union

import keras

from fcn_keras.backbones.registry import PAPER_PAD
from fcn_keras.models.variants import output_classes, variant_with_score_layers


@dataclasses.dataclass(frozen=True)
class FCNConfig:
    """What an FCN was built as.

    Attributes:
        variant: "fcn32s", "fcn16s" or "fcn8s".
        num_classes: the classes it scores, or {head: classes} for several heads (as `build_fcn` takes them).
        backbone: the backbone's name ({modality: name} for a late fusion of networks); None when not known.
        padding: "paper" or "same".
        modalities: the inputs it takes, e.g. ("color",) or ("color", "depth").
        at_once: whether the skips are scaled for one-stage training.
        learn_upsampling: whether the bilinear upsamplers train.
    """

    variant: str
    num_classes: Union[int, dict]
    backbone: Optional[Union[str, dict]]
    padding: str
    modalities: tuple = ("color",)
    at_once: bool = False
    learn_upsampling: bool = False

    def __post_init__(self):
        object.__setattr__(self, "modalities", tuple(self.modalities))  # a config read from JSON holds a list
        if isinstance(self.num_classes, dict):
            object.__setattr__(self, "num_classes", {head: int(count) for head, count in self.num_classes.items()})
        else:
            object.__setattr__(self, "num_classes", int(self.num_classes))

    @property
    def heads(self):
        """{head: classes} of an FCN with several heads, None for one head."""
        return dict(self.num_classes) if isinstance(self.num_classes, dict) else None

    def as_dict(self):
        """The facts as plain JSON values (for `get_config`)."""
        return {field.name: list(value) if isinstance(value := getattr(self, field.name), tuple) else value
                for field in dataclasses.fields(self)}


@keras.saving.register_keras_serializable(package="fcn_keras")
class FCN(keras.Model):
    """A Functional FCN: inputs -> per-pixel logits, and the `FCNConfig` it was built with.

    The builders (`fcn_keras.build_fcn8s`, ...) make these; give one the tensors of a
    Functional graph and its facts to wrap a graph of your own.

    Args:
        inputs, outputs: as `keras.Model(inputs, outputs)`: the images (or {modality: images}) and the
            logits (or {head: logits}).
        name: the model's name.
        config: the `FCNConfig` of the graph; None reads it off the graph when first asked (as for the
            copies `keras.models.clone_model` makes, which call the constructor without it).

    Example:
        >>> model = fcn_keras.build_fcn16s(heads={"semantic": 33, "geometric": 3}, backbone="vgg16_tiny")
        >>> model.variant, model.heads, model.padding
        ('fcn16s', {'semantic': 33, 'geometric': 3}, 'paper')
        >>> model.save("sift.keras")
        >>> keras.models.load_model("sift.keras").fcn_config == model.fcn_config
        True
    """

    def __init__(self, inputs, outputs, name=None, *, config=None, **kwargs):
        super().__init__(inputs, outputs, name=name, **kwargs)
        if config is not None and not isinstance(config, FCNConfig):
            raise TypeError(f"config must be an FCNConfig, got {type(config).__name__}.")
        self._fcn_config = config

    @property
    def fcn_config(self):
        """The `FCNConfig` the model was built with."""
        if self._fcn_config is None:
            self._fcn_config = graph_fcn_config(self)
        return self._fcn_config

    @property
    def variant(self):
        return self.fcn_config.variant

    @property
    def num_classes(self):
        """The classes it scores; {head: classes} for several heads."""
        return self.fcn_config.num_classes

    @property
    def heads(self):
        """{head: classes} for several heads, None for one head."""
        return self.fcn_config.heads

    @property
    def backbone(self):
        return self.fcn_config.backbone

    @property
    def padding(self):
        return self.fcn_config.padding

    @property
    def modalities(self):
        return self.fcn_config.modalities

    def get_config(self):
        return {**super().get_config(), "fcn": self.fcn_config.as_dict()}  # the graph's config and the facts

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        facts = FCNConfig(**config.pop("fcn"))
        graph = keras.Model.from_config(config, custom_objects=custom_objects)  # the Functional graph, rebuilt
        return cls(graph.input, graph.output, name=graph.name, config=facts)


def fcn_config_of(model):
    """The `FCNConfig` of an FCN; for a plain Functional FCN (a `.keras` file of an earlier release), the facts its
    graph shows (see `graph_fcn_config`).

    Args:
        model: a `keras.Model`.

    Returns:
        `FCNConfig`.

    Raises:
        ValueError: the model is no FCN (its score layers are not a variant's).

    Example:
        >>> plain = keras.Model(*(lambda m: (m.input, m.output))(build_fcn8s(5, backbone="vgg16_tiny")))
        >>> fcn_config_of(plain).variant, fcn_config_of(plain).padding
        ('fcn8s', 'paper')
    """
    return model.fcn_config if isinstance(model, FCN) else graph_fcn_config(model)


def graph_fcn_config(model):
    """The facts a Functional FCN's graph shows: score layers (variant), outputs (classes), inputs (modalities),
    border (padding), name ("<variant>_<backbone>"). Only for graphs that came without their `FCNConfig`.

    Raises:
        ValueError: the model is no FCN (its score layers are not a variant's).
    """
    layers = {layer.name: layer for layer in _all_layers(model)}
    variant = variant_with_score_layers(set(layers), f"{model.name!r}")
    from fcn_keras.models.inputs import modalities_of  # it imports this module, for `late_fusion`

    borders = [layer for layer in layers.values() if isinstance(layer, keras.layers.ZeroPadding2D)
               and set(keras.tree.flatten(layer.padding)) == {PAPER_PAD}]
    upsamplers = [layer for layer in layers.values() if isinstance(layer, keras.layers.Conv2DTranspose)]
    prefix = f"{variant}_"
    return FCNConfig(
        variant=variant,
        num_classes=output_classes(model),
        backbone=model.name[len(prefix):] if model.name.startswith(prefix) else None,
        padding="paper" if borders else "same",
        modalities=tuple(modalities_of(model) or ("color",)),
        at_once=any(name.startswith("scale_pool") for name in layers),
        learn_upsampling=any(layer.trainable for layer in upsamplers),
    )


def _all_layers(model):
    """A model's layers and its nested models' (a late fusion nests one network per input)."""
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)
