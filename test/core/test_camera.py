"""Pinhole intrinsics: validation and projection round trips."""

import math
import subprocess
import sys

import numpy as np
import pytest

from pinet_ros.core.camera import Intrinsics, view_rotation

K = Intrinsics(fx=1500.0, fy=1480.0, cx=960.0, cy=540.0)


def test_project_back_project_round_trip():
    rng = np.random.default_rng(0)
    pts = np.column_stack([rng.uniform(-2000, 2000, 50), rng.uniform(-1500, 1500, 50), rng.uniform(500, 9000, 50)])
    uv = K.project(pts)
    assert uv.shape == (50, 2)
    back = K.back_project(uv, pts[:, 2])
    np.testing.assert_allclose(back, pts, rtol=1e-6, atol=1e-9)


def test_project_known_values_and_batch_shapes():
    uv = K.project(np.array([[1000.0, -500.0, 5000.0]]))
    np.testing.assert_allclose(uv, [[960 + 1500 * 0.2, 540 - 1480 * 0.1]])
    pts = np.ones((2, 3, 3)) * [10.0, 20.0, 3000.0]
    assert K.project(pts).shape == (2, 3, 2)
    assert K.back_project(np.zeros((2, 3, 2)), np.full((2, 3), 1000.0)).shape == (2, 3, 3)
    # principal point lifts to the optical axis
    np.testing.assert_allclose(K.back_project([960.0, 540.0], 2500.0), [0.0, 0.0, 2500.0])


@pytest.mark.parametrize("field", ["fx", "fy"])
@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf, -math.inf])
def test_rejects_bad_focal(field, bad):
    kw = dict(fx=1.0, fy=1.0, cx=0.0, cy=0.0)
    kw[field] = bad
    with pytest.raises(ValueError):
        Intrinsics(**kw)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_rejects_bad_principal_point(bad):
    with pytest.raises(ValueError):
        Intrinsics(fx=1.0, fy=1.0, cx=bad, cy=0.0)


def test_core_camera_and_boxes_import_neither_torch_nor_rclpy():
    code = ("import sys, pinet_ros.core.camera, pinet_ros.core.boxes\n"
            "print(','.join(m for m in ('torch', 'rclpy') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("direction", [(0.0, 0.0, 2.0), (0.3, -0.2, 1.0), (-1.5, 0.9, 0.4), (1e-9, 0.0, 1.0)])
def test_view_rotation_turns_the_optical_axis_onto_the_ray(direction: tuple[float, float, float]) -> None:
    d = np.asarray(direction)
    r = view_rotation(d)
    # float64, entries <= 1 in magnitude: products carry a few ulps of 1
    tol = 16 * np.finfo(np.float64).eps
    np.testing.assert_allclose(r @ [0.0, 0.0, 1.0], d / np.linalg.norm(d), atol=tol)
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=tol)
    assert abs(np.linalg.det(r) - 1.0) < tol
    # the smallest such rotation leaves the axis z x d alone (no roll about the ray)
    axis = np.cross([0.0, 0.0, 1.0], d)
    if np.linalg.norm(axis) > 0:
        np.testing.assert_allclose(r @ axis, axis, atol=tol * np.linalg.norm(axis))


@pytest.mark.parametrize("direction", [(0.0, 0.0, 0.0), (0.0, 0.0, -1.0), (1.0, 0.0, 0.0), (np.nan, 0.0, 1.0)])
def test_view_rotation_refuses_rays_not_in_front(direction: tuple[float, float, float]) -> None:
    with pytest.raises(ValueError, match="in front of the camera"):
        view_rotation(np.asarray(direction))
