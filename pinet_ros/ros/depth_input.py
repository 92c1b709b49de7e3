"""Depth input of the node: sensor_msgs/Image depth + its CameraInfo -> `DepthFrame`, paired with colour frames
by stamp (numpy only; no rclpy at import).

`DepthInput` keeps the recent depth images (decoded and validated on arrival, so a bad one never displaces a
good one) and their CameraInfos (through the same `CameraInfoPairer` rule as the colour camera: a CameraInfo
of the depth image's own size, nearest stamp within the tolerance, else the latest). `pair(stamp_ns)` returns
the depth frame whose stamp is nearest the colour image's, within the tolerance, waiting briefly for one that
has not arrived yet; None otherwise (the frame is then processed monocular and its people flagged so).

The depth camera is taken to share the colour camera's optical centre (depth registered to colour, the common
case: `aligned_depth_to_color`, `depth_registered`); its own size and intrinsics are always used, never the
colour image's. A depth image in another frame (a raw depth sensor beside the colour one) would need the
extrinsic between them, which the node does not look up (no tf2_ros here): `pinet_ros.core.depth.DepthCamera`
takes one for callers that know it.

Thread-safe: the subscription callbacks `add_*` and the worker's `pair` may run on different threads.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from pinet_ros.core.depth import DepthCamera, DepthError, DepthFrame, depth_from_buffer
from pinet_ros.ros.camera_input import CameraInfoPairer
from pinet_ros.ros.fields import InvalidMessage, int_field, stamp_to_ns

__all__ = ["DepthInput", "depth_image_to_m"]


def depth_image_to_m(msg: Any):
    """sensor_msgs/Image (16UC1/mono16 mm or 32FC1 m) -> (height, width) float32 metres, NaN = no reading.

    Raises:
        InvalidMessage: another encoding, bad sizes, short data.
    """
    encoding = getattr(msg, "encoding", None)
    if not isinstance(encoding, str):
        raise InvalidMessage("depth image has no string encoding")
    try:
        data = msg.data
        if not isinstance(data, (bytes, bytearray, memoryview)):
            import numpy as np

            data = np.asarray(data, dtype=np.uint8)
        return depth_from_buffer(data, int_field(msg, "width"), int_field(msg, "height"), int_field(msg, "step"),
                                 encoding, bool(getattr(msg, "is_bigendian", False)))
    except DepthError as exc:
        raise InvalidMessage(f"depth image: {exc}") from None


class DepthInput:
    """Recent depth frames of one depth camera, paired with colour frames by stamp."""

    def __init__(self, tolerance_ns: int = 20_000_000, history: int = 8) -> None:
        self.tolerance_ns = int(tolerance_ns)
        self._infos = CameraInfoPairer(tolerance_ns=tolerance_ns, history=64)
        self._frames: deque[DepthFrame] = deque(maxlen=history)
        self._cond = threading.Condition()

    def add_info(self, info: Any) -> None:
        """Validate and remember a depth CameraInfo (InvalidMessage if unusable)."""
        with self._cond:
            self._infos.add(info)

    def add_image(self, msg: Any) -> DepthFrame | None:
        """Decode a depth image and pair it with its CameraInfo; None before any depth CameraInfo.

        Raises:
            InvalidMessage: the image or its pairing is unusable (wrong encoding, size without a CameraInfo).
        """
        depth_m = depth_image_to_m(msg)
        stamp_ns = stamp_to_ns(msg.header.stamp)
        h, w = depth_m.shape
        with self._cond:
            self._infos.tolerance_ns = self.tolerance_ns
            intrinsics = self._infos.pair(w, h, stamp_ns)
            if intrinsics is None:
                return None
            frame = DepthFrame(depth_m, DepthCamera(intrinsics, w, h), stamp_ns=stamp_ns)
            self._frames.append(frame)
            self._cond.notify_all()
        return frame

    def pair(self, stamp_ns: int, wait_s: float = 0.0) -> DepthFrame | None:
        """The depth frame stamped nearest `stamp_ns` within the tolerance; while a depth stream is running
        (some depth frame was received), waits up to `wait_s` seconds for one to arrive. None when there is none."""
        def best():
            close = [f for f in self._frames if abs(f.stamp_ns - stamp_ns) <= self.tolerance_ns]
            return min(close, key=lambda f: abs(f.stamp_ns - stamp_ns)) if close else None

        with self._cond:
            found = best()
            if found is None and wait_s > 0 and self._frames:
                self._cond.wait_for(lambda: best() is not None, timeout=wait_s)
                found = best()
            return found

    def clear(self) -> None:
        with self._cond:
            self._frames.clear()
            self._infos.clear()
