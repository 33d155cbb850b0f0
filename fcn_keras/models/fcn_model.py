"""`FCN`: the Functional model the builders return, which knows what it was built as.

Like keras-hub's tasks, an FCN is a Keras Functional model whose config holds its
constructor's facts (`FCNConfig`): `model.variant`, `model.num_classes`,
`model.heads`, `model.backbone`, `model.padding`, `model.modalities` are read from
it, never from layer names. It saves and loads as any Keras model; the layer names
stay the authors' (score_fr, upscore2, ...), which weight conversion relies on.

The functions below (`classes_of`, `heads_of`, `num_classes_of`, `variant_of`,
`modalities_of`) take any model: an FCN's facts come from its config; a plain
Functional FCN's (a `.keras` file of an earlier release) are read off its graph
once (`graph_fcn_config`), and a model of your own is read by its outputs and inputs.
"""

import dataclasses
from typing import Optional, Union

import keras

from fcn_keras.backbones.registry import PAPER_PAD
from fcn_keras.models.variants import variant_with_score_layers
from fcn_keras.tiling import all_layers, input_padding

IMAGES = "images"  # the input of a model with one input


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
            copies `keras.models.clone_model` makes, which call the constructor without it: their
            backbone is then known only from a name of the form "<variant>_<backbone>").

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
        return self.fcn_config.heads or self.fcn_config.num_classes

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
        return cls(graph.input, graph.output, name=graph.name, trainable=graph.trainable, config=facts)


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
        >>> built = build_fcn8s(5, backbone="vgg16_tiny")
        >>> plain = keras.Model(built.input, built.output)  # as an earlier release saved it
        >>> fcn_config_of(plain).variant, fcn_config_of(plain).padding
        ('fcn8s', 'paper')
    """
    return model.fcn_config if isinstance(model, FCN) else graph_fcn_config(model)


def graph_fcn_config(model):
    """The facts a Functional FCN's graph shows: score layers (variant), outputs (classes), inputs (modalities),
    border (padding), name ("<variant>_<backbone>"). Only for graphs that came without their `FCNConfig`.

    Raises:
        ValueError: the model is no FCN: its score layers are not a variant's, or it has no output yet.

    Example:
        >>> built = build_fcn16s(heads={"semantic": 4, "geometric": 3}, backbone="vgg16_tiny", padding="same")
        >>> graph_fcn_config(keras.Model(built.input, built.output, name="fcn16s_vgg16_tiny"))
        FCNConfig(variant='fcn16s', num_classes={'semantic': 4, 'geometric': 3}, backbone='vgg16_tiny', \
padding='same', modalities=('color',), at_once=False, learn_upsampling=False)
    """
    layers = {layer.name: layer for layer in all_layers(model)}
    variant = variant_with_score_layers(set(layers), f"{model.name!r}")
    classes = output_classes(model)
    if classes is None:
        raise ValueError(f"{model.name!r} has no output yet: call it on inputs (or load a saved model) first.")
    prefix = f"{variant}_"
    return FCNConfig(
        variant=variant,
        num_classes=classes,
        backbone=model.name[len(prefix):] if model.name.startswith(prefix) else None,
        padding="paper" if input_padding(model) == PAPER_PAD else "same",
        modalities=_named_modalities(model),
        at_once=any(name.startswith("scale_pool") for name in layers),
        learn_upsampling=any(layer.trainable for layer in layers.values()
                             if isinstance(layer, keras.layers.Conv2DTranspose)),
    )


def variant_of(model):
    """"fcn32s", "fcn16s" or "fcn8s": an FCN's (for a plain Functional FCN, read off its score layers).

    Raises:
        ValueError: the model's score layers are not those of any variant.

    Example:
        >>> variant_of(build_fcn16s(21, backbone="vgg16_tiny"))
        'fcn16s'
    """
    return fcn_config_of(model).variant


def classes_of(model):
    """The classes a model scores: an int, or {head: classes} for several heads (as `build_fcn` takes them).

    Example:
        >>> classes_of(build_fcn8s(21, backbone="vgg16_tiny"))
        21
        >>> classes_of(build_fcn16s(heads={"semantic": 33, "geometric": 3}, backbone="vgg16_tiny"))
        {'semantic': 33, 'geometric': 3}
    """
    return model.num_classes if isinstance(model, FCN) else output_classes(model)


def heads_of(model):
    """{head: classes} of a model with several heads, None for one head.

    Example:
        >>> heads_of(build_fcn16s(heads={"semantic": 33, "geometric": 3}, backbone="vgg16_tiny"))
        {'semantic': 33, 'geometric': 3}
        >>> heads_of(build_fcn16s(21, backbone="vgg16_tiny")) is None
        True
    """
    classes = classes_of(model)
    return classes if isinstance(classes, dict) else None


def num_classes_of(model):
    """The number of classes a one-headed model scores.

    Raises:
        ValueError: the model has several heads (`heads_of` gives their classes).

    Example:
        >>> num_classes_of(build_fcn8s(21, backbone="vgg16_tiny"))
        21
    """
    classes = classes_of(model)
    if isinstance(classes, dict):
        raise ValueError(f"{model.name!r} has several heads, {classes}: give the classes per head "
                         "(fcn_keras.models.heads_of).")
    return classes


def output_classes(model):
    """The classes a model's outputs score, read off their last dimension: an int, {head: classes} for dict
    outputs, None for a model never called (no output yet). Any object with Keras-like `output` specs will do
    (the runtime models of exported files have them).

    Example:
        >>> images = keras.Input((None, None, 3))
        >>> output_classes(keras.Model(images, keras.layers.Conv2D(7, 1)(images)))
        7
    """
    try:
        output = model.output
    except (AttributeError, ValueError):
        return None
    if isinstance(output, dict):
        return {head: int(tensor.shape[-1]) for head, tensor in output.items()}
    return int(output.shape[-1])


def takes_named_inputs(model):
    """Whether `model` takes a dict {modality: images} (several inputs) rather than one array.

    Example:
        >>> takes_named_inputs(fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", modalities=("color", "depth")))
        True
        >>> takes_named_inputs(fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", modalities=("hha",)))
        False
    """
    return isinstance(model.input, dict)


def input_modalities(model):
    """The modalities a model takes, e.g. ("color",) or ("color", "depth"): an FCN's, or read off the input
    names of another model (one input named "images" is colour images).

    Example:
        >>> input_modalities(fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", modalities=("hha",)))
        ('hha',)
    """
    return model.modalities if isinstance(model, FCN) else _named_modalities(model)


def _named_modalities(model):
    """The modalities a graph's input names say."""
    names = tuple(model.input) if takes_named_inputs(model) else (model.inputs[0].name,)
    return ("color",) if names == (IMAGES,) else names


def modalities_of(model):
    """The modalities a model takes, as a list; None for colour images alone.

    Example:
        >>> modalities_of(fcn_keras.build_fcn32s(3, backbone="vgg16_tiny", modalities=("hha",)))
        ['hha']
        >>> modalities_of(fcn_keras.build_fcn32s(3, backbone="vgg16_tiny")) is None
        True
    """
    modalities = input_modalities(model)
    return None if modalities == ("color",) else list(modalities)
