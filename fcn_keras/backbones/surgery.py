"""Network surgery (FCN §3.1): a classifier's fully connected weights become the FCN's convolutions."""


def fully_connected_as_convolutions(x, units, fc6_kernel, padding, dropout):
    """A classifier's fc6 and fc7 as convolutions (§3.1): fc6 a `fc6_kernel` square over the last pooled
    map (VALID in the "paper" geometry, "same" otherwise), fc7 1x1, each with ReLU and dropout.

    Args:
        x: the last pooled feature map.
        units: filters of fc6 and fc7 (4096 for VGG16 and AlexNet).
        fc6_kernel: the pooled map's size at the classifier's input size (VGG16 7, AlexNet 6).
        padding: "paper" or "same".
        dropout: the rate of drop6 and drop7 (0 for none).

    Returns:
        fc7's output (after its dropout).

    Example:
        >>> fc7 = fully_connected_as_convolutions(keras.Input((None, None, 8)), 16, 7, "same", 0.5)
        >>> fc7.shape
        (None, None, None, 16)
    """
    import keras

    fc6_padding = "valid" if padding == "paper" else "same"
    for name, kernel, keras_padding in (("fc6", fc6_kernel, fc6_padding), ("fc7", 1, "valid")):
        x = keras.layers.Conv2D(units, kernel, padding=keras_padding, activation="relu", name=name)(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=name.replace("fc", "drop"))(x)
    return x


def convolutionalize(classifier, fcn, layer_map):
    """Copies a classifier's weights into an FCN, reshaping Dense kernels into convolutions.

    A Dense layer that reads a flattened (h, w, c) map, kernel (h * w * c, units),
    becomes an h x w convolution with kernel (h, w, c, units); Keras' channels-last
    `Flatten` order makes this a plain reshape. Other layers are copied as they are.

    Args:
        classifier: a Keras model, e.g. `keras.applications.VGG16(include_top=True)`.
        fcn: the FCN model to receive the weights (changed in place).
        layer_map: {classifier layer name: FCN layer name}.

    Returns:
        The FCN layer names that received weights.

    Example:
        A classifier in the form of `keras.applications.VGG16(include_top=True)` (there
        fc1 reads a 7 x 7 x 512 map and fc1, fc2 have 4096 units), in vgg16_tiny's widths:

        >>> pool5 = keras.Input((7, 7, 32))
        >>> fc1 = keras.layers.Dense(64, activation="relu", name="fc1")(keras.layers.Flatten()(pool5))
        >>> classifier = keras.Model(pool5, keras.layers.Dense(64, activation="relu", name="fc2")(fc1))
        >>> fcn = build_fcn8s(21, backbone="vgg16_tiny", padding="same")
        >>> convolutionalize(classifier, fcn, {"fc1": "fc6", "fc2": "fc7"})
        ['fc6', 'fc7']
        >>> tuple(fcn.get_layer("fc6").kernel.shape)
        (7, 7, 32, 64)
    """
    import numpy as np

    copied = []
    for source_name, target_name in layer_map.items():
        source = _layer(classifier, source_name, "classifier")
        target = _layer(fcn, target_name, "FCN")
        source_weights, target_weights = source.get_weights(), target.get_weights()
        if len(source_weights) != len(target_weights):
            raise ValueError(
                f"Classifier layer {source_name!r} has {len(source_weights)} weight arrays but "
                f"FCN layer {target_name!r} has {len(target_weights)}."
            )
        converted = []
        for weight, reference in zip(source_weights, target_weights):
            if weight.size != reference.size:
                raise ValueError(
                    f"Cannot convolutionalize {source_name!r} {weight.shape} into "
                    f"{target_name!r} {reference.shape}: the sizes differ. Check that the "
                    "FCN's backbone and the classifier have the same widths."
                )
            converted.append(np.reshape(weight, reference.shape))
        target.set_weights(converted)
        copied.append(target_name)
    return copied


def _layer(model, name, role):
    try:
        return model.get_layer(name)
    except ValueError:
        raise ValueError(f"The {role} model has no layer named {name!r}.") from None


def load_caffe_trunk(fcn, weights, layer_names, release=None):
    """Loads a Caffe classifier's layers (a `.caffemodel`, e.g. BVLC's AlexNet) into an FCN by name.

    Convolutions convert from Caffe's (out, in, kh, kw) to Keras' (kh, kw, in, out);
    fully connected layers (InnerProduct, (out, in * kh * kw) in Caffe's
    channel-major order) become the FCN's kh x kw convolutions first.

    Args:
        fcn: an FCN with the trunk's layers (changed in place).
        weights: the `.caffemodel` path ("imagenet" is refused: Keras ships no such weights).
        layer_names: the layers to load: names that the file and the FCN share, e.g. ("conv1", ..., "fc7"),
            or {name in the file: FCN layer name} where they differ (Keras names cannot hold Caffe's "/").
        release: the file to name when "imagenet" is asked for, e.g. "bvlc_alexnet.caffemodel".

    Returns:
        The FCN layer names that received weights.

    Raises:
        ValueError: a layer is missing or its shape does not fit (both named).
    """
    import numpy as np

    from fcn_keras.weight_files import read_weights  # the readers, only where a file is read

    if weights == "imagenet":
        raise ValueError("Keras ships no ImageNet weights for this backbone; give the path of its Caffe "
                         f"classifier ({release or 'a .caffemodel'} from the BVLC model zoo).")
    names = dict(layer_names) if isinstance(layer_names, dict) else {name: name for name in layer_names}
    layers = read_weights(weights)
    missing = [name for name in names if name not in layers]
    if missing:
        listed = ", ".join(repr(name) for name in missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise ValueError(f"{weights} has no layer {listed}; the backbone loads {len(names)} layers, "
                         f"{_span(list(names))}.")
    for name, target_name in names.items():
        target = _layer(fcn, target_name, "FCN")
        kernel_height, kernel_width, in_channels, out_channels = target.kernel.shape
        weight, *rest = layers[name].arrays
        if weight.size != kernel_height * kernel_width * in_channels * out_channels:
            raise ValueError(f"{weights}: layer {name!r} has {weight.size} weights, the FCN's {target_name} needs "
                             f"{tuple(target.kernel.shape)}; check the backbone's widths.")
        weight = np.reshape(weight, (out_channels, in_channels, kernel_height, kernel_width))
        target.set_weights([np.transpose(weight, (2, 3, 1, 0)), *(np.reshape(bias, -1) for bias in rest)])
    return list(names.values())


def _span(names):
    return ", ".join(names) if len(names) <= 8 else f"{', '.join(names[:3])} ... {names[-1]}"
