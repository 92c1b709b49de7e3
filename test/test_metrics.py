"""MuPoTS metrics against cases computed by hand."""

import numpy as np
import pytest

from pinet_ros.metrics import (PCKAccumulator, evaluate_frame, joint_errors_mupots, match_persons, mpjpe,
                               pa_mpjpe, rescale_bones, root_relative)

# A plausible standing person (mm), MuPoTS-17 order, pelvis at index 14.
POSE = np.array([
    [0, -800, 0], [0, -550, 0], [-180, -530, 0], [-200, -280, 0], [-210, -40, 0],
    [180, -530, 0], [200, -280, 0], [210, -40, 0], [-100, 0, 0], [-110, 420, 0], [-115, 830, 0],
    [100, 0, 0], [110, 420, 0], [115, 830, 0], [0, 0, 0], [0, -250, 0], [0, -680, 0]], float) + [0, 0, 4000]


def _uv(pose, f=1000.0, c=(500.0, 500.0)):
    return pose[:, :2] / pose[:, 2:] * f + np.asarray(c)


def test_perfect_prediction_scores_full_pck_and_hand_auc():
    acc = PCKAccumulator()
    acc.add(joint_errors_mupots(POSE, POSE))
    assert acc.pck() == 100.0
    assert all(v == 100.0 for v in acc.groups().values())
    # 31 thresholds 0..150; at 0 mm no error is strictly below, at the 30 others all are.
    assert acc.auc() == pytest.approx(100.0 * 30 / 31)


def test_constant_offset_is_removed_by_root_centring():
    errors = joint_errors_mupots(POSE + [300.0, -200.0, 1500.0], POSE)
    assert np.allclose(errors, 0.0, atol=1e-9)
    assert mpjpe(POSE + 1000.0, POSE) == pytest.approx(0.0)
    assert mpjpe(POSE + [0, 0, 90.0], POSE, root=None) == pytest.approx(90.0)


def test_bone_of_wrong_length_is_rescaled_to_ground_truth():
    pred = root_relative(POSE).copy()
    gt = root_relative(POSE)
    pred[10] = pred[9] + 1.7 * (gt[10] - gt[9])  # right ankle: shin 70 % too long, right direction
    assert np.linalg.norm(pred[10] - gt[10]) > 200
    assert np.allclose(rescale_bones(pred, gt), gt)
    assert np.allclose(joint_errors_mupots(pred, gt), 0.0, atol=1e-9)


def test_zero_length_bone_misses_joint_and_descendants():
    pred = POSE.copy()
    pred[3] = pred[2]  # elbow on the shoulder: the upper arm has no direction
    errors = joint_errors_mupots(pred, POSE)
    assert np.isnan(errors[3]) and np.isnan(errors[4])
    assert np.allclose(errors[[0, 1, 2, 5, 6, 7]], 0.0, atol=1e-9)
    acc = PCKAccumulator()
    acc.add(errors)
    assert acc.pck() == pytest.approx(100.0 * 12 / 14)
    assert acc.groups()["elbow"] == 50.0 and acc.groups()["wrist"] == 50.0


def test_unmatched_person_under_both_protocols():
    other = POSE + [1500.0, 0.0, 0.0]
    gt_3d = np.stack([POSE, other])
    gt_2d = np.stack([_uv(POSE), _uv(other)])
    pred_3d = POSE[None] + 5.0  # only the first person was found
    all_gt, matched = PCKAccumulator(), PCKAccumulator()
    evaluate_frame(pred_3d, _uv(pred_3d[0])[None], gt_3d, gt_2d, all_gt, matched)
    assert len(all_gt.errors) == 2 and len(matched.errors) == 1
    assert matched.pck() == 100.0
    assert all_gt.pck() == 50.0


def test_matching_is_greedy_with_strict_pixel_window():
    gt_2d = np.stack([_uv(POSE)])
    far = _uv(POSE) + 40.0  # exactly 40 px away: strict test, no joint agrees
    near = _uv(POSE) + 39.0
    assert match_persons(np.stack([far, near]), gt_2d).tolist() == [1]
    assert match_persons(np.stack([far]), gt_2d).tolist() == [-1]
    assert match_persons(np.zeros((1, 17, 2)), np.zeros((1, 17, 2))).tolist() == [-1]  # (0,0) is invisible


def test_pa_mpjpe_removes_a_rotation_and_optionally_scale():
    angle = np.deg2rad(35.0)
    rot = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    rotated = POSE @ rot.T + [10.0, 20.0, 30.0]
    assert mpjpe(rotated, POSE) > 50
    assert pa_mpjpe(rotated, POSE) == pytest.approx(0.0, abs=1e-6)
    scaled = 1.2 * rotated
    assert pa_mpjpe(scaled, POSE) > 10
    assert pa_mpjpe(scaled, POSE, scale=True) == pytest.approx(0.0, abs=1e-6)
