"""Person boxes and 256x256 crops as used by 3DMPPE RootNet/PoseNet (numpy + cv2; no torch, no rclpy).

Boxes are (x, y, w, h) in image pixels, (x, y) the top-left corner.
"""

from __future__ import annotations

import numpy as np


def process_box(bbox_xywh: np.ndarray | tuple[float, float, float, float], image_w: int, image_h: int,
                aspect: float = 1.0, scale: float = 1.25) -> np.ndarray:
    """Clip a detection box to the image, grow its shorter side to `aspect` (w/h), scale w and h about the centre.

    Args:
        bbox_xywh: (4,) raw box (px).
        image_w, image_h: image size (px).
        aspect: target width/height ratio.
        scale: factor applied to width and height after the aspect fix.
    Returns:
        (4,) float64 processed box (px); it may extend beyond the image.
    Raises:
        ValueError: the box is empty after clipping or not finite.
    """
    x, y, w, h = (float(v) for v in np.asarray(bbox_xywh, dtype=np.float64).reshape(4))
    if not all(np.isfinite([x, y, w, h])):
        raise ValueError(f"box not finite: {(x, y, w, h)}")
    x1, y1 = max(0.0, x), max(0.0, y)
    x2, y2 = min(float(image_w - 1), x + max(0.0, w - 1.0)), min(float(image_h - 1), y + max(0.0, h - 1.0))
    if w <= 0 or h <= 0 or x2 < x1 or y2 < y1:
        raise ValueError(f"box {(x, y, w, h)} is empty inside a {image_w}x{image_h} image")
    w, h = x2 - x1, y2 - y1
    if w <= 0 or h <= 0:
        raise ValueError(f"box {(x, y, w, h)} is degenerate after clipping")
    cx, cy = x1 + w / 2.0, y1 + h / 2.0
    if w > aspect * h:
        h = w / aspect
    elif w < aspect * h:
        w = h * aspect
    w, h = w * scale, h * scale
    return np.array([cx - w / 2.0, cy - h / 2.0, w, h], dtype=np.float64)


def crop_affine(box_xywh: np.ndarray, out_size: int = 256) -> np.ndarray:
    """(2, 3) float64 affine matrix mapping image px to crop px: the box fills the `out_size` square crop."""
    x, y, w, h = (float(v) for v in np.asarray(box_xywh, dtype=np.float64).reshape(4))
    if w <= 0 or h <= 0:
        raise ValueError(f"box must have positive size, got {(x, y, w, h)}")
    sx, sy = out_size / w, out_size / h
    return np.array([[sx, 0.0, -x * sx], [0.0, sy, -y * sy]], dtype=np.float64)


def crop_affine_inverse(box_xywh: np.ndarray, out_size: int = 256) -> np.ndarray:
    """(2, 3) float64 affine matrix mapping crop px back to image px (inverse of `crop_affine`)."""
    x, y, w, h = (float(v) for v in np.asarray(box_xywh, dtype=np.float64).reshape(4))
    if w <= 0 or h <= 0:
        raise ValueError(f"box must have positive size, got {(x, y, w, h)}")
    sx, sy = w / out_size, h / out_size
    return np.array([[sx, 0.0, x], [0.0, sy, y]], dtype=np.float64)


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a (2, 3) affine matrix to (..., 2) points; returns (..., 2) float64."""
    p = np.asarray(points, dtype=np.float64)
    m = np.asarray(matrix, dtype=np.float64)
    return p @ m[:, :2].T + m[:, 2]


def crop_image(image_rgb: np.ndarray, box: np.ndarray, out: int = 256) -> np.ndarray:
    """Bilinear crop of `box` (processed xywh, px) resized to (out, out); outside the image is black.

    Args:
        image_rgb: (H, W, 3) image, any dtype cv2 handles (uint8 typical).
    Returns:
        (out, out, 3) crop with the input dtype.
    """
    import cv2

    m = crop_affine(box, out)
    return cv2.warpAffine(image_rgb, m, (out, out), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
