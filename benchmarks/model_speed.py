"""FCN-8s (VGG16) cost and CPU inference speed, paper vs same geometry, against a matmul roofline.

Run: python benchmarks/model_speed.py [--size 500 500] [--repeats 5]
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
    args = parser.parse_args()
    print(machine_line())
    roofline = matmul_gflops(args.repeats)
    print(f"fp32 matmul 4096^2: {roofline:.0f} GFLOP/s")
    print(f"{'model':28s} {'params':>13s} {'GFLOP':>7s} {'latency s':>10s} {'GFLOP/s':>8s} {'of matmul':>10s}")
    images = np.random.default_rng(0).uniform(0, 255, (1, *args.size, 3)).astype("float32")
    for padding in ("paper", "same"):
        model = fcn_keras.build_fcn8s(21, padding=padding, input_shape=(*args.size, 3))
        flops = fcn_keras.models.convolution_flops(model)
        predict = tf.function(lambda x: model(x, training=False))
        seconds = median_seconds(lambda: predict(images).numpy(), args.repeats)
        rate = flops / seconds / 1e9
        print(f"{'fcn8s_vgg16 ' + padding:28s} {model.count_params():>13,} {flops / 1e9:>7.1f} "
              f"{seconds:>10.3f} {rate:>8.0f} {rate / roofline:>10.0%}")


if __name__ == "__main__":
    main()
