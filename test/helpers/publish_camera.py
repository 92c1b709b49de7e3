"""Camera process for tests: publishes a 640x480 rgb8 Image + CameraInfo pair (same stamp) at 10 Hz."""

import argparse

import numpy as np
import rclpy
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--frame-id", default="test_camera_optical")
    args = ap.parse_args()
    rclpy.init()
    node = rclpy.create_node("test_camera")
    image_pub = node.create_publisher(Image, "/image", qos_profile_sensor_data)
    info_pub = node.create_publisher(CameraInfo, "/camera_info", qos_profile_sensor_data)
    pixels = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8).tobytes()
    sent = 0

    def tick():
        nonlocal sent
        stamp_sec = 1000 + sent
        info = CameraInfo(width=640, height=480, distortion_model="plumb_bob")
        info.header.frame_id = args.frame_id
        info.header.stamp.sec = stamp_sec
        info.k = [640.0, 0.0, 320.0, 0.0, 640.0, 240.0, 0.0, 0.0, 1.0]
        info.p = [640.0, 0.0, 320.0, 0.0, 0.0, 640.0, 240.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        img = Image(height=480, width=640, encoding="rgb8", step=640 * 3)
        img.header = info.header
        img.data = pixels
        info_pub.publish(info)
        image_pub.publish(img)
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
