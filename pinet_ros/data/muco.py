"""MuCo-3DHP reader: `MuCo-3DHP.json`, or the PI-Net release's
`MuCo-3DHP_with_posenet_result_filter.json` that adds `keypoints_cam_posenet` (PoseNet's estimate, mm)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from pinet_ros.core.camera import Intrinsics
from pinet_ros.data.annotations import ImageGroup, read_groups, require

POSENET_KEY = "keypoints_cam_posenet"


def _intrinsics(image: dict, path: Path) -> Intrinsics:
    f = require(image, "f", path, f"image {image.get('id')}")
    c = require(image, "c", path, f"image {image.get('id')}")
    return Intrinsics(fx=float(f[0]), fy=float(f[1]), cx=float(c[0]), cy=float(c[1]))


def read_muco(path: str | Path) -> Iterator[ImageGroup]:
    """Yield the people of each MuCo-3DHP image (17 joints, mm), with PoseNet estimates when present."""
    return read_groups(path, _intrinsics, initial_key=POSENET_KEY)
