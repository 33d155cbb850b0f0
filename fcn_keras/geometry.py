"""Coordinate maps of feature grids: where each feature pixel sits in the input image.

FCN fuses maps of different depths and must know how they line up. Like Caffe's
`coord_map`, every map carries an affine relation to the input,
`x_input = stride * i + offset` (same on both axes), and each layer updates it.
The crop offsets of the reference network (19; 5, 27; 5, 9, 31) all follow from it.
"""

import dataclasses


def keras_padding_before(kernel, stride, padding, transposed=False):
    """Rows/columns a Keras layer pads at the top/left for `padding` "valid" or "same".

    Args:
        kernel, stride: the layer's (square) kernel size and stride.
        padding: "valid" or "same".
        transposed: True for `Conv2DTranspose`.

    Returns:
        int, the leading padding (for a transposed layer: the leading crop).

    Example:
        >>> keras_padding_before(3, 1, "same"), keras_padding_before(4, 2, "same", True)
        (1, 1)
    """
    if padding == "valid":
        return 0
    if padding != "same":
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}.")
    if transposed:
        return max(kernel - stride, 0) // 2
    if stride == 1:
        return (kernel - 1) // 2
    if kernel <= stride:
        return 0
    raise ValueError(
        f"A 'same' layer with kernel {kernel} and stride {stride} pads by an amount that "
        "depends on the input size; give it explicit padding instead."
    )


@dataclasses.dataclass(frozen=True)
class Grid:
    """Affine map from feature-map index to input pixel: `x = stride * i + offset`.

    Example:
        >>> Grid().conv(3, pad=100).conv(2, stride=2)   # conv1_1 (pad 100), pool1
        Grid(stride=2, offset=-98.5)
    """

    stride: float = 1
    offset: float = 0.0

    def conv(self, kernel, stride=1, pad=0):
        """The grid after a convolution or pooling with leading padding `pad`.

        Args:
            kernel, stride: the layer's kernel size and stride.
            pad: zeros added before the first row/column.

        Returns:
            The new `Grid`.
        """
        return Grid(self.stride * stride, self.offset + self.stride * ((kernel - 1) / 2 - pad))

    def transposed_conv(self, kernel, stride, crop=0):
        """The grid after a transposed convolution that drops `crop` leading outputs.

        Args:
            kernel, stride: the layer's kernel size and stride (the upsampling factor).
            crop: leading outputs removed ("same" padding does this).

        Returns:
            The new `Grid`.
        """
        new_stride = self.stride / stride
        if new_stride != int(new_stride):
            raise ValueError(f"Cannot upsample a stride-{self.stride} map by {stride}.")
        return Grid(int(new_stride), self.offset - new_stride * ((kernel - 1) / 2 - crop))

    def shift_to(self, other):
        """Index in this map of `other`'s first pixel (both maps share one stride).

        Args:
            other: a `Grid` of the same stride.

        Returns:
            int; negative when `other` starts first.

        Raises:
            ValueError: the strides differ or the maps do not line up on whole pixels.
        """
        if self.stride != other.stride:
            raise ValueError(f"Cannot align stride {self.stride} with stride {other.stride}.")
        shift = (other.offset - self.offset) / self.stride
        if shift != int(shift):
            raise ValueError(
                f"Maps with offsets {self.offset} and {other.offset} do not line up on a "
                f"common stride-{self.stride} grid."
            )
        return int(shift)
