"""The private Keras attributes fcn_keras reads, in one place: why each is needed and which test fails on a rename.

Keras has no public way to walk a Functional graph from a tensor back to the layer
that made it, to list a layer's calls, to run a graph with a call function of one's
own, or to build a Trainer from symbolic data. Each function below wraps one such
use; when a Keras release renames the attribute, the test named in its docstring
fails, and only this module changes.

The multi-worker patch of `fcn_keras.distribute` is the one exception: it replaces
methods of Keras' TensorFlow trainer, so it is Keras internals by nature and stays
whole in that module (its test,
`tests/test_distributed.py::test_unpatched_keras_still_fails_multi_worker_fit`,
fails once Keras no longer needs it).
"""

import keras


def tensor_history(tensor):
    """The operation that made a symbolic tensor, its call node and the tensor's index among the outputs.

    Needed to walk a graph backwards from a tap (grids, the ONNX writer, the layer behind a
    tap); `_keras_history` and `_inbound_nodes`. Caught by tests/test_geometry.py.

    Example:
        >>> images = keras.Input((None, None, 3))
        >>> operation, node, index = tensor_history(keras.layers.ReLU(name="relu")(images))
        >>> operation.name, node.input_tensors[0] is images, index
        ('relu', True, 0)
    """
    operation, node_index, tensor_index = tensor._keras_history
    return operation, operation._inbound_nodes[node_index], tensor_index


def call_nodes(layer):
    """The nodes of a layer's calls (the first is the graph's own; an input layer has one with `is_input`).

    Needed to tell a layer called once from a shared one and to find the shape a nested
    model was fed; `_inbound_nodes`. Caught by tests/test_border.py and
    tests/test_fcn_builders.py::test_convolution_flops_counts_multiply_adds.
    """
    return layer._inbound_nodes


def symbolic_build(model, data_batch):
    """Keras' Trainer build step (loss and metrics) from a batch of `keras.KerasTensor`s, reading no data.

    Needed where `fit` would build them from a batch of a fresh iterator, which advances the
    seeds of a reshuffling pipeline (JAX, PyTorch); `Trainer._symbolic_build`. Caught by
    tests/test_training.py::test_resume_gives_the_uninterrupted_result under JAX or PyTorch.
    """
    model._symbolic_build(data_batch=data_batch)


def graph_model(model):
    """The Functional graph of a Functional or Sequential model; None for a model that is no graph (subclassed).

    Needed to run a model's graph layer by layer (`run_graph`); `Sequential._functional`
    and `Function._run_through_graph`. Caught by
    tests/test_tiling.py::test_memory_estimates_count_the_two_largest_activations.
    """
    if isinstance(model, keras.Sequential):
        model = model._functional
    return model if hasattr(model, "_run_through_graph") else None


def run_graph(graph, inputs, call):
    """Runs a `graph_model`'s graph on `inputs` (a list in its inputs' order), each operation through
    `call(operation, *args, **kwargs)`; returns the outputs.

    Needed to see every tensor a forward pass makes; `Function._run_through_graph`. Caught by
    tests/test_tiling.py::test_memory_estimates_count_the_two_largest_activations.
    """
    return graph._run_through_graph(list(inputs), call_fn=call)


def converts_inputs(layer):
    """Whether calling `layer` casts its floating inputs to its compute dtype (as `Layer.__call__` does).

    Needed to count those casts as tensors of their own; `Layer._convert_input_args`. Caught by
    tests/test_tiling.py::test_memory_estimates_count_the_two_largest_activations.
    """
    return getattr(layer, "_convert_input_args", True)
