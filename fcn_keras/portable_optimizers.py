"""A compiled `.keras` file loads under any Keras backend without importing the framework it was trained with.

Keras records a compiled model's optimizer by its class, and under PyTorch that class
is the backend's own (`keras.src.backend.torch.optimizers.torch_sgd.SGD`, registered
name "SGD"). `keras.models.load_model` under TensorFlow or JAX then imports PyTorch to
rebuild it, only to restore an SGD: with PyPI's default torch wheel (which brings
triton) that import crashes a TensorFlow process. Keras looks a registered name up
among the custom objects before it imports any module, so registering each
`keras.optimizers` class under its plain name makes such a record build the running
backend's optimizer of that name (`keras.optimizers.SGD` is PyTorch's SGD under
PyTorch), with the same variables: the optimizer state loads as it was saved.
Imported with the package's other Keras objects (`fcn_keras.lazy_imports`).
"""

import keras


def register_portable_optimizers():
    """Registers every `keras.optimizers` class under its plain name (where no custom object has that name).

    Returns:
        The names registered now.

    Example:
        >>> "SGD" in register_portable_optimizers() or keras.saving.get_custom_objects()["SGD"] is keras.optimizers.SGD
        True
    """
    custom_objects = keras.saving.get_custom_objects()
    registered = []
    for name in dir(keras.optimizers):
        optimizer = getattr(keras.optimizers, name)
        if (isinstance(optimizer, type) and issubclass(optimizer, keras.optimizers.Optimizer)
                and optimizer is not keras.optimizers.Optimizer and name not in custom_objects):
            custom_objects[name] = optimizer
            registered.append(name)
    return registered


register_portable_optimizers()
