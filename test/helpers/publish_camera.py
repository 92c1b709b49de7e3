"""Camera process for tests: publishes a 640x480 rgb8 Image + CameraInfo pair (same stamp) at 10 Hz."""

import argparse
import sys
from pathlib import Path

import numpy as np
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

sys.path.insert(0, str(Path(__file__).parent))
from periodic import publish_periodically  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--frame-id", default="test_camera_optical")
    args = ap.parse_args()
    pixels = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8).tobytes()

    def setup(node):
        image_pub = node.create_publisher(Image, "/image", qos_profile_sensor_data)
        info_pub = node.create_publisher(CameraInfo, "/camera_info", qos_profile_sensor_data)

        def publish(i: int) -> None:
            info = CameraInfo(width=640, height=480, distortion_model="plumb_bob")
            info.header.frame_id = args.frame_id
            info.header.stamp.sec = 1000 + i
            info.k = [640.0, 0.0, 320.0, 0.0, 640.0, 240.0, 0.0, 0.0, 1.0]
            info.p = [640.0, 0.0, 320.0, 0.0, 0.0, 640.0, 240.0, 0.0, 0.0, 0.0, 1.0, 0.0]
            img = Image(height=480, width=640, encoding="rgb8", step=640 * 3)
            img.header = info.header
            img.data = pixels
            info_pub.publish(info)
            image_pub.publish(img)
        return publish

    publish_periodically("test_camera", setup, args.count)


if __name__ == "__main__":
    main()
