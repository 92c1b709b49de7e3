"""sensor_msgs <-> numpy and FrameResult -> pinet_ros messages / RViz markers (numpy + OpenCV, no torch).

Like cv_bridge, these are plain converters: no node, no rclpy import at module level. The decoders
(`image_to_rgb`, `camera_info_to_intrinsics`, `check_info_matches_image`, `stamp_to_ns`) read fields by
name, so they work on rclpy messages and on duck-typed objects with the same fields (rosbags-deserialised
messages, where `data` is a numpy uint8 array and `k` a float64 array). Every problem with a message's
content raises `InvalidMessage` with a one-line reason and nothing else; the node logs it and skips the frame.
The builders (`frame_result_to_msg`, `frame_result_to_markers`, `rgb_to_image_msg`, `ns_to_stamp`) import the
ROS message classes when called.
"""

from __future__ import annotations

import array
import math
import operator
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from pinet_ros.core.camera import Intrinsics
from pinet_ros.core.colors import color_for_id
from pinet_ros.core.result import FrameResult, PersonResult
from pinet_ros.core.skeleton import MUPOTS17, JointSet

__all__ = [
    "InvalidMessage",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_SIDE",
    "SUPPORTED_ENCODINGS",
    "camera_info_to_intrinsics",
    "check_info_matches_image",
    "frame_result_from_msg",
    "frame_result_to_markers",
    "frame_result_to_msg",
    "image_to_rgb",
    "ns_to_stamp",
    "rgb_to_image_msg",
    "stamp_to_ns",
]

MAX_IMAGE_SIDE = 16384
"""Largest accepted image width or height, pixels."""
MAX_IMAGE_BYTES = 1 << 30
"""Largest accepted `step * rows` of an image, bytes (1 GiB)."""


class InvalidMessage(ValueError):
    """A message whose content cannot be converted; `str(exc)` is a one-line human-readable reason."""


# ----------------------------------------------------------------------------------------------- images

@dataclass(frozen=True)
class _Encoding:
    """How one sensor_msgs/Image encoding is laid out.

    kind: "packed" (channels interleaved, `order` names them), "bayer" (one mosaic channel),
    "yuv422" (2 bytes per pixel), "yuv420sp" (NV12/NV21: Y plane, then a half-size interleaved chroma plane),
    "yuv444sp" (NV24: Y plane, then a full-size interleaved UV plane).
    """

    name: str
    kind: str
    channels: int = 1
    depth_bytes: int = 1
    order: str = ""
    cv_code: int = -1


def _packed(name: str, order: str, depth_bytes: int) -> _Encoding:
    return _Encoding(name, "packed", channels=len(order) if order != "mono" else 1, depth_bytes=depth_bytes,
                     order=order)


# ROS names the Bayer pattern by the first two rows (RGGB = R G / G B); OpenCV by the 2x2 block starting at
# the second row and column, so ROS rggb is OpenCV's BayerBG (the same mapping cv_bridge uses).
_BAYER = {"rggb": cv2.COLOR_BayerBG2RGB, "bggr": cv2.COLOR_BayerRG2RGB,
          "gbrg": cv2.COLOR_BayerGR2RGB, "grbg": cv2.COLOR_BayerGB2RGB}

_ENCODINGS: dict[str, _Encoding] = {}
for _e in (
    _packed("rgb8", "rgb", 1), _packed("bgr8", "bgr", 1), _packed("rgba8", "rgba", 1), _packed("bgra8", "bgra", 1),
    _packed("mono8", "mono", 1), _packed("rgb16", "rgb", 2), _packed("bgr16", "bgr", 2),
    _packed("rgba16", "rgba", 2), _packed("bgra16", "bgra", 2), _packed("mono16", "mono", 2),
    # The generic OpenCV types carry no colour meaning; we read them the way OpenCV (and cv_bridge's
    # "passthrough" publishers) lay them out: 1 channel = grey, 3 = BGR, 4 = BGRA.
    _packed("8UC1", "mono", 1), _packed("8UC3", "bgr", 1), _packed("8UC4", "bgra", 1),
    _packed("16UC1", "mono", 2), _packed("16UC3", "bgr", 2), _packed("16UC4", "bgra", 2),
    *(_Encoding(f"bayer_{p}{bits}", "bayer", depth_bytes=bits // 8, cv_code=code)
      for p, code in _BAYER.items() for bits in (8, 16)),
    _Encoding("yuv422", "yuv422", cv_code=cv2.COLOR_YUV2RGB_UYVY),
    _Encoding("uyvy", "yuv422", cv_code=cv2.COLOR_YUV2RGB_UYVY),
    _Encoding("yuv422_yuy2", "yuv422", cv_code=cv2.COLOR_YUV2RGB_YUYV),
    _Encoding("yuyv", "yuv422", cv_code=cv2.COLOR_YUV2RGB_YUYV),
    _Encoding("nv21", "yuv420sp", cv_code=cv2.COLOR_YUV2RGB_NV21),
    _Encoding("nv12", "yuv420sp", cv_code=cv2.COLOR_YUV2RGB_NV12),
    _Encoding("nv24", "yuv444sp"),
):
    _ENCODINGS[_e.name.lower()] = _e
del _e

SUPPORTED_ENCODINGS: tuple[str, ...] = tuple(sorted(e.name for e in _ENCODINGS.values()))
"""Every encoding `image_to_rgb` decodes (sensor_msgs/image_encodings names)."""

_TO_RGB = {"rgba": cv2.COLOR_RGBA2RGB, "bgra": cv2.COLOR_BGRA2RGB, "bgr": cv2.COLOR_BGR2RGB,
           "mono": cv2.COLOR_GRAY2RGB}


def _field(msg: Any, name: str) -> Any:
    try:
        return getattr(msg, name)
    except AttributeError:
        raise InvalidMessage(f"message has no field '{name}' ({type(msg).__name__})") from None


def _int_field(msg: Any, name: str) -> int:
    value = _field(msg, name)
    try:
        return operator.index(value)
    except TypeError:
        raise InvalidMessage(f"{name} must be an integer, got {type(value).__name__} {value!r:.40}") from None


def _as_bytes(data: Any) -> np.ndarray:
    """`Image.data` as a flat uint8 array (a view when possible). Accepts bytes-like, array.array, a uint8
    numpy array or a sequence of ints 0..255."""
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8:
            raise InvalidMessage(f"data must hold uint8 bytes, got a numpy {data.dtype} array")
        return data.reshape(-1)
    if isinstance(data, (bytes, bytearray, memoryview, array.array)):
        try:
            return np.frombuffer(data, dtype=np.uint8)
        except (ValueError, TypeError, BufferError) as exc:
            raise InvalidMessage(f"data is not a readable contiguous buffer ({exc})") from None
    if isinstance(data, (list, tuple)):
        try:
            values = np.asarray(data)
        except (ValueError, TypeError, OverflowError) as exc:
            raise InvalidMessage(f"data is not a sequence of bytes ({exc})") from None
        if values.size == 0:
            return np.zeros(0, np.uint8)
        if values.dtype.kind not in "iub" or values.ndim != 1 or values.min() < 0 or values.max() > 255:
            raise InvalidMessage("data must be a sequence of integers 0..255")
        return values.astype(np.uint8)
    raise InvalidMessage(f"data must be bytes, array.array or a uint8 array, got {type(data).__name__}")


def _data_len(data: Any) -> int:
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8:
            raise InvalidMessage(f"data must hold uint8 bytes, got a numpy {data.dtype} array")
        return int(data.size)
    if isinstance(data, (bytes, bytearray, array.array)):
        return len(data) * (data.itemsize if isinstance(data, array.array) else 1)
    if isinstance(data, memoryview):
        return data.nbytes
    if isinstance(data, (list, tuple)):
        return len(data)
    raise InvalidMessage(f"data must be bytes, array.array or a uint8 array, got {type(data).__name__}")


def _high_bytes(rows: np.ndarray, big_endian: bool) -> np.ndarray:
    """16-bit samples (as byte pairs along the last axis) -> their high byte, i.e. value >> 8."""
    return rows[..., 0::2] if big_endian else rows[..., 1::2]


def _yuv444_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """BT.601 limited-range YUV -> RGB, the same formula OpenCV uses for NV12/NV21/UYVY."""
    c = (y.astype(np.float32) - 16.0) * 1.164
    d = u.astype(np.float32) - 128.0
    e = v.astype(np.float32) - 128.0
    rgb = np.stack([c + 1.596 * e, c - 0.391 * d - 0.813 * e, c + 2.018 * d], axis=-1)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def image_to_rgb(msg: Any) -> np.ndarray:
    """Decode a sensor_msgs/Image (or any object with its fields) to RGB.

    Accepts every encoding in `SUPPORTED_ENCODINGS` (names matched case-insensitively):
    rgb8/bgr8/rgba8/bgra8/mono8, their 16-bit forms, 8UC1/3/4 and 16UC1/3/4 (read as grey/BGR/BGRA, the
    OpenCV layout), bayer_{rggb,bggr,gbrg,grbg}{8,16} (bilinear demosaic), yuv422 = uyvy, yuv422_yuy2 = yuyv
    (even width), nv21/nv12 (even width and height; `step` is the stride of every plane row) and nv24 (a Y
    plane of `height` rows then an interleaved U,V plane of `height` rows of `2 * step` bytes). YUV is read as
    BT.601 limited range. 16-bit samples are reduced to their high byte (value >> 8), honouring
    `is_bigendian`; a 16UC1 depth image therefore decodes, but looks dark. Alpha is dropped.

    Rows may be padded (`step` > width * bytes per pixel); `data` must hold at least `step * rows` bytes
    (extra trailing bytes are ignored). `data` may be bytes, bytearray, memoryview, array.array('B'), a uint8
    numpy array of any shape, or a list of ints 0..255.

    Returns:
        (height, width, 3) uint8 RGB, C-contiguous, owning its memory (never a view of `msg.data`).
    Raises:
        InvalidMessage: unknown/unsupported encoding (e.g. 32FC1 depth, 64FC1), width or height not in
            1..MAX_IMAGE_SIDE, step too small, step * rows above MAX_IMAGE_BYTES, data shorter than
            step * rows, data or a field of the wrong type, odd sizes where the layout needs even ones.
    """
    encoding = _field(msg, "encoding")
    if not isinstance(encoding, str):
        raise InvalidMessage(f"encoding must be a string, got {type(encoding).__name__}")
    enc = _ENCODINGS.get(encoding.strip().lower())
    if enc is None:
        raise InvalidMessage(f"unsupported image encoding {encoding!r:.60}; supported: {', '.join(SUPPORTED_ENCODINGS)}")
    width, height, step = _int_field(msg, "width"), _int_field(msg, "height"), _int_field(msg, "step")
    if width <= 0 or height <= 0:
        raise InvalidMessage(f"empty image ({width}x{height})")
    if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE:
        raise InvalidMessage(f"image {width}x{height} larger than {MAX_IMAGE_SIDE} px a side")
    big_endian = False
    if enc.depth_bytes == 2:
        flag = _field(msg, "is_bigendian")
        if not isinstance(flag, (bool, int, np.integer, np.bool_)):
            raise InvalidMessage(f"is_bigendian must be a bool or an integer, got {type(flag).__name__}")
        big_endian = bool(flag)

    if enc.kind in ("packed", "bayer"):
        row_bytes, rows = width * enc.channels * enc.depth_bytes, height
    elif enc.kind == "yuv422":
        row_bytes, rows = width * 2, height
        if width % 2:
            raise InvalidMessage(f"{enc.name} needs an even width, got {width}")
    elif enc.kind == "yuv420sp":
        row_bytes, rows = width, height + height // 2
        if width % 2 or height % 2:
            raise InvalidMessage(f"{enc.name} needs an even width and height, got {width}x{height}")
    else:  # yuv444sp
        row_bytes, rows = width, 3 * height
    if step < row_bytes:
        raise InvalidMessage(f"step {step} < {row_bytes} bytes needed for a {width} px row of {enc.name}")
    need = step * rows
    if need > MAX_IMAGE_BYTES:
        raise InvalidMessage(f"image of {need} bytes (step {step} x {rows} rows) above the {MAX_IMAGE_BYTES} byte limit")
    data = _field(msg, "data")
    have = _data_len(data)
    if have < need:
        raise InvalidMessage(f"data has {have} bytes, {enc.name} {width}x{height} with step {step} needs {need}")
    buf = _as_bytes(data)[:need]

    try:
        if enc.kind == "yuv444sp":
            y = buf[: step * height].reshape(height, step)[:, :width]
            uv = buf[step * height:].reshape(height, 2 * step)[:, : 2 * width]
            return _yuv444_to_rgb(y, uv[:, 0::2], uv[:, 1::2])
        plane = buf.reshape(rows, step)[:, :row_bytes]
        if enc.depth_bytes == 2:
            plane = _high_bytes(plane, big_endian)
        if enc.kind == "packed":
            pixels = plane.reshape(height, width, enc.channels) if enc.channels > 1 else plane
            if enc.order == "rgb":
                return np.array(pixels, dtype=np.uint8, order="C")
            return cv2.cvtColor(np.ascontiguousarray(pixels), _TO_RGB[enc.order])
        if enc.kind == "yuv422":
            plane = plane.reshape(height, width, 2)
        return cv2.cvtColor(np.ascontiguousarray(plane), enc.cv_code)
    except cv2.error as exc:  # not expected after the checks above; keep the contract anyway
        raise InvalidMessage(f"OpenCV could not convert {enc.name} {width}x{height}: {str(exc).strip()[:120]}") from None


def rgb_to_image_msg(rgb: np.ndarray, header: Any = None):
    """Wrap an RGB array in a sensor_msgs/Image (encoding rgb8, tightly packed).

    Args:
        rgb: (H, W, 3) uint8.
        header: a std_msgs/Header (or an object with `stamp.sec`, `stamp.nanosec`, `frame_id`) copied into
            the message; None leaves the default header.
    Returns:
        sensor_msgs.msg.Image whose `data` was assigned as bytes (far faster than a list).
    Raises:
        ValueError: `rgb` is not (H, W, 3) uint8 with H, W > 0.
    """
    from sensor_msgs.msg import Image

    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError(f"rgb_to_image_msg expects (H, W, 3) uint8, got {rgb.dtype} {rgb.shape}")
    msg = Image()
    if header is not None:
        msg.header = _copy_header(header)
    msg.height, msg.width = int(rgb.shape[0]), int(rgb.shape[1])
    msg.encoding = "rgb8"
    msg.is_bigendian = 0
    msg.step = 3 * msg.width
    msg.data = np.ascontiguousarray(rgb).tobytes()
    return msg


def _copy_header(header: Any):
    from std_msgs.msg import Header

    stamp = _field(header, "stamp")
    return Header(stamp=ns_to_stamp(stamp_to_ns(stamp)), frame_id=str(_field(header, "frame_id")))


# ------------------------------------------------------------------------------------------ camera info

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
    b = _int_field(info, name)
    if b < 0 or b > MAX_IMAGE_SIDE:
        raise InvalidMessage(f"CameraInfo.{name} = {b} out of range")
    return max(b, 1)  # 0 means no binning (sensor_msgs/CameraInfo)


def _roi(info: Any) -> tuple[int, int, int, int]:
    """(x_offset, y_offset, width, height) of CameraInfo.roi; all zero when absent (= full image)."""
    roi = getattr(info, "roi", None)
    if roi is None:
        return 0, 0, 0, 0
    values = tuple(_int_field(roi, n) for n in ("x_offset", "y_offset", "width", "height"))
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
    w, h = _int_field(info, "width"), _int_field(info, "height")
    if w <= 0 or h <= 0:
        return
    _, _, roi_w, roi_h = _roi(info)
    if roi_w > 0 and roi_h > 0:
        w, h = roi_w, roi_h
    w, h = w // _binning(info, "binning_x"), h // _binning(info, "binning_y")
    iw, ih = _int_field(image, "width"), _int_field(image, "height")
    if (iw, ih) != (w, h):
        raise InvalidMessage(f"CameraInfo is for {w}x{h} images but the image is {iw}x{ih}")


# -------------------------------------------------------------------------------------------------- time

_NS = 1_000_000_000


def stamp_to_ns(stamp: Any) -> int:
    """builtin_interfaces/Time (or anything with integer `sec`, `nanosec`) -> integer nanoseconds."""
    sec, nanosec = _int_field(stamp, "sec"), _int_field(stamp, "nanosec")
    return sec * _NS + nanosec


def ns_to_stamp(ns: int):
    """Integer nanoseconds -> builtin_interfaces.msg.Time (nanosec in [0, 1e9), sec floored).

    Returns a (sec, nanosec) tuple when builtin_interfaces is not importable.
    Raises:
        ValueError: `sec` would not fit the message's int32.
    """
    sec, nanosec = divmod(operator.index(ns), _NS)
    if not -(2**31) <= sec < 2**31:
        raise ValueError(f"stamp {ns} ns outside the int32 seconds of builtin_interfaces/Time")
    try:
        from builtin_interfaces.msg import Time
    except ImportError:
        return sec, nanosec
    return Time(sec=sec, nanosec=nanosec)


# ------------------------------------------------------------------------------------- results -> msgs

def _publishable(result: FrameResult) -> list[int]:
    """Indices of the persons that are published: finite root and at least one finite refined joint."""
    keep = []
    for i, p in enumerate(result.persons):
        joints = np.asarray(p.joints_m, dtype=np.float64)
        if np.all(np.isfinite(np.asarray(p.root_m, dtype=np.float64))) and np.any(np.all(np.isfinite(joints), axis=-1)):
            keep.append(i)
    return keep


def _clean_joints(joints_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(J, 3) joints with every joint that has a non-finite coordinate set to NaN, and the (J,) finite mask."""
    j = np.array(joints_m, dtype=np.float64).reshape(-1, 3)
    ok = np.all(np.isfinite(j), axis=1)
    j[~ok] = np.nan
    return j, ok


def _unit(value: float) -> float:
    v = float(value)
    return min(max(v, 0.0), 1.0) if math.isfinite(v) else 0.0


def _bbox_roi(p: PersonResult, image_size: tuple[int, int]):
    """Box -> RegionOfInterest clipped to the image (non-negative ints). A non-finite box falls back to the
    bounds of the finite 2D joints, else an all-zero ROI."""
    from sensor_msgs.msg import RegionOfInterest

    box = np.asarray(p.bbox_xywh, dtype=np.float64).reshape(-1)
    if box.size == 4 and np.all(np.isfinite(box)):
        x0, y0, x1, y1 = box[0], box[1], box[0] + max(box[2], 0.0), box[1] + max(box[3], 0.0)
    else:
        uv = np.asarray(p.joints_2d, dtype=np.float64).reshape(-1, 2)
        uv = uv[np.all(np.isfinite(uv), axis=1)]
        if uv.size == 0:
            return RegionOfInterest()
        (x0, y0), (x1, y1) = uv.min(axis=0), uv.max(axis=0)
    width, height = (int(v) for v in image_size)
    hi_x = width if width > 0 else 2**32 - 1
    hi_y = height if height > 0 else 2**32 - 1
    ix0, iy0 = int(np.clip(math.floor(x0), 0, hi_x)), int(np.clip(math.floor(y0), 0, hi_y))
    ix1, iy1 = int(np.clip(math.ceil(x1), 0, hi_x)), int(np.clip(math.ceil(y1), 0, hi_y))
    return RegionOfInterest(x_offset=ix0, y_offset=iy0, width=max(ix1 - ix0, 0), height=max(iy1 - iy0, 0))


def _points(joints: np.ndarray) -> list:
    from geometry_msgs.msg import Point

    return [Point(x=x, y=y, z=z) for x, y, z in joints.tolist()]


def _float32_array(values: np.ndarray) -> array.array:
    out = array.array("f")
    out.frombytes(np.ascontiguousarray(values, dtype=np.float32).tobytes())
    return out


def frame_result_to_msg(result: FrameResult):
    """FrameResult -> pinet_ros/MultiPerson3DPose.

    header: stamp from `stamp_ns`, `frame_id` copied. joint_names and bones from `result.joint_set`.
    Per person: id, score (clipped to 0..1, non-finite -> 0), bbox as a RegionOfInterest clipped to
    `image_size` with non-negative integer offsets/sizes, root, joints (refined), joints_initial,
    joint_confidence (clipped to 0..1). interaction: the (N, N) matrix flattened row-major as float32
    (non-finite entries -> 0), empty when `result.interaction` is None.

    Non-finite rule (a NaN must never turn into a plausible point such as the origin):
      - a person whose root or every refined joint is non-finite is dropped, together with its row and
        column of `interaction`;
      - a refined joint with any non-finite coordinate is published as (NaN, NaN, NaN) with confidence 0, so
        consumers that gate on confidence skip it and those that do not see NaN, not a position;
      - a non-finite initial joint is published as (NaN, NaN, NaN).

    Raises:
        ValueError: `interaction` is not (N, N) for N persons, or an id does not fit uint32.
    """
    from pinet_ros.msg import MultiPerson3DPose, Person3DPose
    from geometry_msgs.msg import Point
    from std_msgs.msg import Header

    keep = _publishable(result)
    msg = MultiPerson3DPose()
    msg.header = Header(stamp=ns_to_stamp(result.stamp_ns), frame_id=str(result.frame_id))
    msg.joint_names = list(result.joint_set.joint_names)
    msg.bones = bytes(result.joint_set.bones_flat())
    persons = []
    for i in keep:
        p = result.persons[i]
        pid = operator.index(p.id)
        if not 0 <= pid < 2**32:
            raise ValueError(f"person id {pid} does not fit the message's uint32")
        joints, ok = _clean_joints(p.joints_m)
        initial, _ = _clean_joints(p.joints_initial_m)
        conf = np.clip(np.nan_to_num(np.asarray(p.joint_confidence, dtype=np.float64).reshape(-1),
                                     nan=0.0, posinf=0.0, neginf=0.0), 0.0, 1.0)
        if conf.shape != ok.shape:
            raise ValueError(f"person {pid}: {conf.size} confidences for {ok.size} joints")
        conf[~ok] = 0.0
        root = np.asarray(p.root_m, dtype=np.float64).reshape(3)
        person = Person3DPose()
        person.id = pid
        person.score = _unit(p.score)
        person.bbox = _bbox_roi(p, result.image_size)
        person.root = Point(x=float(root[0]), y=float(root[1]), z=float(root[2]))
        person.joints = _points(joints)
        person.joints_initial = _points(initial)
        person.joint_confidence = _float32_array(conf)
        persons.append(person)
    msg.persons = persons
    if result.interaction is not None:
        n = len(result.persons)
        inter = np.asarray(result.interaction, dtype=np.float64)
        if inter.shape != (n, n):
            raise ValueError(f"interaction has shape {inter.shape}, expected ({n}, {n})")
        inter = inter[np.ix_(keep, keep)]
        msg.interaction = _float32_array(np.where(np.isfinite(inter), inter, 0.0).ravel())
    return msg


def _xyz(points: Any, what: str) -> np.ndarray:
    try:
        return np.array([[p.x, p.y, p.z] for p in points], dtype=np.float64).reshape(-1, 3)
    except (AttributeError, TypeError, ValueError):
        raise InvalidMessage(f"{what} is not a list of geometry_msgs/Point") from None


def frame_result_from_msg(msg: Any) -> FrameResult:
    """pinet_ros/MultiPerson3DPose (rclpy or duck-typed, e.g. read from a bag) -> FrameResult, for offline tools.

    The inverse of `frame_result_to_msg` for everything the message carries. What it does not carry:
    `image_size` becomes (0, 0) (unknown), `joints_2d` all NaN, `timings_ms` empty. `bbox_xywh` is the ROI as
    floats. `joint_set` is MUPOTS17 when the names match it, else a JointSet built from the message's
    joint_names and bones (root = "pelvis" when present, else 0). `interaction` is (N, N), or None when empty.

    Raises:
        InvalidMessage: a person's joints, joints_initial or joint_confidence do not have one entry per joint
            name, bones index outside joint_names, or interaction is neither empty nor N*N long.
    """
    header = _field(msg, "header")
    names = tuple(str(n) for n in _field(msg, "joint_names"))
    flat = [int(b) for b in _field(msg, "bones")]
    if len(flat) % 2 or any(not 0 <= b < len(names) for b in flat):
        raise InvalidMessage(f"bones {flat[:8]}... do not index {len(names)} joint names in pairs")
    pairs = tuple(zip(flat[0::2], flat[1::2]))
    if names == MUPOTS17.joint_names and pairs == MUPOTS17.bones:
        joint_set = MUPOTS17
    else:
        joint_set = JointSet(name="from_msg", joint_names=names, bones=pairs, flip_pairs=(),
                             root=names.index("pelvis") if "pelvis" in names else 0)
    n_joints = len(names)
    persons = []
    for p in _field(msg, "persons"):
        joints = _xyz(p.joints, "joints")
        initial = _xyz(p.joints_initial, "joints_initial")
        conf = np.asarray(p.joint_confidence, dtype=np.float64).reshape(-1)
        if not len(joints) == len(initial) == conf.size == n_joints:
            raise InvalidMessage(f"person {p.id}: {len(joints)} joints, {len(initial)} initial joints and "
                                 f"{conf.size} confidences for {n_joints} joint names")
        roi = p.bbox
        persons.append(PersonResult(
            id=int(p.id), score=float(p.score),
            bbox_xywh=np.array([roi.x_offset, roi.y_offset, roi.width, roi.height], dtype=np.float64),
            root_m=np.array([p.root.x, p.root.y, p.root.z], dtype=np.float64), joints_m=joints,
            joints_initial_m=initial, joints_2d=np.full((n_joints, 2), np.nan), joint_confidence=conf))
    inter = np.asarray(_field(msg, "interaction"), dtype=np.float64).reshape(-1)
    n = len(persons)
    if inter.size not in (0, n * n):
        raise InvalidMessage(f"interaction has {inter.size} values for {n} persons")
    return FrameResult(stamp_ns=stamp_to_ns(_field(header, "stamp")), frame_id=str(_field(header, "frame_id")),
                       image_size=(0, 0), persons=persons,
                       interaction=inter.reshape(n, n) if inter.size else None,
                       joint_set=joint_set)


MARKER_NAMESPACES = ("pinet_bones", "pinet_joints", "pinet_labels")
"""Namespaces of the per-person LINE_LIST, SPHERE_LIST and TEXT_VIEW_FACING markers; marker id = the
person's index in the published list, so every frame reuses the same (ns, id) pairs."""


def frame_result_to_markers(result: FrameResult, lifetime_s: float = 0.5, line_width_m: float = 0.03,
                            joint_diameter_m: float = 0.06, text_height_m: float = 0.15):
    """FrameResult -> visualization_msgs/MarkerArray for RViz.

    Marker 0 is DELETEALL, so people who left the view never linger. Then, per published person (the same
    persons as `frame_result_to_msg`, in the same order, index i): a LINE_LIST of the refined bones whose two
    ends are finite (ns "pinet_bones", id i), a SPHERE_LIST of the finite refined joints ("pinet_joints", i)
    and a TEXT_VIEW_FACING label "id <id>" 0.2 m above the highest joint ("pinet_labels", i). All markers are
    in `result.frame_id` with the image stamp, coloured `color_for_id(person.id)` (opaque), and expire after
    `lifetime_s` seconds (0 = never) in case the node stops publishing.

    Args:
        lifetime_s: marker lifetime, seconds, finite and >= 0.
        line_width_m, joint_diameter_m, text_height_m: sizes in metres.
    """
    from builtin_interfaces.msg import Duration
    from geometry_msgs.msg import Point
    from std_msgs.msg import ColorRGBA, Header
    from visualization_msgs.msg import Marker, MarkerArray

    if not (math.isfinite(lifetime_s) and lifetime_s >= 0):
        raise ValueError(f"lifetime_s must be finite and >= 0, got {lifetime_s}")
    stamp = ns_to_stamp(result.stamp_ns)
    frame_id = str(result.frame_id)
    lifetime_ns = int(round(lifetime_s * _NS))
    lifetime = Duration(sec=lifetime_ns // _NS, nanosec=lifetime_ns % _NS)

    def marker(ns: str, mid: int, mtype: int, rgb: tuple[float, float, float]) -> Marker:
        m = Marker(header=Header(stamp=stamp, frame_id=frame_id), ns=ns, id=mid, type=mtype, action=Marker.ADD)
        m.pose.orientation.w = 1.0
        m.color = ColorRGBA(r=rgb[0], g=rgb[1], b=rgb[2], a=1.0)
        m.lifetime = lifetime
        return m

    clear = Marker(header=Header(stamp=stamp, frame_id=frame_id), action=Marker.DELETEALL)
    markers = [clear]
    bones = np.asarray(result.joint_set.bones, dtype=np.intp).reshape(-1, 2)
    for i, pi in enumerate(_publishable(result)):
        p = result.persons[pi]
        rgb = color_for_id(int(p.id))
        joints, ok = _clean_joints(p.joints_m)

        lines = marker(MARKER_NAMESPACES[0], i, Marker.LINE_LIST, rgb)
        drawn = bones[ok[bones[:, 0]] & ok[bones[:, 1]]] if bones.size else bones
        lines.points = _points(joints[drawn.reshape(-1)])
        lines.scale.x = float(line_width_m)

        spheres = marker(MARKER_NAMESPACES[1], i, Marker.SPHERE_LIST, rgb)
        spheres.points = _points(joints[ok])
        spheres.scale.x = spheres.scale.y = spheres.scale.z = float(joint_diameter_m)

        label = marker(MARKER_NAMESPACES[2], i, Marker.TEXT_VIEW_FACING, rgb)
        top = joints[ok][np.argmin(joints[ok][:, 1])]  # optical frame: y points down
        label.pose.position = Point(x=float(top[0]), y=float(top[1]) - 0.2, z=float(top[2]))
        label.scale.z = float(text_height_m)
        label.text = f"id {int(p.id)}"
        markers += [lines, spheres, label]
    return MarkerArray(markers=markers)
