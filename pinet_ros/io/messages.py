"""ROS message helpers for the offline tools: CameraInfo from intrinsics, and a `rosbags` typestore that knows
the pinet_ros messages. rclpy message classes and rosbags are imported inside the functions."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pinet_ros.core.camera import Intrinsics

__all__ = ["PINET_MSG_TYPES", "camera_info_msg", "find_msg_dir", "pinet_typestore"]

PINET_MSG_TYPES = ("Person3DPose", "MultiPerson3DPose")
"""pinet_ros/msg types, dependencies first."""


def camera_info_msg(intrinsics: Intrinsics, width: int, height: int, header: Any = None):
    """A sensor_msgs/CameraInfo for an undistorted pinhole camera.

    Args:
        intrinsics: fx, fy, cx, cy in pixels.
        width, height: image size, pixels.
        header: std_msgs/Header to use (stamp and frame_id); None leaves the default.
    Returns:
        sensor_msgs.msg.CameraInfo with K = [fx 0 cx; 0 fy cy; 0 0 1], R = I, P = [K | 0],
        distortion_model "plumb_bob" with five zero coefficients.
    """
    from sensor_msgs.msg import CameraInfo

    fx, fy, cx, cy = intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy
    info = CameraInfo(width=int(width), height=int(height), distortion_model="plumb_bob")
    if header is not None:
        info.header = header
    info.d = [0.0] * 5
    info.k = [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0]
    info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    info.p = [fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return info


def find_msg_dir() -> Path:
    """The folder holding pinet_ros's .msg files: `share/pinet_ros/msg` of an install on AMENT_PREFIX_PATH,
    else `msg/` of the source tree this module lives in.

    Raises:
        FileNotFoundError: neither exists (names every place looked at).
    """
    looked = []
    for prefix in filter(None, os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep)):
        candidate = Path(prefix) / "share" / "pinet_ros" / "msg"
        looked.append(candidate)
        if (candidate / "MultiPerson3DPose.msg").is_file():
            return candidate
    for here in {Path(__file__).resolve(), Path(__file__).absolute()}:
        candidate = here.parents[2] / "msg"
        looked.append(candidate)
        if (candidate / "MultiPerson3DPose.msg").is_file():
            return candidate
    raise FileNotFoundError("pinet_ros message definitions (MultiPerson3DPose.msg) not found in "
                            + ", ".join(map(str, looked)))


@lru_cache(maxsize=1)
def pinet_typestore():
    """A rosbags Typestore of ROS 2 Jazzy plus pinet_ros/msg/Person3DPose and MultiPerson3DPose (read from
    `find_msg_dir()`); its rihs01 hashes equal the ones rosidl generates."""
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    store = get_typestore(Stores.ROS2_JAZZY)
    msg_dir = find_msg_dir()
    types: dict[str, Any] = {}
    for name in PINET_MSG_TYPES:
        types.update(get_types_from_msg((msg_dir / f"{name}.msg").read_text(), f"pinet_ros/msg/{name}"))
    store.register(types)
    return store
