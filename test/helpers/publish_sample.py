"""Publisher process: sends sample_multi_person() on /pinet_test/poses (10 Hz) until --count is reached."""

import argparse
import sys
from pathlib import Path

from rclpy.qos import QoSProfile, ReliabilityPolicy

sys.path.insert(0, str(Path(__file__).parent))
from periodic import publish_periodically  # noqa: E402
from sample_messages import sample_multi_person  # noqa: E402

from pinet_ros.msg import MultiPerson3DPose  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--topic", default="/pinet_test/poses")
    ap.add_argument("--count", type=int, default=200)
    args = ap.parse_args()
    msg = sample_multi_person()

    def setup(node):
        pub = node.create_publisher(MultiPerson3DPose, args.topic,
                                    QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
        return lambda i: pub.publish(msg)

    publish_periodically("sample_publisher", setup, args.count)


if __name__ == "__main__":
    main()
