"""Tests of the offline mediapipe backend: pure geometry (joint map, translation solve, NMS, tiles) always;
the model on real images (basketball2.png, vtest.avi from Debian's opencv-doc, see scripts/get_samples.sh)
when mediapipe and the samples are available."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from pinet_ros.core.camera import Intrinsics, view_rotation
from pinet_ros.core.result import PersonEstimate
from pinet_ros.core.skeleton import MUPOTS17
from pinet_ros.models.mediapipe_backend import (
    BLAZEPOSE_TO_MUPOTS17,
    VIEW_CORRECTION_TOLERANCE,
    MediapipeBackend,
    MediapipeConfig,
    body_chain_length,
    box_from_points,
    ensure_task_bundle,
    lift_landmarks,
    map_landmarks_to_mupots17,
    merge_duplicates,
    solve_translation,
    tile_origins,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "helpers"))
from numerics import F64_EPS, assert_close  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "data" / "samples"
J = MUPOTS17.index


# ----------------------------------------------------------------------------------------------------------
# 33 -> 17 map
# ----------------------------------------------------------------------------------------------------------

def test_joint_map_on_hand_made_landmarks() -> None:
    rng = np.random.default_rng(0)
    lm = rng.normal(size=(33, 3))
    conf = np.linspace(0.2, 1.0, 33)
    joints, jc = map_landmarks_to_mupots17(lm, conf)
    assert joints.shape == (17, 3) and jc.shape == (17,)
    direct = {"r_shoulder": 12, "r_elbow": 14, "r_wrist": 16, "l_shoulder": 11, "l_elbow": 13, "l_wrist": 15,
              "r_hip": 24, "r_knee": 26, "r_ankle": 28, "l_hip": 23, "l_knee": 25, "l_ankle": 27}
    for name, i in direct.items():
        np.testing.assert_allclose(joints[J(name)], lm[i], err_msg=name)
        assert jc[J(name)] == conf[i]
    pelvis, thorax, head = (lm[23] + lm[24]) / 2, (lm[11] + lm[12]) / 2, (lm[7] + lm[8]) / 2
    # float64, <= 4 landmarks with weights <= 1.5 summed in another order (BLAS): a few roundings of
    # |landmark| size each, whatever the cancellation (an absolute, not a relative, bound)
    tol = 8 * F64_EPS * float(np.abs(lm).max())
    assert_close(joints[J("pelvis")], pelvis, atol=tol, label="pelvis")
    assert_close(joints[J("thorax")], thorax, atol=tol, label="thorax")
    assert_close(joints[J("head")], head, atol=tol, label="head")
    assert_close(joints[J("spine")], (pelvis + thorax) / 2, atol=tol, label="spine")
    assert_close(joints[J("head_top")], head + 0.5 * (head - thorax), atol=tol, label="head top")
    assert jc[J("pelvis")] == min(conf[23], conf[24])
    assert jc[J("head_top")] == min(conf[7], conf[8], conf[11], conf[12])
    # Rows sum to one: the map commutes with translation, so hip-centred world points stay hip-centred.
    np.testing.assert_allclose(BLAZEPOSE_TO_MUPOTS17.sum(axis=1), 1.0)


def test_joint_map_upright_person_is_anatomical() -> None:
    """A hand-placed upright BlazePose body (camera frame, metres, y down) maps to a sane MuPoTS-17 body."""
    lm = np.zeros((33, 3))
    lm[0] = (0.0, -0.62, 0.0)                              # nose
    lm[7], lm[8] = (0.07, -0.6, 0.05), (-0.07, -0.6, 0.05)  # left/right ear (person faces the camera)
    lm[11], lm[12] = (0.18, -0.45, 0.0), (-0.18, -0.45, 0.0)  # shoulders
    lm[23], lm[24] = (0.1, 0.0, 0.0), (-0.1, 0.0, 0.0)      # hips
    lm[25], lm[26] = (0.1, 0.42, 0.0), (-0.1, 0.42, 0.0)    # knees
    lm[27], lm[28] = (0.1, 0.82, 0.0), (-0.1, 0.82, 0.0)    # ankles
    joints, _ = map_landmarks_to_mupots17(lm)
    np.testing.assert_allclose(joints[MUPOTS17.root], 0.0, atol=1e-12)
    y = joints[:, 1]
    assert y[J("head_top")] < y[J("head")] < y[J("thorax")] < y[J("spine")] < y[J("pelvis")] < y[J("r_knee")]
    assert joints[J("r_hip"), 0] < 0 < joints[J("l_hip"), 0]  # person's right = image left when facing us
    assert 0.05 < joints[J("head")][1] - joints[J("head_top")][1] < 0.15


def test_joint_map_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="33"):
        map_landmarks_to_mupots17(np.zeros((17, 3)))
    with pytest.raises(ValueError, match="confidences"):
        map_landmarks_to_mupots17(np.zeros((33, 2)), np.ones(17))


# ----------------------------------------------------------------------------------------------------------
# Translation solve
# ----------------------------------------------------------------------------------------------------------

def _synthetic_body(rng: np.random.Generator, n: int = 33) -> np.ndarray:
    """(n, 3) points of a person-sized cloud around the origin, metres."""
    return rng.uniform([-0.3, -0.9, -0.15], [0.3, 0.9, 0.15], size=(n, 3))


@pytest.mark.parametrize("t_true", [(0.4, -0.2, 4.0), (-1.5, 0.3, 2.0), (2.0, 1.0, 9.0)])
def test_solve_translation_recovers_translation(t_true: tuple[float, float, float]) -> None:
    rng = np.random.default_rng(1)
    k = Intrinsics(fx=600.0, fy=610.0, cx=321.0, cy=239.0)
    pts = _synthetic_body(rng)
    t = np.array(t_true)
    uv = k.project(pts + t)
    # exact without noise: float64 least squares, condition < 1e3, |t| < 10 m -> error < 1e-12 m
    np.testing.assert_allclose(solve_translation(pts, uv, k), t, atol=1e-9)
    noisy = uv + rng.normal(scale=1.0, size=uv.shape)  # 1 px noise
    est = solve_translation(pts, noisy, k)
    assert abs(est[2] - t[2]) < 0.03 * t[2]
    assert np.linalg.norm(est[:2] - t[:2]) < 0.05


def test_solve_translation_focal_length_identity() -> None:
    """Same pixels, focal length x2: every equation reads as the original one for depths Z/2 and tz/2, so the
    solve gives (tx, ty, 2 tz) of the body with halved depths; the reprojection re-weighting scales alike."""
    rng = np.random.default_rng(4)
    k = Intrinsics(fx=600.0, fy=610.0, cx=321.0, cy=239.0)
    k2 = Intrinsics(2 * k.fx, 2 * k.fy, k.cx, k.cy)
    pts = _synthetic_body(rng)
    uv = k.project(pts + [0.4, -0.2, 4.0]) + rng.normal(scale=2.0, size=(len(pts), 2))
    w = rng.uniform(0.2, 1.0, len(pts))
    got = solve_translation(pts, uv, k2, w)
    # float64 least squares, condition < 1e3, values < 1e2: relative error far below 1e-9
    assert_close(got, solve_translation(pts * [1.0, 1.0, 0.5], uv, k, w) * [1.0, 1.0, 2.0], rtol=1e-9,
                 label="focal-length identity")
    assert abs(got[2] / solve_translation(pts, uv, k, w)[2] - 2.0) > 1e-3  # the depth extent matters


@pytest.mark.parametrize("t_true", [(0.0, 0.0, 3.0), (2.2, -0.6, 3.0), (-3.0, 1.0, 6.0)])
def test_lift_landmarks_turns_crop_frame_landmarks_into_camera_axes(t_true: tuple[float, float, float]) -> None:
    """Landmarks given in the frame of the ray through the person (as the landmark model reports a crop off
    the image centre) come back in camera axes with the exact translation; without the correction a person
    35 deg off axis keeps the ray's turn."""
    rng = np.random.default_rng(5)
    k = Intrinsics(fx=500.0, fy=500.0, cx=320.0, cy=240.0)
    body = _synthetic_body(rng, 33)
    body -= body[[23, 24]].mean(axis=0)  # hip-centred, as BlazePose's world landmarks
    t = np.array(t_true)
    crop_frame = body @ view_rotation(t)  # rows R^T p: the body as seen looking straight along the ray
    uv = k.project(body + t)
    conf = np.ones(33)
    got_mm, _, _ = lift_landmarks(uv, crop_frame, conf, k)
    want_mm, _ = map_landmarks_to_mupots17(body + t)
    # the fixed point stops once t moves by < VIEW_CORRECTION_TOLERANCE |t|; the error left is about one
    # step (the iteration contracts >10x per step): bound it by 10x the tolerance, |t| < 7 m -> < 0.07 mm
    bound_mm = 10 * VIEW_CORRECTION_TOLERANCE * np.linalg.norm(t) * 1000.0 + 1e-6
    assert np.abs(got_mm - want_mm * 1000.0).max() < bound_mm
    plain_mm, _, _ = lift_landmarks(uv, crop_frame, conf, k, view_correction=False)
    off_axis_deg = np.degrees(np.arccos(t[2] / np.linalg.norm(t)))
    if off_axis_deg > 10:
        assert np.abs(plain_mm - want_mm * 1000.0).max() > 20.0


def test_solve_translation_weights_ignore_outliers() -> None:
    rng = np.random.default_rng(2)
    k = Intrinsics(600.0, 600.0, 320.0, 240.0)
    pts = _synthetic_body(rng)
    t = np.array([0.3, 0.1, 3.0])
    uv = k.project(pts + t)
    uv[:5] += 150.0  # five wild landmarks ...
    w = np.ones(len(pts))
    w[:5] = 0.0  # ... with zero visibility
    np.testing.assert_allclose(solve_translation(pts, uv, k, w), t, atol=1e-9)
    assert np.linalg.norm(solve_translation(pts, uv, k) - t) > 0.05  # unweighted they do harm


def test_solve_translation_errors() -> None:
    k = Intrinsics(600.0, 600.0, 320.0, 240.0)
    with pytest.raises(ValueError, match="at least 2"):
        solve_translation(np.zeros((3, 3)), np.zeros((3, 2)), k, weights=np.array([1.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        solve_translation(np.zeros((3, 2)), np.zeros((3, 2)), k)
    # Points that project with a flipped sign can only be explained behind the camera.
    pts = _synthetic_body(np.random.default_rng(3))
    uv = k.project(pts + [0.0, 0.0, 3.0])
    mirrored = 2 * np.array([k.cx, k.cy]) - uv
    with pytest.raises(ValueError, match="behind the camera"):
        solve_translation(pts, mirrored, k)


# ----------------------------------------------------------------------------------------------------------
# Boxes, tiles, NMS, config
# ----------------------------------------------------------------------------------------------------------

def _person(box: tuple[float, float, float, float], score: float) -> PersonEstimate:
    return PersonEstimate(np.array(box, dtype=float), score, np.zeros((17, 3)), np.zeros((17, 2)), np.ones(17))


def test_merge_duplicates_prefers_whole_frame_then_score() -> None:
    full = _person((100, 100, 50, 150), 0.9)
    tile_dup = _person((102, 98, 50, 150), 0.99)      # same person seen in a tile: dropped
    tile_inside = _person((110, 110, 20, 60), 0.99)   # fragment inside the whole-frame box: dropped
    tile_new = _person((300, 100, 30, 90), 0.95)
    tile_new_dup = _person((301, 101, 30, 90), 0.9)   # seen in two tiles: the better one stays
    full_overlap = _person((120, 100, 50, 150), 0.8)  # a second whole-frame person is never dropped
    people = [tile_new_dup, tile_dup, full, tile_inside, tile_new, full_overlap]
    kept = merge_duplicates(people, [1, 1, 0, 1, 1, 0], iou=0.5, containment=0.8)
    assert {id(p) for p in kept} == {id(full), id(full_overlap), id(tile_new)}


def test_tile_origins_cover_the_image() -> None:
    assert tile_origins(576, 320, 224) == [0, 128, 256]
    assert tile_origins(480, 320, 224) == [0, 160]
    assert tile_origins(768, 320, 224) == [0, 224, 448]
    assert tile_origins(300, 320, 224) == []
    for length in (321, 500, 1000, 1920):
        starts = tile_origins(length, 320, 224)
        assert starts[0] == 0 and starts[-1] + 320 == length
        assert all(b - a <= 224 for a, b in zip(starts, starts[1:]))


def test_box_from_points_margin_and_clip() -> None:
    box = box_from_points(np.array([[10.0, 20.0], [110.0, 220.0]]), 640, 480, margin=0.1)
    np.testing.assert_allclose(box, [0.0, 0.0, 120.0, 240.0])
    box = box_from_points(np.array([[600.0, 400.0], [650.0, 500.0]]), 640, 480, margin=0.0)
    np.testing.assert_allclose(box, [600.0, 400.0, 40.0, 80.0])


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="max_people"):
        MediapipeConfig(max_people=0)
    with pytest.raises(ValueError, match="min_detection_score"):
        MediapipeConfig(min_detection_score=1.5)
    with pytest.raises(ValueError, match="tile_stride_px"):
        MediapipeConfig(tile_size_px=320, tile_stride_px=400)


def test_body_chain_length_of_a_straight_body() -> None:
    joints = np.zeros((17, 3))
    for name, y in (("head_top", -0.7), ("head", -0.6), ("thorax", -0.4), ("spine", -0.2), ("pelvis", 0.0),
                    ("r_hip", 0.0), ("l_hip", 0.0), ("r_knee", 0.4), ("l_knee", 0.4),
                    ("r_ankle", 0.8), ("l_ankle", 0.8)):
        joints[J(name), 1] = y
    for name in ("r_hip", "r_knee", "r_ankle"):
        joints[J(name), 0] = -0.1
    for name in ("l_hip", "l_knee", "l_ankle"):
        joints[J(name), 0] = 0.1
    assert body_chain_length(joints) == pytest.approx(0.7 + 0.1 + 0.8)


# ----------------------------------------------------------------------------------------------------------
# The model (needs mediapipe; the real-image tests need data/samples)
# ----------------------------------------------------------------------------------------------------------

mp = pytest.importorskip("mediapipe", reason="mediapipe==0.10.21 not installed (pip install 'pinet_ros[mediapipe]')")
cv2 = pytest.importorskip("cv2", reason="opencv not installed")


def test_ensure_task_bundle_idempotent_and_repairs(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "bundle.task"
    assert ensure_task_bundle(path) == path
    with zipfile.ZipFile(path) as zf:
        assert {"pose_detector.tflite", "pose_landmarks_detector.tflite"} <= set(zf.namelist())
    stat = path.stat()
    ensure_task_bundle(path)
    assert path.stat().st_mtime_ns == stat.st_mtime_ns  # kept, not rebuilt
    path.write_bytes(b"not a zip")
    ensure_task_bundle(path)
    assert zipfile.is_zipfile(path)
    assert [p.name for p in path.parent.iterdir()] == ["bundle.task"]  # no temporary files left


def test_missing_task_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.task"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        MediapipeBackend(MediapipeConfig(task_path=str(missing)))


@pytest.fixture(scope="module")
def samples() -> Path:
    names = ("basketball2.png", "vtest.avi")
    if not all((SAMPLES / n).is_file() for n in names):
        if shutil.which("apt-get") is None:
            pytest.skip(f"{SAMPLES} lacks {names} and apt-get is unavailable to fetch them (scripts/get_samples.sh)")
        proc = subprocess.run([str(REPO / "scripts" / "get_samples.sh")], capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"{SAMPLES} missing and scripts/get_samples.sh failed: {proc.stderr.strip()[-300:]}")
    return SAMPLES


@pytest.fixture(scope="module")
def backend():
    b = MediapipeBackend(MediapipeConfig())
    yield b
    b.close()


@pytest.fixture(scope="module")
def basketball(samples: Path) -> tuple[np.ndarray, Intrinsics]:
    grey = cv2.imread(str(samples / "basketball2.png"), cv2.IMREAD_GRAYSCALE)
    rgb = cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)
    h, w = rgb.shape[:2]
    return rgb, Intrinsics(fx=w, fy=w, cx=w / 2, cy=h / 2)  # assumed pinhole: no calibration ships with it


@pytest.fixture(scope="module")
def vtest_frame(samples: Path) -> tuple[np.ndarray, Intrinsics]:
    cap = cv2.VideoCapture(str(samples / "vtest.avi"))
    ok, bgr = cap.read()  # frame 0
    cap.release()
    assert ok, "cannot decode vtest.avi"
    h, w = bgr.shape[:2]
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), Intrinsics(fx=w, fy=w, cx=w / 2, cy=h / 2)


def _bone(j: np.ndarray, a: str, b: str) -> float:
    return float(np.linalg.norm(j[J(a)] - j[J(b)]))


def _check_person_contract(p: PersonEstimate, w: int, h: int) -> None:
    assert p.joints_cam_mm.shape == (17, 3) and p.joints_2d.shape == (17, 2) and p.joint_confidence.shape == (17,)
    assert np.isfinite(p.joints_cam_mm).all() and (p.joints_cam_mm[:, 2] > 0).all()
    assert ((0 <= p.joint_confidence) & (p.joint_confidence <= 1)).all() and 0 <= p.score <= 1
    x, y, bw, bh = p.bbox_xywh
    assert 0 <= x and 0 <= y and bw > 0 and bh > 0 and x + bw <= w + 1e-6 and y + bh <= h + 1e-6


def test_basketball2_two_people_in_3d(backend: MediapipeBackend, basketball) -> None:
    rgb, k = basketball
    people = backend.estimate(rgb, k)
    assert len(people) == 2
    h, w = rgb.shape[:2]
    left, right = people  # sorted left to right
    for p in people:
        _check_person_contract(p, w, h)
        j_m = p.joints_cam_mm / 1000.0
        assert 1.0 < j_m[MUPOTS17.root, 2] < 8.0, j_m[MUPOTS17.root]
        for side in ("r", "l"):
            assert 0.3 < _bone(j_m, f"{side}_hip", f"{side}_knee") < 0.6
            assert 0.25 < _bone(j_m, f"{side}_knee", f"{side}_ankle") < 0.55
            assert 0.2 < _bone(j_m, f"{side}_shoulder", f"{side}_elbow") < 0.45
        assert 0.15 < _bone(j_m, "r_hip", "l_hip") < 0.4
        # 3D and 2D agree: the projected joints lie near the detected 2D joints (translation-only fit).
        reproj = np.linalg.norm(k.project(p.joints_cam_mm) - p.joints_2d, axis=1)
        assert np.median(reproj) < 0.1 * p.bbox_xywh[3]
    assert left.joints_cam_mm[MUPOTS17.root, 0] < right.joints_cam_mm[MUPOTS17.root, 0]
    lx, rx = left.bbox_xywh[0] + left.bbox_xywh[2] / 2, right.bbox_xywh[0] + right.bbox_xywh[2] / 2
    assert lx < w / 2 < rx
    assert left.bbox_xywh[0] + left.bbox_xywh[2] <= right.bbox_xywh[0]  # disjoint boxes, left then right


def test_deterministic(backend: MediapipeBackend, basketball) -> None:
    rgb, k = basketball
    a, b = backend.estimate(rgb, k), backend.estimate(rgb.copy(), k)
    assert len(a) == len(b) > 0
    for p, q in zip(a, b):
        for field in ("bbox_xywh", "joints_cam_mm", "joints_2d", "joint_confidence"):
            np.testing.assert_array_equal(getattr(p, field), getattr(q, field))
        assert p.score == q.score


def test_depth_scales_with_focal_length(backend: MediapipeBackend, basketball, monkeypatch) -> None:
    """No fixed depth: doubling the assumed focal length about doubles every root depth (same pixels; not
    exactly, since the body's own depth extent does not scale). Exactly, the translation is the one of the
    original focal length for the body with its depths halved, with tz doubled (see
    test_solve_translation_focal_length_identity); checked on the landmarks the backend really solved with
    (the real solve, observed by a wrapper). The view correction is switched off here (its rotation follows
    the translation, which the focal length changes; it has its own test above)."""
    import pinet_ros.models.mediapipe_backend as mb

    monkeypatch.setattr(mb, "view_rotation", lambda direction: np.eye(3))

    rgb, k = basketball
    k2 = Intrinsics(2 * k.fx, 2 * k.fy, k.cx, k.cy)
    solved = []

    def observed(points_m, uv_px, intrinsics, weights=None, **kw):
        t = solve_translation(points_m, uv_px, intrinsics, weights, **kw)
        solved.append((np.array(points_m), np.array(uv_px), None if weights is None else np.array(weights), t))
        return t

    monkeypatch.setattr(mb, "solve_translation", observed)
    z1 = np.array([p.joints_cam_mm[MUPOTS17.root, 2] for p in backend.estimate(rgb, k)])
    n_solved = len(solved)
    z2 = np.array([p.joints_cam_mm[MUPOTS17.root, 2] for p in backend.estimate(rgb, k2)])
    assert len(z1) == len(z2) > 0
    assert np.all(np.sort(z2) / np.sort(z1) > 1.5)  # a fixed or focal-independent depth gives a ratio of 1
    expected = []
    seen: list[np.ndarray] = []
    for points, uv, weights, t1 in solved[:n_solved]:  # every solve of the first frame: a person, unless merged
        if any(np.array_equal(t1, t) for t in seen):  # the (identity) view correction's re-solve: same inputs
            continue
        seen.append(t1)
        root_z = map_landmarks_to_mupots17(points)[0][MUPOTS17.root, 2]  # the root's own depth offset (m)
        if np.any(np.abs(z1 - 1000.0 * (root_z + t1[2])) <= 1e-9 * z1):  # this solve made a reported person
            t_half = solve_translation(points * [1.0, 1.0, 0.5], uv, k, weights)
            expected.append(1000.0 * (root_z + 2.0 * t_half[2]))
    # float64 least squares on ~66 equations of values < 1e2: relative error well below 1e-12
    assert_close(np.sort(z2), np.sort(expected), rtol=1e-9, label="depth for a doubled focal length")


def test_small_people_pass_finds_pedestrians(backend: MediapipeBackend, vtest_frame) -> None:
    rgb, k = vtest_frame
    h, w = rgb.shape[:2]
    plain = backend.estimate(rgb, k)
    with MediapipeBackend(MediapipeConfig(small_people=True)) as small:
        found = small.estimate(rgb, k)
    assert len(found) >= len(plain) + 2, (len(plain), len(found))
    for p in found:
        _check_person_contract(p, w, h)
        assert p.bbox_xywh[3] < 160  # these are the small pedestrians
        assert 1.2 < body_chain_length(p.joints_cam_mm / 1000.0) < 2.0


def test_small_people_pass_adds_no_fragment_on_basketball2(basketball) -> None:
    rgb, k = basketball
    with MediapipeBackend(MediapipeConfig(small_people=True)) as small:
        assert len(small.estimate(rgb, k)) == 2


def test_bad_input_and_close(basketball) -> None:
    rgb, k = basketball
    b = MediapipeBackend()
    with pytest.raises(ValueError, match="uint8"):
        b.estimate(rgb.astype(np.float32), k)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        b.estimate(rgb[..., 0], k)
    assert b.estimate(np.zeros((0, 10, 3), np.uint8), k) == []
    b.close()
    with pytest.raises(RuntimeError, match="closed"):
        b.estimate(rgb, k)


def test_timings_reported(backend: MediapipeBackend, basketball) -> None:
    rgb, k = basketball
    backend.estimate(rgb, k)
    t = backend.timings_ms
    assert set(t) == {"landmarks", "small_people", "lift"}
    assert t["landmarks"] > 0 and t["lift"] >= 0 and t["small_people"] == 0.0
