"""Camera process -> installed pinet_node process -> this process: the output carries the image's header."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pinet_ros.processes import stop

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "helpers"))
from ros_session import node_cmd  # noqa: E402

pytestmark = pytest.mark.ros

HELPERS = Path(__file__).resolve().parents[1] / "helpers"


def test_node_publishes_poses_with_the_image_header():
    import rclpy
    from rclpy.qos import QoSProfile

    from pinet_ros.core.skeleton import MUPOTS17
    from pinet_ros.msg import MultiPerson3DPose

    node_proc = subprocess.Popen(node_cmd())
    camera = subprocess.Popen([sys.executable, str(HELPERS / "publish_camera.py")])
    context = rclpy.Context()
    rclpy.init(context=context)
    received = []
    try:
        node = rclpy.create_node("poses_checker", context=context)
        node.create_subscription(MultiPerson3DPose, "/pinet/poses", received.append, QoSProfile(depth=10))
        executor = rclpy.executors.SingleThreadedExecutor(context=context)
        executor.add_node(node)
        deadline = time.monotonic() + 30.0
        while len(received) < 3 and time.monotonic() < deadline and node_proc.poll() is None:
            executor.spin_once(timeout_sec=0.1)
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)
        stop(camera, node_proc, sig=signal.SIGTERM, timeout_s=10)
    assert len(received) >= 3, "pinet_node published fewer than 3 MultiPerson3DPose messages"
    for msg in received:
        assert msg.header.frame_id == "test_camera_optical"
        assert msg.header.stamp.sec >= 1000 and msg.header.stamp.nanosec % 100_000_000 == 0
        assert list(msg.joint_names) == list(MUPOTS17.joint_names)
        assert list(msg.bones) == MUPOTS17.bones_flat()
    stamps = [(m.header.stamp.sec, m.header.stamp.nanosec) for m in received]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
