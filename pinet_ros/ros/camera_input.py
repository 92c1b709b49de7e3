"""Camera input shared by the node and the rosbag reader: CameraInfo -> intrinsics, and image <-> CameraInfo
pairing (numpy only; no rclpy at import).

One policy in one place (`CameraInfoPairer`): an image is paired with a CameraInfo that describes an image of
its size: the one whose stamp is nearest the image's within a tolerance, else the latest one received.
CameraInfos are validated when they arrive, so a broken one never replaces a good one, and intrinsics that
are valid numbers but physically absurd (`Intrinsics.check_plausible`) are refused with the reason.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from pinet_ros.core.camera import Intrinsics
from pinet_ros.ros.fields import InvalidMessage, int_field, stamp_to_ns
from pinet_ros.ros.image_codec import MAX_IMAGE_SIDE

__all__ = ["CameraEntry", "CameraInfoPairer", "camera_info_to_intrinsics", "check_info_matches_image",
           "info_image_size", "plausible_intrinsics"]


def _float_array(msg: Any, names: tuple[str, ...], size: int) -> np.ndarray:
    for name in names:
        if hasattr(msg, name):
            value = getattr(msg, name)
            break
    else:
        raise InvalidMessage(f"CameraInfo has no field '{names[0]}'")
    try:
        arr = np.asarray(value, dtype=np.float64).reshape(-1)
    except (ValueError, TypeError, OverflowError):
        raise InvalidMessage(f"CameraInfo.{names[0]} is not numeric") from None
    if arr.size != size:
        raise InvalidMessage(f"CameraInfo.{names[0]} has {arr.size} values, expected {size}")
    return arr


def _binning(info: Any, name: str) -> int:
    if not hasattr(info, name):
        return 1
    b = int_field(info, name)
    if b < 0 or b > MAX_IMAGE_SIDE:
        raise InvalidMessage(f"CameraInfo.{name} = {b} out of range")
    return max(b, 1)  # 0 means no binning (sensor_msgs/CameraInfo)


def _roi(info: Any) -> tuple[int, int, int, int]:
    """(x_offset, y_offset, width, height) of CameraInfo.roi; all zero when absent (= full image)."""
    roi = getattr(info, "roi", None)
    if roi is None:
        return 0, 0, 0, 0
    values = tuple(int_field(roi, n) for n in ("x_offset", "y_offset", "width", "height"))
    if min(values) < 0 or max(values) > 4 * MAX_IMAGE_SIDE:
        raise InvalidMessage(f"CameraInfo.roi {values} out of range")
    return values  # type: ignore[return-value]


def camera_info_to_intrinsics(info: Any) -> Intrinsics:
    """Pinhole intrinsics of the image that `info` describes (sensor_msgs/CameraInfo or duck-typed).

    fx, fy, cx, cy come from K (`k`, or ROS 1 `K`): the raw image's camera, which is what the pipeline sees.
    Only when K is all zero are they taken from P (`p`/`P`: fx = P[0], fy = P[5], cx = P[2], cy = P[6]),
    e.g. drivers that publish only the projection matrix. When `binning_x/y` (> 1) or a non-empty `roi` are
    set, the result is for the binned/cropped image actually published, as image_geometry does:
    cx' = (cx - roi.x_offset) / binning_x, fx' = fx / binning_x (same for y).
    Distortion (`d`) is ignored: the pipeline works on the raw image and the networks tolerate the small
    lens distortion of ordinary cameras; rectify upstream (image_proc) for strong distortion.
    Width/height consistency with an image is a separate check: `check_info_matches_image`.

    Returns:
        Intrinsics in pixels.
    Raises:
        InvalidMessage: K and P both all zero (uncalibrated), a value not finite, fx or fy <= 0, K/P of the
            wrong size or not numeric, binning/roi out of range.
    """
    k = _float_array(info, ("k", "K"), 9)
    if np.any(k != 0.0):
        source, fx, fy, cx, cy = "K", k[0], k[4], k[2], k[5]
    else:
        p = _float_array(info, ("p", "P"), 12)
        if not np.any(p != 0.0):
            raise InvalidMessage("CameraInfo K and P are all zero: the camera is not calibrated")
        source, fx, fy, cx, cy = "P", p[0], p[5], p[2], p[6]
    bx, by = _binning(info, "binning_x"), _binning(info, "binning_y")
    x0, y0, _, _ = _roi(info)
    fx, fy, cx, cy = fx / bx, fy / by, (cx - x0) / bx, (cy - y0) / by
    try:
        return Intrinsics(fx=fx, fy=fy, cx=cx, cy=cy)
    except ValueError as exc:
        raise InvalidMessage(f"CameraInfo {source}: {exc}") from None


def check_info_matches_image(info: Any, image: Any) -> None:
    """Check that `info` describes an image of `image`'s size.

    The expected size is CameraInfo width x height, or roi width x height when the roi is set, divided by
    the binning (integer division). A CameraInfo with width or height 0 (size not set) matches any image.

    Raises:
        InvalidMessage: the sizes differ, or a size field is not an integer.
    """
    size = info_image_size(info)
    iw, ih = int_field(image, "width"), int_field(image, "height")
    if size is not None and (iw, ih) != size:
        raise InvalidMessage(f"CameraInfo is for {size[0]}x{size[1]} images but the image is {iw}x{ih}")


def info_image_size(info: Any) -> tuple[int, int] | None:
    """(width, height) of the images `info` describes (roi and binning applied), or None when not set (0)."""
    w, h = int_field(info, "width"), int_field(info, "height")
    if w <= 0 or h <= 0:
        return None
    _, _, roi_w, roi_h = _roi(info)
    if roi_w > 0 and roi_h > 0:
        w, h = roi_w, roi_h
    return w // _binning(info, "binning_x"), h // _binning(info, "binning_y")


def plausible_intrinsics(intrinsics: Intrinsics, width: int, height: int) -> Intrinsics:
    """`intrinsics` if they make physical sense for a `width` x `height` image, else InvalidMessage (reason)."""
    try:
        intrinsics.check_plausible(width, height)
    except ValueError as exc:
        raise InvalidMessage(f"CameraInfo: {exc}") from None
    return intrinsics


@dataclass(frozen=True)
class CameraEntry:
    """One validated CameraInfo: its stamp (ns), intrinsics (px), image size it describes (None: any)."""

    stamp_ns: int
    intrinsics: Intrinsics
    size: tuple[int, int] | None
    msg: Any


class CameraInfoPairer:
    """Recent CameraInfos of one camera and the rule that pairs an image with one of them.

    `add` validates a CameraInfo (InvalidMessage if unusable: nothing is stored). `pair` returns, among the
    entries that describe an image of the image's size, the one whose stamp is nearest the image's when it is
    within `tolerance_ns`, else the latest one added; None when no CameraInfo was added yet. Entries given to
    `preload` (a recording read ahead) can be matched by stamp before they are added, but are never "the
    latest" until added, so a bag is paired as a live camera with perfect stamp matching would be.

    Not thread-safe: the caller serialises `add` and `pair`.
    """

    def __init__(self, tolerance_ns: int = 20_000_000, history: int = 64) -> None:
        if tolerance_ns < 0 or history < 1:
            raise ValueError(f"tolerance_ns must be >= 0 and history >= 1, got {tolerance_ns}, {history}")
        self.tolerance_ns = int(tolerance_ns)
        self._recent: deque[CameraEntry] = deque(maxlen=history)
        self._ahead: dict[int, CameraEntry] = {}

    @staticmethod
    def entry(info: Any) -> CameraEntry:
        """Validate one CameraInfo into an entry (InvalidMessage with the reason if unusable)."""
        intrinsics = camera_info_to_intrinsics(info)
        size = info_image_size(info)
        if size is not None:
            plausible_intrinsics(intrinsics, *size)
        return CameraEntry(stamp_to_ns(info.header.stamp), intrinsics, size, info)

    def add(self, info: Any) -> CameraEntry:
        """Validate and remember `info`; raises InvalidMessage (and keeps nothing) if it is unusable."""
        entry = self.entry(info)
        self._recent.append(entry)
        return entry

    def preload(self, infos: Iterable[Any]) -> int:
        """Make `infos` available for stamp matching ahead of their arrival; unusable ones are skipped.

        Returns:
            the number of unusable CameraInfos skipped.
        """
        bad = 0
        for info in infos:
            try:
                e = self.entry(info)
            except InvalidMessage:
                bad += 1
                continue
            self._ahead[e.stamp_ns] = e
        return bad

    def __len__(self) -> int:
        return len(self._recent)

    def clear(self) -> None:
        self._recent.clear()
        self._ahead.clear()

    def pair(self, width: int, height: int, stamp_ns: int) -> Intrinsics | None:
        """Intrinsics for an image of `width` x `height` px stamped `stamp_ns`, or None before any CameraInfo.

        Raises:
            InvalidMessage: CameraInfos exist but none describes an image of this size (the newest one's
                mismatch is the reason), or the paired intrinsics are absurd for this image size.
        """
        if not self._recent and not self._ahead:
            return None
        fits = [e for e in self._recent if e.size in (None, (width, height))]
        ahead = self._ahead.get(stamp_ns)
        candidates = fits + ([ahead] if ahead is not None and ahead.size in (None, (width, height)) else [])
        if not candidates:
            if not self._recent:
                return None
            newest = self._recent[-1]
            if newest.size is not None:
                w, h = newest.size
                raise InvalidMessage(f"CameraInfo is for {w}x{h} images but the image is {width}x{height}")
            return None
        best = min(candidates, key=lambda e: abs(e.stamp_ns - stamp_ns))
        if abs(best.stamp_ns - stamp_ns) > self.tolerance_ns:
            if not fits:
                return None
            best = fits[-1]
        return plausible_intrinsics(best.intrinsics, width, height)
