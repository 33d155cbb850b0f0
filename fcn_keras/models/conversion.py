"""Trained FCN weights from another framework -> a Keras FCN in the reference geometry.

The source's layer names say the variant (its score layers) and the heads (SIFT
Flow's score_fr_sem and score_fr_geo are two), score_fr's weight the class count,
the convolution widths which backbone it is, and Caffe's scale layers whether it is
the at-once net. Layouts are converted:
convolution (out, in, kh, kw) -> Keras (kh, kw, in, out); deconvolution
(in, out, kh, kw) -> `Conv2DTranspose` (kh, kw, out, in); no spatial flip (both
frameworks correlate). Every source layer must land somewhere, and every Keras
layer with weights must get them (only a missing upsampler keeps its bilinear
start, which is what the reference fixes it to).
"""

import os

import keras
import numpy as np

from fcn_keras.backbones import available_backbones, get_backbone
from fcn_keras.data.means import CAFFE_MEAN_BGR
from fcn_keras.models.fcn import build_fcn
from fcn_keras.models.inputs import MODALITIES, late_fusion
from fcn_keras.models.variants import SCORE_FR, head_suffixes, variant_with_score_layers
from fcn_keras.precision import dtype_policy
from fcn_keras.weight_files import read_weights
from fcn_keras.write_policy import claim_files, save_atomically

EARLY_FUSION_CONV = "conv1_1_bgrd"  # the authors' colour-depth net's first convolution (BGR and log depth)


def backbone_from_layers(layers):
    """The registered backbone whose trunk the source's layers are: names and widths as it declares them.

    Args:
        layers: {name: SourceLayer}.

    Returns:
        The backbone name, e.g. "vgg16" or "alexnet".

    Raises:
        ValueError: no registered backbone has those layers and widths.

    Example:
        >>> from fcn_keras.weight_files import SourceLayer
        >>> widths = get_backbone("vgg16_tiny").layer_widths  # {conv1_1: 4, ..., fc6: 64}
        >>> backbone_from_layers({name: SourceLayer("conv", (np.zeros((width, 1, 1, 1)),))
        ...                       for name, width in widths.items()})
        'vgg16_tiny'
    """
    found = {}
    for name in available_backbones():
        declared = get_backbone(name).layer_widths
        if declared and all(layer in layers for layer in declared):
            widths = {layer: int(layers[layer].arrays[0].shape[0]) for layer in declared}
            if widths == declared:
                return name
            found[name] = widths
    if not found:
        raise ValueError("The weights have the trunk layers of no backbone of this package (VGG16's conv1_1 ... "
                         "fc6, AlexNet's conv1 ... fc6); an FCN of this package needs all of them.")
    widths = next(iter(found.values()))
    raise ValueError(f"The trunk widths {widths} match no registered backbone: {', '.join(found)} have these "
                     "layers with other widths.")


def fcn_from_weights(layers, at_once=None, mean_bgr=CAFFE_MEAN_BGR, name=None, source="the weights",
                     modalities=None):
    """Builds the FCN the weights belong to, in the paper geometry, and loads them.

    Args:
        layers: {name: SourceLayer}, from `fcn_keras.weight_files.read_weights`.
        at_once: whether the skips are scaled (FCN-8s at-once). None: as the file
            says (Caffe stores scale layers); formats that store no scale layers
            (Chainer, PyTorch) need True for at-once weights.
        mean_bgr: the mean the built-in preprocessing subtracts (the authors' by default).
        name: the Keras model's name.
        source: what to call the weights in errors (usually the file path).
        modalities: the inputs of a net whose weights cannot tell (the authors' HHA
            net: ("hha",)); their colour-depth net (conv1_1_bgrd) and colour-HHA net
            (each layer twice, suffixed "color" and "hha") are recognized by name.

    Returns:
        A float32 `keras.Model` that takes RGB in [0, 255] and gives the source net's scores.

    Raises:
        ValueError: unknown or missing layers, or a shape that differs (naming the
            layer and both shapes).

    Example:
        >>> fcn = build_fcn8s(3, backbone="vgg16_tiny")  # a tiny FCN with the authors' layer names
        >>> arrays = {f"{layer.name}/{'Wb'[i]}": w.transpose(3, 2, 0, 1) if w.ndim == 4 else w  # as Chainer's
        ...           for layer in fcn.layers for i, w in enumerate(layer.get_weights())}
        >>> np.savez("fcn8s_tiny.npz", **arrays)
        >>> model = fcn_from_weights(read_weights("fcn8s_tiny.npz"), name="fcn8s")
        >>> image = np.random.default_rng(0).uniform(0, 255, (1, 40, 40, 3))
        >>> np.allclose(model(image), fcn(image), atol=1e-5)
        True
    """
    fused = [modality for modality in MODALITIES if SCORE_FR + modality in layers]
    if fused:
        return _late_fusion_from_weights(layers, fused, at_once, mean_bgr, name, source)
    if EARLY_FUSION_CONV in layers:  # the colour-depth net's 4-channel conv1_1
        layers = {("conv1_1" if layer == EARLY_FUSION_CONV else layer): arrays for layer, arrays in layers.items()}
        modalities = ("color", "depth")
    variant, backbone = variant_with_score_layers(layers, source), backbone_from_layers(layers)
    num_classes = {head: int(layers[SCORE_FR + suffix].arrays[0].shape[0])
                   for head, suffix in head_suffixes(layers).items()}
    num_classes = num_classes.get(None, num_classes)  # {head: classes} for several heads (SIFT Flow's)
    with dtype_policy("float32"):
        model = build_fcn(variant, num_classes, backbone=backbone, padding="paper", modalities=modalities,
                          at_once=_at_once(layers, at_once, source), mean_bgr=mean_bgr, name=name)
    _load_every_layer(model, layers, f"{variant} on {backbone}", source)
    return model


def _late_fusion_from_weights(layers, modalities, at_once, mean_bgr, name, source):
    """The authors' late-fusion net: one FCN per modality from the layers suffixed with its name (and the
    unsuffixed ones, the shared fixed upsampler), their logits summed with the authors' 0.5 each."""
    networks = {}
    for modality in modalities:
        own = {layer.removesuffix(modality): arrays for layer, arrays in layers.items()
               if layer.endswith(modality) or not any(layer.endswith(other) for other in modalities)}
        networks[modality] = fcn_from_weights(own, at_once, mean_bgr, name=modality, source=source,
                                              modalities=(modality,))
    return late_fusion(networks, name=name or "late_fusion")


def _at_once(layers, at_once, source):
    """Whether the FCN is at-once: the caller's word, else whether the weights have Caffe's scale layers."""
    stored_scales = sorted(name for name, layer in layers.items() if layer.kind == "scale")
    if stored_scales and at_once is False:
        raise ValueError(f"{source} has the scale layers {stored_scales} of an at-once FCN; convert it with "
                         "at_once=True.")
    return bool(stored_scales) if at_once is None else at_once


def _load_every_layer(model, layers, network, source):
    """Loads `layers` into `model` by name: every source layer must land, every layer with weights must get
    them (an upsampler may keep its bilinear start)."""
    used = set()
    for layer in model.layers:
        if layer.name in layers:
            _load(layer, layers[layer.name], source)
            used.add(layer.name)
        elif layer.weights and not isinstance(layer, keras.layers.Conv2DTranspose):
            raise ValueError(f"{source} has no weights for layer {layer.name!r} of the {network}.")
    unused = [name for name in layers if name not in used]
    if unused:
        raise ValueError(f"{source} has layers that an {network} does not: {unused}.")


def at_once_of_file(path, layers, at_once=None):
    """Whether a weight file holds an at-once FCN-8s.

    A `.caffemodel` says so itself (its scale layers); `.npz` and `.pth` files
    store no scale layers, so without `at_once` their name decides ("atonce" in
    it, as the ports name them).

    Args:
        path: the weight file.
        layers: its layers, from `read_weights`.
        at_once: the caller's word, or None.

    Returns:
        bool.

    Raises:
        ValueError: `at_once` contradicts a `.caffemodel`.

    Example:
        >>> at_once_of_file("fcn8s-atonce_from_caffe.npz", layers={}), at_once_of_file("fcn8s_from_caffe.npz", {})
        (True, False)
    """
    path = os.fspath(path)
    if path.lower().endswith(".caffemodel"):
        stored = any(layer.kind == "scale" for layer in layers.values())
        if at_once is not None and at_once != stored:
            raise ValueError(f"{path} is {'an at-once' if stored else 'not an at-once'} FCN (its scale layers say "
                             f"so); drop at_once=True.")
        return stored
    return at_once if at_once is not None else "atonce" in os.path.basename(path).lower()


def fcn_from_file(path, at_once=None, **kwargs):
    """`fcn_from_weights` of a `.caffemodel`, `.npz` or `.pth` file, at-once as `at_once_of_file` decides.

    Args:
        path: the weight file.
        at_once: see `at_once_of_file`.
        **kwargs: `mean_bgr`, `name` and `modalities` of `fcn_from_weights`.

    Returns:
        The converted `keras.Model` (`convert_weights_file`'s example converts a file).
    """
    path = os.fspath(path)
    layers = read_weights(path)
    return fcn_from_weights(layers, at_once=at_once_of_file(path, layers, at_once), source=path, **kwargs)


def convert_weights_file(path, output, at_once=None, overwrite=False):
    """Reads a `.caffemodel`, `.npz` or `.pth` FCN and saves it as a Keras `.keras` file.

    Args:
        path: the weight file.
        output: the `.keras` file to write (never overwritten unless `overwrite`).
        at_once: whether it is an at-once FCN-8s; None: see `at_once_of_file`.
        overwrite: replace an existing `output`.

    Returns:
        The converted `keras.Model`.

    Example:
        >>> fcn = build_fcn8s(3, backbone="vgg16_tiny")  # a tiny FCN with the authors' layer names
        >>> arrays = {f"{layer.name}/{'Wb'[i]}": w.transpose(3, 2, 0, 1) if w.ndim == 4 else w  # as Chainer's
        ...           for layer in fcn.layers for i, w in enumerate(layer.get_weights())}
        >>> np.savez("fcn8s_tiny.npz", **arrays)
        >>> model = convert_weights_file("fcn8s_tiny.npz", "fcn8s.keras")
        >>> image = np.random.default_rng(0).uniform(0, 255, (1, 40, 40, 3))
        >>> np.allclose(keras.models.load_model("fcn8s.keras")(image), fcn(image), atol=1e-5)
        True
    """
    output = os.fspath(output)
    if not output.endswith(".keras"):
        raise ValueError(f"output={output} must end in .keras.")
    claim_files([output], overwrite)
    stem = os.path.splitext(os.path.basename(os.fspath(path)))[0]
    model = fcn_from_file(path, at_once, name=_model_name(stem))
    save_atomically(model, output)
    return model


def _load(layer, source_layer, source):
    expected = [tuple(weight.shape) for weight in layer.weights]
    if isinstance(layer, keras.layers.Rescaling):
        _check_scale(layer, source_layer, source)
        return
    kind = "deconv" if isinstance(layer, keras.layers.Conv2DTranspose) else "conv"
    if source_layer.kind != kind:
        raise ValueError(f"{source}: layer {layer.name!r} is a {source_layer.kind} there but a {kind} here.")
    weight, *rest = source_layer.arrays
    arrays = [np.transpose(weight, (2, 3, 1, 0))] + [np.reshape(bias, -1) for bias in rest]
    found = [tuple(array.shape) for array in arrays]
    if found != expected:
        raise ValueError(f"{source}: layer {layer.name!r} has weights of shapes {found} (after converting the "
                         f"layout) but the model needs {expected}.")
    layer.set_weights(arrays)


def _check_scale(layer, source_layer, source):
    factors = np.asarray(source_layer.arrays[0], np.float64)
    if not np.allclose(factors, layer.scale, rtol=1e-6):
        raise ValueError(f"{source}: scale layer {layer.name!r} multiplies by {np.unique(factors)[:5].tolist()}, "
                         f"but an at-once FCN scales by {layer.scale}.")


def _model_name(stem):
    return "".join(c if c.isalnum() or c == "_" else "_" for c in stem)
