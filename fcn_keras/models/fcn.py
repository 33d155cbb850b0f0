"""FCN-32s, FCN-16s and FCN-8s builders (Long, Shelhamer & Darrell, CVPR 2015)."""

import os

import keras

from fcn_keras.arguments import class_counts, modality_names
from fcn_keras.backbones import BackboneSpec, available_backbones, get_backbone, model_backbone
from fcn_keras.defaults import DEFAULT_BACKBONE, DEFAULT_PADDING
from fcn_keras.geometry import Grid, GridError, tensor_grid
from fcn_keras.keras_internals import tensor_history
from fcn_keras.layers import BilinearUpsampling, CropToReference
from fcn_keras.models.fcn_model import FCN, FCNConfig, classes_of
from fcn_keras.models.inputs import model_inputs, normalized_inputs, widen_first_convolution
from fcn_keras.models.shared_weights import copy_shared_weights
from fcn_keras.models.variants import PADDINGS, VARIANTS, head_suffix
from fcn_keras.network import DownloadError


def build_fcn(
    variant,
    num_classes=None,
    *,
    heads=None,
    modalities=None,
    backbone=DEFAULT_BACKBONE,
    taps=None,
    backbone_weights=None,
    input_shape=(None, None, 3),
    padding=DEFAULT_PADDING,
    at_once=False,
    init_from=None,
    dropout=0.5,
    learn_upsampling=False,
    mean_bgr=None,
    name=None,
):
    """Builds an FCN, a Keras Functional model that knows what it is: RGB images in, per-pixel logits out.

    The model takes float RGB in [0, 255] of shape (N, H, W, 3) and returns
    float32 logits (N, H, W, num_classes) of exactly the input's H and W. The
    backbone's normalization is inside the graph. Where the backbone's taps sit
    in the image (and so every crop of the head) is derived from its layers.

    Args:
        variant: "fcn32s", "fcn16s" or "fcn8s".
        num_classes: number of classes (default 21: PASCAL VOC); a dict is taken as `heads`
            (as `model.num_classes` and the data sources of several heads give it).
        heads: instead of `num_classes`, several heads on one trunk, {name: classes},
            e.g. SIFT Flow's {"semantic": 33, "geometric": 3}: each has its own score
            layers, skips and upsamplers (named with the head's suffix, as the authors'
            score_fr_sem and score_geo), and the model returns {name: logits}.
        modalities: instead of one RGB image, the NYUDv2 inputs it takes, stacked as
            channels before the first convolution (early fusion), e.g. ("color", "depth")
            for the authors' colour-depth net or ("hha",) for their HHA net (see
            `fcn_keras.data.modalities.MODALITIES`); several give a model taking
            {modality: image}. `backbone_weights` then load into the colour channels and
            each extra channel starts at their mean, as the authors did.
        backbone: a registered backbone name (see `available_backbones()`), a
            `BackboneSpec`, or your own Functional `keras.Model` (with `taps`).
        taps: for a `keras.Model` backbone, {stride: layer name} of its stride-8, 16
            and 32 maps (default: a keras-hub backbone's pyramid outputs).
        backbone_weights: None (random), "imagenet" or a local weights file of the
            backbone's pretrained network (for VGG16, its classifier, convolutionalized).
        input_shape: (H, W, 3); H and W may be None for any size.
        padding: "paper" (reference geometry: 100 pixels of zeros around the image;
            for VGG16 also ceil pools and a VALID fc6, crops 19 / 5, 27 / 5, 9, 31)
            or "same" (compact, about half the FLOPs).
        at_once: scale pool4 by 0.01 and pool3 by 0.0001 before scoring, for
            training FCN-16s/8s in one stage.
        init_from: a trained coarser FCN (e.g. FCN-32s for an FCN-16s) whose layers
            are copied by name; the new score layers start at zero.
        dropout: dropout rate after fc6 and fc7 of backbones that have them (0 for none).
        learn_upsampling: False keeps the bilinear upsamplers fixed, as the
            reference does; True trains them from their bilinear start.
        mean_bgr: the (B, G, R) mean the built-in preprocessing subtracts; default:
            the backbone's. Saved with the model (e.g. the authors' Caffe mean for
            their released weights).
        name: model name, default "<variant>_<backbone>".

    Returns:
        An `FCN` (see `fcn_keras.models.fcn_model`): `model.variant`, `model.num_classes`,
        `model.heads`, `model.backbone`, `model.padding`, `model.modalities` say what it is.

    Example:
        >>> model = build_fcn("fcn8s", 21, backbone="vgg16_tiny", padding="same")
        >>> model(np.zeros((1, 61, 77, 3))).shape
        TensorShape([1, 61, 77, 21])
        >>> model.variant, model.num_classes, model.backbone
        ('fcn8s', 21, 'vgg16_tiny')
    """
    heads = class_counts(num_classes, heads)
    modalities = None if modalities is None else modality_names(modalities)
    _check_arguments(variant, input_shape, padding, at_once, modalities)
    spec = _backbone_spec(backbone, taps)
    if backbone_weights is not None and init_from is not None:
        raise ValueError("Give backbone_weights or init_from, not both: init_from copies the backbone too.")
    if init_from is not None:
        _check_same_heads(init_from, heads)

    inputs = model_inputs(modalities or ("color",), *input_shape[:2])
    preprocessing = dict(spec.preprocessing)
    if mean_bgr is not None:
        preprocessing["mean_rgb"] = tuple(reversed(mean_bgr))
    features = normalized_inputs(inputs, preprocessing)
    images = next(iter(inputs.values()))  # any input: the output takes its size
    taps = _checked_taps(spec, spec.build(features, padding, dropout), variant)
    if at_once:  # the skips' features scaled once, for every head
        for skip in VARIANTS[variant].skips:
            tensor, grid = taps[skip.stride]
            taps[skip.stride] = (keras.layers.Rescaling(skip.at_once_scale, name=skip.scale)(tensor), grid)
    upsample = _upsampler(learn_upsampling)
    logits = {head: _head(VARIANTS[variant].for_head(head_suffix(head)), classes, taps, upsample, images)
              for head, classes in heads.items()}
    config = FCNConfig(variant, heads.get(None, heads), spec.name, padding, tuple(inputs), at_once, learn_upsampling)
    model = FCN(images if len(inputs) == 1 else inputs, logits.get(None, logits),
                name=name or f"{variant}_{spec.name}", config=config)
    if backbone_weights is not None and features.shape[-1] != 3:  # load a colour twin's, widen its first kernel
        twin = build_fcn(variant, heads.get(None, heads), backbone=spec, backbone_weights=backbone_weights,
                         padding=padding, dropout=dropout)
        copy_shared_weights(twin, model, widen=widen_first_convolution)
    elif backbone_weights is not None:
        _load_backbone_weights(model, spec, backbone_weights)
    if init_from is not None:
        copy_shared_weights(init_from, model)
    return model


def build_fcn32s(num_classes=None, **kwargs):
    """FCN-32s: score fc7, upsample 32x (64/32 bilinear), crop.

    Args:
        num_classes: number of classes (default 21), or give `heads`.
        **kwargs: the keyword arguments of `build_fcn`.

    Returns:
        An `FCN`.

    Example:
        >>> model = build_fcn32s(21, backbone="vgg16_tiny")
        >>> tuple(model.get_layer("upscore").kernel.shape)  # 64 x 64, stride 32
        (64, 64, 21, 21)
    """
    return build_fcn("fcn32s", num_classes, **kwargs)


def build_fcn16s(num_classes=None, **kwargs):
    """FCN-16s: FCN-32s plus a pool4 skip; `init_from=` a trained FCN-32s.

    Args:
        num_classes: number of classes (default 21), or give `heads`.
        **kwargs: the keyword arguments of `build_fcn`.

    Returns:
        An `FCN`.

    Example:
        >>> fcn32s = build_fcn32s(21, backbone="vgg16_tiny")  # trained first, in the paper
        >>> model = build_fcn16s(21, backbone="vgg16_tiny", init_from=fcn32s)
        >>> np.array_equal(model.get_layer("fc7").kernel.numpy(), fcn32s.get_layer("fc7").kernel.numpy())
        True
    """
    return build_fcn("fcn16s", num_classes, **kwargs)


def build_fcn8s(num_classes=None, at_once=False, **kwargs):
    """FCN-8s: FCN-16s plus a pool3 skip; `at_once=True` for one-stage training.

    Args:
        num_classes: number of classes (default 21), or give `heads`.
        at_once: scale pool4 by 0.01 and pool3 by 0.0001 before scoring.
        **kwargs: the other keyword arguments of `build_fcn`.

    Returns:
        An `FCN`.

    Example:
        >>> model = build_fcn8s(21)
        >>> model.count_params()  # 134,489,759 as in the paper's 134M
        134489759
    """
    return build_fcn("fcn8s", num_classes, at_once=at_once, **kwargs)


def _check_arguments(variant, input_shape, padding, at_once, modalities):
    if variant not in VARIANTS:
        raise ValueError(f"Unknown variant {variant!r}. Valid variants: {', '.join(VARIANTS)}.")
    if padding not in PADDINGS:
        raise ValueError(f"Unknown padding {padding!r}. Valid padding modes: {', '.join(PADDINGS)}.")
    if len(input_shape) != 3 or (modalities is None and input_shape[-1] != 3):  # modalities set their channels
        raise ValueError(
            f"input_shape must be (height, width, 3) for RGB images, got {tuple(input_shape)}; "
            "convert grayscale or RGBA images to RGB first."
        )
    if at_once and not VARIANTS[variant].skips:
        raise ValueError("at_once applies to the skip layers of fcn16s and fcn8s; fcn32s has none.")


def _check_same_heads(init_from, heads):
    """Refuses to start a model from one with other heads: its score layers would stay at zero."""
    if not isinstance(init_from, keras.Model):
        raise TypeError(f"init_from must be a trained FCN (a keras.Model), got {type(init_from).__name__}; load a "
                        "file first with fcn_keras.load_fcn(path).")
    try:
        theirs = classes_of(init_from)
    except (AttributeError, ValueError):  # no score-map output: `copy_shared_weights` says what it lacks
        return
    theirs = theirs if isinstance(theirs, dict) else {None: theirs}
    if set(theirs) != set(heads):
        raise ValueError(f"init_from={init_from.name!r} has {_described(theirs)}, the new model "
                         f"{_described(heads)}: staged training continues the same heads; build the new model with "
                         f"{'num_classes' if None in theirs else 'heads'}={theirs.get(None, theirs)!r}.")


def _described(heads):
    """{head: classes} in words: "one head of 21 classes", "heads 'semantic' (33), 'geometric' (3)"."""
    if None in heads:
        return f"one head of {heads[None]} classes"
    return "heads " + ", ".join(f"{head!r} ({classes})" for head, classes in heads.items())


def _backbone_spec(backbone, taps):
    if isinstance(backbone, BackboneSpec):
        return backbone
    if isinstance(backbone, keras.Model):
        return model_backbone(backbone, taps)
    if taps is not None:
        raise ValueError(f"taps= picks the layers of a keras.Model backbone; the registered backbone {backbone!r} "
                         "has its own.")
    return get_backbone(backbone)


def _checked_taps(spec, tensors, variant):
    """{stride: (tensor, grid)} of the strides `variant` needs, each grid derived and checked."""
    needed = [32, *(skip.stride for skip in VARIANTS[variant].skips)]
    missing = [stride for stride in needed if stride not in tensors]
    if missing:
        raise ValueError(f"Backbone {spec.name!r} has no tap at stride {missing[0]}; {variant} needs strides "
                         f"{sorted(needed)}.")
    taps = {}
    for stride in needed:
        grid = tensor_grid(tensors[stride])
        if grid.stride != stride:
            raise ValueError(f"The tap of backbone {spec.name!r} given for stride {stride} "
                             f"({_producer(tensors[stride]).name!r}) has stride {grid.stride}: "
                             f"tap the layer whose output is 1/{stride} of the image size.")
        taps[stride] = (tensors[stride], grid)
    return taps


def _producer(tensor):
    """The layer that computes `tensor`, looked up inside nested models."""
    operation, _, index = tensor_history(tensor)
    return _producer(operation.outputs[index]) if isinstance(operation, keras.Model) else operation


def _load_backbone_weights(model, spec, weights):
    if spec.load_weights is None:
        with_weights = [name for name in available_backbones() if get_backbone(name).load_weights]
        raise ValueError(f"Backbone {spec.name!r} has no pretrained weights; use backbone_weights=None or a "
                         f"backbone that has them ({', '.join(with_weights)}).")
    if weights != "imagenet" and not os.path.isfile(str(weights)):
        raise FileNotFoundError(f"backbone_weights: no weights file at {weights!r}; give 'imagenet', None or the "
                                f"path of a {spec.name} weights file.")
    try:
        spec.load_weights(model, weights)
    except DownloadError:
        raise  # its message names what could not be fetched and where to put it by hand
    except (ValueError, OSError) as error:
        raise ValueError(f"Could not load {spec.name} weights from {weights!r}: {error}") from error


def _score(num_classes, name):
    # Score layers start at zero, as in the reference: new skips add nothing at first.
    return keras.layers.Conv2D(num_classes, 1, kernel_initializer="zeros", name=name)


def _head(variant, num_classes, taps, upsample, images):
    """One head's logits: score the stride-32 tap, fuse each skip (`variant`'s, coarse to fine), upsample to
    the image and crop to it (the crop also casts to float32, so logits are float32 under mixed precision)."""
    score, grid = _score(num_classes, variant.score_fr)(taps[32][0]), taps[32][1]
    for skip in variant.skips:
        features, skip_grid = taps[skip.stride]
        score, grid = upsample(score, grid, skip_grid, skip.upsampler)
        skip_score = _score(num_classes, skip.score)(features)
        score, skip_score, grid = _align(score, grid, skip_score, skip_grid, skip)
        score = keras.layers.Add(name=skip.fuse)([score, skip_score])
    score, grid = upsample(score, grid, Grid(), variant.upscorer)
    return CropToReference(_crop_offset(grid.offset), name=variant.output, dtype="float32")([score, images])


def _upsampler(trainable):
    """Returns `upsample(x, grid, target, name) -> (x, grid)`: a bilinear Conv2DTranspose from `grid`'s
    stride to `target`'s, whose kernel (2f or 2f - 1 for factor f) puts its outputs on `target`'s pixels."""

    def upsample(x, grid, target, name):
        factor = grid.stride // target.stride
        lag = ((grid.offset - target.offset) / target.stride) % 1  # of a target pixel
        if lag not in (0.0, 0.5):
            raise GridError(f"{name}: the stride-{grid.stride} scores sit {lag} of a pixel off the stride-"
                            f"{target.stride} grid they are fused with; no bilinear upsampling lines them up.")
        kernel = 2 * factor if lag == 0.5 else 2 * factor - 1  # even kernels move the centre by half a pixel
        layer = keras.layers.Conv2DTranspose(
            x.shape[-1],
            kernel,
            strides=factor,
            padding="valid",
            use_bias=False,
            kernel_initializer=BilinearUpsampling(),
            trainable=trainable,
            name=name,
        )
        return layer(x), grid.transposed_conv(kernel, factor)

    return upsample


def _align(upsampled, up_grid, skip_scores, skip_grid, skip):
    """Crops whichever map starts earlier so both cover the same pixels; returns both and their grid."""
    shift = up_grid.shift_to(skip_grid)  # index in `upsampled` of the skip's first pixel
    if shift < 0:  # the skip starts first, as in the reference geometry (Caffe's score_pool4c, score_pool3c)
        return upsampled, CropToReference(-shift, name=skip.crop)([skip_scores, upsampled]), up_grid
    return CropToReference(shift, name=skip.upsample_crop)([upsampled, skip_scores]), skip_scores, skip_grid


def _crop_offset(offset):
    if offset > 0 or offset != int(offset):
        raise ValueError(f"The output grid starts at input pixel {offset}; it must be a whole pixel <= 0.")
    return int(-offset)
