"""Shared test setup: isolate every ROS 2 test run on its own DDS domain, on this host only."""

import os
import random

import pytest

# Keep concurrent test runs (and other sessions) apart: a random domain id <= 101, localhost discovery.
os.environ.setdefault("ROS_DOMAIN_ID", str(random.Random(os.getpid()).randint(1, 101)))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")


def _ros_available() -> bool:
    try:
        import rclpy  # noqa: F401
        from pinet_ros.msg import MultiPerson3DPose  # noqa: F401
    except ImportError:
        return False
    return True


def pytest_collection_modifyitems(config, items):
    if _ros_available():
        return
    skip = pytest.mark.skip(reason="rclpy or the built pinet_ros messages missing: run through scripts/env.sh")
    for item in items:
        if "ros" in item.keywords:
            item.add_marker(skip)
