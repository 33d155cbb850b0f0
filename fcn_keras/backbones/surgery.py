"""Network surgery (FCN §3.1): a classifier's fully connected weights become the FCN's convolutions."""

import numpy as np


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
        >>> vgg = keras.applications.VGG16(include_top=True, weights=None)
        >>> fcn = build_fcn8s(21, padding="same")
        >>> convolutionalize(vgg, fcn, {"fc1": "fc6", "fc2": "fc7"})
        ['fc6', 'fc7']
    """
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
