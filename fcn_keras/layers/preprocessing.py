"""In-graph image normalization, so every model takes plain RGB in [0, 255]."""

import keras

CHANNEL_ORDERS = ("RGB", "BGR")


@keras.saving.register_keras_serializable(package="fcn_keras")
class ImagePreprocessing(keras.layers.Layer):
    """RGB in [0, 255] -> `(x - mean) / std` per channel, in the channel order a backbone's weights expect.

    Runs in float32 whatever the global mixed-precision policy, so the mean is
    subtracted exactly; the next layer casts to its own compute dtype.

    Args:
        mean_rgb: three floats subtracted from R, G and B.
        std_rgb: three positive floats R, G and B are then divided by.
        channel_order: "RGB", or "BGR" for weights trained on BGR images (Caffe's).

    Example:
        >>> layer = ImagePreprocessing(mean_rgb=(127.5,) * 3, std_rgb=(127.5,) * 3)
        >>> keras.ops.convert_to_numpy(layer(keras.ops.full((1, 1, 1, 3), 255.0))).tolist()
        [[[[1.0, 1.0, 1.0]]]]
    """

    def __init__(self, mean_rgb=(0.0, 0.0, 0.0), std_rgb=(1.0, 1.0, 1.0), channel_order="RGB", **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self.mean_rgb = _three(mean_rgb, "mean_rgb")
        self.std_rgb = _three(std_rgb, "std_rgb")
        if min(self.std_rgb) <= 0:
            raise ValueError(f"std_rgb must be positive, got {std_rgb!r}.")
        if channel_order not in CHANNEL_ORDERS:
            raise ValueError(f"channel_order must be one of {CHANNEL_ORDERS}, got {channel_order!r}.")
        self.channel_order = channel_order

    def call(self, images):
        images = keras.ops.cast(images, "float32")
        mean = keras.ops.convert_to_tensor(self.mean_rgb, dtype="float32")
        std = keras.ops.convert_to_tensor(self.std_rgb, dtype="float32")
        normalized = (images - mean) / std
        return keras.ops.flip(normalized, axis=-1) if self.channel_order == "BGR" else normalized

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.pop("dtype", None)
        return {**config, "mean_rgb": list(self.mean_rgb), "std_rgb": list(self.std_rgb),
                "channel_order": self.channel_order}


@keras.saving.register_keras_serializable(package="fcn_keras")
class CaffePreprocessing(ImagePreprocessing):
    """RGB in [0, 255] -> BGR with a per-channel mean subtracted (Caffe/VGG style).

    Args:
        mean_bgr: three floats, the mean of the B, G and R channels.

    Example:
        >>> layer = CaffePreprocessing(mean_bgr=(103.939, 116.779, 123.68))
        >>> pixel = keras.ops.convert_to_numpy(layer(keras.ops.full((1, 1, 1, 3), 128.0)))[0, 0, 0]
        >>> [round(float(value), 3) for value in pixel]
        [24.061, 11.221, 4.32]
    """

    def __init__(self, mean_bgr, **kwargs):
        for unused in ("mean_rgb", "std_rgb", "channel_order"):
            kwargs.pop(unused, None)
        super().__init__(mean_rgb=tuple(reversed(_three(mean_bgr, "mean_bgr"))), channel_order="BGR", **kwargs)
        self.mean_bgr = tuple(reversed(self.mean_rgb))

    def get_config(self):
        config = super().get_config()
        for derived in ("mean_rgb", "std_rgb", "channel_order"):
            config.pop(derived)
        return {**config, "mean_bgr": list(self.mean_bgr)}


def _three(values, name):
    values = tuple(float(value) for value in values)
    if len(values) != 3:
        raise ValueError(f"{name} needs 3 values, one per colour channel, got {values!r}.")
    return values
