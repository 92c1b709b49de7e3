"""Shared reader of the COCO-style annotation files of MuCo-3DHP and MuPoTS-3D.

Both files hold `images` and `annotations`; each annotation is one person. Readers group the persons by
image into `ImageGroup`s, all in the 17-joint MuPoTS order (MuCo's 21 joints are cut to their first 17).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from pinet_ros.core.camera import Intrinsics

NUM_JOINTS = 17


class AnnotationError(ValueError):
    """A dataset file is missing or lacks a field; the message names the file and the field."""


@dataclass
class ImageGroup:
    """The people of one image.

    Attributes:
        image_id: id in the annotation file.
        file_name: image path relative to the dataset's image root.
        width, height: image size in pixels.
        intrinsics: pinhole camera of the image.
        gt_cam: (n, 17, 3) ground-truth joints, camera millimetres.
        gt_img: (n, 17, 2) ground-truth joints, pixels.
        visible: (n, 17) joint visibility, 0/1 float.
        boxes: (n, 4) person boxes xywh, pixels.
        valid: (n,) bool; False for MuPoTS persons marked not valid.
        initial_cam: (n, 17, 3) initial estimates (PoseNet, mm) when the file carries them, else None.
    """

    image_id: int
    file_name: str
    width: int
    height: int
    intrinsics: Intrinsics
    gt_cam: np.ndarray
    gt_img: np.ndarray
    visible: np.ndarray
    boxes: np.ndarray
    valid: np.ndarray
    initial_cam: np.ndarray | None

    @property
    def num_persons(self) -> int:
        return len(self.gt_cam)


def load_json(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(f"annotation file not found: {path}")
    try:
        with path.open() as f:
            return json.load(f)
    except json.JSONDecodeError as exc:
        raise AnnotationError(f"{path}: not valid JSON: {exc}") from None


def require(record: dict, key: str, path: Path, what: str) -> Any:
    try:
        return record[key]
    except (KeyError, TypeError):
        raise AnnotationError(f"{path}: {what} lacks the key '{key}'") from None


def joints(value: Any, dims: int, path: Path, key: str) -> np.ndarray:
    """A (J, dims) list -> (17, dims) float array (first 17 joints)."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr.reshape(-1, dims) if arr.size % dims == 0 else arr
    if arr.ndim != 2 or arr.shape[1] < dims or arr.shape[0] < NUM_JOINTS:
        raise AnnotationError(f"{path}: '{key}' has shape {arr.shape}, expected (>=17, {dims})")
    return arr[:NUM_JOINTS, :dims]


def read_groups(path: str | Path, intrinsics_of: Callable[[dict, Path], Intrinsics],
                initial_key: str | None = None) -> Iterator[ImageGroup]:
    """Yield one ImageGroup per image that has at least one person, in image-id order."""
    path = Path(path)
    data = load_json(path)
    images = {require(im, "id", path, "an image"): im for im in require(data, "images", path, "the file")}
    persons: dict[int, list[dict]] = defaultdict(list)
    for ann in require(data, "annotations", path, "the file"):
        persons[require(ann, "image_id", path, "an annotation")].append(ann)
    for image_id in sorted(persons):
        if image_id not in images:
            raise AnnotationError(f"{path}: annotation refers to image_id {image_id}, which is not in 'images'")
        im, anns = images[image_id], persons[image_id]
        has_initial = initial_key is not None and all(initial_key in a for a in anns)
        yield ImageGroup(
            image_id=image_id,
            file_name=require(im, "file_name", path, f"image {image_id}"),
            width=int(require(im, "width", path, f"image {image_id}")),
            height=int(require(im, "height", path, f"image {image_id}")),
            intrinsics=intrinsics_of(im, path),
            gt_cam=np.stack([joints(require(a, "keypoints_cam", path, "an annotation"), 3, path, "keypoints_cam") for a in anns]),
            gt_img=np.stack([joints(require(a, "keypoints_img", path, "an annotation"), 2, path, "keypoints_img") for a in anns]),
            visible=np.stack([np.asarray(require(a, "keypoints_vis", path, "an annotation"), float).reshape(-1)[:NUM_JOINTS] for a in anns]),
            boxes=np.asarray([require(a, "bbox", path, "an annotation") for a in anns], dtype=np.float64).reshape(-1, 4),
            valid=np.asarray([bool(a.get("is_valid", True)) for a in anns]),
            initial_cam=np.stack([joints(a[initial_key], 3, path, initial_key) for a in anns]) if has_initial else None,
        )
