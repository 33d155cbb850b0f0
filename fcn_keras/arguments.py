"""Numeric settings checked by one rule each, for the library and the command line alike.

The library calls `whole_number` and `positive_number` on its arguments; the
command line builds its option types from the same rules with `whole_number_option`
and `positive_number_option`, so that `--batch-size 0` is refused by argparse with
the option's name, before anything is loaded. Needs no TensorFlow.
"""

import argparse
import math
import numbers


def whole_number(value, name, minimum=1, maximum=None):
    """Returns `value` as an int in `[minimum, maximum]`; refuses bools, floats and anything else.

    Args:
        value: the value to check.
        name: what to call it in the error ("batch_size").
        minimum: the smallest allowed value.
        maximum: the largest allowed value, or None.

    Returns:
        `int(value)`.

    Raises:
        ValueError: naming `name`, the rule and the value.

    Example:
        >>> whole_number(8, "batch_size")
        8
        >>> whole_number(0, "batch_size")
        Traceback (most recent call last):
        ValueError: batch_size must be a whole number >= 1, got 0.
    """
    integral = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not integral or value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {_whole_rule(minimum, maximum)}, got {value!r}.")
    return int(value)


def positive_number(value, name):
    """Returns `value` as a float if it is a finite number above zero.

    Args:
        value: the value to check.
        name: what to call it in the error ("learning_rate").

    Returns:
        `float(value)`.

    Raises:
        ValueError: naming `name`, the rule and the value.

    Example:
        >>> positive_number(1e-4, "learning_rate")
        0.0001
        >>> positive_number(float("nan"), "learning_rate")
        Traceback (most recent call last):
        ValueError: learning_rate must be a finite number > 0, got nan.
    """
    real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not real or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be {_POSITIVE_RULE}, got {value!r}.")
    return float(value)


def whole_number_option(minimum=1, maximum=None):
    """An argparse `type` for `whole_number`: `--batch-size 0` fails as "argument --batch-size: must be ...".

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> _ = parser.add_argument("--epochs", type=whole_number_option())
        >>> parser.parse_args(["--epochs", "3"]).epochs
        3
    """

    def parse(text):
        try:
            return whole_number(int(text), "the value", minimum, maximum)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {_whole_rule(minimum, maximum)}, got {text!r}") from None

    return parse


def image_size_option(text):
    """An argparse `type` for an image size: "HEIGHTxWIDTH", or one number for a square.

    Example:
        >>> image_size_option("500x375"), image_size_option("224")
        ((500, 375), (224, 224))
    """
    parts = text.lower().split("x")
    if len(parts) > 2 or not all(part.isdigit() and int(part) > 0 for part in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not an image size; write HEIGHTxWIDTH, e.g. 500x500")
    return int(parts[0]), int(parts[-1])


def positive_number_option(scale=1):
    """An argparse `type` for `positive_number`, times `scale` (e.g. 2**30 for a size in GB given in bytes).

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> _ = parser.add_argument("--memory-limit", type=positive_number_option(2**30))
        >>> parser.parse_args(["--memory-limit", "0.5"]).memory_limit
        536870912
    """

    def parse(text):
        try:
            number = positive_number(float(text), "the value")
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {_POSITIVE_RULE}, got {text!r}") from None
        return number if scale == 1 else int(number * scale)

    return parse


_POSITIVE_RULE = "a finite number > 0"


def _whole_rule(minimum, maximum):
    return f"a whole number >= {minimum}" if maximum is None else f"a whole number from {minimum} to {maximum}"
