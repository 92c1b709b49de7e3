"""Publisher process: sends sample_multi_person() on /pinet_test/poses until killed or --count reached."""

import argparse
import sys
from pathlib import Path

import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy

sys.path.insert(0, str(Path(__file__).parent))
from sample_messages import sample_multi_person  # noqa: E402

from pinet_ros.msg import MultiPerson3DPose  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--topic", default="/pinet_test/poses")
    ap.add_argument("--count", type=int, default=200)
    args = ap.parse_args()
    rclpy.init()
    node = rclpy.create_node("sample_publisher")
    pub = node.create_publisher(MultiPerson3DPose, args.topic, QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    msg = sample_multi_person()
    sent = 0
    def tick():
        nonlocal sent
        pub.publish(msg)
        sent += 1
        if sent >= args.count:
            raise SystemExit(0)
    node.create_timer(0.1, tick)
    try:
        rclpy.spin(node)
    except (SystemExit, KeyboardInterrupt):
        pass
    node.destroy_node()
    rclpy.try_shutdown()


if __name__ == "__main__":
    main()
