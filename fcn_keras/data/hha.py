"""HHA: a depth map as three 8-bit channels (Gupta, Girshick, Arbelaez and Malik, ECCV 2014).

Horizontal disparity, Height above the ground and the Angle between each pixel's surface
normal and gravity, the encoding the FCN paper's NYUDv2 HHA nets take. The steps and the
scaling follow Gupta's ``saveHHA.m`` and ``processDepthImage.m`` (s-gupta/rcnn-depth):

- normals: a least-squares plane through the valid points of a square window around each
  pixel (radius 3 for the angle channel, 10 for the gravity estimate);
- gravity: start from the camera's y axis (image down); five times at 45 degrees, then five
  at 15, take the normals within the threshold of parallel ("floor") and of perpendicular
  ("wall") to the current estimate, and move to the direction closest to orthogonal to the
  wall normals and parallel to the floor ones (the smallest eigenvector of
  ``W^T W - F^T F``);
- channels, rounded to uint8 and clipped to 0..255:
  disparity ``310 / max(depth_m, 1)`` (Gupta's ``31000 / max(z_cm, 100)``; 255 for anything
  nearer than 1.22 m), height above the lowest point in centimetres (255 from 2.55 m; when no point lies
  more than 0.9 m below the camera, the floor is taken to be 1.3 m below it), and the angle
  in degrees plus 38 (``angle + 128 - 90``: 38 for normals along gravity, as floors have,
  128 for walls, 218 for ceilings). Pixels without depth are 0 in all three channels.
"""

from typing import NamedTuple

import numpy as np
from scipy import ndimage

ANGLE_OFFSET = 38
"""Added to the angle (degrees) in the third channel: Gupta's ``angle + 128 - 90``."""

DISPARITY_SCALE = 310.0
"""First channel = ``DISPARITY_SCALE / max(depth_m, 1)``: Gupta's ``31000 / depth_cm``."""


class CameraIntrinsics(NamedTuple):
    """Pinhole intrinsics in pixels; the principal point counts columns and rows from 1 (MATLAB), as NYU's do."""

    fx: float
    fy: float
    cx: float
    cy: float


NYUD_KINECT = CameraIntrinsics(fx=518.857901, fy=519.469611, cx=325.582449, cy=253.736166)
"""The NYUDv2 Kinect colour camera (NYU toolbox ``camera_params.m``), for the full 640x480 frame.

For a crop of the frame, subtract the crop's left and top offsets from ``cx`` and ``cy``.
"""

_SUM_TERMS = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))


def _rays(shape, intrinsics):
    """(H, W, 3) rays (x/z, y/z, 1) through every pixel; x right, y down, z forward."""
    rows, cols = np.mgrid[1:shape[0] + 1, 1:shape[1] + 1].astype(np.float64)
    return np.stack([(cols - intrinsics.cx) / intrinsics.fx, (rows - intrinsics.cy) / intrinsics.fy,
                     np.ones(shape)], axis=-1)


def _as_depth(depth_m):
    depth = np.asarray(depth_m, dtype=np.float64)
    if depth.ndim == 3 and depth.shape[-1] == 1:
        depth = depth[..., 0]
    if depth.ndim != 2:
        raise ValueError(f"depth_m must be a (H, W) or (H, W, 1) map, got shape {depth.shape}.")
    valid = np.isfinite(depth) & (depth > 0)
    if valid.any() and np.median(depth[valid]) > 20:
        raise ValueError(f"depth_m has a median of {np.median(depth[valid]):.0f}: it is in metres, and this looks "
                         "like millimetres (NYUDv2's depth PNGs); divide by 1000.")
    return depth, valid


def point_cloud(depth_m, intrinsics=NYUD_KINECT):
    """The 3-D point of every pixel, in metres, camera coordinates (x right, y down, z forward).

    Args:
        depth_m: (H, W) depth along the optical axis in metres; 0 or non-finite = missing.
        intrinsics: the camera's :class:`CameraIntrinsics`.

    Returns:
        ``np.ndarray`` float64 (H, W, 3); NaN where depth is missing.

    Example:
        >>> point_cloud(np.full((1, 2), 2.0), CameraIntrinsics(100.0, 100.0, 1.0, 1.0)).tolist()
        [[[0.0, 0.0, 2.0], [0.02, 0.0, 2.0]]]
    """
    depth, valid = _as_depth(depth_m)
    return np.where(valid[..., None], _rays(depth.shape, intrinsics) * depth[..., None], np.nan)


def surface_normals(depth_m, intrinsics=NYUD_KINECT, radius=3):
    """Unit surface normals from a least-squares plane through each ``(2 radius + 1)^2`` window.

    As Gupta's ``computeNormalsSquareSupport``: the plane ``n . p = 1`` is fitted to the window's
    valid points in the form ``n . ray = 1 / depth``; normals point away from the camera.

    Args:
        depth_m: (H, W) depth in metres; 0 or non-finite = missing.
        intrinsics: the camera's :class:`CameraIntrinsics`.
        radius: half the window's side, in pixels.

    Returns:
        ``np.ndarray`` float64 (H, W, 3) unit vectors, NaN where the window holds no plane.

    Example:
        >>> normals = surface_normals(np.full((5, 5), 2.0), CameraIntrinsics(100.0, 100.0, 3.0, 3.0), radius=1)
        >>> np.round(normals[2, 2], 6).tolist()  # a wall facing the camera
        [0.0, 0.0, 1.0]
    """
    depth, valid = _as_depth(depth_m)
    rays = _rays(depth.shape, intrinsics)
    weight = valid.astype(np.float64)
    inverse = np.where(valid, 1.0 / np.where(valid, depth, 1.0), 0.0)
    terms = [rays[..., i] * rays[..., j] * weight for i, j in _SUM_TERMS] + [rays[..., i] * inverse for i in range(3)]
    size = 2 * radius + 1
    sums = [ndimage.uniform_filter(term, size=size, mode="constant", cval=0.0) for term in terms]
    a11, a12, a13, a22, a23, a33, b1, b2, b3 = sums
    # adjugate of the symmetric AtA; dividing by its determinant (>= 0) would not change the direction
    c11, c12, c13 = a22 * a33 - a23 * a23, a13 * a23 - a12 * a33, a12 * a23 - a13 * a22
    c22, c23, c33 = a11 * a33 - a13 * a13, a12 * a13 - a11 * a23, a11 * a22 - a12 * a12
    normals = np.stack([c11 * b1 + c12 * b2 + c13 * b3, c12 * b1 + c22 * b2 + c23 * b3,
                        c13 * b1 + c23 * b2 + c33 * b3], axis=-1)
    length = np.linalg.norm(normals, axis=-1, keepdims=True)
    points = np.rint(ndimage.uniform_filter(weight, size=size, mode="constant", cval=0.0) * size * size)
    good = (length > 0) & (points >= 3)[..., None]
    normals = np.where(good, normals / np.where(good, length, 1.0), np.nan)
    side = np.sign(np.sum(normals * rays, axis=-1, keepdims=True))
    return normals * np.where(side == 0, 1.0, side)


def gravity_direction(normals, angle_thresholds=(45.0, 15.0), iterations=(5, 5)):
    """Estimates the direction of gravity from surface normals, as Gupta's ``getYDir``.

    Args:
        normals: (H, W, 3) or (N, 3) unit normals in camera coordinates; NaN rows are skipped.
        angle_thresholds: degrees; per stage, normals this close to parallel to the estimate
            count as floor, this close to perpendicular as wall.
        iterations: refinements per stage.

    Returns:
        ``np.ndarray`` (3,) unit vector pointing down (along gravity) in camera coordinates
        (x right, y down, z forward); ``(0, 1, 0)`` for an upright camera.

    Example:
        >>> floor, wall = [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]
        >>> gravity_direction(np.array([floor] * 10 + [wall] * 10)).round(6).tolist()
        [0.0, 1.0, 0.0]
    """
    normals = np.asarray(normals, dtype=np.float64).reshape(-1, 3)
    normals = normals[np.all(np.isfinite(normals), axis=1)]
    down = np.array([0.0, 1.0, 0.0])
    for threshold, count in zip(angle_thresholds, iterations):
        for _ in range(count):
            cosine = np.abs(normals @ down)
            floor = normals[cosine > np.cos(np.radians(threshold))]
            wall = normals[cosine < np.sin(np.radians(threshold))]
            values, vectors = np.linalg.eigh(wall.T @ wall - floor.T @ floor)
            # where the smallest eigenvalue is tied (say, walls of one orientation only), stay closest to the estimate
            tied = vectors[:, values - values[0] <= 1e-9 * max(np.abs(values).max(), 1.0)]
            new = tied @ (tied.T @ down)
            new = new / np.linalg.norm(new) if np.linalg.norm(new) > 1e-9 else vectors[:, 0]
            down = new * (1.0 if new @ down >= 0 else -1.0)
    return down


def _to_uint8(values):
    values = np.where(np.isfinite(values), values, 0.0)
    return np.clip(np.floor(values + 0.5), 0, 255).astype(np.uint8)


def hha_from_depth(depth_m, intrinsics=NYUD_KINECT):
    """Encodes a depth map as HHA: disparity, height above the ground, angle with gravity (uint8 each).

    See the module's docstring for the scaling of each channel.

    Args:
        depth_m: (H, W) or (H, W, 1) depth along the optical axis in metres (NYUDv2's depth
            PNGs hold millimetres: divide by 1000); 0 or non-finite = missing.
        intrinsics: the camera's :class:`CameraIntrinsics`; ``NYUD_KINECT`` for NYUDv2 frames.

    Returns:
        ``np.ndarray`` uint8 (H, W, 3) holding (disparity, height, angle).

    Example:
        >>> hha = hha_from_depth(np.full((24, 32), 2.0), CameraIntrinsics(52.0, 52.0, 17.0, 13.0))
        >>> hha[12, 16].tolist()  # 310 / 2 m; 1.3 m above the assumed floor; a wall: 90 + 38 degrees
        [155, 130, 128]
    """
    depth, valid = _as_depth(depth_m)
    points = point_cloud(depth, intrinsics)
    down = gravity_direction(surface_normals(depth, intrinsics, radius=10))
    normals = surface_normals(depth, intrinsics, radius=3)

    height = -(points @ down)  # metres above the camera
    lowest = np.min(height[valid]) if valid.any() else 0.0
    if lowest > -0.9:
        lowest = -1.3
    height = (height - lowest) * 100.0
    angle = np.degrees(np.arccos(np.clip(normals @ down, -1.0, 1.0))) + ANGLE_OFFSET
    disparity = DISPARITY_SCALE / np.maximum(np.where(valid, depth, 1.0), 1.0)
    hha = np.stack([_to_uint8(channel) for channel in (disparity, height, angle)], axis=-1)
    hha[~valid] = 0
    return hha
