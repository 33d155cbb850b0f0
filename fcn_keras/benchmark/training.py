"""The training side of the benchmark: the demo's training step and what its input pipeline adds to it."""

import time

import numpy as np

from fcn_keras.benchmark.runtimes import build_with_policy
from fcn_keras.benchmark.timing import PeakMemory, median_seconds
from fcn_keras.models import build_fcn8s, convolution_flops

BACKWARD_FACTOR = 3  # forward + gradients of inputs + gradients of weights: each about one forward's FLOPs


def demo_model(demo, policy="float32", fixed_size=False):
    """The demo's FCN-8s ("same" padding) under a Keras dtype policy, at the demo's image size if `fixed_size`.

    Example:
        >>> from fcn_keras.demo_settings import DemoSettings
        >>> demo_model(DemoSettings(backbone="vgg16_tiny", image_size=(40, 48)), fixed_size=True).input.shape
        (None, 40, 48, 3)
    """
    shape = (*demo.image_size, 3) if fixed_size else (None, None, 3)
    return build_with_policy(lambda: build_fcn8s(demo.num_classes, backbone=demo.backbone, padding="same",
                                                 dropout=demo.dropout, input_shape=shape), policy)


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
    flops = BACKWARD_FACTOR * demo.batch_size * convolution_flops(demo_model(demo, fixed_size=True))
    return {"seconds": seconds, "images_per_s": demo.batch_size / seconds, "gflop_per_step": flops / 1e9,
            "peak_mib": round(memory.mib, 1)}


def pipeline_overhead(demo, steps=20):
    """How much the demo's tf.data pipeline (synthetic shapes, flips, shuffling) adds to a float32 `fit` step.

    Times `fit` for `steps` steps twice, on the pipeline and on batches already in
    memory, after a warm-up epoch of each.

    Returns:
        dict: pipeline_images_per_s (the pipeline alone), step_seconds_in_memory,
        step_seconds_with_pipeline and overhead (their ratio minus one).
    """
    from fcn_keras.data import prepare, synthetic_shapes
    from fcn_keras.training import compile_for_training

    source = synthetic_shapes(demo.train_images, demo.image_size, demo.num_classes, seed=demo.seed)
    pipeline = prepare(source, batch_size=demo.batch_size, training=True, flip=True, seed=demo.seed).repeat()
    in_memory = pipeline.take(1).cache().repeat()  # the same element spec: one traced step serves both
    model = compile_for_training(demo_model(demo), learning_rate=demo.learning_rate)

    def step_seconds(dataset):
        model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)  # warm-up: tracing, buffers
        start = time.perf_counter()
        model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
        return (time.perf_counter() - start) / steps

    start, count = time.perf_counter(), 0
    for images, _ in pipeline.take(steps):
        count += int(images.shape[0])
    alone = count / (time.perf_counter() - start)
    in_memory_seconds, pipeline_seconds = step_seconds(in_memory), step_seconds(pipeline)
    return {"pipeline_images_per_s": alone, "step_seconds_in_memory": in_memory_seconds,
            "step_seconds_with_pipeline": pipeline_seconds, "overhead": pipeline_seconds / in_memory_seconds - 1}


def _random_batch(demo, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 255, (demo.batch_size, *demo.image_size, 3)).astype(np.float32)
    masks = rng.integers(0, demo.num_classes, (demo.batch_size, *demo.image_size)).astype(np.int32)
    return images, masks
