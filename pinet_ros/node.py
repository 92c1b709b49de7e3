"""The pinet_ros ROS 2 node (thin: converts messages, calls the pipeline, publishes).

This first version wires the topics and message types of the node contract; the estimation pipeline is
plugged in by `pinet_ros.pipeline`.
"""

from __future__ import annotations

import sys

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from pinet_ros.core.skeleton import MUPOTS17
from pinet_ros.msg import MultiPerson3DPose


class PinetNode(Node):
    """Subscribes `image` + `camera_info`, publishes `~/poses`."""

    def __init__(self, node_name: str = "pinet") -> None:
        super().__init__(node_name)
        self._latest_info: CameraInfo | None = None
        self._poses_pub = self.create_publisher(MultiPerson3DPose, "~/poses", 10)
        self.create_subscription(CameraInfo, "camera_info", self._on_info, qos_profile_sensor_data)
        self.create_subscription(Image, "image", self._on_image, qos_profile_sensor_data)

    def _on_info(self, msg: CameraInfo) -> None:
        self._latest_info = msg

    def _on_image(self, msg: Image) -> None:
        if self._latest_info is None:
            self.get_logger().warning("no CameraInfo received yet: image dropped", throttle_duration_sec=5.0)
            return
        out = MultiPerson3DPose()
        out.header = msg.header
        out.joint_names = list(MUPOTS17.joint_names)
        out.bones = MUPOTS17.bones_flat()
        self._poses_pub.publish(out)


def main(argv: list[str] | None = None) -> int:
    rclpy.init(args=argv if argv is not None else sys.argv)
    node = None
    try:
        node = PinetNode()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
