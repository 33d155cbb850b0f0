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

SIFTFLOW_SEMANTIC_CLASSES = (
    "awning", "balcony", "bird", "boat", "bridge", "building", "bus", "car", "cow", "crosswalk", "desert",
    "door", "fence", "field", "grass", "moon", "mountain", "person", "plant", "pole", "river", "road", "rock",
    "sand", "sea", "sidewalk", "sign", "sky", "staircase", "streetlight", "sun", "tree", "window",
)
"""The 33 SIFT Flow semantic classes in the authors' output order (``.mat`` value k is class k-1; 0 is void).

Cow, desert and moon never occur in the test split; the authors leave them out of the scores.
"""

SIFTFLOW_GEOMETRIC_CLASSES = ("sky", "horizontal", "vertical")
"""The 3 SIFT Flow geometric classes in the authors' output order (``.mat`` value k is class k-1; -1 is void)."""

SIFTFLOW_HEADS = {"semantic": SIFTFLOW_SEMANTIC_CLASSES, "geometric": SIFTFLOW_GEOMETRIC_CLASSES}
"""{head: class names} of the authors' two-headed SIFT Flow nets (the keys of ``siftflow_segmentation``'s masks)."""

NYUD_CLASSES = (
    "wall", "floor", "cabinet", "bed", "chair", "sofa", "table", "door", "window", "bookshelf", "picture",
    "counter", "blinds", "desk", "shelves", "curtain", "dresser", "pillow", "mirror", "floor mat", "clothes",
    "ceiling", "books", "refrigerator", "television", "paper", "towel", "shower curtain", "box", "whiteboard",
    "person", "night stand", "toilet", "sink", "lamp", "bathtub", "bag", "otherstructure", "otherfurniture",
    "otherprop",
)
"""The 40 NYUDv2 classes of Gupta et al. (CVPR 2013) in the authors' output order (``.mat`` value k is class k-1).

The authors' list spells class 23 "refridgerator".
"""

PASCAL_CONTEXT_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
    "bag", "bed", "bench", "book", "building", "cabinet", "ceiling", "clothes", "computer", "cup", "door", "fence",
    "floor", "flower", "food", "grass", "ground", "keyboard", "light", "mountain", "mouse", "curtain", "platform",
    "sign", "plate", "road", "rock", "shelves", "sidewalk", "sky", "snow", "bedcloth", "track", "tree", "truck",
    "wall", "water", "window", "wood",
)
"""PASCAL-Context's 59-class task plus background (60 outputs, as the authors' nets have).

Index 0 gathers every pixel outside the 59 classes, unlabelled ones included; indices 1..59
follow ``59_labels.txt``.
"""
