"""The training precision for this machine: reduced precision only where the hardware runs it natively.

bfloat16 halves a step on CPUs with bfloat16 instructions (AVX-512 BF16, AMX) when
TensorFlow's oneDNN kernels are on, but is emulated, about 5x *slower* than
float32, everywhere else (e.g. AVX2-only CPUs, where TensorFlow leaves oneDNN off).
`choose_precision` decides from the CPU flags and oneDNN's state, so the choice is
the same on every run of a machine; a short measurement only vetoes bfloat16 where
it turns out slower than float32 (emulated despite the flags). On a GPU it takes
the usual mixed float16.
"""

import contextlib
import functools
import time
from typing import NamedTuple

from fcn_keras.machine import cpu_flags, gpus, onednn_enabled

PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
DEFAULT_PRECISION = "auto"
NATIVE_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")
# Below this speed-up the probe vetoes bfloat16: native runs measure 1.8-5x, emulated ones ~0.2x.
MIN_BFLOAT16_SPEEDUP = 0.8
MIN_FLOAT16_GPU_CAPABILITY = (7, 0)  # Volta: the first GPUs with float16 tensor cores


class PrecisionChoice(NamedTuple):
    """A Keras dtype policy name and why it was chosen."""

    policy: str
    reason: str

    def __str__(self):
        return f"{self.policy} ({self.reason})"


def choose_precision(flags=None, gpu_capabilities=None, onednn=None, probe=None):
    """The fastest dtype policy this machine runs natively: "mixed_float16",
    "mixed_bfloat16" or "float32".

    - A GPU of compute capability 7.0 or newer (or one that reports none, e.g. ROCm): "mixed_float16".
    - A CPU with `avx512_bf16` or `amx_bf16` and TensorFlow's oneDNN kernels on:
      "mixed_bfloat16", unless a measured bfloat16 step runs at less than
      `MIN_BFLOAT16_SPEEDUP` times the speed of float32 (then it is emulated after all).
    - Anything else: "float32" (bfloat16 would be emulated and several times slower).

    Args:
        flags: CPU flags (default: this machine's, see `fcn_keras.machine.cpu_flags`).
        gpu_capabilities: list of (major, minor), or None where unknown, per GPU (default:
            the GPUs TensorFlow sees).
        onednn: whether TensorFlow's oneDNN kernels are on (default: asked of TensorFlow).
        probe: `probe() -> float`, how many times faster bfloat16 is than float32
            (default: `measure_bfloat16_speedup`, run only when flags and oneDNN allow bfloat16).

    Returns:
        `PrecisionChoice(policy, reason)`.

    Example:
        >>> choose_precision(flags={"avx2", "fma"}, gpu_capabilities=[], onednn=False).policy
        'float32'
        >>> choose_precision(flags={"amx_bf16"}, gpu_capabilities=[], onednn=True, probe=lambda: 2.1).policy
        'mixed_bfloat16'
    """
    gpu_capabilities = _gpu_capabilities() if gpu_capabilities is None else gpu_capabilities
    if gpu_capabilities:
        if any(capability is None for capability in gpu_capabilities):
            return PrecisionChoice("mixed_float16", "a GPU that reports no CUDA compute capability (e.g. ROCm)")
        best = max(tuple(capability) for capability in gpu_capabilities)
        if best >= MIN_FLOAT16_GPU_CAPABILITY:
            return PrecisionChoice("mixed_float16", f"a GPU of compute capability {best[0]}.{best[1]} "
                                                    "(float16 tensor cores)")
        return PrecisionChoice("float32", f"the GPU's compute capability {best[0]}.{best[1]} is below 7.0 "
                                          "(no float16 tensor cores)")
    flags = cpu_flags() if flags is None else flags
    native = [flag for flag in NATIVE_BFLOAT16_FLAGS if flag in flags]
    if not native:
        return PrecisionChoice("float32", "the CPU has no bfloat16 instructions (avx512_bf16/amx_bf16); "
                                          "bfloat16 would be emulated and several times slower")
    if not (onednn_enabled() if onednn is None else onednn):
        return PrecisionChoice("float32", f"the CPU has {'/'.join(native)} but TensorFlow's oneDNN kernels are "
                                          "off (TF_ENABLE_ONEDNN_OPTS=0), so bfloat16 would be emulated")
    speedup = (probe or measure_bfloat16_speedup)()
    if speedup < MIN_BFLOAT16_SPEEDUP:
        return PrecisionChoice("float32", f"the CPU has {'/'.join(native)} but bfloat16 measured only "
                                          f"{speedup:.1f}x the speed of float32 (emulated)")
    return PrecisionChoice("mixed_bfloat16", f"the CPU has {'/'.join(native)} and bfloat16 measured "
                                             f"{speedup:.1f}x faster than float32")


def resolve_precision(precision="auto"):
    """`precision` as a `PrecisionChoice`: "auto" asks `choose_precision`, a policy name is kept.

    Args:
        precision: "auto" or a policy in `PRECISIONS`.

    Returns:
        `PrecisionChoice`.

    Raises:
        ValueError: an unknown precision.

    Example:
        >>> resolve_precision("float32")
        PrecisionChoice(policy='float32', reason='as asked')
    """
    if precision not in PRECISIONS:
        raise ValueError(f"Unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}.")
    return _auto_choice() if precision == "auto" else PrecisionChoice(precision, "as asked")


@contextlib.contextmanager
def dtype_policy(policy):
    """Sets Keras' global dtype policy inside a `with` block and restores the previous one.

    Args:
        policy: a Keras dtype policy name, e.g. "mixed_bfloat16".

    Example:
        >>> with dtype_policy("mixed_bfloat16"):
        ...     model = build_fcn8s(5, backbone="vgg16_tiny")
        >>> model.get_layer("fc7").dtype_policy.name, keras.mixed_precision.global_policy().name
        ('mixed_bfloat16', 'float32')
    """
    import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def measure_bfloat16_speedup(repeats=5):
    """How many times faster a convolution's forward and backward pass runs in bfloat16
    than in float32 on this machine (median of `repeats`; about two seconds with tracing).

    Args:
        repeats: timed runs per precision, after one warm-up run.

    Returns:
        float, > 1 where bfloat16 is faster.

    Example:
        >>> speedup = measure_bfloat16_speedup()  # e.g. 2.3 with avx512_bf16, below 1 where bfloat16 is emulated
        >>> speedup > 0
        True
    """
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    images = rng.standard_normal((8, 48, 48, 64), np.float32)
    kernel = rng.standard_normal((3, 3, 64, 64), np.float32)

    def seconds(dtype):
        x, w = tf.constant(images, dtype), tf.Variable(tf.constant(kernel, dtype))

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.cast(tf.nn.conv2d(x, w, 1, "SAME"), tf.float32))
            return tape.gradient(loss, w)

        step()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            step().numpy()
            times.append(time.perf_counter() - start)
        return float(np.median(times))

    return seconds(tf.float32) / seconds(tf.bfloat16)


@functools.lru_cache(maxsize=None)
def _auto_choice():
    """`choose_precision()` for this machine, measured once per process."""
    return choose_precision()


def _gpu_capabilities():
    return [capability for _, capability in gpus()]
