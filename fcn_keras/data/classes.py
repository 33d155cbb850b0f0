"""Class names, the ignore label and the PASCAL VOC colour palette."""

import numpy as np

IGNORE_LABEL = 255
"""Mask value for pixels that count in neither the loss nor the metrics."""

VOC_CLASSES = (
    "background",
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)
"""The 21 PASCAL VOC segmentation classes; index = mask value."""

SYNTHETIC_CLASSES = ("background", "circle", "square", "triangle", "stripes", "ring", "cross")
"""Classes of :func:`fcn_keras.data.synthetic_shapes`; ``num_classes=n`` uses the first ``n``."""

PET_CLASSES = ("background", "pet")
"""Classes of ``oxford_iiit_pet`` after mapping its trimap (the border becomes 255)."""


def _voc_palette():
    # Bit i of the index goes to bit (7 - i // 3) of channel i % 3 (the VOC devkit colormap).
    index = np.arange(256)
    palette = np.zeros((256, 3), np.int64)
    for bit in range(8):
        for channel in range(3):
            palette[:, channel] |= ((index >> (3 * bit + channel)) & 1) << (7 - bit)
    return palette.astype(np.uint8)


VOC_PALETTE = _voc_palette()
"""(256, 3) uint8 RGB colours of the VOC palette PNGs: 0 black, 1 (128, 0, 0), 255 (224, 224, 192)."""
