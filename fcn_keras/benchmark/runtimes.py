"""The ways the benchmark runs an FCN: Keras, tf.function with and without XLA, the exports and a PyTorch peer.

Importing this module loads neither NumPy nor Keras, so `fcn-keras benchmark --help` lists the runtimes at once.
The exports' runtimes are those their formats register (`fcn_keras.export.formats`).

Each runtime turns a model into a predictor, `predict(images) -> logits` on
NumPy float32 (N, H, W, 3) RGB 0..255 in and (N, H, W, C) logits out, so that
every runtime is timed the same way and its logits are checked against Keras'.
"""

import dataclasses
import importlib.util
import os

from fcn_keras.export.formats import export_formats, load_function


@dataclasses.dataclass(frozen=True)
class Runtime:
    """One way to run a model.

    Attributes:
        name: what `--runtimes` calls it.
        description: one line for the results.
        prepare: `prepare(build, workdir, images) -> predict`; `build(policy)` gives the
            case's Keras model (float32 by default), `workdir` an empty folder for its files,
            `images` a batch of the case (calibration for int8).
        needs: modules that must be importable, with the pip install that brings them.
        tensorflow: whether it needs Keras' TensorFlow backend (an export or a tf.function).
    """

    name: str
    description: str
    prepare: object
    needs: tuple = ()
    tensorflow: bool = True

    def missing(self):
        """Why this runtime cannot run here (the pip command or backend that fixes it), or None."""
        from fcn_keras.machine import keras_backend

        if self.tensorflow and keras_backend() != "tensorflow":
            return f"needs Keras' TensorFlow backend (KERAS_BACKEND=tensorflow), not {keras_backend()}"
        for module, install in self.needs:
            if importlib.util.find_spec(module) is None:
                return f"{module} is not installed (pip install {install})"
        return None


def _keras(build, workdir, images):
    return build("float32").predict_on_batch


def _keras_bfloat16(build, workdir, images):
    import numpy as np

    model = build("mixed_bfloat16")
    return lambda batch: np.asarray(model.predict_on_batch(batch), np.float32)


def _tf_function(jit_compile):
    def prepare(build, workdir, images):
        import tensorflow as tf

        model = build("float32")
        call = tf.function(lambda batch: model(batch, training=False), jit_compile=jit_compile)
        return lambda batch: call(tf.constant(batch)).numpy()

    return prepare


def _skip_border(build, workdir, images):
    import warnings

    import tensorflow as tf

    from fcn_keras.models import skip_border

    model = build("float32")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fast = skip_border(model)
    if fast is model:
        raise ValueError(str(caught[-1].message))
    call = tf.function(lambda batch: fast(batch, training=False))
    return lambda batch: call(tf.constant(batch)).numpy()


def _export_runtime(run):
    """The `Runtime` of an export format's `BenchmarkRun`, its predictor's module imported when it prepares."""
    def prepare(build, workdir, images):
        return load_function(run.prepare)(build, workdir, images, **run.options)

    return Runtime(run.name, run.description, prepare, run.needs)


def _pytorch_peer(build, workdir, images):
    from fcn_keras.benchmark.pytorch_peer import pytorch_predictor

    return pytorch_predictor(build("float32"), threads=os.cpu_count())


RUNTIMES = {runtime.name: runtime for runtime in (
    Runtime("keras", "Keras predict_on_batch, float32", _keras, tensorflow=False),
    Runtime("keras_bf16", "Keras predict_on_batch, mixed_bfloat16 policy", _keras_bfloat16, tensorflow=False),
    Runtime("tf_function", "tf.function of the model call, float32", _tf_function(False)),
    Runtime("xla", "tf.function(jit_compile=True), float32", _tf_function(True)),
    Runtime("skip_border", "tf.function of skip_border(model): the paper geometry without its zero border's work",
            _skip_border),
    *(_export_runtime(run) for export_format in export_formats() for run in export_format.benchmarks),
    Runtime("pytorch", "our PyTorch twin of pytorch-fcn's FCN8s, channels_last (VGG16 paper FCN-8s only)",
            _pytorch_peer, (("torch", "fcn-keras[torch]"),), tensorflow=False),
)}


def get_runtime(name):
    """The `Runtime` called `name`.

    Example:
        >>> get_runtime("xla").description
        'tf.function(jit_compile=True), float32'
        >>> get_runtime("tensorrt")
        Traceback (most recent call last):
        ...
        ValueError: Unknown runtime 'tensorrt'; choose from keras, keras_bf16, tf_function, xla, skip_border, \
saved_model, tflite_fp32, tflite_fp16, tflite_int8, onnx, openvino, openvino_bf16, openvino_int8, pytorch.
    """
    if name not in RUNTIMES:
        raise ValueError(f"Unknown runtime {name!r}; choose from {', '.join(RUNTIMES)}.")
    return RUNTIMES[name]
