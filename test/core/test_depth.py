"""Depth correction of person roots: decoding, camera mapping, occluders, fallbacks (numpy only)."""

import numpy as np
import pytest

from pinet_ros.core.camera import Intrinsics
from pinet_ros.core.depth import (DepthCamera, DepthConfig, DepthError, DepthFrame, DepthStatus, correct_people,
                                  decode_depth, depth_from_buffer, encode_depth_mm)
from pinet_ros.data.depth_scenes import Box, Scene, SensorNoise, joint_visibility, render_depth

COLOUR = Intrinsics(fx=615.0, fy=615.0, cx=320.0, cy=240.0)
W, H = 640, 480
FLOOR = 1.3


def _person(x: float, z: float, yaw: float = 0.4) -> np.ndarray:
    """A standing adult (17 MuPoTS joints, metres, y down), feet on the floor y = FLOOR, facing about the camera."""
    j = np.array([
        [0.0, -1.72, 0.0], [0.0, -1.45, 0.0], [-0.18, -1.43, 0.0], [-0.22, -1.15, 0.02], [-0.24, -0.90, 0.05],
        [0.18, -1.43, 0.0], [0.22, -1.15, 0.02], [0.24, -0.90, 0.05], [-0.11, -0.95, 0.0], [-0.12, -0.52, 0.02],
        [-0.12, -0.08, 0.0], [0.11, -0.95, 0.0], [0.12, -0.52, 0.02], [0.12, -0.08, 0.0], [0.0, -0.95, 0.0],
        [0.0, -1.2, 0.0], [0.0, -1.6, 0.0]])
    c, s = np.cos(yaw), np.sin(yaw)
    rot = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return j @ rot.T + [x, FLOOR, z]


def _estimate(gt: np.ndarray, depth_clean: np.ndarray, scale: float, rng, pose_noise_m: float = 0.02):
    """A monocular estimate: root on its ray at `scale` x the true depth, noisy pose, 2D from the truth."""
    root = gt[14] * scale
    rel = gt - gt[14] + rng.normal(0, pose_noise_m, gt.shape)
    rel[14] = 0
    uv = COLOUR.project(gt) + rng.normal(0, 1.5, (17, 2))
    vis = joint_visibility(gt, depth_clean, COLOUR)
    conf = np.where(vis, 0.9, 0.2)
    return (root + rel) * 1000.0, uv, conf


def _registered(depth_m):
    return DepthFrame(depth_m, DepthCamera.registered_to(COLOUR, W, H))


def _root_err_mm(corr, k, gt):
    return float(np.linalg.norm(corr.joints_cam_mm[k, 14] / 1000.0 - gt[14]) * 1000.0)


# ------------------------------------------------------------------------------------------- decoding

def test_decode_16uc1_millimetres_and_zero_is_no_reading():
    raw = np.array([[0, 1500], [65535, 1]], np.uint16)
    d = decode_depth(raw, "16UC1")
    assert d.dtype == np.float32
    assert np.isnan(d[0, 0])
    np.testing.assert_allclose(d[0, 1], 1.5, rtol=1e-6)
    np.testing.assert_allclose(d[1, 0], 65.535, rtol=1e-6)
    np.testing.assert_allclose(decode_depth(raw, "mono16")[1, 1], 0.001, rtol=1e-6)


def test_decode_32fc1_metres_and_invalid_readings():
    raw = np.array([[0.0, np.nan, np.inf, -np.inf, -1.0, 2.25]], np.float32)
    d = decode_depth(raw, "32FC1")
    assert np.all(np.isnan(d[0, :5]))
    assert d[0, 5] == np.float32(2.25)
    assert not np.isnan(raw[0, 0])  # the input is not modified


@pytest.mark.parametrize("values, encoding", [
    (np.zeros((2, 2), np.uint16), "rgb8"), (np.zeros((2, 2), np.float32), "16UC1"),
    (np.zeros((2, 2), np.uint16), "32FC1"), (np.zeros((0, 2), np.uint16), "16UC1"),
    (np.zeros((2, 2, 1), np.uint16), "16UC1")])
def test_decode_rejects_what_is_not_depth(values, encoding):
    with pytest.raises(DepthError):
        decode_depth(values, encoding)


@pytest.mark.parametrize("big_endian", [False, True])
def test_depth_from_buffer_padded_rows_and_byte_order(big_endian):
    mm = np.array([[0, 1000, 2500], [4000, 12, 0]], np.uint16)
    order = ">" if big_endian else "<"
    rows = [mm[r].astype(order + "u2").tobytes() + b"\xff\xff" for r in range(2)]  # 2 bytes of padding
    d = depth_from_buffer(b"".join(rows), 3, 2, 8, "16UC1", big_endian)
    np.testing.assert_allclose(np.nan_to_num(d), mm / 1000.0, rtol=1e-6)
    assert np.isnan(d[0, 0]) and np.isnan(d[1, 2])
    m = np.array([[1.5, np.nan, 0.0]], np.float32)
    d = depth_from_buffer(m.astype(order + "f4").tobytes(), 3, 1, 12, "32FC1", big_endian)
    assert d[0, 0] == np.float32(1.5) and np.isnan(d[0, 1]) and np.isnan(d[0, 2])
    with pytest.raises(DepthError, match="needs"):
        depth_from_buffer(b"\x00" * 10, 3, 2, 6, "16UC1")
    with pytest.raises(DepthError, match="step"):
        depth_from_buffer(b"\x00" * 100, 3, 2, 4, "16UC1")


def test_encode_mm_round_trip():
    d = np.array([[1.2345, np.nan, 0.0, 70.0]], np.float32)
    mm = encode_depth_mm(d)
    assert mm.tolist() == [[1234 if round(float(np.float32(1.2345)) * 1000) == 1234 else 1235, 0, 0, 0]]
    back = decode_depth(mm, "16UC1")
    assert abs(back[0, 0] - 1.2345) <= 0.0006 and np.all(np.isnan(back[0, 1:]))


def test_depth_frame_refuses_a_size_its_camera_does_not_describe():
    cam = DepthCamera.registered_to(COLOUR, W, H)
    with pytest.raises(DepthError, match="320x240"):
        DepthFrame(np.zeros((240, 320), np.float32), cam)


# ------------------------------------------------------------------------------------------ correction

@pytest.mark.parametrize("z, scale", [(1.8, 1.15), (3.5, 0.88), (5.5, 1.1)])
def test_registered_depth_moves_the_person_along_the_root_ray(z, scale):
    rng = np.random.default_rng(1)
    gt = _person(0.3, z)
    scene = Scene([gt], floor_y_m=FLOOR)
    clean = render_depth(scene, COLOUR, W, H)
    depth = render_depth(scene, COLOUR, W, H, noise=SensorNoise(), rng=rng)
    mono, uv, conf = _estimate(gt, clean, scale, rng)
    corr = correct_people(mono[None], uv[None], conf[None], COLOUR, _registered(depth))
    assert corr.status == [DepthStatus.CORRECTED] and corr.corrected.tolist() == [True]
    before = float(np.linalg.norm(mono[14] / 1000.0 - gt[14]) * 1000.0)
    assert before > 200
    assert _root_err_mm(corr, 0, gt) < 50
    # the pose is kept; the root goes onto the ray of the 2D pelvis, at the corrected depth
    np.testing.assert_allclose(corr.joints_cam_mm[0] - corr.joints_cam_mm[0, 14], mono - mono[14], atol=1e-6)
    np.testing.assert_allclose(COLOUR.project(corr.joints_cam_mm[0, 14]), uv[14], atol=1e-6)
    np.testing.assert_allclose(corr.shift_mm[0], corr.joints_cam_mm[0, 14, 2] - mono[14, 2], atol=1e-6)
    # without the 2D anchor: along the ray of the monocular root, to the same depth
    along = correct_people(mono[None], uv[None], conf[None], COLOUR,
                           _registered(depth), DepthConfig(anchor_2d=False))
    np.testing.assert_allclose(COLOUR.project(along.joints_cam_mm[0, 14]), COLOUR.project(mono[14]), atol=1e-6)
    np.testing.assert_allclose(along.joints_cam_mm[0, 14, 2], corr.joints_cam_mm[0, 14, 2], atol=1e-6)


@pytest.mark.parametrize("name, intr, size, translation", [
    ("half size", Intrinsics(307.5, 307.5, 160.0, 120.0), (320, 240), None),
    ("wider view, other aspect", Intrinsics(300.0, 300.0, 212.0, 120.0), (424, 240), None),
    ("5 cm baseline", Intrinsics(420.0, 420.0, 330.0, 245.0), (640, 480), np.array([-0.05, 0.0, 0.0])),
])
def test_depth_image_of_another_size_and_camera(name, intr, size, translation):
    rng = np.random.default_rng(2)
    gt = _person(-0.4, 4.0)
    scene = Scene([gt], floor_y_m=FLOOR)
    clean = render_depth(scene, COLOUR, W, H)
    depth = render_depth(scene, intr, *size, translation_m=translation, noise=SensorNoise(), rng=rng)
    assert depth.shape == (size[1], size[0])
    cam = DepthCamera(intr, *size, translation_m=translation if translation is not None else np.zeros(3))
    mono, uv, conf = _estimate(gt, clean, 1.12, rng)
    corr = correct_people(mono[None], uv[None], conf[None], COLOUR, DepthFrame(depth, cam))
    assert corr.corrected[0], (name, corr.status)
    assert _root_err_mm(corr, 0, gt) < 50, name


def test_box_in_front_does_not_pull_the_root_forward():
    rng = np.random.default_rng(3)
    gt = _person(0.0, 4.5)
    box = Box((-0.45, FLOOR - 1.15, 3.4), (0.45, FLOOR, 3.7))  # a counter 0.8-1.1 m in front, hiding hips and legs
    scene = Scene([gt], boxes=[box], floor_y_m=FLOOR)
    clean = render_depth(scene, COLOUR, W, H)
    depth = render_depth(scene, COLOUR, W, H, noise=SensorNoise(), rng=rng)
    vis = joint_visibility(gt, clean, COLOUR)
    assert not vis[[8, 9, 10, 11, 12, 13, 14]].any()  # the hips, legs and pelvis are hidden
    mono, uv, conf = _estimate(gt, clean, 0.94, rng)
    conf[:] = 0.9  # the worst case: the backend is confident about the hidden joints too
    corr = correct_people(mono[None], uv[None], conf[None], COLOUR, _registered(depth))
    assert corr.corrected[0]
    assert _root_err_mm(corr, 0, gt) < 60


def test_wide_occluder_up_to_the_chest_never_makes_it_much_worse():
    """A counter wider than the person, 0.4-0.6 m in front, hides everything below the shoulders, and the backend
    is confident about every joint: the counter's surface holds most readings and lies nearer the monocular
    estimate than the person does. It continues past the person's outline, so it is not taken for the person."""
    rng = np.random.default_rng(8)
    gt = _person(0.1, 4.0)
    box = Box((-0.7, FLOOR - 1.35, 3.4), (0.9, FLOOR, 3.6))
    scene = Scene([gt], boxes=[box], floor_y_m=FLOOR)
    clean = render_depth(scene, COLOUR, W, H)
    depth = render_depth(scene, COLOUR, W, H, noise=SensorNoise(), rng=rng)
    assert joint_visibility(gt, clean, COLOUR).sum() <= 6
    mono, uv, conf = _estimate(gt, clean, 0.92, rng)
    conf[:] = 0.9
    corr = correct_people(mono[None], uv[None], conf[None], COLOUR, _registered(depth))
    before = float(np.linalg.norm(mono[14] / 1000.0 - gt[14]) * 1000.0)
    assert _root_err_mm(corr, 0, gt) <= before + 100
    if not corr.corrected[0]:
        assert corr.status[0] in (DepthStatus.AMBIGUOUS, DepthStatus.INCONSISTENT)
        np.testing.assert_array_equal(corr.joints_cam_mm[0], mono)


def test_person_in_front_does_not_pull_the_one_behind_forward():
    rng = np.random.default_rng(4)
    back, front = _person(0.0, 4.6, yaw=0.2), _person(0.12, 3.8, yaw=-0.3)
    scene = Scene([back, front], floor_y_m=FLOOR)
    clean = render_depth(scene, COLOUR, W, H)
    depth = render_depth(scene, COLOUR, W, H, noise=SensorNoise(), rng=rng)
    est = [_estimate(p, clean, s, rng) for p, s in ((back, 0.93), (front, 1.07))]
    corr = correct_people(np.stack([e[0] for e in est]), np.stack([e[1] for e in est]), np.stack([e[2] for e in est]),
                          COLOUR, _registered(depth))
    mono_back = float(np.linalg.norm(est[0][0][14] / 1000.0 - back[14]) * 1000.0)
    assert _root_err_mm(corr, 1, front) < 50
    assert _root_err_mm(corr, 0, back) <= mono_back + 100  # never much worse than monocular
    if corr.corrected[0]:
        assert _root_err_mm(corr, 0, back) < 80


def test_missing_empty_and_unrelated_depth_fall_back_with_a_flag():
    rng = np.random.default_rng(5)
    gt = _person(0.2, 3.0)
    clean = render_depth(Scene([gt], floor_y_m=FLOOR), COLOUR, W, H)
    mono, uv, conf = _estimate(gt, clean, 1.1, rng)
    cam = DepthCamera.registered_to(COLOUR, W, H)
    none = correct_people(mono[None], uv[None], conf[None], COLOUR, None)
    assert none.status == [DepthStatus.NO_DEPTH] and not none.corrected.any()
    np.testing.assert_array_equal(none.joints_cam_mm[0], mono)
    holes = correct_people(mono[None], uv[None], conf[None], COLOUR,
                           DepthFrame(np.full((H, W), np.nan, np.float32), cam))
    assert holes.status == [DepthStatus.NO_READINGS] and not holes.corrected.any()
    np.testing.assert_array_equal(holes.joints_cam_mm[0], mono)
    # a depth image in which the person is absent (e.g. from another moment): the wall 6 m behind them
    empty = render_depth(Scene([], floor_y_m=FLOOR, wall_z_m=9.0), COLOUR, W, H)
    other = correct_people(mono[None], uv[None], conf[None], COLOUR, DepthFrame(empty, cam))
    assert other.status[0] in (DepthStatus.INCONSISTENT, DepthStatus.AMBIGUOUS) and not other.corrected.any()
    np.testing.assert_array_equal(other.joints_cam_mm[0], mono)
    # out of range readings count as none
    far = correct_people(mono[None], uv[None], conf[None], COLOUR,
                         DepthFrame(np.full((H, W), 30.0, np.float32), cam))
    assert far.status == [DepthStatus.NO_READINGS]


def test_no_people_and_a_person_with_nan_joints():
    cam = DepthCamera.registered_to(COLOUR, W, H)
    frame = DepthFrame(np.full((H, W), 3.0, np.float32), cam)
    empty = correct_people(np.zeros((0, 17, 3)), np.zeros((0, 17, 2)), np.zeros((0, 17)), COLOUR, frame)
    assert empty.joints_cam_mm.shape == (0, 17, 3) and empty.status == []
    bad = np.full((1, 17, 3), np.nan)
    out = correct_people(bad, np.zeros((1, 17, 2)), np.ones((1, 17)), COLOUR, frame)
    assert not out.corrected.any() and np.all(np.isnan(out.joints_cam_mm))


def test_depth_camera_rejects_a_non_rotation():
    with pytest.raises(DepthError):
        DepthCamera(COLOUR, W, H, rotation=np.diag([1.0, 1.0, -1.0]))
    with pytest.raises(DepthError):
        DepthCamera(COLOUR, 0, H)


def test_ray_capsule_hits_hand_computed():
    from pinet_ros.core.depth import ray_capsule_hit

    o = np.zeros(3)
    rays = np.array([[0.0, 0.0, 1.0], [0.6, 0.0, 0.8], [0.0, 0.6, 0.8]])
    # a sphere of radius 1 at z = 5: straight on, t = 4; the other two rays miss it (sin 36.9 deg * 5 = 3 > 1)
    np.testing.assert_allclose(ray_capsule_hit(o, rays, np.array([0, 0, 5.0]), np.array([0, 0, 5.0]), 1.0),
                               [4.0, np.inf, np.inf])
    # a capsule along x at z = 5, radius 0.5, from x = -10 to 10: straight on t = 4.5; the ray tilted along x
    # meets the cylinder where its z is 4.5: t = 4.5 / 0.8; the one tilted along y passes over it
    t = ray_capsule_hit(o, rays, np.array([-10.0, 0, 5.0]), np.array([10.0, 0, 5.0]), 0.5)
    np.testing.assert_allclose(t, [4.5, 4.5 / 0.8, np.inf])
    # a capsule ending at x = 0 meets the straight ray on its rounded end, at the same distance
    t = ray_capsule_hit(o, rays[:1], np.array([-10.0, 0, 5.0]), np.array([0.0, 0, 5.0]), 0.5)
    np.testing.assert_allclose(t, [4.5])
