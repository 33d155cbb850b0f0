"""Clocks for the benchmark: median latency, the machine's fp32 matmul peak and a process's peak memory."""

import threading
import time

import numpy as np
import psutil


def median_seconds(function, repeats=5, warmup=1):
    """Median wall time of `function()` over `repeats` calls, after `warmup` untimed calls.

    The warm-up calls absorb tracing, compilation and kernel selection.

    Example:
        >>> median_seconds(lambda: sum(range(1000)), repeats=3) < 1
        True
    """
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def matmul_peak(repeats=5, size=2048):
    """GFLOP/s of a square fp32 matmul in the Keras backend's library and in NumPy, and the faster: the roofline
    convolutions are measured against.

    Args:
        repeats: timed calls of each.
        size: the matrices' side; 2048 keeps both libraries at their peak on a few cores.

    Returns:
        dict with "backend", "numpy" and "best" in GFLOP/s.

    Example:
        >>> peak = matmul_peak(repeats=1, size=256)
        >>> peak["best"] == max(peak["backend"], peak["numpy"]) > 0
        True
    """
    import keras

    flops = 2 * size**3
    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    tensor = keras.ops.convert_to_tensor(a)
    rates = {
        "backend": flops / median_seconds(lambda: keras.ops.convert_to_numpy(keras.ops.matmul(tensor, tensor)),
                                          repeats) / 1e9,
        "numpy": flops / median_seconds(lambda: a @ a, repeats) / 1e9,
    }
    return {**rates, "best": max(rates.values())}


class PeakMemory:
    """The most resident memory the process gained while the `with` block ran, in MiB (sampled every 5 ms).

    Example:
        >>> with PeakMemory() as memory:
        ...     block = np.ones((64, 1024, 1024), np.uint8)  # 64 MiB, touched
        >>> memory.mib >= 60
        True
    """

    def __init__(self, interval=0.005):
        self.interval = interval
        self.mib = 0.0
        self._process = psutil.Process()
        self._done = threading.Event()

    def __enter__(self):
        self._start = self._process.memory_info().rss
        self._peak = self._start
        self._done.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._done.set()
        self._thread.join()
        self._peak = max(self._peak, self._process.memory_info().rss)
        self.mib = (self._peak - self._start) / 2**20

    def _sample(self):
        while not self._done.wait(self.interval):
            self._peak = max(self._peak, self._process.memory_info().rss)
