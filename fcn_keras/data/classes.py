"""Class names and the PASCAL VOC colour palette."""

import numpy as np

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


def voc_palette(num_colors=256):
    """The PASCAL VOC colour map, extended to any number of colours.

    Colour `i` spreads the bits of `i` over the high bits of R, G and B, as in
    VOC's devkit: 0 is black, 1 (aeroplane) is (128, 0, 0), 15 (person) is
    (192, 128, 128) and 255 is (224, 224, 192). Every index below 2**24 gets its
    own colour.

    Args:
        num_colors: how many colours, at least 1.

    Returns:
        A uint8 array of shape `(num_colors, 3)`.

    Example:
        >>> voc_palette(256)[[0, 1, 15, 255]].tolist()
        [[0, 0, 0], [128, 0, 0], [192, 128, 128], [224, 224, 192]]
    """
    if not 1 <= num_colors <= 2**24:
        raise ValueError(f"num_colors must be in [1, 2**24], got {num_colors}.")
    index = np.arange(num_colors, dtype=np.int64)
    palette = np.zeros((num_colors, 3), dtype=np.int64)
    for bit in range(8):
        for channel in range(3):
            palette[:, channel] |= ((index >> (3 * bit + channel)) & 1) << (7 - bit)
    return palette.astype(np.uint8)


VOC_PALETTE = voc_palette(256)
"""(256, 3) uint8 RGB colours of the VOC palette PNGs: 0 black, 1 (128, 0, 0), 255 (224, 224, 192)."""
