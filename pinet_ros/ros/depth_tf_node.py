"""The node's optional depth input and its TF output, kept out of node.py (which only calls three methods).

- `use_depth: true`: subscribes `depth` (sensor_msgs/Image 16UC1 mm / 32FC1 m) and `depth_camera_info`
  (sensor-data QoS, relative names), validates them on arrival (`pinet_ros.ros.depth_input`), and hands the
  worker the depth frame whose stamp matches the colour image's. A bad or missing depth frame is a throttled
  warning and a monocular frame (its people flagged `root_source = MONOCULAR`), never a crash.
- `publish_tf: true`: publishes each tracked person's `body_<id>` (and with `tf_joints`, `<joint>_<id>`) on
  `/tf` at the image stamp (`pinet_ros.ros.tf_msgs`). Without tf2_msgs installed: one warning, no TF.
"""

from __future__ import annotations

from typing import Any

from rclpy.qos import QoSProfile, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from pinet_ros.core.depth import DepthFrame
from pinet_ros.core.result import FrameResult
from pinet_ros.ros.depth_input import DepthInput
from pinet_ros.ros.fields import InvalidMessage
from pinet_ros.ros.tf_msgs import frame_result_to_tf, tf_available

__all__ = ["DEPTH_WAIT_S", "DepthTfIO"]

DEPTH_WAIT_S = 0.05
"""Longest wait of the worker for a colour frame's depth frame (only while a depth stream is running), s."""


class DepthTfIO:
    """Depth subscriptions and the /tf publisher of one `PinetNode` (uses its `values`, `stats`, `_warn`,
    `_guarded`)."""

    def __init__(self, node: Any) -> None:
        self.node = node
        self.depth: DepthInput | None = None
        if node.values["use_depth"]:
            self.depth = DepthInput(tolerance_ns=int(node.values["sync_tolerance_s"] * 1e9))
            node.create_subscription(Image, "depth", self._on_depth, qos_profile_sensor_data)
            node.create_subscription(CameraInfo, "depth_camera_info", self._on_depth_info, qos_profile_sensor_data)
        self.tf_pub = None
        if tf_available():
            from tf2_msgs.msg import TFMessage

            self.tf_pub = node.create_publisher(TFMessage, "/tf", QoSProfile(depth=100))
        elif node.values["publish_tf"]:
            node.get_logger().warning("tf2_msgs is not installed: no TF frames will be published "
                                      "(make setup builds it; a ROS 2 install has it)", once=True)

    # ------------------------------------------------------------------ depth input
    def _on_depth_info(self, msg: CameraInfo) -> None:
        self.node._guarded(self._take_depth_info, msg, "depth_info_error", "depth CameraInfo")

    def _take_depth_info(self, msg: CameraInfo) -> None:
        try:
            self.depth.add_info(msg)
        except InvalidMessage as exc:
            self.node.stats.count("invalid")
            self.node._warn("bad_depth_info", f"bad depth CameraInfo skipped: {exc}")

    def _on_depth(self, msg: Image) -> None:
        self.node._guarded(self._take_depth, msg, "depth_error", "depth image")

    def _take_depth(self, msg: Image) -> None:
        self.depth.tolerance_ns = int(self.node.values["sync_tolerance_s"] * 1e9)
        try:
            frame = self.depth.add_image(msg)
        except InvalidMessage as exc:
            self.node.stats.count("invalid")
            self.node._warn("bad_depth", f"bad depth image skipped (its colour frame stays monocular): {exc}")
            return
        if frame is None:
            self.node.stats.count("no_depth_camera_info")
            self.node._warn("no_depth_info", "no valid CameraInfo yet on 'depth_camera_info': depth image skipped")

    def depth_for(self, stamp_ns: int) -> DepthFrame | None:
        """The depth frame of the colour image stamped `stamp_ns`, or None (counted and warned when depth is
        on, so the frame's people are monocular)."""
        if self.depth is None:
            return None
        frame = self.depth.pair(stamp_ns, wait_s=DEPTH_WAIT_S)
        if frame is None:
            self.node.stats.count("no_depth")
            self.node._warn("no_depth", "no depth frame with the colour image's stamp (within sync_tolerance_s) "
                                        "on 'depth': people of this frame stay monocular")
        return frame

    # ------------------------------------------------------------------ TF output
    def publish_tf(self, result: FrameResult) -> None:
        """Publish the frame's person frames on /tf (when publish_tf is on and there are tracked people)."""
        if self.tf_pub is None or not self.node.values["publish_tf"]:
            return
        msg = frame_result_to_tf(result, joints=self.node.values["tf_joints"])
        if msg is not None:
            self.tf_pub.publish(msg)
