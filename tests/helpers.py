"""Shared test helpers: a tiny FCN whose scores vary per pixel, random images, PNG bytes, a script run
under a Keras backend."""

import io
import os
import subprocess
import sys

import keras
import numpy as np
from PIL import Image

import fcn_keras
from fcn_keras.data import write_mask
from fcn_keras.models import VARIANTS

NUM_CLASSES = 3


def tiny_fcn(num_classes=NUM_CLASSES, variant="fcn8s", padding="same", seed=0, **kwargs):
    """A tiny FCN (the same weights for a seed) whose zero-initialized score layers get random
    kernels, zero-mean over input channels, so its classes vary from pixel to pixel."""
    keras.utils.set_random_seed(seed)
    model = fcn_keras.build_fcn(variant, num_classes, backbone="vgg16_tiny", padding=padding, **kwargs)
    randomize_scores(model, seed)
    return model


def randomize_scores(model, seed=0):
    """Stands in for training: random kernels in the score layers (ReLU features are positive, so
    kernels are centred over input channels, else one class would win everywhere)."""
    rng = np.random.default_rng(seed)
    for name in VARIANTS[fcn_keras.models.variant_of(model)].score_layers:
        kernel = model.get_layer(name).kernel
        values = rng.normal(0, 1.0, kernel.shape)
        kernel.assign((values - values.mean(axis=2, keepdims=True)).astype("float32"))
    return model


def random_images(*shape, seed=0):
    """Float32 RGB images in [0, 255] of shape (*shape, 3)."""
    return np.random.default_rng(seed).uniform(0, 255, (*shape, 3)).astype(np.float32)


def png_bytes(array, palette=False):
    """Lossless PNG of a uint8 image (H, W, 3), or of a mask (H, W) as a VOC palette PNG."""
    buffer = io.BytesIO()
    if palette:
        write_mask(buffer, array)
    else:
        Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def write_siftflow(root, examples, trainval, test):
    """A SIFT Flow folder as released (JPEG images, .mat label maps `S`) with the authors' split files.

    Args:
        root: the folder to write (a pathlib.Path).
        examples: {id: (uint8 (H, W, 3) image, semantic .mat values, geometric .mat values)}.
        trainval, test: the ids of each split.

    Returns:
        `root`.
    """
    import scipy.io

    subset = "spatial_envelope_256x256_static_8outdoorcategories"
    for name in ("Images", "SemanticLabels", "GeoLabels"):
        (root / name / subset).mkdir(parents=True)
    for image_id, (image, semantic, geometric) in examples.items():
        Image.fromarray(image).save(root / "Images" / subset / f"{image_id}.jpg", quality=95)
        scipy.io.savemat(root / "SemanticLabels" / subset / f"{image_id}.mat", {"S": semantic})
        scipy.io.savemat(root / "GeoLabels" / subset / f"{image_id}.mat", {"S": geometric})
    (root / "trainval.txt").write_text("".join(f"{image_id}\n" for image_id in trainval))
    (root / "test.txt").write_text("".join(f"{image_id}\n" for image_id in test))
    return root


def run_under(backend, script, *args, cwd=None, timeout=600):
    """Runs Python `script` (with `args`) in a fresh process under Keras backend `backend`; returns the
    CompletedProcess, its output captured as text."""
    env = {**os.environ, "KERAS_BACKEND": backend}
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=timeout)


HEADS = {"semantic": 5, "geometric": 3}  # a two-headed FCN's heads, SIFT Flow's names


def two_headed(variant="fcn16s", seed=0, padding="same"):
    """A two-headed FCN whose score layers have random weights, so every head's scores vary."""
    keras.utils.set_random_seed(seed)
    model = fcn_keras.build_fcn(variant, heads=HEADS, backbone="vgg16_tiny", padding=padding)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if layer.name.startswith("score_") and layer.weights:
            layer.set_weights([rng.normal(0, 0.1, w.shape).astype("float32") for w in layer.get_weights()])
    return model
