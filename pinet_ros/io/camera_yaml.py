"""Read a ROS camera_calibration YAML file (what `camera_calibration` / camera_info_manager write).

The format (only `camera_matrix` is required; sizes are checked when present)::

    image_width: 640
    image_height: 480
    camera_name: my_camera
    camera_matrix: {rows: 3, cols: 3, data: [fx, 0, cx, 0, fy, cy, 0, 0, 1]}
    distortion_model: plumb_bob
    distortion_coefficients: {rows: 1, cols: 5, data: [k1, k2, t1, t2, k3]}
    rectification_matrix: {rows: 3, cols: 3, data: [...]}
    projection_matrix: {rows: 3, cols: 4, data: [...]}

Like the pipeline, we use the raw camera's K (`camera_matrix`); distortion is read and kept but not applied.
No rclpy, no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from pinet_ros.core.camera import Intrinsics

__all__ = ["CameraCalibration", "CameraYamlError", "assumed_intrinsics", "read_camera_yaml"]


class CameraYamlError(ValueError):
    """A camera YAML file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class CameraCalibration:
    """A camera calibration read from YAML.

    Attributes:
        intrinsics: fx, fy, cx, cy from `camera_matrix`, pixels.
        width, height: image size the calibration is for, pixels; None when the file does not say.
        camera_name: `camera_name`, "" when absent.
        distortion_model: e.g. "plumb_bob", "" when absent.
        distortion: (N,) float64 distortion coefficients (may be empty); not applied by pinet_ros.
        path: the file it was read from.
    """

    intrinsics: Intrinsics
    width: int | None
    height: int | None
    camera_name: str
    distortion_model: str
    distortion: np.ndarray
    path: Path

    def check_size(self, width: int, height: int, what: str) -> None:
        """Raise CameraYamlError when the file states an image size other than `width` x `height` of `what`."""
        if self.width is not None and self.height is not None and (self.width, self.height) != (width, height):
            raise CameraYamlError(f"camera YAML {self.path} is for {self.width}x{self.height} images but "
                                  f"{what} is {width}x{height}")


def _matrix(doc: dict, key: str, rows: int, cols: int | None, path: Path, required: bool) -> np.ndarray | None:
    """`doc[key]` = {rows, cols, data} as a float64 array of shape (rows, cols) (cols None: any count)."""
    if key not in doc or doc[key] is None:
        if required:
            raise CameraYamlError(f"camera YAML {path} has no '{key}' (expected {{rows: {rows}, cols: "
                                  f"{cols}, data: [...]}})")
        return None
    entry = doc[key]
    if not isinstance(entry, dict) or "data" not in entry:
        raise CameraYamlError(f"camera YAML {path}: '{key}' must be a mapping with rows, cols and data")
    data = entry["data"]
    if not isinstance(data, (list, tuple)) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in data):
        raise CameraYamlError(f"camera YAML {path}: '{key}.data' must be a list of numbers, got {data!r:.80}")
    values = np.asarray(data, dtype=np.float64)
    r, c = entry.get("rows", rows), entry.get("cols", cols if cols is not None else values.size)
    if not isinstance(r, int) or not isinstance(c, int) or r * c != values.size:
        raise CameraYamlError(f"camera YAML {path}: '{key}' says rows={r!r} cols={c!r} but has "
                              f"{values.size} values")
    if r != rows or (cols is not None and c != cols):
        raise CameraYamlError(f"camera YAML {path}: '{key}' must be {rows}x{cols if cols is not None else 'N'}, "
                              f"got {r}x{c}")
    if not np.all(np.isfinite(values)):
        raise CameraYamlError(f"camera YAML {path}: '{key}' has non-finite values")
    return values.reshape(r, c)


def _size(doc: dict, key: str, path: Path) -> int | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise CameraYamlError(f"camera YAML {path}: '{key}' must be a positive integer, got {value!r}")
    return value


def read_camera_yaml(path: str | Path) -> CameraCalibration:
    """Read a ROS camera_calibration YAML file.

    Args:
        path: the .yaml file.
    Returns:
        CameraCalibration with intrinsics from `camera_matrix` (fx = K[0,0], fy = K[1,1], cx = K[0,2],
        cy = K[1,2], pixels).
    Raises:
        CameraYamlError: the file is missing, is not YAML, is not a mapping, has no or a malformed
            `camera_matrix` (not 3x3, non-numeric, fx/fy <= 0, last row not [0, 0, 1]), or bad sizes.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise CameraYamlError(f"cannot read camera YAML {path}: {exc.strerror or exc}") from None
    try:
        doc: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CameraYamlError(f"camera YAML {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        raise CameraYamlError(f"camera YAML {path} must be a mapping with camera_matrix, got "
                              f"{type(doc).__name__}")
    k = _matrix(doc, "camera_matrix", 3, 3, path, required=True)
    assert k is not None
    if not np.allclose(k[2], [0.0, 0.0, 1.0]):
        raise CameraYamlError(f"camera YAML {path}: camera_matrix last row must be [0, 0, 1], got {k[2].tolist()}")
    try:
        intrinsics = Intrinsics(fx=k[0, 0], fy=k[1, 1], cx=k[0, 2], cy=k[1, 2])
    except ValueError as exc:
        raise CameraYamlError(f"camera YAML {path}: camera_matrix: {exc}") from None
    dist = _matrix(doc, "distortion_coefficients", 1, None, path, required=False)
    model = doc.get("distortion_model", "") or ""
    name = doc.get("camera_name", "") or ""
    return CameraCalibration(
        intrinsics=intrinsics, width=_size(doc, "image_width", path), height=_size(doc, "image_height", path),
        camera_name=str(name), distortion_model=str(model),
        distortion=dist.reshape(-1) if dist is not None else np.zeros(0), path=path)


def assumed_intrinsics(width: int, height: int) -> Intrinsics:
    """The documented fallback pinhole for uncalibrated media: fx = fy = image width, principal point at
    the image centre (width / 2, height / 2), pixels. A ~53 degree horizontal field of view, typical of webcams
    and phone video; absolute depths scale with the true focal length, so calibrate for metric accuracy."""
    if width <= 0 or height <= 0 or not math.isfinite(width) or not math.isfinite(height):
        raise ValueError(f"image size must be positive, got {width}x{height}")
    return Intrinsics(fx=float(width), fy=float(width), cx=width / 2.0, cy=height / 2.0)
