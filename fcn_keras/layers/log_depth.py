"""In-graph depth normalization as the FCN authors' NYUDv2 nets take it: log of the depth minus a mean."""

import keras


@keras.saving.register_keras_serializable(package="fcn_keras")
class LogDepth(keras.layers.Layer):
    """Depth in millimetres (N, H, W, 1) -> `log(depth) - mean_log`; depths below 1 mm (missing) count as 1 mm.

    Runs in float32 whatever the global mixed-precision policy.

    Args:
        mean_log: the mean of log(depth in mm) over the training set (NYUDv2: 7.844, about 2.55 m).

    Example:
        >>> layer = LogDepth(mean_log=7.844)
        >>> [round(float(value), 3) for value in keras.ops.convert_to_numpy(layer(np.array([[[[2551.0], [0.0]]]])))
        ...  .ravel()]
        [0.0, -7.844]
    """

    def __init__(self, mean_log, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self.mean_log = float(mean_log)

    def call(self, depth):
        depth = keras.ops.cast(depth, "float32")
        return keras.ops.log(keras.ops.maximum(depth, 1.0)) - self.mean_log

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.pop("dtype", None)
        return {**config, "mean_log": self.mean_log}
