"""Exported FCN files run by their own runtimes, read where a Keras FCN is read.

`load_runtime_model(path, runtime)` opens a `.tflite` file with the ai-edge-litert
interpreter (XNNPack) or an OpenVINO `.xml` with OpenVINO's CPU plugin: the runtime
of the export format of that name (`fcn_keras.export.formats`). The
`RuntimeModel` it returns has what `fcn_keras.predict`, `evaluate`,
`write_predictions` (`fcn-keras predict --runtime`) and the local server
(`fcn-keras serve --runtime`) use of a Keras model: `predict_on_batch(images) ->
logits`, and `input`/`output` specs that `heads_of`, `num_classes_of` and the
input checks read. It scores each image whole: `memory_limit` tiles Keras models
only. Imports no TensorFlow itself (Keras does, on its TensorFlow backend).
"""

import os
import threading

import keras
import numpy as np

from fcn_keras.export import options
from fcn_keras.export.extras import optional_module
from fcn_keras.export.formats import get_export_format

IMAGES = "images"
LOGITS = "logits"


class RuntimeModel:
    """An exported FCN file and the runtime that runs it, read like a one-input Keras FCN.

    Args:
        path: the file.
        run: `run(images) -> {output name: logits}` on float32 (N, H, W, 3).
        input_shape: the file's input shape, None where it is dynamic.
        output_shapes: {output name: shape}: "logits", or "<head>_logits" per head.

    Attributes:
        name: the file's name without its extension.
        path: the file.
        input: a `keras.KerasTensor` named "images" of `input_shape`; `inputs` is `[input]`.
        output: a `keras.KerasTensor` of the logits' shape, or {head: that} for a model
            with several heads (`fcn_keras.models.heads_of` reads it as a Keras model's).
    """

    def __init__(self, path, run, input_shape, output_shapes):
        self.path = path
        self.name = os.path.splitext(os.path.basename(path))[0]
        self.input = keras.KerasTensor(input_shape, "float32", name=IMAGES)
        self.inputs = [self.input]
        outputs = {_head(name): keras.KerasTensor(shape, "float32", name=name) for name, shape in output_shapes.items()}
        self.output = outputs[None] if None in outputs else outputs
        self._run = run
        self._lock = threading.Lock()  # interpreters and infer requests run one call at a time

    def predict_on_batch(self, images):
        """Logits of a batch, as `keras.Model.predict_on_batch` gives them.

        Args:
            images: float RGB in [0, 255], (N, H, W, 3).

        Returns:
            float32 (N, H, W, C), or {head: that} for a model with several heads.

        Raises:
            ValueError: the images are no RGB batch, or do not fit the file's fixed input shape.
        """
        images = np.asarray(images, np.float32)
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"{self.name} takes a batch of RGB images (N, H, W, 3), got shape {images.shape}.")
        fixed = tuple(self.input.shape)
        if any(side not in (None, given) for side, given in zip(fixed, images.shape)):
            raise ValueError(f"{self.path} takes images of shape {_shape_text(fixed)} (fixed at export), got "
                             f"{_shape_text(images.shape)}; resize them, or export without input_size to take any.")
        with self._lock:
            outputs = self._run(images)
        logits = {_head(name): np.asarray(value, np.float32) for name, value in outputs.items()}
        return logits[None] if None in logits else logits


def load_runtime_model(path, runtime):
    """Opens an exported FCN file with its runtime, for `fcn_keras.predict`, `evaluate` and the server.

    Args:
        path: a `.tflite` file (runtime "tflite", from `export_tflite`) or an OpenVINO
            `.xml` with its `.bin` beside it (runtime "openvino", from `export_openvino`).
        runtime: "tflite" or "openvino".

    Returns:
        A `RuntimeModel`.

    Raises:
        ValueError: an unknown runtime, a file of another extension, or one the runtime
            cannot read or that has no single "images" input.
        FileNotFoundError: `path` does not exist.
        ImportError: the runtime is not installed (names the pip extra).

    Example:
        >>> from fcn_keras.export import export_tflite
        >>> path = export_tflite(fcn_keras.build_fcn8s(3, backbone="vgg16_tiny", padding="same"), "fcn8s.tflite")
        >>> model = load_runtime_model(path, "tflite")
        >>> model.predict_on_batch(np.zeros((1, 32, 48, 3))).shape
        (1, 32, 48, 3)
        >>> fcn_keras.predict(model, np.zeros((20, 30, 3), np.uint8)).shape
        (20, 30)
    """
    runtimes = options.RUNTIMES
    if runtime not in runtimes:
        raise ValueError(f"Unknown runtime {runtime!r}; choose one of {', '.join(runtimes)} (a .keras file loads with "
                         "fcn_keras.models.load_fcn).")
    export_format = get_export_format(runtime)
    path, extension = os.fspath(path), export_format.extensions[0]
    if not path.endswith(extension):
        raise ValueError(f"runtime={runtime} runs {extension} files, and {path} is not one; give the {extension} "
                         f"file that `fcn-keras export --format {runtime}` wrote.")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file; export one with `fcn-keras export --format {runtime}`.")
    return export_format.open(path)


def compile_openvino(path, precision="f32"):
    """An OpenVINO IR compiled for this machine's CPU, one image at a time (latency first).

    Args:
        path: the `.xml` file.
        precision: what the operations the file keeps in floating point compute in:
            "f32", or "bf16" (fast where the CPU has AVX-512 BF16 or AMX, about 1% off).
            OpenVINO's own default is bf16 on such CPUs; "f32" keeps a float32 file's
            logits those of Keras to 1e-6.

    Returns:
        An `openvino.CompiledModel`.
    """
    openvino = optional_module("openvino", "Running OpenVINO files")
    return openvino.Core().compile_model(path, "CPU", {"INFERENCE_PRECISION_HINT": precision,
                                                       "PERFORMANCE_HINT": "LATENCY"})


def open_tflite(path):
    """The `RuntimeModel` of a `.tflite` file, run by the ai-edge-litert interpreter on every core."""
    interpreter_module = optional_module("ai_edge_litert.interpreter", "Running TFLite files")
    try:
        runner = interpreter_module.Interpreter(model_path=path, num_threads=os.cpu_count()).get_signature_runner()
    except ValueError as error:
        raise ValueError(f"{path} is not a TFLite file of one signature ({_last_line(error)}); export one with "
                         "`fcn-keras export --format tflite`.") from None
    inputs, outputs = ({name: _tflite_shape(details) for name, details in ports.items()}
                       for ports in (runner.get_input_details(), runner.get_output_details()))
    return RuntimeModel(path, lambda images: runner(images=images), _one_images_input(path, inputs), outputs)


def open_openvino(path):
    """The `RuntimeModel` of an OpenVINO `.xml` file, run by OpenVINO's CPU plugin (`compile_openvino`)."""
    try:
        compiled = compile_openvino(path)
    except RuntimeError as error:  # OpenVINO's C++ errors: the reason is their last line
        raise ValueError(f"{path} is not an OpenVINO model OpenVINO can read ({_last_line(error)}); export one with "
                         "`fcn-keras export --format openvino`.") from None
    inputs = {port.get_any_name(): _openvino_shape(port) for port in compiled.inputs}
    outputs = {port.get_any_name(): port for port in compiled.outputs}
    request = compiled.create_infer_request()

    def run(images):
        results = request.infer([images])
        return {name: results[port] for name, port in outputs.items()}

    return RuntimeModel(path, run, _one_images_input(path, inputs),
                        {name: _openvino_shape(port) for name, port in outputs.items()})


def _one_images_input(path, inputs):
    """The shape of a file's sole input, "images" (N, H, W, 3); refuses other inputs."""
    shape = inputs.get(IMAGES, ())
    if len(inputs) != 1 or len(shape) != 4 or shape[-1] != 3:
        found = ", ".join(f"{name} {_shape_text(each)}" for name, each in inputs.items())
        raise ValueError(f"{path} takes {found}, not one input 'images' (N, H, W, 3); fcn-keras runs the files "
                         "`fcn-keras export` writes.")
    return shape


def _head(output_name):
    """None for the sole output "logits", the head for "<head>_logits"."""
    return None if output_name == LOGITS else output_name.removesuffix(f"_{LOGITS}")


def _openvino_shape(port):
    """A port's shape, None for dynamic sizes."""
    return tuple(side.get_length() if side.is_static else None for side in port.get_partial_shape())


def _tflite_shape(details):
    """A tensor's shape, None for dynamic sizes (-1 in the file)."""
    return tuple(None if side < 0 else int(side) for side in details["shape_signature"])


def _shape_text(shape):
    return f"({', '.join('any' if side is None else str(side) for side in shape)})"


def _last_line(error):
    return next(line.strip() for line in reversed(f"{type(error).__name__}\n{error}".splitlines()) if line.strip())
