"""pinet_ros/io/bag_writer.py: MCAP written with rosbags, read back with rosbags and with mcap-ros2-support."""

import numpy as np
import pytest

from pinet_ros.core.camera import Intrinsics
from pinet_ros.core.result import FrameResult, PersonResult
from pinet_ros.core.skeleton import MUPOTS17

pytestmark = pytest.mark.ros

T0 = 1_000_000_000 * 10**9
FRAME_ID = "cam_optical"


def person(pid: int, x_m: float, rng: np.random.Generator) -> PersonResult:
    joints = rng.normal(0, 0.3, (17, 3)) + [x_m, 0.0, 4.0]
    return PersonResult(id=pid, score=0.9, bbox_xywh=np.array([100.0 * pid, 50, 80, 200]),
                        root_m=joints[MUPOTS17.root].copy(), joints_m=joints, joints_initial_m=joints + 0.01,
                        joints_2d=rng.uniform(0, 400, (17, 2)), joint_confidence=np.full(17, 0.8))


def frame_results(n: int) -> list[FrameResult]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        persons = [person(1, -0.8 + 0.01 * i, rng), person(2, 0.9, rng)]
        out.append(FrameResult(stamp_ns=T0 + i * 33_333_333, frame_id=FRAME_ID, image_size=(640, 480),
                               persons=persons, interaction=np.array([[0.0, 1.0], [1.0, 0.0]], np.float32)))
    return out


def test_round_trip_with_rosbags_and_mcap_ros2(tmp_path):
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory
    from rosbags.rosbag2 import Reader

    from pinet_ros.io.bag_writer import MARKERS_TOPIC, POSES_TOPIC, PoseBagWriter, read_pose_messages
    from pinet_ros.io.messages import pinet_typestore

    results = frame_results(4)
    rgb = np.zeros((480, 640, 3), np.uint8)
    rgb[10, 20] = (1, 2, 3)
    path = tmp_path / "out" / "poses.mcap"
    with PoseBagWriter(path, images=True) as writer:
        for r in results:
            writer.write(r, rgb, Intrinsics(600.0, 601.0, 320.0, 240.0))
    assert path.is_file() and not any(p.name.startswith(".") for p in path.parent.iterdir())  # tmp dir gone
    stamps = [r.stamp_ns for r in results]

    # rosbags: a bare .mcap opens; one pose message per frame at the image stamp, content intact
    store = pinet_typestore()
    with Reader(path) as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
        assert counts == {POSES_TOPIC: 4, MARKERS_TOPIC: 4, "/image": 4, "/camera_info": 4}
        by_topic: dict[str, list] = {}
        for conn, t, raw in reader.messages():
            by_topic.setdefault(conn.topic, []).append((t, store.deserialize_cdr(raw, conn.msgtype)))
    poses = read_pose_messages(path)
    assert [t for t, _ in poses] == stamps
    for (t, msg), r in zip(poses, results):
        assert msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec == t
        assert msg.header.frame_id == FRAME_ID
        assert list(msg.joint_names) == list(MUPOTS17.joint_names)
        assert [p.id for p in msg.persons] == [1, 2]
        for p, ref in zip(msg.persons, r.persons):
            got = np.array([[q.x, q.y, q.z] for q in p.joints])
            np.testing.assert_allclose(got, ref.joints_m, atol=1e-9)
            np.testing.assert_allclose([p.root.x, p.root.y, p.root.z], ref.root_m, atol=1e-9)
            assert (p.bbox.x_offset, p.bbox.width) == (int(ref.bbox_xywh[0]), 80)
        np.testing.assert_allclose(msg.interaction, [0, 1, 1, 0])
    for t, markers in by_topic[MARKERS_TOPIC]:
        assert {m.header.frame_id for m in markers.markers} == {FRAME_ID}
        assert all(m.header.stamp.sec * 10**9 + m.header.stamp.nanosec == t for m in markers.markers)
        assert len(markers.markers) == 1 + 3 * 2  # DELETEALL + bones, joints, label per person
    t_img, img = by_topic["/image"][0]
    assert (img.width, img.height, img.encoding) == (640, 480, "rgb8") and t_img == stamps[0]
    assert img.data.reshape(480, 640, 3)[10, 20].tolist() == [1, 2, 3]
    info = by_topic["/camera_info"][0][1]
    assert info.k[0] == 600.0 and info.k[4] == 601.0 and info.header.frame_id == FRAME_ID

    # mcap-ros2-support: decodes from the schemas stored in the file alone
    with path.open("rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        decoded = [(ch.topic, m.log_time, msg) for _, ch, m, msg in reader.iter_decoded_messages(
            topics=[POSES_TOPIC, MARKERS_TOPIC])]
    pose_msgs = [(t, msg) for topic, t, msg in decoded if topic == POSES_TOPIC]
    assert [t for t, _ in pose_msgs] == stamps
    assert all(len(msg.persons) == 2 and msg.header.frame_id == FRAME_ID for _, msg in pose_msgs)
    assert pose_msgs[2][1].persons[1].joints[3].z == pytest.approx(results[2].persons[1].joints_m[3, 2])
    marker_msgs = [msg for topic, _, msg in decoded if topic == MARKERS_TOPIC]
    assert len(marker_msgs) == 4 and all(m.header.frame_id == FRAME_ID for mm in marker_msgs for m in mm.markers)


def test_writer_refuses_to_overwrite_and_needs_images(tmp_path):
    from pinet_ros.io.bag_writer import PoseBagWriter, read_pose_messages

    path = tmp_path / "poses.mcap"
    with PoseBagWriter(path) as writer:
        writer.write(frame_results(1)[0])
    with pytest.raises(FileExistsError, match="poses.mcap exists"):
        PoseBagWriter(path)
    with PoseBagWriter(path, overwrite=True, images=True) as writer:
        with pytest.raises(ValueError, match="pass rgb and intrinsics"):
            writer.write(frame_results(1)[0])
    assert read_pose_messages(path) == []
    with pytest.raises(ValueError, match=r"\.mcap"):
        PoseBagWriter(tmp_path / "poses.bag")
