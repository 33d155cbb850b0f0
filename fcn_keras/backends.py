"""What differs between the Keras backends (TensorFlow, JAX, PyTorch) for this package.

Models, layers, the loss, the metrics and training run on every backend; `tf.distribute`
strategies, export and serving are TensorFlow's. A `.keras` file carries no backend, so a
model trained under JAX or PyTorch is exported by loading its file under TensorFlow.
"""

import contextlib

import keras

EXPORT_BACKEND = "tensorflow"


def distribution_scope(model):
    """The scope to create a model's optimizer and state in: its `tf.distribute` strategy's on
    TensorFlow, none on the other backends (where `keras.distribution` places variables).

    Args:
        model: a Keras model.

    Returns:
        A context manager.

    Example:
        >>> with distribution_scope(build_fcn8s(3, backbone="vgg16_tiny")):
        ...     optimizer = keras.optimizers.SGD()
    """
    if keras.backend.backend() == "tensorflow":
        return model.distribute_strategy.scope()
    return contextlib.nullcontext()


def require_tensorflow_backend(action):
    """Refuses, in one line saying how to do it instead, what only TensorFlow's backend can do.

    Args:
        action: what was asked, e.g. "fcn_keras.export.export_model".

    Raises:
        ValueError: the Keras backend is not TensorFlow.

    Example:
        >>> require_tensorflow_backend("fcn_keras.export.export_model")  # passes on the TensorFlow backend
    """
    backend = keras.backend.backend()
    if backend != EXPORT_BACKEND:
        raise ValueError(
            f"{action} needs Keras' TensorFlow backend, and this process runs {backend} "
            f"(KERAS_BACKEND={backend}). Save the model as a .keras file and load it under TensorFlow, e.g. "
            "KERAS_BACKEND=tensorflow fcn-keras export model.keras --format saved_model --output exports."
        )
