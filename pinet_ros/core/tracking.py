"""Stable person ids across frames: global assignment on 3D roots and 2D boxes.

Each frame, the cost between every live track and every detection mixes the 3D distance of their roots
(metres, normalised by the distance gate) and the 2D box overlap (1 - IoU); pairs beyond both gates are
forbidden. The distance gate is `max_root_distance_m` up to `depth_ref_m` and grows in proportion to the
detection's depth beyond it, because a monocular root depth's error grows with distance (on vtest.avi's
pedestrians 10-18 m away this halved the number of ids handed out). scipy's Hungarian solver picks the
cheapest one-to-one assignment. Unmatched detections open new tracks with the next id; tracks unseen for
longer than `max_age_s` are dropped. Ids start at 1 (0 means "tracking off" in the messages) and are never
reused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

_FORBIDDEN = 1e6


@dataclass(frozen=True)
class TrackerConfig:
    """Tracker gates.

    Attributes:
        max_root_distance_m: a detection farther than this (3D root distance, metres) from a track's last root
            can only match it by box overlap.
        min_iou: a pair whose boxes overlap less than this can only match by root distance.
        max_age_s: a track unseen for longer than this (seconds of image time) is dropped.
        iou_weight: weight of (1 - IoU) against the normalised root distance in the cost.
        depth_ref_m: beyond this depth (metres) the distance gate is scaled by depth / depth_ref_m.
    """

    max_root_distance_m: float = 0.8
    min_iou: float = 0.1
    max_age_s: float = 2.0
    iou_weight: float = 0.5
    depth_ref_m: float = 4.0

    def __post_init__(self) -> None:
        for name in ("max_root_distance_m", "max_age_s", "depth_ref_m"):
            v = getattr(self, name)
            if not np.isfinite(v) or v <= 0:
                raise ValueError(f"TrackerConfig.{name} must be > 0, got {v!r}")
        if not 0.0 <= self.min_iou <= 1.0:
            raise ValueError(f"TrackerConfig.min_iou must be in [0, 1], got {self.min_iou!r}")
        if not np.isfinite(self.iou_weight) or self.iou_weight < 0:
            raise ValueError(f"TrackerConfig.iou_weight must be >= 0, got {self.iou_weight!r}")


@dataclass
class _Track:
    id: int
    root_m: np.ndarray
    box: np.ndarray
    last_seen_s: float


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of boxes (x, y, w, h).

    Args:
        a: (N, 4) boxes, pixels.
        b: (M, 4) boxes, pixels.
    Returns:
        (N, M) IoU in [0, 1].
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


@dataclass
class Tracker:
    """Assigns persistent ids to the people of consecutive frames of one camera."""

    config: TrackerConfig = field(default_factory=TrackerConfig)
    _tracks: list[_Track] = field(default_factory=list)
    _next_id: int = 1
    _last_time_s: float | None = None

    def reset(self) -> None:
        """Forget every track (ids keep increasing)."""
        self._tracks.clear()
        self._last_time_s = None

    @property
    def num_tracks(self) -> int:
        return len(self._tracks)

    def update(self, roots_m: np.ndarray, boxes_xywh: np.ndarray, time_s: float) -> np.ndarray:
        """Match this frame's people to the tracks.

        Args:
            roots_m: (N, 3) root positions, camera metres.
            boxes_xywh: (N, 4) boxes, pixels.
            time_s: the frame's time, seconds. Time going backwards (a replayed bag, a camera restart)
                resets the tracker instead of matching across the jump.
        Returns:
            (N,) int64 track ids, >= 1, distinct within the frame.
        """
        roots = np.asarray(roots_m, np.float64).reshape(-1, 3)
        boxes = np.asarray(boxes_xywh, np.float64).reshape(-1, 4)
        if len(roots) != len(boxes):
            raise ValueError(f"{len(roots)} roots but {len(boxes)} boxes")
        if self._last_time_s is not None and time_s < self._last_time_s:
            self.reset()
        self._last_time_s = time_s
        cfg = self.config
        self._tracks = [t for t in self._tracks if time_s - t.last_seen_s <= cfg.max_age_s]

        ids = np.zeros(len(roots), np.int64)
        if self._tracks and len(roots):
            t_roots = np.stack([t.root_m for t in self._tracks])
            t_boxes = np.stack([t.box for t in self._tracks])
            dist = np.linalg.norm(t_roots[:, None] - roots[None], axis=2)
            gate = cfg.max_root_distance_m * np.maximum(1.0, np.abs(roots[None, :, 2]) / cfg.depth_ref_m)
            iou = box_iou(t_boxes, boxes)
            cost = dist / gate + cfg.iou_weight * (1.0 - iou)
            allowed = (dist <= gate) | (iou >= cfg.min_iou)
            cost = np.where(allowed & np.isfinite(cost), cost, _FORBIDDEN)
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols):
                if cost[r, c] >= _FORBIDDEN:
                    continue
                track = self._tracks[r]
                track.root_m, track.box, track.last_seen_s = roots[c].copy(), boxes[c].copy(), time_s
                ids[c] = track.id
        for c in np.flatnonzero(ids == 0):
            track = _Track(self._next_id, roots[c].copy(), boxes[c].copy(), time_s)
            self._next_id += 1
            self._tracks.append(track)
            ids[c] = track.id
        return ids
