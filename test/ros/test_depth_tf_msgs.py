"""Depth images and CameraInfos -> DepthFrame (pairing by stamp, own size and intrinsics), person frames ->
TFMessage, root_source in the pose message, and the node's depth input validated on arrival."""

import numpy as np
import pytest

pytestmark = pytest.mark.ros


def _stamp(t_s: float):
    from builtin_interfaces.msg import Time

    return Time(sec=int(t_s), nanosec=int(round((t_s % 1) * 1e9)))


def _depth(t_s: float, values: np.ndarray, encoding: str = "16UC1", pad: int = 0):
    from sensor_msgs.msg import Image

    h, w = values.shape
    row = values.astype("<u2" if encoding == "16UC1" else "<f4")
    data = b"".join(r.tobytes() + b"\0" * pad for r in row)
    msg = Image(width=w, height=h, encoding=encoding, step=w * row.itemsize + pad, is_bigendian=0)
    msg.header.stamp = _stamp(t_s)
    msg.data = data
    return msg


def _info(t_s: float, w: int, h: int, f: float):
    from sensor_msgs.msg import CameraInfo

    info = CameraInfo(width=w, height=h)
    info.header.stamp = _stamp(t_s)
    info.k = [f, 0.0, w / 2, 0.0, f, h / 2, 0.0, 0.0, 1.0]
    return info


def test_depth_messages_decode_with_padding_and_invalid_readings():
    from pinet_ros.ros.depth_input import depth_image_to_m
    from pinet_ros.ros.fields import InvalidMessage

    mm = np.array([[0, 1500, 3000], [65535, 1, 2]], np.uint16)
    d = depth_image_to_m(_depth(1.0, mm, pad=2))
    assert d.shape == (2, 3) and np.isnan(d[0, 0])
    np.testing.assert_allclose(d[0, 1:], [1.5, 3.0], rtol=1e-6)
    m = np.array([[np.nan, np.inf, 0.0, 2.5]], np.float32)
    d = depth_image_to_m(_depth(1.0, m, encoding="32FC1"))
    assert np.all(np.isnan(d[0, :3])) and d[0, 3] == np.float32(2.5)
    bad = _depth(1.0, mm)
    bad.encoding = "rgb8"
    with pytest.raises(InvalidMessage, match="depth"):
        depth_image_to_m(bad)
    short = _depth(1.0, mm)
    short.data = short.data[:5]
    with pytest.raises(InvalidMessage):
        depth_image_to_m(short)


def test_depth_pairs_by_stamp_with_its_own_camera_info():
    from pinet_ros.ros.depth_input import DepthInput
    from pinet_ros.ros.fields import InvalidMessage

    depth = DepthInput(tolerance_ns=20_000_000)
    frame = np.full((24, 32), 2000, np.uint16)
    assert depth.add_image(_depth(1.0, frame)) is None  # before any depth CameraInfo
    depth.add_info(_info(1.0, 32, 24, f=30.0))  # a depth image smaller than the colour one, its own focal length
    a = depth.add_image(_depth(1.0, frame))
    b = depth.add_image(_depth(1.1, frame * 2))
    assert a.camera.width == 32 and a.camera.height == 24 and a.camera.intrinsics.fx == 30.0
    assert depth.pair(int(1.1e9) + 5_000_000) is b
    assert depth.pair(int(1.0e9)) is a
    assert depth.pair(int(5.0e9)) is None  # no depth frame of that moment: the colour frame goes monocular
    with pytest.raises(InvalidMessage, match="32x24"):
        depth.add_image(_depth(1.2, np.zeros((48, 64), np.uint16)))  # no CameraInfo of its size
    with pytest.raises(InvalidMessage):
        depth.add_info(_info(1.0, 32, 24, f=float("nan")))


def test_person_frames_as_tf_message():
    from pinet_ros.core.result import FrameResult, PersonResult
    from pinet_ros.core.skeleton import MUPOTS17
    from pinet_ros.ros.tf_msgs import frame_result_to_tf

    j = np.tile([0.5, 0.2, 3.0], (17, 1)).astype(float)
    j[MUPOTS17.index("r_hip")] += [-0.1, 0, 0]
    j[MUPOTS17.index("l_hip")] += [0.1, 0, 0]
    j[MUPOTS17.index("thorax")] += [0, -0.5, 0]
    p = PersonResult(id=4, score=1.0, bbox_xywh=np.zeros(4), root_m=j[14], joints_m=j, joints_initial_m=j,
                     joints_2d=np.zeros((17, 2)), joint_confidence=np.ones(17))
    result = FrameResult(stamp_ns=1_234_000_000_567, frame_id="cam", image_size=(64, 48), persons=[p])
    msg = frame_result_to_tf(result, joints=True)
    body = msg.transforms[0]
    assert (body.header.frame_id, body.child_frame_id) == ("cam", "body_4")
    assert (body.header.stamp.sec, body.header.stamp.nanosec) == (1234, 567)
    q = body.transform.rotation
    np.testing.assert_allclose([q.x, q.y, q.z, q.w], [0.5, 0.5, -0.5, 0.5], atol=1e-12)  # facing the camera
    assert [t.child_frame_id for t in msg.transforms[1:]] == [f"{n}_4" for n in MUPOTS17.joint_names]
    assert all(t.header.frame_id == "body_4" for t in msg.transforms[1:])
    assert frame_result_to_tf(FrameResult(stamp_ns=0, frame_id="cam", image_size=(1, 1))) is None


def test_node_validates_depth_on_arrival_and_counts_missing_frames():
    import rclpy
    from rclpy.parameter import Parameter

    from pinet_ros.node import PinetNode

    context = rclpy.Context()
    rclpy.init(context=context)
    node = PinetNode(context=context, parameter_overrides=[Parameter("use_depth", value=True)])
    try:
        io = node._depth_tf
        assert {"/depth", "/depth_camera_info"} <= {sub.topic_name for sub in node.subscriptions}
        frame = np.full((24, 32), 2000, np.uint16)
        io._on_depth(_depth(1.0, frame))  # before any depth CameraInfo: skipped and counted
        assert node.stats.counters["no_depth_camera_info"] == 1
        io._on_depth_info(_info(1.0, 32, 24, f=30.0))
        bad = _depth(1.0, frame)
        bad.encoding = "bgr8"
        io._on_depth(bad)  # not a depth encoding: counted as invalid, never raised
        truncated = _depth(1.0, frame)
        truncated.data = truncated.data[:10]
        io._on_depth(truncated)
        io._on_depth_info(_info(1.0, 32, 24, f=float("inf")))
        assert node.stats.counters["invalid"] == 3 and node.stats.counters["errors"] == 0
        io._on_depth(_depth(1.0, frame))
        got = io.depth_for(int(1e9))
        assert got is not None and got.camera.intrinsics.fx == 30.0
        assert io.depth_for(int(9e9)) is None and node.stats.counters["no_depth"] == 1
    finally:
        node.destroy_node()
        rclpy.shutdown(context=context)


def test_node_without_use_depth_has_no_depth_input():
    import rclpy

    from pinet_ros.node import PinetNode

    context = rclpy.Context()
    rclpy.init(context=context)
    node = PinetNode(context=context)
    try:
        assert node._depth_tf.depth is None and node._depth_tf.depth_for(123) is None
        assert "no_depth" not in node.stats.counters
        topics = {sub.topic_name for sub in node.subscriptions}
        assert "/image" in topics and not {"/depth", "/depth_camera_info"} & topics
    finally:
        node.destroy_node()
        rclpy.shutdown(context=context)


def test_root_source_in_the_pose_message_and_back():
    from pinet_ros.core.result import ROOT_DEPTH, ROOT_MONOCULAR, FrameResult, PersonResult
    from pinet_ros.msg import Person3DPose
    from pinet_ros.ros.pose_msgs import frame_result_from_msg, frame_result_to_msg

    j = np.tile([0.1, 0.2, 3.0], (17, 1))
    people = [PersonResult(id=i + 1, score=0.9, bbox_xywh=np.array([1.0, 2.0, 3.0, 4.0]), root_m=j[14], joints_m=j,
                           joints_initial_m=j, joints_2d=np.zeros((17, 2)), joint_confidence=np.ones(17),
                           root_source=src) for i, src in enumerate((ROOT_DEPTH, ROOT_MONOCULAR))]
    msg = frame_result_to_msg(FrameResult(stamp_ns=5, frame_id="cam", image_size=(64, 48), persons=people))
    assert [p.root_source for p in msg.persons] == [Person3DPose.DEPTH, Person3DPose.MONOCULAR] == [1, 0]
    back = frame_result_from_msg(msg)
    assert [p.root_source for p in back.persons] == [ROOT_DEPTH, ROOT_MONOCULAR]
