"""A tiny NYUDv2 folder in the FCN authors' layout (colour, 16-bit depth, HHA, labels, split files), and what it
holds; `conftest.nyud_root` writes it for a test."""

import numpy as np
import scipy.io
from PIL import Image

IDS = ["5001", "5003", "5004"]
H, W = 12, 16
RAW_LABELS = np.array([[0, 1, 2, 40, 39, 0, 7, 21] * 2] * H, np.uint8)
EXPECTED_LABELS = np.array([[255, 0, 1, 39, 38, 255, 6, 20] * 2] * H, np.uint8)


def colour(index):
    return np.random.default_rng(index).integers(0, 256, (H, W, 3), dtype=np.uint8)


def depth_mm(index):
    """A tilted plane 1.5..3.5 m away, in millimetres as the depth PNGs hold it."""
    rows, cols = np.mgrid[0:H, 0:W]
    return (1500 + 100 * rows + 40 * cols + 50 * index).astype(np.uint16)


def hha_png(index):
    return np.random.default_rng(100 + index).integers(0, 256, (H, W, 3), dtype=np.uint8)


def write_nyud_folder(root):
    """Writes image `IDS[i]` as `colour(i)`, `depth_mm(i)`, `hha_png(i)` and `RAW_LABELS` rolled by i under `root`
    (a pathlib.Path); train.txt lists IDS[0] and IDS[2], val.txt IDS[1], test.txt IDS[1] and IDS[0]."""
    for folder in ["data/images", "data/depth", "data/hha", "segmentation"]:
        (root / folder).mkdir(parents=True)
    for index, image_id in enumerate(IDS):
        Image.fromarray(colour(index)).save(root / "data/images" / f"img_{image_id}.png")
        Image.fromarray(depth_mm(index)).save(root / "data/depth" / f"img_{image_id}.png")
        Image.fromarray(hha_png(index)).save(root / "data/hha" / f"img_{image_id}.png")
        scipy.io.savemat(root / "segmentation" / f"img_{image_id}.mat", {"segmentation": np.roll(RAW_LABELS, index, 1)})
    (root / "train.txt").write_text(f"{IDS[0]}\n{IDS[2]}\n")
    (root / "val.txt").write_text(f"{IDS[1]}\n")
    (root / "test.txt").write_text(f"{IDS[1]}\n{IDS[0]}\n")
    return root
