"""Segments an image through TF Serving's gRPC API (port 8500), with tensorflow-serving-api.

    pip install tensorflow-serving-api
    python export/grpc_client_example.py photo.jpg --server localhost:8500 --out classes.png

Sends the encoded file to the `predict_image_bytes` signature and asks only for
the `classes` output (`output_filter`), which keeps the answer small: the
`probabilities` output of a 500x500 image with 21 classes alone is 21 MB, over
gRPC's default 4 MB message limit. The local `fcn-keras serve` server speaks REST
only; use the REST example against it.

Its command line, shared with the REST example, is `class_map_arguments`: from the
installed fcn_keras package, or from a copy of `fcn_keras/export/client.py` saved
as `client.py` next to this script.
"""

import grpc
import numpy as np
import tensorflow as tf
from PIL import Image
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

try:
    from fcn_keras.export.client import class_map_arguments
except ImportError:  # no fcn_keras here: a copy of fcn_keras/export/client.py
    from client import class_map_arguments

MAX_MESSAGE_BYTES = 64 * 2**20


def predict_classes(server, model_name, image_bytes, version=None, timeout=60.0):
    """Returns the int32 (H, W) class map of one encoded image from TF Serving over gRPC.

    Args:
        server: "host:port" of TF Serving's gRPC endpoint.
        model_name: the served model's name.
        image_bytes: a JPEG/PNG file's content.
        version: a version to pin, or None for the newest.
        timeout: seconds.

    Returns:
        NumPy int32 array (H, W).

    Example:
        >>> predict_classes("localhost:8500", "fcn", open("cat.jpg", "rb").read()).shape  # doctest: +SKIP
        (375, 500)
    """
    options = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)]
    with grpc.insecure_channel(server, options=options) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = predict_pb2.PredictRequest()
        request.model_spec.name = model_name
        request.model_spec.signature_name = "predict_image_bytes"
        if version is not None:
            request.model_spec.version.value = version
        request.inputs["image_bytes"].CopyFrom(tf.make_tensor_proto([image_bytes], dtype=tf.string))
        request.output_filter.append("classes")
        response = stub.Predict(request, timeout=timeout)
    return tf.make_ndarray(response.outputs["classes"])[0]


def main():
    parser = class_map_arguments(__doc__.split("\n\n")[0], "--server", "localhost:8500", "TF Serving's gRPC address")
    args = parser.parse_args()
    with open(args.image, "rb") as file:
        classes = predict_classes(args.server, args.model_name, file.read(), args.version)
    Image.fromarray(classes.astype(np.uint8)).save(args.out)
    labels, counts = np.unique(classes, return_counts=True)
    present = dict(zip(labels.tolist(), counts.tolist()))
    print(f"{classes.shape[1]}x{classes.shape[0]} class map -> {args.out}; pixels per class: {present}")


if __name__ == "__main__":
    main()
