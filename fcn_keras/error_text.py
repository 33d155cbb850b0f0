"""TensorFlow's error messages in plain words: without node names, op tags and assertion scaffolding, or as
the library's own exception where the error carries one.

A TensorFlow error raised in a traced function reads
`{{function_node __inference_..._528}} Invalid PNG data, size 426 [[{{node DecodeImage}}]] [Op:...]`;
users need the middle. Needs no TensorFlow (it reads the error's text).
"""

import re
import sys

_GRAPH_NAMES = re.compile(r"\{\{[^{}]*\}\}")  # {{function_node ...}}, {{node ...}}
_OP_TAG = re.compile(r"\[Op:[^\]]*\](?: name: \S*)?")
_ASSERTION = re.compile(r"assertion failed: \[(.+?)\](?: \[|$)", re.MULTILINE)


def plain_message(error):
    """The message of a TensorFlow error (or any exception) without TensorFlow's internals.

    For a failed `tf.debugging.assert_*` it is the assertion's own message; otherwise
    the text with `{{function_node ...}}` / `{{node ...}}` names, the `[[...]]` node
    trace and the `[Op:...]` tag removed, on one line.

    Args:
        error: an exception (a `tf.errors.OpError` or anything else).

    Returns:
        str; the exception's class name if nothing else is left.

    Example:
        >>> plain_message(ValueError("{{function_node __inference_f_528}} Invalid PNG data, size 426\\n"
        ...                          "\\t [[{{node DecodeImage}}]] [Op:__inference_f_528]"))
        'Invalid PNG data, size 426'
        >>> plain_message(ValueError("{{function_node f}} assertion failed: [images must share a size] "
        ...                          "[Condition x == y did not hold element-wise:] [x = ] [16 24]"))
        'images must share a size'
    """
    text = str(getattr(error, "message", None) or error)
    assertion = _ASSERTION.search(text)
    if assertion:
        return assertion.group(1).strip()
    lines = (_OP_TAG.sub("", _GRAPH_NAMES.sub("", line)).strip() for line in text.splitlines()
             if not line.strip().startswith("[["))
    return " ".join(line for line in lines if line) or type(error).__name__


def is_tensorflow_error(error):
    """Whether `error` is a TensorFlow op error (a bad file or label found inside a tf.data pipeline, say).

    Never imports TensorFlow: where it is not loaded (JAX or PyTorch without tf.data), no error is one.

    Example:
        >>> bad_png = tf.errors.InvalidArgumentError(None, None, "Invalid PNG data")
        >>> is_tensorflow_error(bad_png), is_tensorflow_error(ValueError("Invalid PNG data"))
        (True, False)
    """
    tensorflow = sys.modules.get("tensorflow")
    return tensorflow is not None and isinstance(error, tensorflow.errors.OpError)


def library_exception(error):
    """The library's own exception that a TensorFlow error carries, or None.

    A bad label or file found inside a tf.data pipeline reaches the caller as a TensorFlow
    error; its message is the check's own, naming the batch or file and the fix. This gives
    it back as the library raises it: a `ValueError` for a label outside the model's classes,
    a `fcn_keras.data.DataError` for an unusable file; None for any other error.

    Example:
        >>> bad_png = tf.errors.InvalidArgumentError(None, None, "DataError: a.png: cannot decode the image")
        >>> library_exception(bad_png), library_exception(ValueError("DataError: a.png"))
        (DataError('a.png: cannot decode the image'), None)
    """
    if not is_tensorflow_error(error):
        return None
    from fcn_keras.data.checks import DataError, data_error_message  # NumPy: loaded with TensorFlow already
    from fcn_keras.labels import label_error

    if (message := label_error(error)) is not None:
        return ValueError(message)
    if (message := data_error_message(error)) is not None:
        return DataError(message)
    return None
