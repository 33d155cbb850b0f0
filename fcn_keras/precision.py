"""The training precision for this machine: reduced precision only where the hardware runs it natively.

bfloat16 halves a step on CPUs with bfloat16 instructions (AVX-512 BF16, AMX), but
only where the Keras backend's CPU kernels use them; elsewhere it is emulated and
gains nothing or is several times *slower* than float32 (e.g. AVX2-only CPUs):

- TensorFlow: with its oneDNN kernels on (its default on such CPUs; not with
  `TF_ENABLE_ONEDNN_OPTS=0`).
- PyTorch: its oneDNN (mkldnn) kernels run bfloat16 natively where PyTorch finds
  them usable (`torch.ops.mkldnn._is_mkldnn_bf16_supported()`).
- JAX: XLA's CPU backend (jax 0.10) computes a bfloat16 convolution in float32,
  converting its operands and result around it; `native_bfloat16_kernels` reads this
  from a compiled convolution, so JAX on a CPU trains in float32.

`choose_precision` decides from the CPU flags and the backend's kernels, so the
choice is the same on every run of a machine; a short measurement only vetoes
bfloat16 where it turns out slower than float32 (emulated despite the flags). On a
GPU it takes the usual mixed float16.

Measured on an AMD EPYC of the 9004 series (Zen 4, family 25 model 17: avx512_bf16, no AMX;
2 cores shared with other work), bfloat16's speed-up over float32, by `measure_bfloat16_speedup`
(5 runs) and by a fit step of six 3x3 Conv2D layers on 8 images of 96x96 (2 runs):

- TensorFlow 2.21 (oneDNN): probe 1.7-2.0x, fit 2.4-3.2x.
- PyTorch 2.13 (eager, oneDNN): probe 1.1-1.9x (mostly 1.2x), fit 1.35x.
- JAX 0.10 (XLA CPU): probe 0.86-1.0x, fit 0.83-0.89x (slower).

So "auto" picks mixed_bfloat16 on TensorFlow and PyTorch there and float32 on JAX, decided from
the compiled convolution before any measurement (the probe alone would have let 0.9x pass).
"""

import contextlib
import functools
import time
from typing import NamedTuple

from fcn_keras.machine import cpu_flags, gpus, keras_backend, onednn_enabled

PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
DEFAULT_PRECISION = "auto"
NATIVE_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")
# Below this speed-up the probe vetoes bfloat16: native runs measure 1.5-5x, emulated ones 0.2-1x.
MIN_BFLOAT16_SPEEDUP = 0.8
MIN_FLOAT16_GPU_CAPABILITY = (7, 0)  # Volta: the first GPUs with float16 tensor cores
# Why bfloat16 would be emulated, per Keras backend, where its CPU kernels do not run it natively.
EMULATED_BFLOAT16 = {
    "tensorflow": "TensorFlow's oneDNN kernels are off (TF_ENABLE_ONEDNN_OPTS=0), so bfloat16 would be emulated",
    "torch": "PyTorch's oneDNN (mkldnn) bfloat16 kernels are unavailable, so bfloat16 would be emulated",
    "jax": "XLA's CPU backend computes bfloat16 convolutions in float32, so bfloat16 gains nothing",
}


class PrecisionChoice(NamedTuple):
    """A Keras dtype policy name and why it was chosen."""

    policy: str
    reason: str

    def __str__(self):
        return f"{self.policy} ({self.reason})"


def choose_precision(flags=None, gpu_capabilities=None, native_kernels=None, probe=None, backend=None):
    """The fastest dtype policy this machine runs natively: "mixed_float16",
    "mixed_bfloat16" or "float32".

    - A GPU of compute capability 7.0 or newer (or one that reports none, e.g. ROCm): "mixed_float16".
    - A CPU with `avx512_bf16` or `amx_bf16` whose bfloat16 the backend's kernels run natively
      (`native_bfloat16_kernels`): "mixed_bfloat16", unless a measured bfloat16 step runs at
      less than `MIN_BFLOAT16_SPEEDUP` times the speed of float32 (then it is emulated after all).
    - Anything else: "float32" (bfloat16 would be emulated: no faster, or several times slower).

    Args:
        flags: CPU flags (default: this machine's, see `fcn_keras.machine.cpu_flags`).
        gpu_capabilities: list of (major, minor), or None where unknown, per GPU (default:
            the GPUs the backend sees).
        native_kernels: whether the backend's CPU kernels compute bfloat16 natively (default:
            `native_bfloat16_kernels(backend)`, asked only when the flags allow bfloat16).
        probe: `probe() -> float`, how many times faster bfloat16 is than float32
            (default: `measure_bfloat16_speedup`, run only when flags and kernels allow bfloat16).
        backend: the Keras backend whose kernels run ("tensorflow", "jax", "torch"; default:
            the active one).

    Returns:
        `PrecisionChoice(policy, reason)`.

    Example:
        >>> choose_precision(flags={"avx2", "fma"}, gpu_capabilities=[], native_kernels=False).policy
        'float32'
        >>> choose_precision(flags={"amx_bf16"}, gpu_capabilities=[], native_kernels=True, probe=lambda: 2.1).policy
        'mixed_bfloat16'
        >>> print(choose_precision(flags={"amx_bf16"}, gpu_capabilities=[], native_kernels=False, backend="jax"))
        float32 (the CPU has amx_bf16 but XLA's CPU backend computes bfloat16 convolutions in float32, so bfloat16
        gains nothing)
    """
    backend = backend or keras_backend()
    gpu_capabilities = _gpu_capabilities(backend) if gpu_capabilities is None else gpu_capabilities
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
    if not (native_bfloat16_kernels(backend) if native_kernels is None else native_kernels):
        why = EMULATED_BFLOAT16.get(backend, f"the {backend} backend has no native bfloat16 CPU kernels")
        return PrecisionChoice("float32", f"the CPU has {'/'.join(native)} but {why}")
    speedup = (probe or functools.partial(measure_bfloat16_speedup, backend=backend))()
    if speedup < MIN_BFLOAT16_SPEEDUP:
        return PrecisionChoice("float32", f"the CPU has {'/'.join(native)} but bfloat16 measured only "
                                          f"{speedup:.1f}x the speed of float32 (emulated)")
    return PrecisionChoice("mixed_bfloat16", f"the CPU has {'/'.join(native)} and bfloat16 measured "
                                             f"{speedup:.1f}x the speed of float32")


def native_bfloat16_kernels(backend=None):
    """Whether the Keras backend's CPU kernels compute bfloat16 convolutions natively (on a CPU
    with bfloat16 instructions; elsewhere bfloat16 is emulated whatever this says).

    - TensorFlow: its oneDNN kernels are on (`fcn_keras.machine.onednn_enabled`).
    - PyTorch: its oneDNN (mkldnn) kernels are available, enabled and find bfloat16 usable.
    - JAX: XLA keeps a compiled bfloat16 convolution in bfloat16 (XLA's CPU backend of
      jax 0.10 converts it to float32: False).
    - Any other backend: False.

    Args:
        backend: "tensorflow", "jax" or "torch" (default: the active Keras backend).

    Returns:
        bool.

    Example:
        >>> native_bfloat16_kernels("tensorflow") == onednn_enabled(), native_bfloat16_kernels("numpy")
        (True, False)
    """
    backend = backend or keras_backend()
    if backend == "tensorflow":
        return onednn_enabled()
    if backend == "torch":
        import torch

        mkldnn = torch.backends.mkldnn
        supported = getattr(getattr(torch.ops, "mkldnn", None), "_is_mkldnn_bf16_supported", None)
        return bool(mkldnn.is_available() and mkldnn.enabled and (supported is None or supported()))
    if backend == "jax":
        return _xla_computes_bfloat16_convolutions()
    return False


def _xla_computes_bfloat16_convolutions():
    """Whether XLA (JAX's default device) compiles a bfloat16 convolution to one that computes in bfloat16."""
    import jax
    import jax.numpy as jnp

    operand = jax.ShapeDtypeStruct((1, 8, 8, 8), jnp.bfloat16)
    kernel = jax.ShapeDtypeStruct((3, 3, 8, 8), jnp.bfloat16)

    def convolution(x, w):
        return jax.lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))

    return hlo_computes_bfloat16(jax.jit(convolution).lower(operand, kernel).compile().as_text())


def hlo_computes_bfloat16(hlo_text):
    """Whether compiled HLO computes its convolutions in bfloat16: a `convolution` of bfloat16
    result or a oneDNN call, rather than float32 ones between conversions.

    Args:
        hlo_text: a compiled computation's text (`jax.jit(f).lower(...).compile().as_text()`).

    Returns:
        bool; False where the text has no convolution at all.

    Example:
        >>> hlo_computes_bfloat16("%c = f32[1,8,8,8]{3,2,1,0} convolution(%a, %b), window={size=3x3}")
        False
        >>> hlo_computes_bfloat16("ROOT %c = bf16[1,8,8,8]{3,2,1,0} convolution(%a, %b), window={size=3x3}")
        True
    """
    for line in hlo_text.splitlines():
        if "__onednn$convolution" in line:
            return True
        _, equals, operation = line.partition(" = ")
        if equals and " convolution(" in operation:
            if operation.lstrip().startswith("bf16["):
                return True
    return False


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


def measure_bfloat16_speedup(repeats=5, backend=None):
    """How many times faster a convolution's forward and backward pass runs in bfloat16 than in
    float32 on this machine and Keras backend (about a second, most of it tracing).

    The pass is `keras.ops.conv` (as a Conv2D layer runs it) differentiated and run as the
    backend trains: TensorFlow in a `tf.function` (Keras compiles no XLA on a CPU), JAX under
    `jax.jit(jax.grad(...))`, PyTorch eagerly with autograd. The two precisions take turns
    and each keeps its fastest run, so other work on the machine sways the ratio little.

    Args:
        repeats: timed runs per precision (at least 1), after one warm-up run.
        backend: "tensorflow", "jax" or "torch" (default: the active Keras backend; it must be
            the one Keras runs, whose `keras.ops` are used).

    Returns:
        float, > 1 where bfloat16 is faster.

    Example:
        >>> speedup = measure_bfloat16_speedup()  # e.g. 2 with avx512_bf16, 1 or below where bfloat16 is emulated
        >>> speedup > 0
        True
    """
    import numpy as np

    rng = np.random.default_rng(0)
    images = rng.standard_normal((8, 48, 48, 64), np.float32)
    kernel = rng.standard_normal((3, 3, 64, 64), np.float32) / 24
    steps = {dtype: _gradient_step(images, kernel, dtype, backend or keras_backend())
             for dtype in ("float32", "bfloat16")}
    times = {dtype: [] for dtype in steps}
    for _ in range(repeats + 1):  # the first round warms up (and traces)
        for dtype, step in steps.items():
            start = time.perf_counter()
            step()
            times[dtype].append(time.perf_counter() - start)
    fastest = {dtype: min(seconds[1:]) for dtype, seconds in times.items()}
    return fastest["float32"] / fastest["bfloat16"]


def _gradient_step(images, kernel, dtype, backend):
    """`step()`: the gradients of a "same" convolution's summed output with respect to its input
    and kernel, in `dtype`, computed to the end."""
    import keras

    def loss(x, w):
        return keras.ops.sum(keras.ops.cast(keras.ops.conv(x, w, padding="same"), "float32"))

    x, w = keras.ops.cast(images, dtype), keras.ops.cast(kernel, dtype)
    if backend == "jax":
        import jax

        gradients = jax.jit(jax.grad(loss, argnums=(0, 1)))
        return lambda: jax.block_until_ready(gradients(x, w))
    if backend == "torch":
        x, w = x.detach().requires_grad_(), w.detach().requires_grad_()

        def step():
            x.grad = w.grad = None
            loss(x, w).backward()
            return w.grad

        return step
    import tensorflow as tf

    @tf.function
    def gradients(x, w):
        with tf.GradientTape() as tape:
            tape.watch([x, w])
            value = loss(x, w)
        return tape.gradient(value, [x, w])

    return lambda: [gradient.numpy() for gradient in gradients(x, w)]


@functools.lru_cache(maxsize=None)
def _auto_choice():
    """`choose_precision()` for this machine, measured once per process."""
    return choose_precision()


def _gpu_capabilities(backend=None):
    return [capability for _, capability in gpus(backend)]
