"""Camera process for tests: publishes an Image + CameraInfo pair (same stamp) at a fixed rate.

Default: a 640x480 rgb8 noise image at 10 Hz; `--image FILE` publishes that picture as bgr8 instead.
"""

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
    ap.add_argument("--image", default=None, help="picture to publish (bgr8) instead of rgb8 noise")
    ap.add_argument("--rate", type=float, default=10.0, help="Hz")
    ap.add_argument("--no-info", action="store_true", help="publish images only (a camera without CameraInfo)")
    ap.add_argument("--start-sec", type=int, default=1000, help="stamp of the first frame, seconds")
    args = ap.parse_args()
    encoding, (h, w) = "rgb8", (480, 640)
    if args.image:
        import cv2

        bgr = cv2.imread(args.image, cv2.IMREAD_COLOR)
        if bgr is None:
            sys.exit(f"cannot read {args.image}")
        encoding, (h, w) = "bgr8", bgr.shape[:2]
        pixels = bgr.tobytes()
    else:
        pixels = np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8).tobytes()

    def setup(node):
        image_pub = node.create_publisher(Image, "/image", qos_profile_sensor_data)
        info_pub = node.create_publisher(CameraInfo, "/camera_info", qos_profile_sensor_data)

        def publish(i: int) -> None:
            info = CameraInfo(width=w, height=h, distortion_model="plumb_bob")
            info.header.frame_id = args.frame_id
            stamp_ns = args.start_sec * 10**9 + i * int(10**9 / args.rate)  # image time advances like real time
            info.header.stamp.sec, info.header.stamp.nanosec = divmod(stamp_ns, 10**9)
            f, cx, cy = float(w), w / 2.0, h / 2.0
            info.k = [f, 0.0, cx, 0.0, f, cy, 0.0, 0.0, 1.0]
            info.p = [f, 0.0, cx, 0.0, 0.0, f, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
            img = Image(height=h, width=w, encoding=encoding, step=w * 3)
            img.header = info.header
            img.data = pixels
            if not args.no_info:
                info_pub.publish(info)
            image_pub.publish(img)
        return publish

    publish_periodically("test_camera", setup, args.count, period_s=1.0 / args.rate)


if __name__ == "__main__":
    main()
