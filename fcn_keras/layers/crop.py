"""A layer that crops one feature map to the spatial size of another (Caffe's `Crop`)."""

import numbers

import keras


@keras.saving.register_keras_serializable(package="fcn_keras")
class CropToReference(keras.layers.Layer):
    """Crops `inputs[0]` at `offset` to the height and width of `inputs[1]`.

    This is how FCN aligns maps of the same stride: the output is
    `a[:, oy:oy + h_ref, ox:ox + w_ref, :]` with `(h_ref, w_ref)` read from the
    reference tensor at run time, so it works with unknown (None) sizes.

    Args:
        offset: int or (int, int), the top-left corner of the crop in `a`.

    Example:
        >>> a = keras.ops.ones((1, 10, 10, 2)); b = keras.ops.ones((1, 4, 5, 7))
        >>> CropToReference(offset=3)([a, b]).shape
        TensorShape([1, 4, 5, 2])
    """

    def __init__(self, offset=0, **kwargs):
        super().__init__(**kwargs)
        self.offset = _offset_pair(offset)

    def call(self, inputs):
        source, reference = inputs
        height, width = keras.ops.shape(reference)[1], keras.ops.shape(reference)[2]
        oy, ox = self.offset
        return source[:, oy : oy + height, ox : ox + width, :]

    def compute_output_shape(self, input_shapes):
        source, reference = input_shapes
        oy, ox = self.offset
        for axis, offset in zip((1, 2), (oy, ox)):
            if source[axis] is not None and reference[axis] is not None:
                if source[axis] < offset + reference[axis]:
                    raise ValueError(
                        f"{self.name}: cannot crop {reference[axis]} rows/columns at offset "
                        f"{offset} from a map of size {source[axis]}; the input image is "
                        "too small for this network's geometry."
                    )
        return (source[0], reference[1], reference[2], source[3])

    def get_config(self):
        return {**super().get_config(), "offset": list(self.offset)}


def _offset_pair(offset):
    """(row, column) offsets from one int or two; NumPy integers count, floats and bools do not."""
    pair = (offset, offset) if not isinstance(offset, (tuple, list)) else tuple(offset)
    if len(pair) == 2 and all(isinstance(o, numbers.Integral) and not isinstance(o, bool) and o >= 0 for o in pair):
        return tuple(int(o) for o in pair)
    raise ValueError(f"offset must be one or two non-negative ints, got {offset!r}.")
