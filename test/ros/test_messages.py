"""The generated message classes match DESIGN.md, and a message crosses OS processes intact over DDS."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.ros

HELPERS = Path(__file__).resolve().parents[1] / "helpers"


def test_multi_person_fields_match_design():
    from pinet_ros.msg import MultiPerson3DPose

    assert MultiPerson3DPose.get_fields_and_field_types() == {
        "header": "std_msgs/Header",
        "joint_names": "sequence<string>",
        "bones": "sequence<uint8>",
        "persons": "sequence<pinet_ros/Person3DPose>",
        "interaction": "sequence<float>",
    }


def test_person_fields_match_design():
    from pinet_ros.msg import Person3DPose

    assert Person3DPose.get_fields_and_field_types() == {
        "id": "uint32",
        "score": "float",
        "bbox": "sensor_msgs/RegionOfInterest",
        "root": "geometry_msgs/Point",
        "joints": "sequence<geometry_msgs/Point>",
        "joints_initial": "sequence<geometry_msgs/Point>",
        "joint_confidence": "sequence<float>",
        "root_source": "uint8",
    }
    assert (Person3DPose.MONOCULAR, Person3DPose.DEPTH) == (0, 1)


def _as_tree(msg):
    """Every field of a ROS message as nested Python values, for an exact comparison."""
    if hasattr(msg, "get_fields_and_field_types"):
        return {name: _as_tree(getattr(msg, name)) for name in msg.get_fields_and_field_types()}
    if isinstance(msg, (list, tuple)) or type(msg).__name__ == "array":
        return [_as_tree(v) for v in msg]
    if hasattr(msg, "tolist"):
        return msg.tolist()
    return msg


def test_multi_person_message_crosses_processes_intact():
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    sys.path.insert(0, str(HELPERS))
    from sample_messages import sample_multi_person

    from pinet_ros.msg import MultiPerson3DPose

    expected = sample_multi_person()
    assert len(expected.persons) == 3 and len(expected.persons[0].joints) == 17

    publisher = subprocess.Popen([sys.executable, str(HELPERS / "publish_sample.py"), "--count", "300"])
    context = rclpy.Context()
    rclpy.init(context=context)
    received = []
    try:
        node = rclpy.create_node("sample_checker", context=context)
        node.create_subscription(MultiPerson3DPose, "/pinet_test/poses", received.append,
                                 QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
        executor = rclpy.executors.SingleThreadedExecutor(context=context)
        executor.add_node(node)
        deadline = time.monotonic() + 25.0
        while not received and time.monotonic() < deadline and publisher.poll() is None:
            executor.spin_once(timeout_sec=0.1)
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)
        publisher.kill()
        publisher.wait()
    assert received, "no MultiPerson3DPose arrived from the publisher process"
    got = received[0]
    assert _as_tree(got) == _as_tree(expected)
    assert [p.id for p in got.persons] == [10, 11, 12]
