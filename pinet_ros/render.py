"""Pictures of a FrameResult (numpy + OpenCV only; no torch, no rclpy).

`draw_overlay` draws the 2D result on the camera image (the node's ~/debug_image, the `process` tool's
videos); `plot_skeletons_3d` writes a PNG of every 3D skeleton seen from the front and from above, initial
(before PI-Net) dashed and faded, refined solid. Colours per tracking id come from `core.colors`, the same as
the RViz markers.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from pinet_ros.core.colors import color_for_id_rgb8
from pinet_ros.core.result import FrameResult

__all__ = ["draw_overlay", "plot_skeletons_3d"]

_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _check_rgb(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {rgb.dtype} {rgb.shape}")
    return rgb


def _finite_px(points: np.ndarray, limit: float = 1e5) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) float pixels -> int32 pixels and the mask of finite, not absurd ones (cv2 wants int32)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    ok = np.all(np.isfinite(pts), axis=1) & np.all(np.abs(pts) < limit, axis=1)
    out = np.zeros(pts.shape, np.int32)
    out[ok] = np.rint(pts[ok]).astype(np.int32)
    return out, ok


def draw_overlay(rgb: np.ndarray, result: FrameResult, min_joint_confidence: float = 0.1) -> np.ndarray:
    """Draw boxes, 2D skeletons and id labels of `result` on a copy of `rgb`.

    Args:
        rgb: (H, W, 3) uint8 RGB source image (not modified).
        result: its FrameResult; `joints_2d` (17, 2) and `bbox_xywh` are in `rgb`'s pixels.
        min_joint_confidence: joints below it (and their bones) are not drawn.
    Returns:
        (H, W, 3) uint8 RGB copy with the drawing. Line widths scale with the image size. Non-finite boxes
        and joints are skipped.
    """
    out = np.array(_check_rgb(rgb), order="C", copy=True)
    h, w = out.shape[:2]
    thick = max(1, int(round(max(h, w) / 320)))
    bones = np.asarray(result.joint_set.bones, dtype=np.intp).reshape(-1, 2)
    for p in result.persons:
        color = color_for_id_rgb8(int(p.id))
        px, ok = _finite_px(p.joints_2d)
        conf = np.nan_to_num(np.asarray(p.joint_confidence, dtype=np.float64).reshape(-1), nan=0.0)
        if conf.shape == ok.shape:
            ok &= conf >= min_joint_confidence
        for a, b in bones:
            if ok[a] and ok[b]:
                cv2.line(out, tuple(px[a]), tuple(px[b]), color, thick, cv2.LINE_AA)
        for j in np.flatnonzero(ok):
            cv2.circle(out, tuple(px[j]), thick + 1, color, -1, cv2.LINE_AA)
        box = np.asarray(p.bbox_xywh, dtype=np.float64).reshape(-1)
        if box.size == 4 and np.all(np.isfinite(box)) and np.all(np.abs(box) < 1e5):
            x0, y0 = int(round(box[0])), int(round(box[1]))
            x1, y1 = int(round(box[0] + box[2])), int(round(box[1] + box[3]))
            cv2.rectangle(out, (x0, y0), (x1, y1), color, thick, cv2.LINE_AA)
            label = f"id {int(p.id)}  {float(p.score):.2f}"
            scale = 0.4 * thick
            (tw, th), base = cv2.getTextSize(label, _FONT, scale, thick)
            ty = y0 - 4 if y0 - th - base - 4 >= 0 else y0 + th + 4
            cv2.rectangle(out, (x0, ty - th - 2), (x0 + tw + 4, ty + base), color, -1)
            cv2.putText(out, label, (x0 + 2, ty), _FONT, scale, (0, 0, 0), thick, cv2.LINE_AA)
    return out


def _faded(color: tuple[int, int, int], amount: float = 0.55) -> tuple[int, int, int]:
    return tuple(int(round(c + (255 - c) * amount)) for c in color)  # type: ignore[return-value]


def _dashed_line(img: np.ndarray, p0: np.ndarray, p1: np.ndarray, color, thickness: int, dash_px: int = 6) -> None:
    length = float(np.hypot(*(p1 - p0)))
    n = max(1, int(length // dash_px))
    for k in range(0, n, 2):
        a = p0 + (p1 - p0) * (k / n)
        b = p0 + (p1 - p0) * (min(k + 1, n) / n)
        cv2.line(img, tuple(np.rint(a).astype(int)), tuple(np.rint(b).astype(int)), color, thickness, cv2.LINE_AA)


def _nice_step(span: float) -> float:
    """A 1/2/5 x 10^k grid step giving roughly 4-8 lines over `span` metres."""
    raw = span / 5.0
    mag = 10.0 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1.0, 2.0, 5.0, 10.0) if m * mag >= raw)


def _panel(result: FrameResult, axes: tuple[int, int], flip_v: bool, names: tuple[str, str], title: str,
           size: int) -> np.ndarray:
    """One orthographic view: horizontal = coordinate axes[0], vertical = axes[1] (flipped when flip_v)."""
    img = np.full((size, size, 3), 255, np.uint8)
    bones = np.asarray(result.joint_set.bones, dtype=np.intp).reshape(-1, 2)
    people = []
    for p in result.persons:
        for joints, refined in ((p.joints_initial_m, False), (p.joints_m, True)):
            j = np.asarray(joints, dtype=np.float64).reshape(-1, 3)[:, list(axes)]
            if flip_v:
                j[:, 1] = -j[:, 1]
            people.append((p, j, np.all(np.isfinite(j), axis=1), refined))
    finite = [j[ok] for _, j, ok, _ in people if ok.any()]
    margin = 48
    cv2.putText(img, title, (8, 20), _FONT, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    if not finite:
        cv2.putText(img, "no people", (size // 2 - 40, size // 2), _FONT, 0.6, (120, 120, 120), 1, cv2.LINE_AA)
        return img
    pts = np.concatenate(finite)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = max(float(np.max(hi - lo)), 0.5) * 1.1
    centre = (lo + hi) / 2.0
    scale = (size - 2 * margin) / span  # px per metre, the same on both axes

    def to_px(xy: np.ndarray) -> np.ndarray:
        return (xy - centre) * scale + size / 2.0

    step = _nice_step(span)
    for axis in (0, 1):
        first = math.ceil((centre[axis] - span / 2) / step)
        last = math.floor((centre[axis] + span / 2) / step)
        for k in range(first, last + 1):
            value = k * step
            coord = int(round((value - centre[axis]) * scale + size / 2.0))
            shown = (-value if (axis == 1 and flip_v) else value) + 0.0  # no "-0"
            if axis == 0:
                cv2.line(img, (coord, margin), (coord, size - margin), (225, 225, 225), 1)
                cv2.putText(img, f"{shown:g}", (coord - 10, size - margin + 14), _FONT, 0.35, (110, 110, 110), 1)
            else:
                cv2.line(img, (margin, coord), (size - margin, coord), (225, 225, 225), 1)
                cv2.putText(img, f"{shown:g}", (2, coord + 4), _FONT, 0.35, (110, 110, 110), 1)
    cv2.putText(img, f"{names[0]} (m) ->", (size - margin - 70, size - 8), _FONT, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, f"{names[1]} (m)", (4, margin - 6), _FONT, 0.4, (0, 0, 0), 1, cv2.LINE_AA)

    for p, j, ok, refined in people:  # initial first, so refined draws on top
        color = color_for_id_rgb8(int(p.id))
        px = to_px(np.where(ok[:, None], j, 0.0))
        for a, b in bones:
            if not (ok[a] and ok[b]):
                continue
            if refined:
                cv2.line(img, tuple(np.rint(px[a]).astype(int)), tuple(np.rint(px[b]).astype(int)), color, 2, cv2.LINE_AA)
            else:
                _dashed_line(img, px[a], px[b], _faded(color), 1)
        for q in px[ok]:
            cv2.circle(img, tuple(np.rint(q).astype(int)), 3 if refined else 2,
                       color if refined else _faded(color), -1, cv2.LINE_AA)
        if refined:
            top = px[ok][np.argmin(px[ok][:, 1])]
            cv2.putText(img, f"id {int(p.id)}", (int(top[0]) - 12, int(top[1]) - 8), _FONT, 0.45, color, 1, cv2.LINE_AA)
    return img


def plot_skeletons_3d(result: FrameResult, path: str | Path, title: str = "", panel_px: int = 480) -> np.ndarray:
    """Write a PNG with every person's 3D skeleton from the front and from above.

    Orthographic virtual cameras in the camera optical frame: the front view shows x (right) against y (down
    the page, as in the image, so people stand upright), the top view x against z (forward = up on the
    page). Refined joints are solid, initial (before PI-Net) dashed and faded, one colour per tracking id;
    both views share their scale on both axes and carry a metre grid. Non-finite joints are skipped.

    Args:
        result: the frame; `joints_m`, `joints_initial_m` (17, 3) metres.
        path: output file; PNG bytes are written whatever the suffix; parent folders are created.
        title: text above the views (defaults to frame id and stamp).
        panel_px: side of each square view, pixels (>= 200).
    Returns:
        The (H, W, 3) uint8 RGB picture that was written.
    Raises:
        OSError: the file cannot be written.
    """
    if panel_px < 200:
        raise ValueError(f"panel_px must be >= 200, got {panel_px}")
    # image rows grow downwards like the optical frame's y, so the front view needs no flip to stand upright
    front = _panel(result, (0, 1), False, ("x", "y"), "front (x right, y down)", panel_px)
    top = _panel(result, (0, 2), True, ("x", "z"), "top (x right, z forward)", panel_px)
    header = np.full((36, 2 * panel_px + 8, 3), 255, np.uint8)
    text = title or f"{result.frame_id}  t={result.stamp_ns / 1e9:.3f} s  {len(result.persons)} people"
    cv2.putText(header, text, (8, 24), _FONT, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(header, "solid: refined   dashed: initial", (2 * panel_px - 260, 24), _FONT, 0.45,
                (90, 90, 90), 1, cv2.LINE_AA)
    gap = np.full((panel_px, 8, 3), 200, np.uint8)
    picture = np.concatenate([header, np.concatenate([front, gap, top], axis=1)], axis=0)
    ok, png = cv2.imencode(".png", cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"could not encode the PNG for {path}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png.tobytes())
    return picture
