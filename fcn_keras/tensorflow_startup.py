"""Starting TensorFlow without its C++ start-up log lines, for the command line.

TensorFlow prints oneDNN and CUDA probing notes (and, on a machine without a GPU,
a `failed call to cuInit` error) through absl before `TF_CPP_MIN_LOG_LEVEL`
applies, so a newcomer's first screen reads like a failure.
"""

import logging
import os
import re
import sys
import threading

# TensorFlow's C++ log line: severity, date, time, thread, file:line] message.
CPP_LOG_LINE = re.compile(r"^[IWEF]\d{4} [\d:.]+ +\d+ \S+:\d+\] ")
QUIET_LOG_LINE = re.compile(r"^[IWE]\d{4} [\d:.]+ +\d+ \S+:\d+\] ")  # fatal (F) lines always get through
ABSL_BANNER = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"


def load_tensorflow_quietly():
    """Imports TensorFlow and probes its devices without its C++ start-up log lines.

    While TensorFlow loads and probes its devices, file descriptor 2 goes through a
    pipe whose reader passes on, as they come, every line that is not an INFO,
    WARNING or ERROR C++ log line (fatal ones and anything else get through, also
    if the import fails or aborts). Afterwards `TF_CPP_MIN_LOG_LEVEL=2` keeps later
    INFO and WARNING lines away (errors still show) and Python-side TensorFlow
    logging shows errors only. Where the user set `TF_CPP_MIN_LOG_LEVEL`, or
    TensorFlow is already loaded, nothing changes.

    Example:
        >>> load_tensorflow_quietly()  # before `import tensorflow`; once it is loaded, nothing changes
        >>> import tensorflow as tf
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ or "tensorflow" in sys.modules:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
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


def _pass_on(read_end, destination):
    """Copies lines from `read_end` to `destination`, leaving out the C++ start-up log lines."""
    with os.fdopen(read_end, "rb") as lines:
        for line in lines:
            text = line.decode("utf-8", "replace")
            if not (QUIET_LOG_LINE.match(text) or text.startswith(ABSL_BANNER)):
                os.write(destination, line)
