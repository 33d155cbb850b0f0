"""Losses and class weights as the command line gives them: "ce", "dice", "focal", "lovasz", joined by "+",
weighted by "*" ("ce+0.5*dice"); class weights "auto" or "1,2.5,0.5".

`fcn_keras.losses.segmentation_loss` builds the loss a spec names; this module only reads specs and checks
weights, so the command line and `TrainingSettings` refuse a bad one at once. Needs no Keras.
"""

import math
import numbers

LOSSES = {
    "ce": "softmax cross-entropy over the labelled pixels (the paper's loss)",
    "dice": "soft Dice: 1 - the overlap of prediction and truth, averaged over the classes present",
    "focal": "focal loss: cross-entropy that weighs down the pixels already right (gamma 2)",
    "lovasz": "Lovasz-softmax: a smooth surrogate of the mean IU (takes no class weights)",
}
"""The names `segmentation_loss` knows, each with one line for the command line's help."""

SPEC_FORMS = ("names among ce, dice, focal and lovasz joined by '+', each with an optional weight > 0 as in "
              "'0.5*dice' (e.g. 'ce', 'ce+dice', 'ce+0.5*lovasz')")
"""The forms of a loss spec, as its errors state them."""


def parse_loss_spec(spec):
    """The (name, weight) terms of a loss spec such as "ce+0.5*dice".

    Args:
        spec: see `fcn_keras.losses.segmentation_loss`.

    Returns:
        list of (name, float weight), in the spec's order.

    Raises:
        ValueError: one line naming the bad part and the valid forms.

    Example:
        >>> parse_loss_spec("CE + 0.5*Lovasz")
        [('ce', 1.0), ('lovasz', 0.5)]
    """
    if not isinstance(spec, str):
        raise ValueError(f"The loss must be a string of {SPEC_FORMS}, got {spec!r}.")
    terms = []
    for term in "".join(spec.lower().split()).split("+"):
        weight_text, star, name = term.rpartition("*")
        problem = _term_problem(term, weight_text, star, name, [known for known, _ in terms])
        if problem:
            raise ValueError(f"Bad loss {spec!r}: {problem}; write {SPEC_FORMS}.")
        terms.append((name, float(weight_text) if star else 1.0))
    return terms


def _term_problem(term, weight_text, star, name, earlier):
    """What is wrong with one term of a spec (split at its last "*"), in a few words, or None."""
    if not term:
        return "it has an empty term"
    if not name:
        return f"{term!r} has no loss name after '*'"
    if name not in LOSSES:
        return f"{name!r} is not a loss"
    if name in earlier:
        return f"{name!r} appears twice (give it one weight, e.g. '2*{name}')"
    if star and not weight_text:
        return f"{term!r} has no weight before '*'"
    if star:
        try:
            weight = float(weight_text)
        except ValueError:
            return f"{weight_text!r} in {term!r} is not a weight"
        if not math.isfinite(weight) or weight <= 0:
            return f"the weight {weight_text!r} of {name!r} must be a finite number > 0"
    return None


def check_loss_spec(spec):
    """`spec` itself, once `parse_loss_spec` reads it (the type of `fcn-keras train --loss`).

    Example:
        >>> check_loss_spec("ce+dice")
        'ce+dice'
    """
    parse_loss_spec(spec)
    return spec


CLASS_WEIGHTS_RULE = "one finite number >= 0 per class, not all 0"
"""What class weights must be, as the errors of the losses and of the command line say it."""


def class_weight_problem(weights):
    """What is wrong with a sequence of class weights, in a few words, or None when nothing is.

    Args:
        weights: a sequence of per-class weights.

    Returns:
        str, e.g. "the weight -1.0 of class 0 is below 0", or None.

    Example:
        >>> class_weight_problem([1.0, 2.5]), class_weight_problem([0, 0])
        (None, 'every weight is 0')
    """
    if not weights:
        return "there is no weight"
    for index, weight in enumerate(weights):
        problem = number_problem(weight)
        if problem:
            return f"the weight {weight!r} of class {index} {problem}"
    if not any(weights):
        return "every weight is 0"
    return None


def checked_class_weights(class_weights, name="class_weights"):
    """Class weights as a tuple of floats, or None; refuses anything else with the rule and an example.

    Args:
        class_weights: None, or a list (tuple, NumPy array) of one weight per class.
        name: what to call them in the error ("alpha").

    Returns:
        tuple of floats, or None.

    Raises:
        ValueError: not a sequence of finite numbers >= 0, or all of them 0.

    Example:
        >>> checked_class_weights(np.array([1, 2.5]))
        (1.0, 2.5)
        >>> checked_class_weights([1.0, -2.0])
        Traceback (most recent call last):
        ValueError: class_weights must be one finite number >= 0 per class, ...: the weight -2.0 of class 1 is below 0.
    """
    if class_weights is None:
        return None
    weights = None if isinstance(class_weights, (str, bytes, dict)) else _as_list(class_weights)
    problem = f"got {class_weights!r}" if weights is None else class_weight_problem(weights)
    if problem:
        raise ValueError(f"{name} must be {CLASS_WEIGHTS_RULE} (e.g. [1.0, 2.5, 0.5]): {problem}.")
    return tuple(float(weight) for weight in weights)


def check_class_weight_counts(class_weights, num_classes, owner):
    """Refuses class weights whose form or counts do not fit the classes of `owner`.

    Args:
        class_weights: one weight per class, or {head: weights} (a head left out has none).
        num_classes: the classes: an int, or {head: classes} for several heads.
        owner: what has the classes, in words ("the data", "the model").

    Raises:
        ValueError: one list for several heads, {head: weights} for one, heads that
            `owner` lacks, or a count of weights other than the head's classes.

    Example:
        >>> check_class_weight_counts((1.0, 2.0), 5, "the data")
        Traceback (most recent call last):
        ValueError: `class_weights` has 2 weights, and the data has 5 classes: give one weight per class.
    """
    heads = num_classes if isinstance(num_classes, dict) else None
    if heads is not None and not isinstance(class_weights, dict):
        raise ValueError(f"`class_weights` gives one list, and {owner} has the heads {', '.join(heads)}: give "
                         "class_weights='auto', or {head: weights} in Python.")
    if heads is None and isinstance(class_weights, dict):
        raise ValueError(f"`class_weights` is {{head: weights}}, and {owner} has one head: give one weight per "
                         "class.")
    unknown = sorted(set(class_weights) - set(heads)) if heads is not None else []
    if unknown:
        raise ValueError(f"`class_weights` names heads {owner} does not have: {', '.join(unknown)}; its heads are "
                         f"{', '.join(heads)}.")
    for head, classes in (heads or {None: num_classes}).items():
        given = class_weights if heads is None else class_weights.get(head)
        if hasattr(given, "__len__") and len(given) != classes:
            whose = owner if head is None else f"{owner}'s {head!r} head"
            raise ValueError(f"`class_weights` has {len(given)} weights, and {whose} has {classes} classes: give "
                             "one weight per class.")


def parse_class_weights(text, num_classes=None):
    """The command line's --class-weights: "auto" (median-frequency weights of the training data) or one weight per
    class, separated by commas.

    Args:
        text: "auto", or numbers such as "1,2.5,0.5".
        num_classes: the model's classes, to check the count against; None skips the check.

    Returns:
        the string "auto", or a tuple of floats.

    Raises:
        ValueError: one line naming the bad part and the valid forms.

    Example:
        >>> parse_class_weights("1, 2.5,0.5"), parse_class_weights("AUTO")
        ((1.0, 2.5, 0.5), 'auto')
        >>> parse_class_weights("1,,2")
        Traceback (most recent call last):
        ValueError: Bad class weights '1,,2': '' (class 1) is not a number; write auto (median-frequency weights ...
    """
    if text.strip().lower() == "auto":
        return "auto"
    parts = [part.strip() for part in text.split(",")]
    weights, problem = [], None
    for index, part in enumerate(parts):
        try:
            weights.append(float(part))
        except ValueError:
            problem = f"{part!r} (class {index}) is not a number"
            break
    problem = problem or class_weight_problem(weights)
    if not problem and num_classes is not None and len(weights) != num_classes:
        problem = f"it gives {len(weights)} weights but the model has {num_classes} classes"
    if problem:
        raise ValueError(f"Bad class weights {text!r}: {problem}; write auto (median-frequency weights of the training "
                         f"data) or {CLASS_WEIGHTS_RULE}, separated by commas, e.g. 1,2.5,0.5.")
    return tuple(weights)


def number_problem(value):
    """Why `value` is not a finite number >= 0, in a few words, or None."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return "is not a number"
    if not math.isfinite(value):
        return "is not finite"
    return "is below 0" if value < 0 else None


def _as_list(values):
    """`values` as a list if it is a sequence or an array of one axis, else None."""
    try:
        return [value.item() if hasattr(value, "item") else value for value in values]
    except TypeError:
        return None
