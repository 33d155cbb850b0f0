"""One training run of a tiny FCN-8s, in its own process, for tests/test_distributed.py.

Distributed TensorFlow must be configured before the first TensorFlow op (logical
devices, TF_CONFIG), which pytest's process has long run, so each run is a fresh
`python tests/distributed_worker.py MODE OUTPUT RUN_DIR`:

- ``single``: the default strategy on one CPU;
- ``mirrored``: `tf.distribute.MirroredStrategy` over two logical CPU devices;
- ``multiworker``: `fcn_keras.distribute.multi_worker_strategy()` (this process is the
  worker that TF_CONFIG names);
- ``probe``: a plain `tf.distribute.MultiWorkerMirroredStrategy` and `model.fit`, first
  without the Keras patch, then with only its first part, then with both; writes
  what each attempt raised (or "ok") to OUTPUT as JSON instead of weights.

The other modes train the same model (same seed) on the same global batches with
`fcn_keras.training.train` and SGD, then save the weights (and the initial ones) to
OUTPUT, an .npz file.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

GLOBAL_BATCH = 4
NUM_IMAGES = 8  # two batches per epoch
EPOCHS = 2
NUM_CLASSES = 3
LEARNING_RATE = 0.01


def make_strategy(mode):
    import tensorflow as tf

    if mode == "single":
        return tf.distribute.get_strategy()
    if mode == "mirrored":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
        )
        return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    if mode == "multiworker":
        from fcn_keras.distribute import multi_worker_strategy, patch_keras_multiworker_reduce

        strategy = multi_worker_strategy()
        assert patch_keras_multiworker_reduce() is False, "the patch is applied once"
        return strategy
    if mode == "probe":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise SystemExit(f"unknown mode {mode!r}")


def probe(strategy, model, data, output):
    """Runs `fit` unpatched, with part 1 of the patch, with both parts; saves the outcomes."""
    import json

    from keras.src.backend.tensorflow import trainer as tf_trainer

    from fcn_keras import distribute
    from fcn_keras.training import compile_for_training

    with strategy.scope():
        compile_for_training(model, "paper_normalized", learning_rate=LEARNING_RATE)
    outcomes = {}
    for attempt, patch_part in (("unpatched", None), ("part1_only", distribute._patch_symbolic_build),
                                ("patched", distribute._patch_reduce_per_replica)):
        if patch_part is not None:
            patch_part(tf_trainer)
        try:
            model.fit(data.repeat(), epochs=1, steps_per_epoch=1, verbose=0)
            outcomes[attempt] = "ok"
        except Exception as error:  # noqa: BLE001 - recorded for the test to judge
            message = f"{type(error).__name__}: {error}"
            outcomes[attempt] = message if len(message) < 1000 else f"{message[:500]} ... {message[-500:]}"
    with open(output, "w") as file:
        json.dump(outcomes, file)


def main(argv):
    mode, output, run_dir = argv[:3]
    strategy = make_strategy(mode)  # before any other TensorFlow op

    import keras
    import numpy as np

    import fcn_keras
    from fcn_keras.data import prepare, synthetic_shapes
    from fcn_keras.training import train

    # No ignored pixels: every replica's mean loss then covers as many pixels, so the
    # mean of the replicas' means is the mean over the global batch.
    data = prepare(synthetic_shapes(NUM_IMAGES, (32, 32), NUM_CLASSES, seed=0, ignore_border=0),
                   batch_size=GLOBAL_BATCH)
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = fcn_keras.build_fcn8s(NUM_CLASSES, backbone="vgg16_tiny", padding="same", dropout=0)
    if mode == "probe":
        return probe(strategy, model, data, output)
    initial = [np.asarray(w) for w in model.get_weights()]
    # SGD with momentum and weight decay ("paper_normalized"), at a rate that moves the weights.
    history = train(model, data, validation_data=data.take(1), output_dir=run_dir, epochs=EPOCHS,
                    recipe="paper_normalized", learning_rate=LEARNING_RATE, verbose=0)
    arrays = {f"weight_{i}": np.asarray(w) for i, w in enumerate(model.get_weights())}
    arrays.update({f"initial_{i}": w for i, w in enumerate(initial)})
    np.savez(output, **arrays, loss=history.history["loss"], val_loss=history.history["val_loss"],
             replicas=strategy.num_replicas_in_sync)
    print(f"{mode}: {strategy.num_replicas_in_sync} replicas, losses {history.history['loss']}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
