"""A confidently trained tiny FCN for quantization tests: coloured rectangles on noisy backgrounds."""

import keras
import numpy as np

import fcn_keras

RECTANGLE_COLOURS = np.array([[220, 40, 40], [40, 200, 60], [50, 70, 230]], np.float32)  # classes 1, 2, 3


def rectangles(count, size=32, seed=0):
    """Images (count, size, size, 3) float32 in [0, 255] with up to three rectangles of `RECTANGLE_COLOURS`
    (brightness jitter, pixel noise; later ones cover earlier ones) and their labels (class 0: background)."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(60, 160, (count, 1, 1, 3)) + rng.normal(0, 12, (count, size, size, 3))
    labels = np.zeros((count, size, size), np.uint8)
    for index in range(count):
        for label in rng.permutation(len(RECTANGLE_COLOURS))[: rng.integers(1, 4)] + 1:
            top, left = rng.integers(0, size * 3 // 4, 2)
            height, width = rng.integers(size // 6, size // 2, 2)
            colour = RECTANGLE_COLOURS[label - 1] * rng.uniform(0.8, 1.1)
            images[index, top : top + height, left : left + width] = colour + rng.normal(0, 12, 3)
            labels[index, top : top + height, left : left + width] = label
    return np.clip(images, 0, 255).astype(np.float32), labels


def train_rectangles_model(steps=600, size=32, seed=0):
    """FCN-8s (vgg16_tiny, "same" padding, 4 classes) after `steps` Adam steps of 8 `rectangles`."""
    keras.utils.set_random_seed(seed)
    model = fcn_keras.build_fcn8s(len(RECTANGLE_COLOURS) + 1, backbone="vgg16_tiny", padding="same", dropout=0.0)
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255))
    images, labels = rectangles(steps * 8, size, seed + 1)
    model.fit(images, labels, batch_size=8, epochs=1, verbose=0)
    return model
