"""In-graph image normalization, so every model takes plain RGB in [0, 255]."""

import keras


@keras.saving.register_keras_serializable(package="fcn_keras")
class CaffePreprocessing(keras.layers.Layer):
    """RGB in [0, 255] -> BGR with a per-channel mean subtracted (Caffe/VGG style).

    Runs in float32 whatever the global mixed-precision policy, so the mean is
    subtracted exactly; the next layer casts to its own compute dtype.

    Args:
        mean_bgr: three floats, the mean of the B, G and R channels.

    Example:
        >>> layer = CaffePreprocessing(mean_bgr=(103.939, 116.779, 123.68))
        >>> layer(keras.ops.full((1, 1, 1, 3), 128.0))  # doctest: +SKIP
        [[[[24.061, 11.221, 4.32]]]]
    """

    def __init__(self, mean_bgr, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        if len(mean_bgr) != 3:
            raise ValueError(f"mean_bgr needs 3 values (B, G, R), got {mean_bgr!r}.")
        self.mean_bgr = tuple(float(m) for m in mean_bgr)

    def call(self, images):
        bgr = keras.ops.flip(keras.ops.cast(images, "float32"), axis=-1)
        return bgr - keras.ops.convert_to_tensor(self.mean_bgr, dtype="float32")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.pop("dtype", None)
        return {**config, "mean_bgr": list(self.mean_bgr)}
