"""FCN-8s cost and CPU inference speed for each backbone and geometry, against a matmul roofline.

Run: python benchmarks/model_speed.py [--size 500 500] [--repeats 5] [--backbones vgg16 resnet50 ...]
Prints parameters, GFLOP per image, median latency and the achieved fraction of
what a large fp32 matmul reaches on this machine in the same run.
"""

import argparse
import time

import numpy as np
import tensorflow as tf

import fcn_keras
from fcn_keras.machine import machine_line


def median_seconds(function, repeats):
    function()  # warm-up (graph tracing, oneDNN kernel selection)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def matmul_gflops(repeats, n=4096):
    a = tf.random.normal((n, n))
    matmul = tf.function(lambda: tf.linalg.matmul(a, a))
    return 2 * n**3 / median_seconds(lambda: matmul().numpy(), repeats) / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs=2, default=(500, 500))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--backbones", nargs="+", default=["vgg16", "resnet50", "resnet101", "mobilenetv2",
                                                           "efficientnetv2b0"])
    parser.add_argument("--paddings", nargs="+", default=["paper", "same"])
    args = parser.parse_args()
    print(machine_line())
    roofline = matmul_gflops(args.repeats)
    print(f"fp32 matmul 4096^2: {roofline:.0f} GFLOP/s")
    print(f"{'model':28s} {'params':>13s} {'GFLOP':>7s} {'latency s':>10s} {'GFLOP/s':>8s} {'of matmul':>10s}")
    images = np.random.default_rng(0).uniform(0, 255, (1, *args.size, 3)).astype("float32")
    for backbone in args.backbones:
        for padding in args.paddings:
            model = fcn_keras.build_fcn8s(21, backbone=backbone, padding=padding, input_shape=(*args.size, 3))
            flops = fcn_keras.models.convolution_flops(model)
            predict = tf.function(lambda x, model=model: model(x, training=False))
            seconds = median_seconds(lambda: predict(images).numpy(), args.repeats)
            rate = flops / seconds / 1e9
            print(f"{f'fcn8s_{backbone} {padding}':28s} {model.count_params():>13,} {flops / 1e9:>7.1f} "
                  f"{seconds:>10.3f} {rate:>8.0f} {rate / roofline:>10.0%}", flush=True)


if __name__ == "__main__":
    main()
