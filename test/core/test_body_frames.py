"""REP-155 body frames and joint frames against hand-computed transforms."""

import numpy as np

from pinet_ros.core.body_frames import body_axes, frames_for_result, rotation_to_quaternion
from pinet_ros.core.result import FrameResult, PersonResult
from pinet_ros.core.skeleton import MUPOTS17


def _quat_rotate(q, v):
    """Rotate v by the unit quaternion q = (x, y, z, w): v' = v + 2w(u x v) + 2u x (u x v)."""
    u, w = np.asarray(q[:3], float), float(q[3])
    v = np.asarray(v, float)
    return v + 2 * w * np.cross(u, v) + 2 * np.cross(u, np.cross(u, v))


def _facing_camera(origin):
    """A person facing the camera (optical frame): up = -y, their left = +x (they see the camera's left as
    their right), hips 0.2 m apart, thorax 0.5 m above the hips."""
    j = np.full((17, 3), np.nan)
    o = np.asarray(origin, float)
    j[MUPOTS17.index("r_hip")] = o + [-0.1, 0, 0]
    j[MUPOTS17.index("l_hip")] = o + [0.1, 0, 0]
    j[MUPOTS17.index("thorax")] = o + [0, -0.5, 0]
    j[MUPOTS17.index("pelvis")] = o + [0, -0.02, 0]
    j[MUPOTS17.index("l_wrist")] = o + [0.3, -0.1, -0.2]
    return j


def _result(persons, stamp=1_700_000_000_123_456_789):
    return FrameResult(stamp_ns=stamp, frame_id="cam_color_optical", image_size=(640, 480), persons=persons)


def _p(pid, joints):
    return PersonResult(id=pid, score=0.9, bbox_xywh=np.zeros(4), root_m=joints[14], joints_m=joints,
                        joints_initial_m=joints, joints_2d=np.zeros((17, 2)), joint_confidence=np.ones(17))


def test_person_facing_the_camera_hand_computed():
    origin, rot = body_axes(_facing_camera([0.5, 0.2, 3.0]))
    np.testing.assert_allclose(origin, [0.5, 0.2, 3.0], atol=1e-12)
    # x forward = towards the camera (-z), y left = +x, z up = -y
    np.testing.assert_allclose(rot, [[0, 1, 0], [0, 0, -1], [-1, 0, 0]], atol=1e-12)
    q = rotation_to_quaternion(rot)
    np.testing.assert_allclose(q, [0.5, 0.5, -0.5, 0.5], atol=1e-12)  # worked by hand from the matrix
    for axis, expected in (([1, 0, 0], [0, 0, -1]), ([0, 1, 0], [1, 0, 0]), ([0, 0, 1], [0, -1, 0])):
        np.testing.assert_allclose(_quat_rotate(q, axis), expected, atol=1e-12)


def test_person_seen_from_behind_and_leaning():
    j = _facing_camera([0, 0, 4.0])
    j[:, 0] = -j[:, 0]  # mirrored left-right: now the person's back is to the camera
    j[MUPOTS17.index("r_hip"), 0], j[MUPOTS17.index("l_hip"), 0] = 0.1, -0.1
    _, rot = body_axes(j)
    np.testing.assert_allclose(rot[:, 0], [0, 0, 1], atol=1e-12)  # forward = away from the camera
    np.testing.assert_allclose(rot[:, 1], [-1, 0, 0], atol=1e-12)
    # leaning: thorax moved forward; z follows the spine, y stays exactly the hip direction
    j = _facing_camera([0, 0, 3.0])
    j[MUPOTS17.index("thorax")] = [0, -0.4, 2.7]
    _, rot = body_axes(j)
    np.testing.assert_allclose(rot[:, 2], np.array([0, -0.4, -0.3]) / 0.5, atol=1e-12)
    np.testing.assert_allclose(rot.T @ rot, np.eye(3), atol=1e-12)
    assert np.linalg.det(rot) > 0.999999


def test_frames_names_parents_stamps_and_joint_frames():
    a, b = _facing_camera([0.5, 0.2, 3.0]), _facing_camera([-1.0, 0.1, 5.0])
    untracked = _facing_camera([0, 0, 2.0])
    broken = _facing_camera([0, 0, 2.5])
    broken[MUPOTS17.index("l_hip")] = broken[MUPOTS17.index("r_hip")]  # hips on top of each other
    result = _result([_p(3, a), _p(7, b), _p(0, untracked), _p(9, broken)])
    frames = frames_for_result(result)
    assert [(f.parent, f.child) for f in frames] == [("cam_color_optical", "body_3"), ("cam_color_optical", "body_7")]
    assert all(f.stamp_ns == result.stamp_ns for f in frames)
    np.testing.assert_allclose(frames[1].translation_m, [-1.0, 0.1, 5.0], atol=1e-12)
    with_joints = frames_for_result(result, joints=True)
    joint_frames = [f for f in with_joints if f.parent == "body_3"]
    # only the finite joints of the test skeleton: r_hip, l_hip, thorax, pelvis, l_wrist
    assert sorted(f.child for f in joint_frames) == sorted(["r_hip_3", "l_hip_3", "thorax_3", "pelvis_3", "l_wrist_3"])
    wrist = next(f for f in joint_frames if f.child == "l_wrist_3")
    # in body axes: 0.3 m to the camera's +x = the person's left, 0.2 m towards the camera = forward, 0.1 up
    np.testing.assert_allclose(wrist.translation_m, [0.2, 0.3, 0.1], atol=1e-12)
    np.testing.assert_allclose(wrist.rotation_xyzw, [0, 0, 0, 1])
    body = frames[0]
    np.testing.assert_allclose(body.translation_m + _quat_rotate(body.rotation_xyzw, wrist.translation_m),
                               a[MUPOTS17.index("l_wrist")], atol=1e-12)


def test_gone_person_gets_no_frame():
    assert frames_for_result(_result([])) == []
    no_frame = _result([_p(5, _facing_camera([0, 0, 3]))])
    no_frame.frame_id = ""
    assert frames_for_result(no_frame) == []
    assert [f.child for f in frames_for_result(_result([_p(5, _facing_camera([0, 0, 3]))]))] == ["body_5"]


def test_quaternion_of_random_rotations():
    rng = np.random.default_rng(0)
    for _ in range(50):
        m, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        m *= np.sign(np.linalg.det(m))
        q = rotation_to_quaternion(m)
        assert q[3] >= 0 and abs(np.linalg.norm(q) - 1) < 1e-12
        for k in range(3):
            np.testing.assert_allclose(_quat_rotate(q, np.eye(3)[k]), m[:, k], atol=1e-9)
