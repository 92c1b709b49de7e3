"""`pinet-ros play`: publish any frame source as a camera (sensor_msgs/Image + CameraInfo) for live-like demos.

Each frame is published as an rgb8 Image on `image_topic` and a CameraInfo (the frame's intrinsics, no
distortion) on `info_topic`, both with the same header, sensor-data QoS (best effort, keep last 5), at
`rate_hz` frames per second (default: the source's own rate, e.g. the video's fps; 0 = as fast as possible).

Stamps: by default each frame is stamped `now()` of the node's clock when it is published, so a running node
sees a live camera (its latency figures stay meaningful); with `source_stamps=True` the source's stamps are kept
(a bag's header stamps, the synthetic stamps of videos and folders) and, when looping, shifted forward by the
length of one pass each time so they keep increasing.

Ctrl-C (SIGINT) and SIGTERM stop the loop after the current frame; the node is destroyed and rclpy shut
down, and `play` returns normally. rclpy is imported inside `play`.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any

from pinet_ros.io.sources import FrameSource

__all__ = ["DEFAULT_PLAY_RATE_HZ", "PlayStats", "play"]

log = logging.getLogger(__name__)

DEFAULT_PLAY_RATE_HZ = 10.0
"""Publishing rate when neither `rate_hz` nor the source gives one, frames per second."""


@dataclass
class PlayStats:
    """What `play` did: frames published, passes over the source started, wall time (s) from the first to
    the last publication, and whether it stopped on a signal."""

    published: int = 0
    passes: int = 0
    elapsed_s: float = 0.0
    interrupted: bool = False

    @property
    def fps(self) -> float:
        """Published frames per second (0 with fewer than 2 frames)."""
        return (self.published - 1) / self.elapsed_s if self.published > 1 and self.elapsed_s > 0 else 0.0


class _StopFlag:
    """SIGINT/SIGTERM -> a threading.Event (only installable from the main thread; elsewhere a no-op)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "_StopFlag":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.event.set()

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def play(source: FrameSource, *, rate_hz: float | None = None, loop: bool = False, image_topic: str = "/image",
         info_topic: str = "/camera_info", count: int | None = None, source_stamps: bool = False,
         wait_for_subscribers_s: float = 0.0, node_name: str = "pinet_player", linger_s: float = 0.5,
         ros_args: list[str] | None = None) -> PlayStats:
    """Publish `source` as Image + CameraInfo.

    Args:
        source: frames to publish (iterated once, or again and again with `loop`).
        rate_hz: frames per second; None = `source.rate_hz` (else `DEFAULT_PLAY_RATE_HZ`); 0 = no pacing.
        loop: start again at the end of the source.
        image_topic, info_topic: where to publish.
        count: stop after this many frames (None: at the end of the source, or never with `loop`).
        source_stamps: keep the source's stamps instead of now() (see the module docstring).
        wait_for_subscribers_s: before the first frame, wait up to this long (s) for a subscriber of
            `image_topic`, then up to 1 s more for one of `info_topic`.
        node_name: the node's name.
        linger_s: after the last frame, keep the node alive this long so the last messages get delivered.
        ros_args: extra command-line arguments for rclpy.init (e.g. ["--ros-args", "-r", "__ns:=/cam"]).
    Returns:
        PlayStats.
    Raises:
        ValueError: negative rate or count.
    """
    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from rclpy.signals import SignalHandlerOptions
    from sensor_msgs.msg import CameraInfo, Image
    from std_msgs.msg import Header

    from pinet_ros.io.messages import camera_info_msg
    from pinet_ros.ros.convert import ns_to_stamp, rgb_to_image_msg

    if rate_hz is None:
        rate_hz = source.rate_hz or DEFAULT_PLAY_RATE_HZ
    if rate_hz < 0 or count is not None and count < 0:
        raise ValueError(f"rate and count must be >= 0, got rate {rate_hz}, count {count}")
    period_s = 1.0 / rate_hz if rate_hz > 0 else 0.0
    stats = PlayStats()
    context = rclpy.Context()
    rclpy.init(args=ros_args, context=context, signal_handler_options=SignalHandlerOptions.NO)
    node = None
    with _StopFlag() as stop:
        try:
            node = rclpy.create_node(node_name, context=context)
            image_pub = node.create_publisher(Image, image_topic, qos_profile_sensor_data)
            info_pub = node.create_publisher(CameraInfo, info_topic, qos_profile_sensor_data)
            if wait_for_subscribers_s > 0:
                # the image subscriber first; then a moment for its CameraInfo subscriber, which matches separately
                deadline = time.monotonic() + wait_for_subscribers_s
                while (image_pub.get_subscription_count() == 0 and time.monotonic() < deadline
                       and not stop.event.is_set()):
                    stop.event.wait(0.05)
                deadline = min(deadline, time.monotonic() + 1.0)
                while (info_pub.get_subscription_count() == 0 and time.monotonic() < deadline
                       and not stop.event.is_set()):
                    stop.event.wait(0.05)
            shift_ns = 0
            step_ns = int(round(1e9 / (source.rate_hz or rate_hz or DEFAULT_PLAY_RATE_HZ)))
            t_first = t_next = None
            while not stop.event.is_set() and (count is None or stats.published < count):
                stats.passes += 1
                first_ns = last_ns = None
                for frame in source:
                    if t_next is not None:
                        delay = t_next - time.monotonic()
                        if delay > 0 and stop.event.wait(delay):
                            break
                        if delay < -period_s:  # fell behind (slow decode): do not burst to catch up
                            t_next = time.monotonic()
                    if stop.event.is_set():
                        break
                    if source_stamps:
                        stamp_ns = frame.stamp_ns + shift_ns
                        first_ns = frame.stamp_ns if first_ns is None else first_ns
                        last_ns = frame.stamp_ns
                    else:
                        stamp_ns = node.get_clock().now().nanoseconds
                    header = Header(stamp=ns_to_stamp(stamp_ns), frame_id=frame.frame_id)
                    h, w = frame.rgb.shape[:2]
                    info_pub.publish(camera_info_msg(frame.intrinsics, w, h, header))
                    image_pub.publish(rgb_to_image_msg(frame.rgb, header))
                    now = time.monotonic()
                    t_first = now if t_first is None else t_first
                    stats.elapsed_s = now - t_first
                    stats.published += 1
                    t_next = (t_next if t_next is not None else now) + period_s
                    if count is not None and stats.published >= count:
                        break
                if stats.published == 0:  # an empty source would loop forever
                    log.warning("source %s gave no frames", source.path)
                    break
                if not loop:
                    break
                if first_ns is not None and last_ns is not None:
                    shift_ns += last_ns - first_ns + step_ns
            stats.interrupted = stop.event.is_set()
            if linger_s > 0 and not stats.interrupted:
                stop.event.wait(linger_s)
        finally:
            if node is not None:
                node.destroy_node()
            rclpy.try_shutdown(context=context)
    return stats
