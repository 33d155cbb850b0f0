"""Copying weights between models by layer name: staged training (FCN §4.2), warm starts, pretrained backbones."""


def copy_shared_weights(source, target, widen=None):
    """Copies the weights of every layer of `target` that `source` has by name.

    Layers only `target` has (the new skip score layers, new upsamplers) keep
    their initial values: zero for score layers, bilinear for upsamplers.

    Args:
        source: the trained coarser model, e.g. an FCN-32s.
        target: the new model, e.g. an FCN-16s of the same backbone and classes.
        widen: for a `target` taking more input channels (early fusion),
            `widen(kernel, channels)` gives a convolution kernel with fewer input
            channels in `source` the target's (e.g. `inputs.widen_first_convolution`).

    Returns:
        The names of the layers that received weights.

    Example:
        >>> fcn32s = fcn_keras.build_fcn32s(21, backbone="vgg16_tiny")  # trained first, in the paper
        >>> fcn16s = fcn_keras.build_fcn16s(21, backbone="vgg16_tiny")
        >>> "score_fr" in copy_shared_weights(fcn32s, fcn16s)
        True
    """
    source_layers = {layer.name: layer for layer in source.layers}
    copied = []
    for layer in target.layers:
        if not layer.weights or layer.name not in source_layers:
            continue
        weights = source_layers[layer.name].get_weights()
        expected = [w.shape for w in layer.get_weights()]
        if widen and _only_input_channels_differ(weights[0].shape, expected[0]):
            weights[0] = widen(weights[0], expected[0][2])
        if [w.shape for w in weights] != expected:
            raise ValueError(
                f"Layer {layer.name!r} has weights {[w.shape for w in weights]} in {source.name!r} but "
                f"{expected} in {target.name!r}; weights copied by layer name need the same backbone (and, "
                "between FCNs, the same num_classes)."
            )
        layer.set_weights(weights)
        copied.append(layer.name)
    if not copied:
        raise ValueError(
            f"{source.name!r} shares no layer names with {target.name!r}, so no weights could be copied; "
            "pass a model built on the same backbone."
        )
    return copied


def _only_input_channels_differ(shape, expected):
    return len(shape) == len(expected) == 4 and shape[:2] == expected[:2] and shape[3] == expected[3] and (
        shape[2] < expected[2])
