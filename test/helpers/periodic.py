"""Shared loop of the test publisher processes: call a publish function at a fixed rate, then exit."""

from typing import Callable

import rclpy


def publish_periodically(node_name: str, setup: Callable, count: int, period_s: float = 0.1) -> None:
    """Init rclpy, build publishers with `setup(node) -> publish(i)`, call it `count` times, shut down."""
    rclpy.init()
    node = rclpy.create_node(node_name)
    publish = setup(node)
    sent = 0

    def tick() -> None:
        nonlocal sent
        publish(sent)
        sent += 1
        if sent >= count:
            raise SystemExit(0)

    node.create_timer(period_s, tick)
    try:
        rclpy.spin(node)
    except (SystemExit, KeyboardInterrupt):
        pass
    node.destroy_node()
    rclpy.try_shutdown()
