"""What this machine is: CPU model and instruction-set flags, GPUs, library versions.

Everything a bug report or a benchmark result needs to say which machine it came
from. Reading the CPU needs no TensorFlow; `gpus()` and `describe()` import it.
"""

import os
import platform

CPUINFO = "/proc/cpuinfo"
# Flags that decide fp32/bf16/int8 speed on x86 (Linux /proc/cpuinfo names).
SPEED_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_bf16", "amx_int8")


def cpu_model(cpuinfo=CPUINFO):
    """The CPU's model name, e.g. "AMD EPYC 7B13" (the platform's processor string off Linux).

    Args:
        cpuinfo: path of the kernel's CPU description.

    Returns:
        str.

    Example:
        >>> with open("cpuinfo", "w") as file:  # a stand-in for /proc/cpuinfo
        ...     _ = file.write("processor\\t: 0\\nmodel name\\t: AMD EPYC 7B13\\nflags\\t\\t: fpu avx2 fma\\n")
        >>> cpu_model("cpuinfo")
        'AMD EPYC 7B13'
    """
    value = _cpuinfo_field("model name", cpuinfo)
    return value or platform.processor() or platform.machine() or "unknown CPU"


def cpu_flags(cpuinfo=CPUINFO):
    """The CPU's instruction-set flags as Linux names them ("avx2", "avx512_bf16", ...).

    Args:
        cpuinfo: path of the kernel's CPU description.

    Returns:
        frozenset of str; empty where the file does not exist (macOS, Windows).

    Example:
        >>> with open("cpuinfo", "w") as file:  # a stand-in for /proc/cpuinfo
        ...     _ = file.write("processor\\t: 0\\nmodel name\\t: AMD EPYC 7B13\\nflags\\t\\t: fpu avx2 fma\\n")
        >>> sorted(cpu_flags("cpuinfo")), cpu_flags("no/such/file")
        (['avx2', 'fma', 'fpu'], frozenset())
    """
    value = _cpuinfo_field("flags", cpuinfo)
    return frozenset(value.split()) if value else frozenset()


def speed_flags(flags=None):
    """`SPEED_FLAGS` as "+flag" (present) or "-flag" (absent), for one line of output.

    Args:
        flags: a set of CPU flags; default: this machine's.

    Returns:
        str, e.g. "+avx2 +fma -avx512f -avx512_bf16 ...".

    Example:
        >>> speed_flags({"avx2", "fma"})
        '+avx2 +fma -avx512f -avx512_bf16 -avx512_vnni -avx_vnni -amx_bf16 -amx_int8'
    """
    flags = cpu_flags() if flags is None else flags
    return " ".join(("+" if flag in flags else "-") + flag for flag in SPEED_FLAGS)


def gpus():
    """The GPUs TensorFlow sees, with their CUDA compute capability where known.

    Returns:
        list of `(name, (major, minor) or None)` (empty on a CPU-only machine).

    Example:
        >>> gpus()  # e.g. [('NVIDIA H100 80GB HBM3', (9, 0))]; [] on a CPU-only machine
        [...]
    """
    import tensorflow as tf

    found = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        capability = details.get("compute_capability")
        found.append((details.get("device_name", device.name), tuple(capability) if capability else None))
    return found


def describe():
    """What a bug report or benchmark result needs: versions, CPU, its speed flags, GPUs.

    Imports TensorFlow and Keras to read their versions.

    Returns:
        dict of str keys: python, platform, fcn_keras, tensorflow, keras, cpu, cores,
        cpu_flags, onednn, gpus.

    Example:
        >>> sorted(describe())
        ['cores', 'cpu', 'cpu_flags', 'fcn_keras', 'gpus', 'keras', 'onednn', 'platform', 'python', 'tensorflow']
    """
    import keras
    import tensorflow as tf

    from fcn_keras import __version__

    return {
        "python": platform.python_version(),
        "fcn_keras": __version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "platform": f"{platform.system()} {platform.machine()}",
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cpu_flags": speed_flags(),
        "onednn": "on" if onednn_enabled() else "off",
        "gpus": ", ".join(name + (f" (compute capability {capability[0]}.{capability[1]})" if capability else "")
                          for name, capability in gpus()) or "none",
    }


def machine_line():
    """One line naming the CPU and its speed flags, for the head of a benchmark's output.

    Returns:
        str.

    Example:
        >>> machine_line()  # e.g. 'CPU: Intel(R) Xeon(R) Processor, 2 cores, +avx2 +fma -avx512f ...'
        'CPU: ... cores, ...avx2 ...fma ...amx_int8'
    """
    return f"CPU: {cpu_model()}, {os.cpu_count()} cores, {speed_flags()}"


def _cpuinfo_field(name, cpuinfo):
    """The value of the first `name : value` line of `cpuinfo`, or None."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as file:
            for line in file:
                key, sep, value = line.partition(":")
                if sep and key.strip() == name:
                    return value.strip()
    except OSError:
        return None
    return None


def onednn_enabled():
    """Whether TensorFlow runs its oneDNN CPU kernels (TensorFlow's own decision, by CPU and
    `TF_ENABLE_ONEDNN_OPTS`); only with them are bfloat16 instructions used.

    Returns:
        bool.

    Example:
        >>> onednn_enabled() in (True, False)
        True
    """
    import tensorflow as tf  # noqa: F401  (loads the library that answers)
    from tensorflow.python.util import _pywrap_util_port

    return bool(_pywrap_util_port.IsMklEnabled())
