"""RGB-D camera process for tests: a picture on /image + /camera_info and, with the same stamps, a depth image
of another size and focal length on /depth + /depth_camera_info (a flat surface at --depth-m).

The colour image is published as bgr8 with fx = fy = its width; the depth image is half its size (16UC1 mm, or
32FC1 m with --float), fx = fy = half the colour width, so the two fields of view agree (registered depth)
while the sizes and intrinsics differ.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

sys.path.insert(0, str(Path(__file__).parent))
from periodic import publish_periodically  # noqa: E402


def _info(w: int, h: int, f: float, header) -> CameraInfo:
    info = CameraInfo(width=w, height=h, distortion_model="plumb_bob")
    info.header = header
    info.k = [f, 0.0, w / 2.0, 0.0, f, h / 2.0, 0.0, 0.0, 1.0]
    info.p = [f, 0.0, w / 2.0, 0.0, 0.0, f, h / 2.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    return info


def main() -> None:
    import cv2
    from std_msgs.msg import Header

    ap = argparse.ArgumentParser()
    ap.add_argument("--image", required=True)
    ap.add_argument("--depth-m", type=float, default=2.0)
    ap.add_argument("--float", action="store_true", help="32FC1 metres instead of 16UC1 millimetres")
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--rate", type=float, default=5.0)
    ap.add_argument("--frame-id", default="rgbd_optical")
    args = ap.parse_args()
    bgr = cv2.imread(args.image, cv2.IMREAD_COLOR)
    if bgr is None:
        sys.exit(f"cannot read {args.image}")
    h, w = bgr.shape[:2]
    dh, dw = h // 2, w // 2
    if args.float:
        depth = np.full((dh, dw), args.depth_m, "<f4")
        depth[:4] = np.nan  # a few rows without readings
        encoding, step = "32FC1", dw * 4
    else:
        depth = np.full((dh, dw), int(round(args.depth_m * 1000)), "<u2")
        depth[:4] = 0
        encoding, step = "16UC1", dw * 2

    def setup(node):
        pubs = {name: node.create_publisher(t, name, qos_profile_sensor_data) for name, t in (
            ("/image", Image), ("/camera_info", CameraInfo), ("/depth", Image), ("/depth_camera_info", CameraInfo))}

        def publish(i: int) -> None:
            stamp_ns = 2000 * 10**9 + i * int(10**9 / args.rate)
            header = Header(frame_id=args.frame_id)
            header.stamp.sec, header.stamp.nanosec = divmod(stamp_ns, 10**9)
            pubs["/depth_camera_info"].publish(_info(dw, dh, dw, header))
            d = Image(height=dh, width=dw, encoding=encoding, step=step, is_bigendian=0, header=header)
            d.data = depth.tobytes()
            pubs["/depth"].publish(d)
            pubs["/camera_info"].publish(_info(w, h, float(w), header))
            img = Image(height=h, width=w, encoding="bgr8", step=w * 3, header=header)
            img.data = bgr.tobytes()
            pubs["/image"].publish(img)
        return publish

    publish_periodically("test_rgbd_camera", setup, args.count, period_s=1.0 / args.rate)


if __name__ == "__main__":
    main()
