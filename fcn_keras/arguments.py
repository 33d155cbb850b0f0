"""Arguments checked by one rule each, for the library and the command line alike.

Numbers: the library calls `whole_number` and `positive_number` on its arguments;
the command line builds its option types from the same rules with
`whole_number_option` and `positive_number_option`, so that `--batch-size 0` is
refused by argparse with the option's name, before anything is loaded.
What an FCN is built for: class counts and heads (`class_counts`), inputs
(`modality_names`), a backbone model's taps (`tap_layers`), and data whose masks
must match a model's heads (`check_mask_heads`): the builders, `late_fusion`,
`evaluate`, `train`, the data sources and the command line all check them here, so
each is refused in the same words wherever it is given. Needs no TensorFlow.
"""

import argparse
import collections.abc
import importlib
import math
import numbers

from fcn_keras.data.modalities import MODALITIES
from fcn_keras.data.specs import INPUT_MODALITIES
from fcn_keras.defaults import DEFAULT_NUM_CLASSES


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


def library_option(parser):
    """An argparse `type` from a library parser ("module:function", imported when an option is given), whose
    ValueError becomes argparse's one-line error: "argument --class-weights: <its message>".

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> _ = parser.add_argument("--size", type=library_option("fcn_keras.arguments:image_size_option"))
        >>> parser.parse_args(["--size", "32x48"]).size
        (32, 48)
    """
    module, _, function = parser.partition(":")

    def parse(text):
        try:
            return getattr(importlib.import_module(module), function)(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error).rstrip(".")) from None

    return parse


TAP_STRIDES = (8, 16, 32)  # the strides of the backbone maps an FCN's heads read


def class_count(value, name="num_classes"):
    """A number of classes: a whole number >= 1 (NumPy integers too, e.g. `mask.max() + 1`), as an int.

    Example:
        >>> class_count(np.int64(3))
        3
        >>> class_count(2.5)
        Traceback (most recent call last):
        ValueError: num_classes must be a whole number >= 1, got 2.5.
    """
    return whole_number(value, name)


def class_counts(num_classes=None, heads=None):
    """{head: classes} of an FCN from its `num_classes` or `heads` argument; {None: classes} for one head.

    Args:
        num_classes: the class count of a one-headed FCN (default 21), or a dict taken as `heads`.
        heads: {head name: class count} of an FCN with several heads.

    Returns:
        dict; head names are identifiers (they name layers and outputs), counts ints.

    Raises:
        ValueError: both given, an empty or non-dict `heads`, a bad head name or count.

    Example:
        >>> class_counts(np.int64(5)), class_counts(heads={"semantic": 33, "geometric": np.int32(3)})
        ({None: 5}, {'semantic': 33, 'geometric': 3})
    """
    if isinstance(num_classes, collections.abc.Mapping) and heads is None:
        num_classes, heads = None, num_classes
    if heads is None:
        return {None: DEFAULT_NUM_CLASSES if num_classes is None else class_count(num_classes)}
    if num_classes is not None:
        raise ValueError("Give num_classes or heads, not both: heads={name: classes, ...} sets each head's.")
    if not isinstance(heads, collections.abc.Mapping) or not heads:
        raise ValueError(f"heads must be a non-empty dict {{name: classes}}, e.g. {{'semantic': 33, 'geometric': 3}}, "
                         f"got {heads!r}.")
    for head in heads:
        if not isinstance(head, str) or not head.isidentifier():
            raise ValueError(f"Head names must be identifiers (they name layers and outputs), got {head!r}.")
    return {head: class_count(classes, f"heads[{head!r}]") for head, classes in heads.items()}


def modality_names(modalities):
    """The inputs of an FCN as a tuple of names: one name alone ("hha") is that one input.

    Colour comes first where there is colour, and depth only with colour (the
    authors' colour-depth net stacks them; depth alone has no network to start from).

    Args:
        modalities: a name or a sequence of names among "color", "depth", "hha".

    Returns:
        tuple of str.

    Raises:
        ValueError: an unknown, repeated or misplaced name, or depth without colour.

    Example:
        >>> modality_names("hha"), modality_names(["color", "depth"])
        (('hha',), ('color', 'depth'))
        >>> modality_names(("hha", "depth"))
        Traceback (most recent call last):
        ValueError: modalities ('hha', 'depth'): depth comes only with colour, e.g. ('color', 'depth') ...
    """
    try:
        names = (modalities,) if isinstance(modalities, str) else tuple(modalities)
    except TypeError:
        names = None
    if not names or any(name not in INPUT_MODALITIES for name in names) or len(set(names)) != len(names):
        raise ValueError(f"modalities must be one or more distinct names among {', '.join(INPUT_MODALITIES)}, "
                         f"e.g. ('color', 'depth'), got {modalities!r}.")
    if "color" in names[1:]:
        raise ValueError(f"modalities {names}: give colour first (its channels take a colour network's first "
                         f"kernels), e.g. {('color', *(name for name in names if name != 'color'))}.")
    leaning = [name for name in names if not MODALITIES[name].alone]
    if leaning and "color" not in names:
        raise ValueError(f"modalities {names}: {' and '.join(leaning)} comes only with colour, e.g. "
                         f"{('color', *leaning)} as the authors' colour-depth net; use ('hha',) for a network of "
                         "geometry alone.")
    return names


def tap_layers(taps):
    """A backbone model's taps as {stride: layer}: strides among 8, 16 and 32, each a layer name or a tensor.

    Args:
        taps: a dict {stride: layer name or KerasTensor} ("8" counts as 8).

    Returns:
        dict {int stride: layer}.

    Raises:
        TypeError: `taps` is not a dict (a list of names does not say which stride each is).
        ValueError: a stride other than 8, 16 or 32, or a layer that is neither a name nor a tensor.

    Example:
        >>> tap_layers({"8": "block3_out", 16: "block4_out", 32: "block5_out"})
        {8: 'block3_out', 16: 'block4_out', 32: 'block5_out'}
        >>> tap_layers(["p3", "p4", "p5"])
        Traceback (most recent call last):
        TypeError: taps must be a dict {stride: layer name}, e.g. {8: 'p3', 16: 'p4', 32: 'p5'}, got the list ...
    """
    example = "{8: 'p3', 16: 'p4', 32: 'p5'}"
    if not isinstance(taps, collections.abc.Mapping):
        raise TypeError(f"taps must be a dict {{stride: layer name}}, e.g. {example}, got the "
                        f"{type(taps).__name__} {taps!r}: say which stride each layer has.")
    checked = {}
    for stride, layer in taps.items():
        number = int(stride) if isinstance(stride, str) and stride.isdigit() else stride
        if isinstance(number, bool) or not isinstance(number, numbers.Integral) or number not in TAP_STRIDES:
            raise ValueError(f"taps: stride {stride!r} is not one of {', '.join(map(str, TAP_STRIDES))}; taps are "
                             f"{{stride: layer name}}, e.g. {example}.")
        if isinstance(layer, (bytes, numbers.Number)) or layer is None:
            raise ValueError(f"taps[{stride!r}] must be a layer name or a tensor of the backbone model, got "
                             f"{layer!r}.")
        checked[int(number)] = layer
    return checked


def check_mask_heads(mask_heads, model_heads, data):
    """Refuses data whose masks do not match a model's heads: one mask per image for a one-headed model,
    {head: mask} with exactly the model's heads for several.

    Args:
        mask_heads: the heads the data's masks are keyed by, or None for one mask per image.
        model_heads: the model's heads ({head: classes} or their names), or None for a one-headed model.
        data: what to call the data in the error ("the data", "train_data").

    Raises:
        ValueError: naming both sides and the fix.

    Example:
        >>> check_mask_heads(["semantic", "geometric"], {"semantic": 33, "geometric": 3}, "the data")
        >>> check_mask_heads(None, {"semantic": 33, "geometric": 3}, "the data")
        Traceback (most recent call last):
        ValueError: The model has heads 'semantic' and 'geometric', and the data gives one mask per image; ...
    """
    if mask_heads is None and model_heads is None:
        return
    if model_heads is None:
        raise ValueError(f"{data} gives masks of heads {_listed(mask_heads)}, and the model has one head: give one "
                         "mask per image, or a model built with heads={...} of those names.")
    if mask_heads is None:
        raise ValueError(f"The model has heads {_listed(model_heads)}, and {data} gives one mask per image; give "
                         "{head: mask} for every head (as siftflow: does), or a one-headed model.")
    missing, extra = [h for h in model_heads if h not in mask_heads], [h for h in mask_heads if h not in model_heads]
    if missing or extra:
        what = "; ".join(part for part in (missing and f"missing {_listed(missing)}",
                                           extra and f"not the model's: {_listed(extra)}") if part)
        raise ValueError(f"The model has heads {_listed(model_heads)}, and the masks of {data} have "
                         f"{_listed(mask_heads)} ({what}); give a mask for each of the model's heads.")


def _listed(names):
    quoted = [repr(name) for name in names]
    return " and ".join(quoted) if len(quoted) < 3 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


_POSITIVE_RULE = "a finite number > 0"


def _whole_rule(minimum, maximum):
    return f"a whole number >= {minimum}" if maximum is None else f"a whole number from {minimum} to {maximum}"
