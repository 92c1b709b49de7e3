"""Player process -> node process (use_depth, publish_tf, tf_joints) -> this process, over DDS: /tf.

Checks the TF contract: per tracked person a `body_<id>` frame whose parent is the image's frame, at the image
stamp, at the mid-hips of the published pose with REP-155 axes (computed here by hand from the published
joints), one `<joint>_<id>` frame per joint under it, and ids that are the poses' ids. The depth path across
processes: a depth image of another size with its own CameraInfo corrects every person (root_source DEPTH);
colour frames without depth frames are published monocular (root_source MONOCULAR); the node keeps running.
"""

import signal
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from pinet_ros.processes import cli_command, stop

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "helpers"))
from ros_session import spin_until as ros_spin_until  # noqa: E402

pytestmark = pytest.mark.ros

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "samples" / "basketball2.png"
HELPERS = ROOT / "test" / "helpers"
DEPTH_M = 2.0


@pytest.fixture(scope="module")
def session():
    """One node process (use_depth, tf_joints); first an RGB-D camera process (colour + a half-size depth image
    of a flat surface 2.0 m away, same stamps), then the plain player (colour only, no depth)."""
    import rclpy
    from rclpy.qos import QoSProfile

    from pinet_ros.msg import MultiPerson3DPose

    try:
        from tf2_msgs.msg import TFMessage
    except ImportError:
        pytest.fail("tf2_msgs not importable: make setup builds it (ros_deps/tf2_msgs)")
    if not SAMPLE.is_file():
        pytest.fail(f"{SAMPLE} missing: make setup fetches it (scripts/get_samples.sh)")
    node_proc = subprocess.Popen(cli_command("run", "--", "-p", "tf_joints:=true", "-p", "use_depth:=true",
                                             "-p", "max_persons:=5"))
    rgbd = subprocess.Popen([sys.executable, str(HELPERS / "publish_rgbd.py"), "--image", str(SAMPLE),
                             "--depth-m", str(DEPTH_M), "--rate", "5", "--count", "1000"])
    camera = None
    context = rclpy.Context()
    rclpy.init(context=context)
    got = {"poses": [], "tf": [], "poses_without_depth": []}
    try:
        node = rclpy.create_node("tf_checker", context=context)
        node.create_subscription(MultiPerson3DPose, "/pinet/poses", got["poses"].append, QoSProfile(depth=50))
        node.create_subscription(TFMessage, "/tf", got["tf"].append, QoSProfile(depth=100))
        executor = rclpy.executors.SingleThreadedExecutor(context=context)
        executor.add_node(node)
        spin_until = partial(ros_spin_until, executor, node_proc=node_proc, period_s=0.1)
        spin_until(lambda: len(got["poses"]) >= 1, 90)
        spin_until(lambda: len(got["poses"]) >= 10 and len(got["tf"]) >= 10, 40)
        stop(rgbd, sig=signal.SIGINT, timeout_s=10)
        with_depth = len(got["poses"])
        # the plain player: colour frames without any depth frame (stamps from 2001-09-09, after the RGB-D ones)
        camera = subprocess.Popen(cli_command("play", str(SAMPLE), "--rate", "5", "--loop",
                                              "--source-stamps", "--frame-id", "cam_optical"))
        spin_until(lambda: sum(m.header.frame_id == "cam_optical" for m in got["poses"][with_depth:]) >= 5, 40)
        got["alive"] = node_proc.poll() is None
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)
        stop(rgbd, camera, node_proc, sig=signal.SIGTERM, timeout_s=15)
    return got


def _stamp(h):
    return h.stamp.sec * 1_000_000_000 + h.stamp.nanosec


def _rotate(q, v):
    u, w = np.array([q.x, q.y, q.z]), q.w
    return v + 2 * w * np.cross(u, v) + 2 * np.cross(u, np.cross(u, v))


def test_body_frames_match_the_published_poses(session):
    assert session["alive"]
    poses = {_stamp(m.header): m for m in session["poses"]}
    checked = 0
    for tf in session["tf"]:
        bodies = [t for t in tf.transforms if t.child_frame_id.startswith("body_")]
        assert bodies
        stamp = _stamp(bodies[0].header)
        assert all(_stamp(t.header) == stamp for t in tf.transforms)  # one image, one stamp
        msg = poses.get(stamp)
        if msg is None:  # this process missed that pose message
            continue
        names = list(msg.joint_names)
        ids = sorted(p.id for p in msg.persons)
        assert sorted(int(t.child_frame_id[5:]) for t in bodies) == ids
        for t in bodies:
            assert t.header.frame_id == msg.header.frame_id and msg.header.frame_id in ("rgbd_optical", "cam_optical")
            person = next(p for p in msg.persons if p.id == int(t.child_frame_id[5:]))
            j = np.array([[q.x, q.y, q.z] for q in person.joints])
            r_hip, l_hip, thorax = (j[names.index(n)] for n in ("r_hip", "l_hip", "thorax"))
            mid = (r_hip + l_hip) / 2
            tr = t.transform.translation
            np.testing.assert_allclose([tr.x, tr.y, tr.z], mid, atol=1e-6)
            q = t.transform.rotation
            assert abs(q.x ** 2 + q.y ** 2 + q.z ** 2 + q.w ** 2 - 1) < 1e-9
            up = (thorax - mid) / np.linalg.norm(thorax - mid)
            left = l_hip - r_hip
            left = left - left.dot(up) * up
            left /= np.linalg.norm(left)
            np.testing.assert_allclose(_rotate(q, np.array([0.0, 0.0, 1.0])), up, atol=1e-6)  # z up the spine
            np.testing.assert_allclose(_rotate(q, np.array([0.0, 1.0, 0.0])), left, atol=1e-6)  # y to the left
            np.testing.assert_allclose(_rotate(q, np.array([1.0, 0.0, 0.0])), np.cross(left, up), atol=1e-6)
            joints = {x.child_frame_id: x for x in tf.transforms if x.header.frame_id == t.child_frame_id}
            assert set(joints) == {f"{n}_{person.id}" for n in names}
            wrist = joints[f"l_wrist_{person.id}"].transform.translation
            back = mid + _rotate(q, np.array([wrist.x, wrist.y, wrist.z]))
            np.testing.assert_allclose(back, j[names.index("l_wrist")], atol=1e-6)
            checked += 1
    assert checked >= 8


def test_depth_frames_of_another_size_correct_every_root(session):
    from pinet_ros.msg import Person3DPose

    rgbd = [m for m in session["poses"] if m.header.frame_id == "rgbd_optical"]
    assert len(rgbd) >= 8
    # the first colour frames may be processed before this process's first depth frame is delivered (DDS
    # discovery): those are monocular; from the first depth-corrected frame on, every person is corrected
    first = next(i for i, m in enumerate(rgbd) if any(p.root_source == Person3DPose.DEPTH for p in m.persons))
    assert first <= 3
    persons = [p for m in rgbd[first:] for p in m.persons]
    assert len(persons) >= 10 and all(p.root_source == Person3DPose.DEPTH for p in persons)
    assert all(p.root_source == Person3DPose.MONOCULAR for m in rgbd[:first] for p in m.persons)
    # a flat surface 2.0 m away: every pelvis is put just behind it (a body-part thickness), whatever the
    # monocular estimate said (1.5 and 2.6 m for the two men of this picture)
    for p in persons:
        assert DEPTH_M + 0.03 <= p.root.z <= DEPTH_M + 0.25


def test_without_depth_frames_everyone_is_monocular(session):
    from pinet_ros.msg import Person3DPose

    assert session["alive"]
    plain = [m for m in session["poses"] if m.header.frame_id == "cam_optical"]
    assert len(plain) >= 5
    persons = [p for m in plain for p in m.persons]
    assert persons and all(p.root_source == Person3DPose.MONOCULAR for p in persons)
