"""MuPoTS-3D reader: `MuPoTS-3D.json`, the PI-Net release's `MuPoTS-3D_with_posenet_result.json`
(adds `keypoints_cam_posenet`), and RootNet's `bbox_root_mupots_output.json`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from pinet_ros.core.camera import Intrinsics
from pinet_ros.data.annotations import AnnotationError, ImageGroup, load_json, read_groups, require

POSENET_KEY = "keypoints_cam_posenet"
_SEQUENCE = re.compile(r"TS(\d+)/")


def _intrinsics(image: dict, path: Path) -> Intrinsics:
    k = require(image, "intrinsic", path, f"image {image.get('id')}")
    return Intrinsics(fx=float(k[0]), fy=float(k[1]), cx=float(k[2]), cy=float(k[3]))


def sequence_of(file_name: str) -> int:
    """`TS7/img_000012.jpg` -> 7."""
    m = _SEQUENCE.search(file_name)
    if not m:
        raise AnnotationError(f"MuPoTS file name without a TS<n>/ sequence: {file_name}")
    return int(m.group(1))


def read_mupots(path: str | Path) -> Iterator[ImageGroup]:
    """Yield the people of each MuPoTS-3D image (17 joints, mm), with PoseNet estimates when present."""
    return read_groups(path, _intrinsics, initial_key=POSENET_KEY)


@dataclass(frozen=True)
class RootEstimate:
    """One RootNet output: processed box xywh (px), root in camera mm, detection score."""

    image_id: int
    bbox: np.ndarray
    root_cam: np.ndarray
    score: float


def read_bbox_root(path: str | Path) -> dict[int, list[RootEstimate]]:
    """`bbox_root_mupots_output.json` -> image_id -> estimates."""
    path = Path(path)
    data = load_json(path)
    if not isinstance(data, list):
        raise AnnotationError(f"{path}: expected a list of {{image_id, root_cam, bbox, score}}")
    out: dict[int, list[RootEstimate]] = {}
    for rec in data:
        est = RootEstimate(
            image_id=int(require(rec, "image_id", path, "an entry")),
            bbox=np.asarray(require(rec, "bbox", path, "an entry"), float).reshape(4),
            root_cam=np.asarray(require(rec, "root_cam", path, "an entry"), float).reshape(3),
            score=float(require(rec, "score", path, "an entry")),
        )
        out.setdefault(est.image_id, []).append(est)
    return out
