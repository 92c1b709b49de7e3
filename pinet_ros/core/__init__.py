"""Numpy-only building blocks. Importing this package never imports torch or rclpy."""

from pinet_ros.core.skeleton import MUCO21, MUPOTS17, JointSet

__all__ = ["JointSet", "MUCO21", "MUPOTS17"]
