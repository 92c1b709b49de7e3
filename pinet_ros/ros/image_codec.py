"""sensor_msgs/Image <-> RGB numpy arrays, for every camera encoding (numpy + OpenCV; no rclpy at import).

Like cv_bridge, a plain converter: `image_to_rgb` reads fields by name, so it works on rclpy messages and on
duck-typed objects with the same fields (rosbags-deserialised messages, where `data` is a numpy uint8 array).
"""

from __future__ import annotations

import array
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from pinet_ros.ros.fields import InvalidMessage, field as _field, int_field as _int_field, ns_to_stamp, stamp_to_ns

__all__ = ["MAX_IMAGE_BYTES", "MAX_IMAGE_SIDE", "SUPPORTED_ENCODINGS", "copy_header", "image_to_rgb",
           "rgb_to_image_msg"]

MAX_IMAGE_SIDE = 16384
"""Largest accepted image width or height, pixels."""
MAX_IMAGE_BYTES = 1 << 30
"""Largest accepted `step * rows` of an image, bytes (1 GiB)."""


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
        msg.header = copy_header(header)
    msg.height, msg.width = int(rgb.shape[0]), int(rgb.shape[1])
    msg.encoding = "rgb8"
    msg.is_bigendian = 0
    msg.step = 3 * msg.width
    msg.data = np.ascontiguousarray(rgb).tobytes()
    return msg


def copy_header(header: Any):
    """A std_msgs/Header with `header`'s stamp and frame_id (validated)."""
    from std_msgs.msg import Header

    stamp = _field(header, "stamp")
    return Header(stamp=ns_to_stamp(stamp_to_ns(stamp)), frame_id=str(_field(header, "frame_id")))
