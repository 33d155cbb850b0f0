"""Local response normalization across channels, as Caffe's LRN layer (AlexNet, GoogLeNet)."""

import keras


@keras.saving.register_keras_serializable(package="fcn_keras")
class LocalResponseNormalization(keras.layers.Layer):
    """`x / (k + alpha / size * sum of x^2 over `size` neighbouring channels) ** beta`, Caffe's ACROSS_CHANNELS.

    Caffe divides `alpha` by the window size (TensorFlow's `local_response_normalization`
    does not); channels beyond the edges count as zeros.

    Args:
        size: channels in the window (odd).
        alpha, beta, k: the formula's constants (AlexNet: 1e-4, 0.75, 1).

    Example:
        >>> layer = LocalResponseNormalization(size=3, alpha=3.0, beta=1.0)
        >>> [round(float(v), 3) for v in keras.ops.convert_to_numpy(layer(keras.ops.ones((1, 1, 1, 3))))[0, 0, 0]]
        [0.333, 0.25, 0.333]
    """

    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=1.0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(size, int) or size < 1 or size % 2 == 0:
            raise ValueError(f"size must be an odd whole number of channels, got {size!r}.")
        self.size, self.alpha, self.beta, self.k = size, float(alpha), float(beta), float(k)

    def call(self, inputs):
        radius, channels = self.size // 2, inputs.shape[-1]
        squares = keras.ops.pad(keras.ops.square(inputs), [[0, 0], [0, 0], [0, 0], [radius, radius]])
        window = sum(squares[..., shift:shift + channels] for shift in range(self.size))
        return inputs / keras.ops.power(self.k + self.alpha / self.size * window, self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "size": self.size, "alpha": self.alpha, "beta": self.beta, "k": self.k}
