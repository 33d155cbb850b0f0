"""The losses' arguments, each checked by one rule: per-class weights (where they are given, and against the logits'
class count when the loss runs) and numbers >= 0 (Dice's smooth, focal's gamma). The rules themselves are in
`fcn_keras.loss_specs`, which the command line reads without Keras."""

from keras import ops

from fcn_keras.loss_specs import number_problem


def class_weight_table(class_weights, logits, name="class_weights"):
    """The weights as a float32 tensor to index by label, once their count matches the logits' classes.

    Args:
        class_weights: tuple of floats from `fcn_keras.loss_specs.checked_class_weights`.
        logits: the logits `(N, H, W, C)` the loss scores.
        name: what to call the weights in the error.

    Returns:
        float32 tensor of shape `(C,)`.

    Raises:
        ValueError: the logits' (static) class count differs from the number of weights.

    Example:
        >>> class_weight_table((1.0, 2.0), np.zeros((1, 1, 1, 3)))
        Traceback (most recent call last):
        ValueError: class_weights has 2 weights but the logits have 3 classes: give one weight per class.
    """
    classes = logits.shape[-1]
    if classes is not None and classes != len(class_weights):
        raise ValueError(f"{name} has {len(class_weights)} weights but the logits have {classes} classes: "
                         "give one weight per class.")
    return ops.convert_to_tensor(class_weights, "float32")


def non_negative_number(value, name, hint):
    """`value` as a float if it is a finite number >= 0.

    Args:
        value: the value to check.
        name: what to call it in the error ("smooth").
        hint: what the error adds in brackets, e.g. "1.0 by default".

    Returns:
        `float(value)`.

    Raises:
        ValueError: naming `name`, the rule, the hint and the value.

    Example:
        >>> non_negative_number(-1, "smooth", "1.0 by default")
        Traceback (most recent call last):
        ValueError: smooth must be a finite number >= 0 (1.0 by default), got -1.
    """
    if number_problem(value):
        raise ValueError(f"{name} must be a finite number >= 0 ({hint}), got {value!r}.")
    return float(value)
