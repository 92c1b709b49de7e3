"""All message converters of pinet_ros in one namespace (no torch; no rclpy at import).

The converters live in one module per message family; this module re-exports them for callers that want
one import:
- `pinet_ros.ros.fields`: `InvalidMessage`, typed field reads, stamps (`stamp_to_ns`, `ns_to_stamp`);
- `pinet_ros.ros.image_codec`: sensor_msgs/Image <-> RGB arrays (`image_to_rgb`, `rgb_to_image_msg`);
- `pinet_ros.ros.camera_input`: CameraInfo -> `Intrinsics`, image/CameraInfo pairing (`CameraInfoPairer`);
- `pinet_ros.ros.pose_msgs`: FrameResult <-> MultiPerson3DPose;
- `pinet_ros.ros.markers`: FrameResult -> RViz MarkerArray.
Every problem with a message's content raises `InvalidMessage` with a one-line reason and nothing else.
"""

from pinet_ros.ros.camera_input import (CameraEntry, CameraInfoPairer, camera_info_to_intrinsics,
                                        check_info_matches_image, info_image_size, plausible_intrinsics)
from pinet_ros.ros.fields import InvalidMessage, int_field, ns_to_stamp, stamp_to_ns
from pinet_ros.ros.image_codec import (MAX_IMAGE_BYTES, MAX_IMAGE_SIDE, SUPPORTED_ENCODINGS, image_to_rgb,
                                       rgb_to_image_msg)
from pinet_ros.ros.markers import MARKER_NAMESPACES, frame_result_to_markers
from pinet_ros.ros.pose_msgs import frame_result_from_msg, frame_result_to_msg

__all__ = [
    "CameraEntry",
    "CameraInfoPairer",
    "InvalidMessage",
    "MARKER_NAMESPACES",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_SIDE",
    "SUPPORTED_ENCODINGS",
    "camera_info_to_intrinsics",
    "check_info_matches_image",
    "frame_result_from_msg",
    "frame_result_to_markers",
    "frame_result_to_msg",
    "image_to_rgb",
    "info_image_size",
    "int_field",
    "ns_to_stamp",
    "plausible_intrinsics",
    "rgb_to_image_msg",
    "stamp_to_ns",
]
