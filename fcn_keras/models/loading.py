"""Loading saved FCNs with errors that say what is wrong with the file."""

import os
import zipfile

import keras

from fcn_keras.keras_internals import graph_model
from fcn_keras.models.fcn_model import FCN, graph_fcn_config


def load_fcn(model):
    """Returns a validated FCN: a `keras.Model` as is, or one loaded from a `.keras` file.

    An FCN here is a model with one image input (N, H, W, 3) and one score-map
    output (N, H, W, num_classes) of the input's height and width. A file of an
    earlier release, which holds a plain Functional model, comes back as an `FCN`
    that knows its variant, classes and inputs (read off its graph once, here).

    Args:
        model: a `keras.Model`, or the path of a `.keras` file saved by `model.save`.

    Returns:
        The `keras.Model` (loaded without its training configuration).

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: the file is not a loadable `.keras` model, or the model is not an FCN.

    Example:
        >>> fcn_keras.build_fcn8s(5, backbone="vgg16_tiny", padding="same").save("model.keras")
        >>> model = load_fcn("model.keras")
        >>> model.output.shape
        (None, None, None, 5)
    """
    source = "the given model"
    if isinstance(model, (str, os.PathLike)):
        source = os.fspath(model)
        model = _known_as_fcn(_load_keras_file(source))
    if not isinstance(model, keras.Model):
        raise TypeError(f"Expected a keras.Model or a .keras file path, got {type(model).__name__}.")
    _check_fcn_signature(model, source)
    return model


def _load_keras_file(path):
    if not os.path.exists(path):
        raise FileNotFoundError(f"Model file {path} does not exist: pass the .keras file written by model.save().")
    if os.path.isdir(path) or not path.endswith(".keras"):
        raise ValueError(
            f"{path} is not a .keras file: give a model saved with model.save('name.keras') "
            "(a SavedModel folder or .h5 file is not accepted)."
        )
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{path} is not a Keras model file: a .keras file is a zip archive written by model.save(), and "
            f"this one ({os.path.getsize(path)} bytes) is not one. It may be truncated or another kind of file; "
            "save the model again."
        )
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as error:  # Keras raises many types for corrupt zips and configs
        raise ValueError(
            f"Cannot load {path} as a Keras model ({type(error).__name__}: {error}). "
            "The file may be truncated or not written by model.save(); save the model again."
        ) from error


def _known_as_fcn(model):
    """A plain Functional FCN (an earlier release's file) as an `FCN` of the same layers; other models as they are."""
    if isinstance(model, FCN) or graph_model(model) is not model:  # an FCN already, or no Functional graph
        return model
    try:
        config = graph_fcn_config(model)
    except ValueError:  # a model of your own: no FCN's score layers
        return model
    return FCN(model.input, model.output, name=model.name, config=config)


def _check_fcn_signature(model, source):
    problem = _signature_problem(model.inputs, model.outputs)
    if problem:
        raise ValueError(
            f"{source} ({model.name}) is not an FCN segmentation model: {problem}. "
            "Use a model built with fcn_keras.build_fcn* (or one with the same input/output contract)."
        )


def _signature_problem(inputs, outputs):
    """What keeps a model's inputs and outputs from being an FCN's (one input, score maps of its size), or None."""
    if not inputs or not outputs:
        return (f"it has {len(inputs)} inputs and {len(outputs)} outputs, an FCN has an input per modality and "
                "an output per head")
    if len(inputs) == 1 and (len(inputs[0].shape) != 4 or inputs[0].shape[-1] != 3):
        return f"its input has shape {tuple(inputs[0].shape)}, an FCN takes RGB images (N, H, W, 3)"
    for output in outputs:
        if len(output.shape) != 4 or output.shape[-1] is None:
            return f"its output has shape {tuple(output.shape)}, an FCN returns score maps (N, H, W, classes)"
        if tuple(output.shape[1:3]) != tuple(inputs[0].shape[1:3]):
            return (f"its output size {tuple(output.shape[1:3])} differs from its input size "
                    f"{tuple(inputs[0].shape[1:3])}, an FCN scores every input pixel")
    return None
