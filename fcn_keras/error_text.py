"""TensorFlow's error messages in plain words: without node names, op tags and assertion scaffolding.

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
