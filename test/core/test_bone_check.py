"""Bone-length plausibility of MuPoTS-17 skeletons (`pinet_ros.core.bone_check`) on hand-made skeletons."""

from __future__ import annotations

import numpy as np

from pinet_ros.core.bone_check import BONE_RANGES_M, bone_lengths_m, implausible_joints
from pinet_ros.core.skeleton import MUPOTS17

J = MUPOTS17.index


def _standing_mm() -> np.ndarray:
    """A 1.75 m person standing, arms down, camera frame (y down), millimetres, 4 m in front of the camera."""
    p = {"pelvis": (0, 0), "spine": (0, -240), "thorax": (0, -480), "head": (0, -680), "head_top": (0, -780),
         "r_shoulder": (-180, -470), "r_elbow": (-200, -180), "r_wrist": (-210, 70),
         "l_shoulder": (180, -470), "l_elbow": (200, -180), "l_wrist": (210, 70),
         "r_hip": (-100, 0), "r_knee": (-105, 430), "r_ankle": (-110, 850),
         "l_hip": (100, 0), "l_knee": (105, 430), "l_ankle": (110, 850)}
    joints = np.zeros((17, 3))
    for name, (x, y) in p.items():
        joints[J(name)] = (x, y, 4000.0)
    return joints


def test_a_normal_skeleton_passes_and_its_bones_are_in_range() -> None:
    j = _standing_mm()
    lengths = bone_lengths_m(j)
    for bone, (lo, hi) in BONE_RANGES_M.items():
        assert lo <= lengths[bone] <= hi, bone
    assert not implausible_joints(j).any()
    assert not implausible_joints(j * 0.7 + [0, 0, 1000]).any()  # a 1.2 m child, also fine


def test_an_impossible_thigh_flags_knee_and_ankle_only() -> None:
    j = _standing_mm()
    j[J("r_knee"), 1] += 600.0  # thigh 1.0 m
    j[J("r_ankle"), 1] += 600.0  # shin unchanged
    bad = implausible_joints(j)
    assert set(np.flatnonzero(bad)) == {J("r_knee"), J("r_ankle")}


def test_a_broken_trunk_flags_everything_above_it() -> None:
    j = _standing_mm()
    j[[J(n) for n in ("thorax", "head", "head_top", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder",
                      "l_elbow", "l_wrist")], 1] -= 700.0
    bad = implausible_joints(j)
    assert bad[J("thorax")] and bad[J("head_top")] and bad[J("l_wrist")]
    assert not bad[J("pelvis")] and not bad[J("r_ankle")] and not bad[J("spine")]


def test_asymmetric_forearms_flag_the_less_confident_side() -> None:
    j = _standing_mm()
    j[J("l_wrist"), 1] = -180 + 130  # left forearm 0.13 m (in range), right 0.25 m: ratio 1.9
    conf = np.ones(17)
    conf[J("l_wrist")] = 0.4
    assert set(np.flatnonzero(implausible_joints(j, conf))) == {J("l_wrist")}
    conf[J("l_wrist")], conf[J("r_wrist")] = 1.0, 0.3
    assert set(np.flatnonzero(implausible_joints(j, conf))) == {J("r_wrist")}
    assert set(np.flatnonzero(implausible_joints(j))) == {J("l_wrist"), J("r_wrist")}  # no confidences


def test_non_finite_joints_are_implausible() -> None:
    j = _standing_mm()
    j[J("l_elbow")] = np.nan
    bad = implausible_joints(j)
    assert bad[J("l_elbow")] and bad[J("l_wrist")] and not bad[J("r_elbow")]
