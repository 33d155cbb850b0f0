"""Installs fcn_keras: Fully Convolutional Networks (Long et al., CVPR 2015) for Keras 3."""

from setuptools import find_packages, setup

# Exports beyond SavedModel: TFLite interpreter, ONNX, TF Serving gRPC client.
DEPLOY = [
    "ai-edge-litert>=1.2",
    "onnx>=1.16",
    "tf2onnx>=1.16",
    "onnxruntime>=1.18",
    "tensorflow-serving-api>=2.18,<2.22",
]
# keras-hub backbones, backbone="hub:<preset>" (keras-cv's successor; keras-cv itself is not needed).
HUB = ["keras-hub>=0.20"]
# OpenVINO, an export format and a runtime (it reads the SavedModel); NNCF quantizes its IR to int8.
OPENVINO = ["openvino>=2024.0", "nncf>=2.14"]
# MediaPipe's metadata writers (TFLite files with the standard metadata) and its ImageSegmenter task.
MEDIAPIPE = ["mediapipe>=1.2"]
# Keras' JAX backend (KERAS_BACKEND=jax); on Linux the default wheel runs on the CPU, "jax[cuda12]" on NVIDIA GPUs.
JAX = ["jax>=0.4.30"]
# Running the notebooks of notebooks/ headless, as the tests do (Jupyter itself is the user's choice).
NOTEBOOKS = ["nbclient>=0.10", "nbformat>=5.9", "ipykernel>=6.29"]
# Driving a headless Chromium through the page of `fcn-keras serve` (the browser itself comes from the system).
BROWSER_TESTS = ["selenium>=4.11"]

setup(
    name="fcn-keras",
    version="0.1.0",
    description="Fully Convolutional Networks for semantic segmentation in Keras 3 (TensorFlow, JAX, PyTorch)",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["fcn_keras", "fcn_keras.*"]),
    package_data={"fcn_keras.export": ["page/*.html"]},  # the page `fcn-keras serve` shows at /
    install_requires=[
        "tensorflow>=2.18,<2.22",
        "keras>=3.8,<4",
        "numpy>=1.26",
        "pillow>=10",
        "scipy>=1.11",
        "matplotlib>=3.8",
        "tensorflow-datasets>=4.9.6",
        "importlib_resources>=6",  # TFDS imports it to prepare a data set; recent etils no longer brings it
        "tensorboard>=2.18",
        "psutil>=5.9",  # the benchmark's peak memory (TFDS brings it too)
    ],
    extras_require={
        "deploy": DEPLOY,
        "hub": HUB,
        "jax": JAX,
        "mediapipe": MEDIAPIPE,
        "notebooks": NOTEBOOKS,
        "openvino": OPENVINO,
        # Keras' PyTorch backend, and pytorch-fcn's .pth weights (the .caffemodel and .npz readers need none).
        "torch": ["torch>=2.1"],
        # torch: .ci/run installs a CPU build where one is at hand
        "dev": ["pytest>=8", *BROWSER_TESTS, *DEPLOY, *HUB, *JAX, *MEDIAPIPE, *NOTEBOOKS, *OPENVINO],
    },
    entry_points={"console_scripts": ["fcn-keras=fcn_keras.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Image Recognition",
    ],
)
