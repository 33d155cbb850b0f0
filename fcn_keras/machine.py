"""What this machine is: CPU model and instruction-set flags, GPUs, the Keras backend and library versions.

Everything a bug report or a benchmark result needs to say which machine it came
from. Reading the CPU needs no deep-learning library; `gpus()` and `describe()` ask
the active Keras backend's own library (TensorFlow, JAX or PyTorch), and import
TensorFlow only when that backend is TensorFlow.
"""

import importlib
import importlib.metadata
import json
import os
import platform
import sys

CPUINFO = "/proc/cpuinfo"
# Flags that decide fp32/bf16/int8 speed on x86 (Linux /proc/cpuinfo names).
SPEED_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_bf16", "amx_int8")
DEFAULT_KERAS_BACKEND = "tensorflow"  # Keras' own default
BACKEND_INSTALLS = {"tensorflow": 'pip install "fcn-keras"', "jax": 'pip install "fcn-keras[jax]"',
                    "torch": 'pip install "fcn-keras[torch]"'}


def keras_backend():
    """The Keras backend this process runs ("tensorflow", "jax" or "torch"), found as Keras finds it.

    Once Keras is imported, Keras itself answers; before, `configured_backend()` reads what
    Keras will read, without importing it (so `fcn-keras --help` stays instant).

    Returns:
        str.

    Example:
        >>> keras_backend() == keras.config.backend()  # Keras is imported here: it answers
        True
    """
    keras = sys.modules.get("keras")
    if keras is not None:
        try:
            return keras.config.backend()
        except AttributeError:  # Keras is being imported right now: read what it reads
            pass
    return configured_backend()


def configured_backend(environ=None):
    """The Keras backend a fresh `import keras` would pick, read without importing Keras.

    `KERAS_BACKEND`, else the "backend" of `keras.json` in `KERAS_HOME` (default `~/.keras`,
    or `/tmp/.keras` where the home folder is not writable), else "tensorflow" (Keras' rules).

    Args:
        environ: the environment variables (default: `os.environ`).

    Returns:
        str.

    Example:
        >>> configured_backend({"KERAS_BACKEND": "jax"})
        'jax'
        >>> with open("keras.json", "w") as file:
        ...     _ = file.write('{"backend": "torch"}')
        >>> configured_backend({"KERAS_HOME": "."}), configured_backend({"KERAS_HOME": "no/such/folder"})
        ('torch', 'tensorflow')
    """
    environ = os.environ if environ is None else environ
    if environ.get("KERAS_BACKEND"):
        return environ["KERAS_BACKEND"]
    try:
        with open(os.path.join(keras_home(environ), "keras.json"), encoding="utf-8") as file:
            backend = json.load(file).get("backend")
    except (OSError, ValueError, AttributeError):
        backend = None
    return backend or DEFAULT_KERAS_BACKEND


def keras_home(environ=None):
    """Keras' folder (its keras.json, and `models/`, the cache of downloaded weights), found as Keras finds it:
    `KERAS_HOME`, else `~/.keras`, or `/tmp/.keras` where the home folder is not writable.

    Args:
        environ: the environment variables (default: `os.environ`).

    Returns:
        str.

    Example:
        >>> keras_home({"KERAS_HOME": "/data/keras"})
        '/data/keras'
    """
    environ = os.environ if environ is None else environ
    if "KERAS_HOME" in environ:
        return os.path.expanduser(environ["KERAS_HOME"])
    home = os.path.expanduser("~")
    return os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")


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


def gpus(backend=None):
    """The GPUs the Keras backend's library sees, with their CUDA compute capability where known.

    TensorFlow: `tf.config`; JAX: `jax.devices()` of platform "gpu"; PyTorch: `torch.cuda`.
    Only the backend's own library is imported (no TensorFlow on JAX or PyTorch).

    Args:
        backend: "tensorflow", "jax" or "torch" (default: the active Keras backend, `keras_backend()`).

    Returns:
        list of `(name, (major, minor) or None)` (empty on a CPU-only machine; None where the
        GPU reports no CUDA compute capability, e.g. ROCm).

    Example:
        >>> gpus()  # e.g. [('NVIDIA H100 80GB HBM3', (9, 0))]; [] on a CPU-only machine
        [...]
    """
    backend = backend or keras_backend()
    if backend == "jax":
        import jax

        return [(device.device_kind, _capability(getattr(device, "compute_capability", None)))
                for device in jax.devices() if device.platform == "gpu"]
    if backend == "torch":
        import torch

        if not torch.cuda.is_available():
            return []
        rocm = getattr(torch.version, "hip", None)  # ROCm reports its gfx architecture, not a CUDA capability
        return [(torch.cuda.get_device_name(index), None if rocm else tuple(torch.cuda.get_device_capability(index)))
                for index in range(torch.cuda.device_count())]
    import tensorflow as tf

    found = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        found.append((details.get("device_name", device.name), _capability(details.get("compute_capability"))))
    return found


def _capability(value):
    """A compute capability as (major, minor): from (9, 0) or "9.0"; None where there is none or it is no number."""
    if not value:
        return None
    try:
        major, minor = (value.split(".") + ["0"])[:2] if isinstance(value, str) else value
        return int(major), int(minor)
    except (TypeError, ValueError):
        return None


def backend_version(backend=None):
    """The version of the Keras backend's library (importing it, as the backend does anyway).

    Args:
        backend: "tensorflow", "jax" or "torch" (default: the active Keras backend).

    Returns:
        str, e.g. "2.21.0".

    Example:
        >>> backend_version("tensorflow") == tf.__version__
        True
    """
    return importlib.import_module(backend or keras_backend()).__version__


def describe():
    """What a bug report or benchmark result needs: versions, the Keras backend, CPU, its speed flags, GPUs.

    Imports the backend's library (TensorFlow only on the TensorFlow backend), never Keras
    itself; a backend whose library is not installed is reported so, with its install line.

    Returns:
        dict of str keys: python, fcn_keras, backend (the Keras backend's name), the backend's
        name again with its library's version ("tensorflow", "jax" or "torch"), keras, platform,
        cpu, cores, cpu_flags, onednn (TensorFlow: whether its oneDNN kernels are on; PyTorch:
        whether its oneDNN (mkldnn) kernels are; JAX: not applicable), gpus.

    Example:
        >>> described = describe()
        >>> described["backend"], described[described["backend"]] == backend_version()
        ('tensorflow', True)
        >>> sorted(set(described) - {described["backend"]})
        ['backend', 'cores', 'cpu', 'cpu_flags', 'fcn_keras', 'gpus', 'keras', 'onednn', 'platform', 'python']
    """
    from fcn_keras import __version__

    backend = keras_backend()
    try:
        version = backend_version(backend)
    except ImportError:
        version = None
    missing = f"n/a ({backend} is not installed)"
    return {
        "python": platform.python_version(),
        "fcn_keras": __version__,
        "backend": backend,
        backend: version or f"not installed: {BACKEND_INSTALLS.get(backend, 'pip install ' + backend)}",
        "keras": importlib.metadata.version("keras"),
        "platform": f"{platform.system()} {platform.machine()}",
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cpu_flags": speed_flags(),
        "onednn": _onednn_state(backend) if version else missing,
        "gpus": (", ".join(name + (f" (compute capability {capability[0]}.{capability[1]})" if capability else "")
                           for name, capability in gpus(backend)) or "none") if version else missing,
    }


def backend_installed(backend=None):
    """Whether the Keras backend's library imports (so Keras can run on it).

    Example:
        >>> backend_installed("tensorflow")
        True
    """
    try:
        backend_version(backend)
    except ImportError:
        return False
    return True


def _onednn_state(backend):
    """Whether the backend's oneDNN CPU kernels are on ("on"/"off"); a note on JAX, whose XLA has its own."""
    if backend == "tensorflow":
        return "on" if onednn_enabled() else "off"
    if backend == "torch":
        import torch

        return "on" if torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled else "off"
    return "n/a (XLA's own CPU kernels)"


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
    `TF_ENABLE_ONEDNN_OPTS`); only with them are bfloat16 instructions used. Imports TensorFlow:
    ask it only on the TensorFlow backend.

    Returns:
        bool.

    Example:
        >>> onednn_enabled() in (True, False)
        True
    """
    import tensorflow as tf  # noqa: F401  (loads the library that answers)
    from tensorflow.python.util import _pywrap_util_port

    return bool(_pywrap_util_port.IsMklEnabled())
