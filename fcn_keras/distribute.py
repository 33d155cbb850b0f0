"""Multi-worker training (`tf.distribute.MultiWorkerMirroredStrategy`) with Keras 3 `fit`.

`MirroredStrategy` (several GPUs of one machine) needs nothing from this module, nor
should `TPUStrategy` (not tested here): build the model inside `strategy.scope()` and
call `fcn_keras.training.train`. `MultiWorkerMirroredStrategy` (several machines) does not
work with Keras 3's `fit` as released (keras-team/keras#20585,
tensorflow/tensorflow#72388); `patch_keras_multiworker_reduce` works around it, and
`multi_worker_strategy` creates the strategy with the patch applied.

The patch replaces methods of Keras' TensorFlow trainer, so unlike fcn_keras' other
uses of Keras internals (`fcn_keras.keras_internals`, which lists this one too) it
stays whole here. The test
`tests/test_distributed.py::test_unpatched_keras_still_fails_multi_worker_fit` runs
an unpatched multi-worker `fit` and fails once Keras no longer needs the patch; then
delete this patch and that test.
"""

import json

import tensorflow as tf

_PATCHED = "_fcn_keras_multiworker_patch"


def patch_keras_multiworker_reduce():
    """Lets Keras 3 `fit` train under `MultiWorkerMirroredStrategy` (idempotent).

    Keras 3.15's TensorFlow trainer fails under a multi-worker
    `MultiWorkerMirroredStrategy` in two cross-replica reductions that work under
    `MirroredStrategy` (keras-team/keras#20585, tensorflow/tensorflow#72388):

    1. `TensorFlowTrainer._maybe_symbolic_build` reduces the first input batch with
       `strategy.reduce("MEAN", batch, axis=None)` only to learn its shapes and
       dtypes; the collective strategy cannot reduce a nested `PerReplica` batch
       ("Attempt to convert a value (PerReplica...) with an unsupported type").
       Patched: take the shapes from this worker's first replica instead (no
       cross-worker communication; the build is symbolic anyway).
    2. `reduce_per_replica` reduces the step's logs (loss and metric results, all
       scalars) with `strategy.reduce("MEAN", value, axis=0)`, which fails on a
       scalar ("Invalid reduction dimension 0 for input with 0 dimensions").
       Patched: scalars are averaged over replicas (`axis=None`), which is what
       `reduce_per_replica` does for the other strategies.

    Gradients, weight updates and data sharding are not touched: they are the
    strategy's own. Only multi-worker `MultiWorkerMirroredStrategy` takes the
    patched branches; every other strategy runs Keras' code unchanged.

    Returns:
        True if this call applied the patch, False if it was already applied.

    Example:
        >>> patch_keras_multiworker_reduce() in (True, False)  # before `model.fit`; True the first time
        True
        >>> patch_keras_multiworker_reduce()
        False
    """
    from keras.src.backend.tensorflow import trainer as tf_trainer

    if getattr(tf_trainer.reduce_per_replica, _PATCHED, False):
        return False
    _patch_symbolic_build(tf_trainer)
    _patch_reduce_per_replica(tf_trainer)
    return True


def _patch_symbolic_build(tf_trainer):
    """Part 1 of `patch_keras_multiworker_reduce`: shapes for the symbolic build, no reduce."""
    from keras.src import tree

    original = tf_trainer.TensorFlowTrainer._maybe_symbolic_build
    multi_worker = tf_trainer._collective_all_reduce_multi_worker

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self.distribute_strategy
        if iterator is not None and self._distribute_strategy is not None and multi_worker(strategy):
            for _, _, batches in iterator:
                data_batch = tree.map_structure(
                    lambda value: strategy.experimental_local_results(value)[0], next(batches)
                )
                break
            iterator = None  # `fit` resets the iterator after the build
        return original(self, iterator=iterator, data_batch=data_batch)

    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build


def _patch_reduce_per_replica(tf_trainer):
    """Part 2 of `patch_keras_multiworker_reduce`: scalar logs averaged with `axis=None`."""
    from keras.src import tree

    original = tf_trainer.reduce_per_replica
    multi_worker = tf_trainer._collective_all_reduce_multi_worker

    def reduce_per_replica(values, strategy, reduction):
        if reduction not in ("auto", "mean") or not multi_worker(strategy):
            return original(values, strategy, reduction)

        def reduce(value):
            if strategy.experimental_local_results(value)[0].shape.rank == 0:
                return strategy.reduce("MEAN", value, axis=None)
            return original(value, strategy, reduction)

        return tree.map_structure(reduce, values)

    setattr(reduce_per_replica, _PATCHED, True)
    tf_trainer.reduce_per_replica = reduce_per_replica


def multi_worker_strategy(**kwargs):
    """A `tf.distribute.MultiWorkerMirroredStrategy` that Keras 3 `fit` can train with.

    Creates the strategy (from the `TF_CONFIG` environment variable, as usual) and
    applies `patch_keras_multiworker_reduce`. Call it at the start of the program on
    every worker, before any other TensorFlow op; build the model inside its scope
    and train with `fcn_keras.training.train` or `model.fit`. Give every worker the
    same input pipeline of global batches (`fit` splits each global batch across the
    workers). `train` writes the chief's run to `output_dir` and every other
    worker's to `output_dir/workers/<task>-<id>/`.

    Args:
        **kwargs: passed to `tf.distribute.MultiWorkerMirroredStrategy`
            (e.g. `cluster_resolver`, `communication_options`).

    Returns:
        The strategy.
    """
    strategy = tf.distribute.MultiWorkerMirroredStrategy(**kwargs)
    patch_keras_multiworker_reduce()
    return strategy


def tf_config(workers, index):
    """The `TF_CONFIG` value (a JSON string) of one worker of a multi-worker cluster.

    Args:
        workers: "host:port" of every worker, the same list on every worker.
        index: this worker's position in `workers` (0 is the chief).

    Returns:
        A JSON string for `os.environ["TF_CONFIG"]`.

    Example:
        >>> tf_config(["127.0.0.1:12345", "127.0.0.1:12346"], index=1)
        '{"cluster": {"worker": ["127.0.0.1:12345", "127.0.0.1:12346"]}, "task": {"type": "worker", "index": 1}}'
    """
    workers = list(workers)
    if not 0 <= index < len(workers):
        raise ValueError(f"index {index} is not a worker position: there are {len(workers)} workers.")
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": int(index)}})
