"""Segments an image through TF Serving's REST API (or `fcn-keras serve`) and saves the class map.

    python export/rest_client_example.py photo.jpg --url http://localhost:8501 --out classes.png

The image file is sent as it is, base64-encoded, to the `predict_image_bytes`
signature, so the request stays small. `--array` sends decoded float pixels to
`serving_default` instead. The class map is written as an 8-bit PNG whose pixel
values are the class ids.

Needs NumPy and Pillow, and `ServingClient` and `class_map_arguments`: from the
installed fcn_keras package (which imports TensorFlow), or, on a machine without
fcn_keras or TensorFlow, from a copy of `fcn_keras/export/client.py` saved as
`client.py` next to this script.
"""

from collections import Counter

import numpy as np
from PIL import Image

try:
    from fcn_keras.export.client import ServingClient, class_map_arguments  # imports TensorFlow with fcn_keras
except ImportError:  # no fcn_keras or no TensorFlow here: a copy of fcn_keras/export/client.py
    from client import ServingClient, class_map_arguments


def main():
    parser = class_map_arguments(__doc__.split("\n\n")[0], "--url", "http://localhost:8501",
                                 "TF Serving's REST address")
    parser.add_argument("--array", action="store_true", help="send float pixels to serving_default")
    args = parser.parse_args()

    client = ServingClient(args.url, args.model_name, args.version)
    spec = client.metadata()["model_spec"]
    print(f"model {spec['name']} version {spec['version']}")
    if args.array:
        payload = np.asarray(Image.open(args.image).convert("RGB"), np.float32)
    else:
        with open(args.image, "rb") as file:
            payload = file.read()
    result = client.predict(payload)
    classes = result["classes"][0]
    Image.fromarray(classes.astype(np.uint8)).save(args.out)
    shares = {label: count / classes.size for label, count in Counter(classes.ravel().tolist()).most_common()}
    print(f"{classes.shape[1]}x{classes.shape[0]} class map -> {args.out}")
    print("pixel share per class:", ", ".join(f"{label}: {share:.1%}" for label, share in shares.items()))


if __name__ == "__main__":
    main()
