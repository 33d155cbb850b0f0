"""How `fcn-keras benchmark` runs each export format: it writes the file, opens it with the format's runtime, predicts.

Each function is a `BenchmarkRun.prepare` of `fcn_keras.export.formats`: `prepare(build, workdir,
images, **options) -> predict`, where `build(policy)` gives the Keras model, `workdir` is an
empty folder for the file and `images` a batch of the case (calibration for int8); `predict`
maps NumPy float32 (N, H, W, 3) RGB 0..255 to (N, H, W, C) logits.
"""

import os

ONNX_BYTES_PER_PARAMETER = 170  # tf2onnx's peak memory, for the models export_onnx hands to it (VGG16's: > 22 GB)


def saved_model_predictor(build, workdir, images):
    """The SavedModel's `logits` signature."""
    import tensorflow as tf

    from fcn_keras.export import export_saved_model

    signature = tf.saved_model.load(export_saved_model(build("float32"), workdir)).signatures["logits"]
    return lambda batch: signature(images=tf.constant(batch))["logits"].numpy()


def tflite_predictor(build, workdir, images, quantization=None):
    """The TFLite interpreter (XNNPack, every core) on a file of `quantization`."""
    from ai_edge_litert.interpreter import Interpreter

    from fcn_keras.export import export_tflite

    path = export_tflite(build("float32"), os.path.join(workdir, "model.tflite"), quantization,
                         representative_data=images if quantization == "int8" else None)
    runner = Interpreter(model_path=path, num_threads=os.cpu_count()).get_signature_runner()
    return lambda batch: runner(images=batch)["logits"]


def onnx_predictor(build, workdir, images):
    """ONNX Runtime on the CPU; refuses a tf2onnx conversion that would not fit in the free memory."""
    import onnxruntime
    import psutil

    from fcn_keras.export import export_onnx
    from fcn_keras.export.onnx_graph import unwritable_layers

    model = build("float32")
    needed, available = ONNX_BYTES_PER_PARAMETER * model.count_params(), psutil.virtual_memory().available
    if unwritable_layers(model) and needed > available:
        raise ValueError(f"converting {model.count_params():,} parameters with tf2onnx takes about "
                         f"{needed / 2**30:.0f} GiB and {available / 2**30:.0f} GiB are free; convert on a larger "
                         "machine")
    path = export_onnx(model, os.path.join(workdir, "model.onnx"), check_size=None)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    return lambda batch: session.run(None, {"images": batch})[0]


def openvino_predictor(build, workdir, images, precision="f32", quantization=None):
    """OpenVINO's CPU plugin, computing in `precision`, on an IR of `quantization`."""
    from fcn_keras.export import export_openvino
    from fcn_keras.export.runtime_models import compile_openvino

    path = export_openvino(build("float32"), os.path.join(workdir, "model.xml"), quantization,
                           representative_data=images if quantization == "int8" else None)
    compiled = compile_openvino(path, precision)
    return lambda batch: compiled(batch)[0]
