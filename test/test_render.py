"""pinet_ros.render: the 2D overlay and the 3D skeleton PNG (numpy + OpenCV only)."""

import math

import cv2
import numpy as np
import pytest

from pinet_ros.core.colors import color_for_id, color_for_id_rgb8
from pinet_ros.core.result import FrameResult, PersonResult
from pinet_ros.core.skeleton import MUPOTS17
from pinet_ros.render import draw_overlay, plot_skeletons_3d


def standing_person(pid, x_m, z_m, u_px):
    """A crude upright skeleton at (x_m, z_m) with its 2D joints in a column around u_px."""
    rng = np.random.default_rng(pid)
    joints = np.zeros((17, 3))
    joints[:, 0] = x_m + rng.uniform(-0.2, 0.2, 17)
    joints[:, 1] = np.linspace(-0.8, 0.9, 17)  # y down: head at -0.8 m, feet at 0.9 m
    joints[:, 2] = z_m + rng.uniform(-0.1, 0.1, 17)
    joints_2d = np.stack([u_px + rng.uniform(-15, 15, 17), np.linspace(40, 200, 17)], axis=1)
    return PersonResult(id=pid, score=0.9, bbox_xywh=np.array([u_px - 30.0, 30.0, 60.0, 180.0]),
                        root_m=joints[MUPOTS17.root], joints_m=joints, joints_initial_m=joints + [0.05, 0.0, 0.1],
                        joints_2d=joints_2d, joint_confidence=np.full(17, 0.9))


def result(*persons):
    return FrameResult(stamp_ns=1_000_000_000, frame_id="cam", image_size=(320, 240), persons=list(persons))


def test_colors_are_stable_distinct_and_in_range():
    assert color_for_id(3) == color_for_id(3)
    colours = [color_for_id(i) for i in range(12)]
    assert len(set(colours)) == 12
    assert all(0.0 <= c <= 1.0 for rgb in colours for c in rgb)
    assert color_for_id_rgb8(5) == tuple(int(round(c * 255)) for c in color_for_id(5))
    # neighbouring ids are far apart in colour
    assert min(np.abs(np.subtract(color_for_id(i), color_for_id(i + 1))).sum() for i in range(20)) > 0.3
    with pytest.raises(TypeError):
        color_for_id(1.5)


def test_overlay_draws_each_person_in_its_colour_and_leaves_the_input_alone():
    rgb = np.zeros((240, 320, 3), np.uint8)
    frame = result(standing_person(1, -0.5, 3.0, 80), standing_person(2, 0.5, 4.0, 240))
    out = draw_overlay(rgb, frame)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert not rgb.any(), "input modified"
    for p, (u0, u1) in zip(frame.persons, [(40, 120), (200, 280)]):
        region = out[40:200, u0:u1].reshape(-1, 3)
        colour = np.array(color_for_id_rgb8(p.id))
        assert np.sum(np.all(region == colour, axis=1)) > 50, f"person {p.id} not drawn in its colour"
    assert not out[:, 140:180].any(), "something drawn between the two people"


def test_overlay_skips_non_finite_and_low_confidence_joints():
    p = standing_person(4, 0.0, 3.0, 160)
    p.joints_2d[:] = np.nan
    p.bbox_xywh = np.array([np.inf, 0, 10, 10])
    out = draw_overlay(np.zeros((240, 320, 3), np.uint8), result(p))
    assert not out.any()
    q = standing_person(5, 0.0, 3.0, 160)
    q.joint_confidence[:] = 0.0
    q.bbox_xywh = np.array([np.nan] * 4)
    assert not draw_overlay(np.zeros((240, 320, 3), np.uint8), result(q)).any()
    with pytest.raises(ValueError):
        draw_overlay(np.zeros((240, 320), np.uint8), result())


def test_plot_writes_a_png_with_two_views(tmp_path):
    frame = result(standing_person(1, -0.8, 3.0, 80), standing_person(2, 0.8, 5.0, 240))
    path = tmp_path / "sub" / "skeletons.png"
    picture = plot_skeletons_3d(frame, path, title="two people", panel_px=300)
    written = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert written is not None and written.shape == picture.shape
    np.testing.assert_array_equal(written[..., ::-1], picture)
    assert picture.shape[1] == 2 * 300 + 8
    body = picture[36:]
    front, top = body[:, :300], body[:, 308:]
    for p in frame.persons:
        colour = np.array(color_for_id_rgb8(p.id))
        for view in (front, top):
            assert np.sum(np.all(view == colour, axis=2)) > 20, f"person {p.id} missing from a view"


def test_plot_top_view_puts_the_farther_person_higher(tmp_path):
    near, far = standing_person(1, 0.0, 2.0, 100), standing_person(2, 0.0, 6.0, 200)
    picture = plot_skeletons_3d(result(near, far), tmp_path / "x.png", panel_px=300)
    top = picture[36:, 308:]

    def mean_row(pid):
        rows, _ = np.nonzero(np.all(top == np.array(color_for_id_rgb8(pid)), axis=2))
        return rows.mean()

    assert mean_row(2) < mean_row(1)


def test_plot_front_view_stands_people_upright(tmp_path):
    high, low = standing_person(1, -0.5, 3.0, 100), standing_person(2, 0.5, 3.0, 200)
    for p, dy in ((high, -1.5), (low, 1.5)):  # camera y points down: `high` is 3 m above `low`
        p.joints_m = p.joints_m + [0.0, dy, 0.0]
        p.joints_initial_m = p.joints_m
    picture = plot_skeletons_3d(result(high, low), tmp_path / "x.png", panel_px=300)
    front = picture[36:, :300]

    def mean_row(pid):
        rows, _ = np.nonzero(np.all(front == np.array(color_for_id_rgb8(pid)), axis=2))
        return rows.mean()

    assert mean_row(1) < mean_row(2)


def test_plot_handles_no_people_and_nan(tmp_path):
    plot_skeletons_3d(result(), tmp_path / "empty.png")
    p = standing_person(3, 0.0, 3.0, 100)
    p.joints_m[:5] = np.nan
    p.joints_initial_m[:] = math.inf
    picture = plot_skeletons_3d(result(p), tmp_path / "nan.png")
    assert (tmp_path / "nan.png").stat().st_size > 0 and picture.dtype == np.uint8
