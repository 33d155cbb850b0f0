"""Grouped convolution computed group by group, as Caffe's `group` (AlexNet's conv2, conv4, conv5)."""

import keras


@keras.saving.register_keras_serializable(package="fcn_keras")
class GroupedConv2D(keras.layers.Conv2D):
    """`keras.layers.Conv2D` with `groups`, its kernel (kh, kw, in / groups, out) split into one convolution per group.

    The weights and results are `Conv2D(groups=...)`'s. TensorFlow's CPU kernels have
    no grouped convolution, and Keras falls back to an XLA-compiled one that compiles
    again for every input size and does not export to TFLite; one ordinary
    convolution per group has neither problem.

    Example:
        >>> layer = GroupedConv2D(4, 3, groups=2)
        >>> tuple(layer(keras.ops.ones((1, 5, 5, 6))).shape)
        (1, 3, 3, 4)
    """

    def convolution_op(self, inputs, kernel):
        if self.groups == 1:
            return super().convolution_op(inputs, kernel)
        parts = zip(keras.ops.split(inputs, self.groups, axis=-1), keras.ops.split(kernel, self.groups, axis=-1))
        return keras.ops.concatenate([super(GroupedConv2D, self).convolution_op(x, k) for x, k in parts], axis=-1)
