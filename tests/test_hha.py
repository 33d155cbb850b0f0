"""HHA from depth, on a ray-cast scene of known geometry: a pitched and rolled camera looking at a floor and a wall."""


import numpy as np
import pytest
from scipy import ndimage

from fcn_keras.data import CameraIntrinsics, gravity_direction, hha_from_depth, surface_normals

CAMERA = CameraIntrinsics(fx=130.0, fy=130.0, cx=80.5, cy=60.5)  # the Kinect's field of view on a 160x120 map
CAMERA_HEIGHT, WALL_DISTANCE = 1.4, 3.0  # metres


def scene(pitch=15.0, roll=5.0, shape=(120, 160)):
    """Depth (m) of a floor 1.4 m below the camera and a wall 3 m ahead, ray-cast through `CAMERA`.

    World axes: x right, y down (gravity), z ahead. Returns depth, the floor's pixels, the height
    (m) of each pixel's point above the floor, and gravity in camera coordinates.
    """
    p, r = np.radians(pitch), np.radians(roll)
    tilt = np.array([[1, 0, 0], [0, np.cos(p), np.sin(p)], [0, -np.sin(p), np.cos(p)]])  # optical axis down by pitch
    turn = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    camera_to_world = tilt @ turn
    rows, cols = np.mgrid[1:shape[0] + 1, 1:shape[1] + 1].astype(float)  # 1-based, as CameraIntrinsics counts
    rays = np.stack([(cols - CAMERA.cx) / CAMERA.fx, (rows - CAMERA.cy) / CAMERA.fy, np.ones(shape)], axis=-1)
    world = rays @ camera_to_world.T
    down = world[..., 1]
    to_floor = np.where(down > 0, CAMERA_HEIGHT / np.where(down > 0, down, 1.0), np.inf)
    to_wall = WALL_DISTANCE / world[..., 2]
    depth = np.minimum(to_floor, to_wall)  # rays have z = 1 in camera coordinates: the distance is the depth
    return depth, to_floor < to_wall, CAMERA_HEIGHT - depth * down, camera_to_world.T @ [0.0, 1.0, 0.0]


def away_from_the_edge(mask, radius=3):
    return ndimage.binary_erosion(mask, np.ones((2 * radius + 1,) * 2), border_value=1)


def test_gravity_is_found_within_two_degrees():
    depth, floor, _, down = scene()
    assert 0.2 < floor.mean() < 0.5  # both planes are well in view
    estimate = gravity_direction(surface_normals(depth, CAMERA, radius=10))
    assert np.degrees(np.arccos(np.clip(estimate @ down, -1, 1))) < 2.0


def test_angle_channel_is_38_on_the_floor_and_128_on_the_wall():
    depth, floor, _, _ = scene()
    angle = hha_from_depth(depth, CAMERA)[..., 2].astype(int)
    floor_angles, wall_angles = angle[away_from_the_edge(floor)], angle[away_from_the_edge(~floor)]
    assert floor_angles.size > 1000 and wall_angles.size > 1000
    assert np.all(np.abs(floor_angles - 38) <= 2)  # 0 degrees + 38
    assert np.all(np.abs(wall_angles - 128) <= 2)  # 90 degrees + 38


def test_height_channel_is_zero_on_the_floor_and_centimetres_up_the_wall():
    depth, floor, height, _ = scene()
    channel = hha_from_depth(depth, CAMERA)[..., 1].astype(int)
    assert np.all(channel[floor] <= 2)
    expected = np.round(height * 100)  # centimetres above the floor: 0 at its foot, ~190 at the top row
    assert np.all(np.abs(channel[~floor] - expected[~floor]) <= 2)
    column = channel[:, 80][~floor[:, 80]]  # up the wall is up the image
    assert np.all(np.diff(column) <= 0) and column[0] - column[-1] > 100


def test_disparity_channel_is_310_over_depth_and_monotone():
    depth, _, _, _ = scene()
    disparity = hha_from_depth(depth, CAMERA)[..., 0]
    np.testing.assert_array_equal(disparity, np.clip(np.floor(310 / depth + 0.5), 0, 255))
    by_depth = disparity.ravel()[np.argsort(depth.ravel())]
    assert np.all(np.diff(by_depth.astype(int)) <= 0) and by_depth[0] > by_depth[-1]
    near = hha_from_depth(np.full((8, 8), 0.5), CAMERA)[..., 0]
    assert np.all(near == 255)  # 310 / max(depth, 1 m), saturated


def test_pixels_without_depth_are_zero_and_leave_the_rest_alone():
    depth, _, _, _ = scene()
    holed = depth.copy()
    holed[10:14, 20:24] = 0.0
    holed[50, 100] = np.nan
    hha, full = hha_from_depth(holed, CAMERA), hha_from_depth(depth, CAMERA)
    assert np.all(hha[10:14, 20:24] == 0) and np.all(hha[50, 100] == 0)
    far = np.ones(depth.shape, bool)
    far[2:22, 12:32] = far[42:59, 92:109] = False
    np.testing.assert_array_equal(hha[far], full[far])


def test_an_upright_camera_facing_a_wall_assumes_the_floor_1_3_m_below():
    depth, _, _, _ = scene(pitch=0.0, roll=0.0, shape=(60, 160))  # rows 0..59: the floor is out of view
    channel = hha_from_depth(depth, CAMERA)[..., 1].astype(int)
    rows = np.arange(1, 61)[:, None] - CAMERA.cy
    expected = np.clip(np.round(130 - rows / CAMERA.fy * WALL_DISTANCE * 100), 0, 255) * np.ones((1, 160))
    np.testing.assert_allclose(channel, expected, atol=1)  # 255 above 2.55 m: uint8 saturates


def test_depth_in_millimetres_is_refused():
    with pytest.raises(ValueError, match="it is in metres, and this looks like millimetres"):
        hha_from_depth(np.full((8, 8), 2500.0), CAMERA)
