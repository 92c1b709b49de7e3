"""Offline input/output: frame sources (video, image folders, rosbag2), camera YAML, pose bags, and the
`pinet-ros process` / `pinet-ros play` commands.

Importing this package is light (numpy, OpenCV, PyYAML): rosbags, rclpy and torch are imported only by the
functions that need them.
"""

from pinet_ros.io.camera_yaml import CameraCalibration, CameraYamlError, assumed_intrinsics, read_camera_yaml
from pinet_ros.io.sources import FrameSource, SourceError, open_source

__all__ = ["CameraCalibration", "CameraYamlError", "FrameSource", "SourceError", "assumed_intrinsics",
           "open_source", "read_camera_yaml"]
