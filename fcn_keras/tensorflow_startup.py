"""Starting TensorFlow without its C++ start-up log lines, for the command line.

TensorFlow prints oneDNN and CUDA probing notes (and, on a machine without a GPU,
a `failed call to cuInit` error) through absl before `TF_CPP_MIN_LOG_LEVEL`
applies, so a newcomer's first screen reads like a failure.
"""

import logging
import os
import re
import sys
import tempfile

# TensorFlow's C++ log line: severity, date, time, thread, file:line] message.
CPP_LOG_LINE = re.compile(r"^[IWEF]\d{4} [\d:.]+ +\d+ \S+:\d+\] ")
ABSL_BANNER = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"


def load_tensorflow_quietly():
    """Imports TensorFlow and probes its devices without its C++ start-up log lines.

    The start-up lines are caught on file descriptor 2 while TensorFlow loads and
    probes its devices; whatever is not a C++ log line is passed on. Afterwards
    `TF_CPP_MIN_LOG_LEVEL=2` keeps later INFO and WARNING lines away (errors still
    show) and Python-side TensorFlow logging shows errors only. Where the user set
    `TF_CPP_MIN_LOG_LEVEL`, or TensorFlow is already loaded, nothing changes.

    Example:
        >>> load_tensorflow_quietly()  # doctest: +SKIP
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ or "tensorflow" in sys.modules:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile("w+b") as caught:
        os.dup2(caught.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            lines = caught.read().decode("utf-8", "replace").splitlines(keepends=True)
    sys.stderr.write("".join(line for line in lines
                             if not (CPP_LOG_LINE.match(line) or line.startswith(ABSL_BANNER))))
