"""The training side of the benchmark: the demo's training step and what its input pipeline adds to it."""

import time

import numpy as np

from fcn_keras.benchmark.timing import PeakMemory, median_seconds
from fcn_keras.demo_settings import demo_model
from fcn_keras.models import convolution_flops

BACKWARD_FACTOR = 3  # forward + gradients of inputs + gradients of weights: each about one forward's FLOPs


def training_step(demo, policy, repeats=5):
    """Median `train_on_batch` time of the demo's model on one of its batches (random data), under `policy`.

    Returns:
        dict: seconds, images_per_s, gflop_per_step (three forward passes' convolutions) and peak_mib.
    """
    from fcn_keras.training import compile_for_training

    model = compile_for_training(demo_model(demo, policy), learning_rate=demo.learning_rate)
    images, masks = _random_batch(demo)
    with PeakMemory() as memory:
        seconds = median_seconds(lambda: model.train_on_batch(images, masks), repeats, warmup=2)
    flops = BACKWARD_FACTOR * demo.batch_size * convolution_flops(demo_model(demo, "float32", demo.image_size))
    return {"seconds": seconds, "images_per_s": demo.batch_size / seconds, "gflop_per_step": flops / 1e9,
            "peak_mib": round(memory.mib, 1)}


def pipeline_overhead(demo, steps=50, warmup=10, rounds=2):
    """How much the demo's tf.data pipeline (synthetic shapes, shuffling, flips) adds to a float32 `fit` step.

    Runs `fit` for `warmup + steps` steps on the pipeline and on one batch kept in memory
    (the same element spec, so one traced step serves both), `rounds` times each in turn,
    and compares the medians of each side's step times, the last `steps` of every run: the
    warm-up covers tracing and the filling of the shuffle buffer, which a long run pays
    once, and the turns spread the machine's drift over both.

    Returns:
        dict: pipeline_images_per_s (the pipeline alone, after the same warm-up), step_seconds_in_memory,
        step_seconds_with_pipeline and overhead (their ratio minus one).
    """
    from fcn_keras.data import prepare, synthetic_shapes
    from fcn_keras.training import compile_for_training

    source = synthetic_shapes(demo.train_images, demo.image_size, demo.num_classes, seed=demo.seed)
    pipeline = prepare(source, batch_size=demo.batch_size, training=True, flip=True, seed=demo.seed).repeat()
    in_memory = pipeline.take(1).cache().repeat()
    model = compile_for_training(demo_model(demo, "float32"), learning_rate=demo.learning_rate)
    in_memory_times, pipeline_times = [], []
    for _ in range(rounds):
        in_memory_times += _step_seconds(model, in_memory, warmup, steps)
        pipeline_times += _step_seconds(model, pipeline, warmup, steps)
    in_memory_seconds, pipeline_seconds = float(np.median(in_memory_times)), float(np.median(pipeline_times))
    batches = iter(pipeline)
    for _ in range(warmup):
        next(batches)
    start = time.perf_counter()
    images = sum(int(next(batches)[0].shape[0]) for _ in range(steps))
    return {"pipeline_images_per_s": images / (time.perf_counter() - start),
            "step_seconds_in_memory": in_memory_seconds, "step_seconds_with_pipeline": pipeline_seconds,
            "overhead": pipeline_seconds / in_memory_seconds - 1}


def _step_seconds(model, dataset, warmup, steps):
    """Times between the ends of consecutive `fit` steps, the last `steps` of `warmup + steps`."""
    import keras

    ends = []
    clock = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: ends.append(time.perf_counter()))
    model.fit(dataset, steps_per_epoch=warmup + steps, epochs=1, verbose=0, shuffle=False, callbacks=[clock])
    return np.diff(ends[-steps - 1:]).tolist()


def _random_batch(demo, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 255, (demo.batch_size, *demo.image_size, 3)).astype(np.float32)
    masks = rng.integers(0, demo.num_classes, (demo.batch_size, *demo.image_size)).astype(np.int32)
    return images, masks
