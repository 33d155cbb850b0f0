"""Starting TensorFlow, and the libraries around it, without their log lines, for the command line.

TensorFlow prints oneDNN and CUDA probing notes (and, on a machine without a GPU,
a `failed call to cuInit` error) through absl before `TF_CPP_MIN_LOG_LEVEL`
applies, so a newcomer's first screen reads like a failure; TFDS and others log
warnings through Python's `logging` (absl's logger) that are notes for developers.
"""

import contextlib
import logging
import os
import re
import sys
import threading

# TensorFlow's C++ log line: severity, date, time, thread, file:line] message.
CPP_LOG_LINE = re.compile(r"^[IWEF]\d{4} [\d:.]+ +\d+ \S+:\d+\] ")
QUIET_LOG_LINE = re.compile(r"^[IWE]\d{4} [\d:.]+ +\d+ \S+:\d+\] ")  # fatal (F) lines always get through
LIBRARY_LOGGERS = ("absl", "tensorflow", "jax", "nncf")  # Python loggers of the libraries underneath
ABSL_BANNER = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"


def load_tensorflow_quietly():
    """Imports TensorFlow and probes its devices without its C++ start-up log lines.

    While TensorFlow loads and probes its devices, file descriptor 2 goes through a
    pipe whose reader passes on, as they come, every line that is not an INFO,
    WARNING or ERROR C++ log line (fatal ones and anything else get through, also
    if the import fails or aborts). Afterwards `TF_CPP_MIN_LOG_LEVEL=2` keeps later
    INFO and WARNING lines away (errors still show; `quiet_library_logs` does the
    same for Python-side logging). Where the user set `TF_CPP_MIN_LOG_LEVEL`, or
    TensorFlow is already loaded, nothing changes.

    Example:
        >>> load_tensorflow_quietly()  # before `import tensorflow`; once it is loaded, nothing changes
        >>> import tensorflow as tf
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ or "tensorflow" in sys.modules:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    sys.stderr.flush()
    saved, (read_end, write_end) = os.dup(2), os.pipe()
    passer = threading.Thread(target=_pass_on, args=(read_end, saved), daemon=True)
    passer.start()
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices()
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end: the reader sees its end
        passer.join()
        os.close(saved)


@contextlib.contextmanager
def quiet_library_logs():
    """Keeps the Python log lines of the libraries underneath (TensorFlow's, JAX's, NNCF's, and absl's, through
    which TFDS and others log) to errors inside a `with` block; the package's own notes still show.

    Example:
        >>> with quiet_library_logs():
        ...     logging.getLogger("absl").isEnabledFor(logging.WARNING)
        False
    """
    loggers = [logging.getLogger(name) for name in LIBRARY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def prefer_onednn_kernels():
    """Asks TensorFlow for its oneDNN CPU kernels, also where it would leave them off, unless the user chose
    (`TF_ENABLE_ONEDNN_OPTS`) or TensorFlow is already loaded. Returns whether the request was made.

    TensorFlow turns oneDNN on by itself only on CPUs with AVX-512 VNNI/BF16 or AMX. On
    AVX2-only CPUs its own kernels train the demo's small network slower: on a Zen 4 with
    oneDNN held to AVX2 (`ONEDNN_MAX_CPU_ISA=AVX2`), the demo's float32 training step took
    26 ms against 37 ms, while large-image inference (VGG16 at 320x320) took 1.6x longer
    with oneDNN, so only `fcn-keras demo` asks for it.

    Example:
        >>> os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"  # the user's choice stays
        >>> prefer_onednn_kernels(), os.environ["TF_ENABLE_ONEDNN_OPTS"]
        (False, '0')
    """
    if "TF_ENABLE_ONEDNN_OPTS" in os.environ or "tensorflow" in sys.modules:
        return False
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1"
    return True


def _pass_on(read_end, destination):
    """Copies lines from `read_end` to `destination`, leaving out the C++ start-up log lines."""
    with os.fdopen(read_end, "rb") as lines:
        for line in lines:
            text = line.decode("utf-8", "replace")
            if not (QUIET_LOG_LINE.match(text) or text.startswith(ABSL_BANNER)):
                os.write(destination, line)
