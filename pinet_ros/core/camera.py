"""Pinhole camera intrinsics with projection and back-projection (numpy only; no torch, no rclpy)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


MIN_FOCAL_PX = 1.0
"""Smallest focal length accepted by `Intrinsics.check_plausible`, pixels."""
MAX_FOCAL_IMAGE_WIDTHS = 1000.0
"""Largest focal length accepted by `Intrinsics.check_plausible`, in image sides (a 0.06 degree field of view)."""


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics, all in pixels.

    Attributes:
        fx, fy: focal lengths (px), positive and finite.
        cx, cy: principal point (px), finite.
    Raises:
        ValueError: a focal length is not positive and finite, or a principal point is not finite.
    """

    fx: float
    fy: float
    cx: float
    cy: float

    def __post_init__(self) -> None:
        for name in ("fx", "fy", "cx", "cy"):
            value = getattr(self, name)
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"Intrinsics.{name} must be a number, got {value!r}") from None
            if not math.isfinite(value):
                raise ValueError(f"Intrinsics.{name} must be finite, got {value}")
            if name in ("fx", "fy") and value <= 0.0:
                raise ValueError(f"Intrinsics.{name} must be positive, got {value}")
            object.__setattr__(self, name, value)

    @property
    def focal(self) -> tuple[float, float]:
        """(fx, fy) in px."""
        return self.fx, self.fy

    def project(self, points_cam_mm: np.ndarray) -> np.ndarray:
        """Project camera-frame points to pixels.

        Args:
            points_cam_mm: (..., 3) points (x right, y down, z forward), any length unit (mm by convention); z > 0.
        Returns:
            (..., 2) float64 pixel coordinates (u, v).
        """
        p = np.asarray(points_cam_mm, dtype=np.float64)
        if p.shape[-1] != 3:
            raise ValueError(f"project expects (..., 3) points, got shape {p.shape}")
        z = p[..., 2]
        u = p[..., 0] / z * self.fx + self.cx
        v = p[..., 1] / z * self.fy + self.cy
        return np.stack([u, v], axis=-1)

    def check_plausible(self, width: int, height: int) -> None:
        """Check that these intrinsics make physical sense for a `width` x `height` image.

        Values that are valid numbers but absurd (a focal length of 1e-300 px, a principal point far outside
        the image) make the lift overflow or put people at nonsense depths, so they are invalid input.
        Accepted: 1 px <= fx, fy <= `MAX_FOCAL_IMAGE_WIDTHS` x max(width, height) px, and a principal point at
        most one image size outside the image (-width <= cx <= 2 width, same for cy).

        Raises:
            ValueError: with a one-line reason naming the value and the accepted range.
        """
        if width <= 0 or height <= 0:
            raise ValueError(f"image size {width}x{height} is empty")
        side = max(width, height)
        for name, f in (("fx", self.fx), ("fy", self.fy)):
            if not MIN_FOCAL_PX <= f <= MAX_FOCAL_IMAGE_WIDTHS * side:
                raise ValueError(f"{name} = {f:.6g} px is not a physical focal length for a {width}x{height} image "
                                 f"(accepted {MIN_FOCAL_PX:g} .. {MAX_FOCAL_IMAGE_WIDTHS * side:g} px)")
        for name, c, size in (("cx", self.cx, width), ("cy", self.cy, height)):
            if not -size <= c <= 2 * size:
                raise ValueError(f"principal point {name} = {c:.6g} px is more than an image size outside the "
                                 f"{width}x{height} image (accepted {-size} .. {2 * size} px)")

    def back_project(self, uv: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Lift pixels at given depths to camera-frame points.

        Args:
            uv: (..., 2) pixel coordinates (px).
            depth: (...) depth along the optical axis (z), same unit as the result (mm by convention).
        Returns:
            (..., 3) float64 camera-frame points.
        """
        uv = np.asarray(uv, dtype=np.float64)
        z = np.asarray(depth, dtype=np.float64)
        if uv.shape[-1] != 2:
            raise ValueError(f"back_project expects (..., 2) pixels, got shape {uv.shape}")
        z = np.broadcast_to(z, uv.shape[:-1])
        x = (uv[..., 0] - self.cx) / self.fx * z
        y = (uv[..., 1] - self.cy) / self.fy * z
        return np.stack([x, y, z], axis=-1)


def view_rotation(direction: np.ndarray) -> np.ndarray:
    """The smallest rotation that turns the optical axis (0, 0, 1) onto `direction`.

    A pose model that sees a crop around a person off the image centre describes the person as if the camera
    looked straight at them, i.e. in a frame whose z axis is the ray through the person. Multiplying such
    crop-frame points by this matrix expresses them in camera axes.

    Args:
        direction: (3,) any non-zero vector with z > 0 (e.g. the person's translation), camera frame.
    Returns:
        (3, 3) float64 rotation matrix R with R @ (0, 0, 1) = direction / |direction|.
    Raises:
        ValueError: the direction is not finite, is zero, or does not point in front of the camera.
    """
    d = np.asarray(direction, dtype=np.float64).reshape(3)
    norm = float(np.linalg.norm(d))
    if not np.all(np.isfinite(d)) or norm == 0.0 or d[2] <= 0.0:
        raise ValueError(f"view direction must be finite and in front of the camera, got {d.tolist()}")
    d = d / norm
    # Rodrigues for the axis z x d; with c = cos(angle) = d_z > 0 the formula (I + K + K^2 / (1 + c)) is
    # exact and stable (no division by sin).
    kx, ky, c = -d[1], d[0], d[2]
    k = np.array([[0.0, 0.0, ky], [0.0, 0.0, -kx], [-ky, kx, 0.0]])
    return np.eye(3) + k + (k @ k) / (1.0 + c)
