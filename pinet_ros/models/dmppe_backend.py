"""The paper's stack as a pipeline backend: torchvision person detector + 3DMPPE RootNet + PoseNet.

Per frame: detect person boxes, process them (aspect 1, x1.25, as the released code), estimate every root
depth in one RootNet batch and every root-relative pose in one PoseNet batch, back-project to absolute camera
millimetres, keep the 17 MuPoTS joints of the 21 MuCo joints. PoseNet gives no per-joint confidence, so every
joint carries the detection score.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from pinet_ros.core.boxes import process_box
from pinet_ros.core.camera import Intrinsics
from pinet_ros.core.result import PersonEstimate
from pinet_ros.core.skeleton import MUPOTS17
from pinet_ros.models.detector import PersonDetector
from pinet_ros.models.posenet import estimate_poses, load_posenet
from pinet_ros.models.rootnet import estimate_roots, load_rootnet


@dataclass(frozen=True)
class DmppeConfig:
    """Attributes:
        posenet_weights: PoseNet file (authors' snapshot_24.pth.tar or a state dict).
        rootnet_weights: RootNet file (authors' snapshot_18.pth.tar or a state dict).
        detector_weights: torchvision Faster R-CNN file; "" = torch hub cache.
        detector_variant: "v1" or "v2".
        score_threshold: minimum person score, 0..1.
        max_persons: at most this many people per frame.
        flip_test: also run mirrored crops in the same PoseNet batch and average.
        device: torch device.
    """

    posenet_weights: str
    rootnet_weights: str
    detector_weights: str = ""
    detector_variant: str = "v1"
    score_threshold: float = 0.5
    max_persons: int = 10
    flip_test: bool = False
    device: str = "cpu"


class DmppeBackend:
    """Detector + RootNet + PoseNet; `estimate(rgb, intrinsics) -> list[PersonEstimate]`."""

    name = "3dmppe"

    def __init__(self, config: DmppeConfig) -> None:
        self.config = config
        self.detector = PersonDetector(config.detector_weights or None, variant=config.detector_variant,
                                       score_threshold=config.score_threshold, max_persons=config.max_persons,
                                       device=config.device)
        self.rootnet = load_rootnet(config.rootnet_weights, device=config.device)
        self.posenet = load_posenet(config.posenet_weights, device=config.device)
        #: wall time of the last call's stages, milliseconds
        self.timings_ms: dict[str, float] = {}

    def estimate(self, rgb: np.ndarray, intrinsics: Intrinsics) -> list[PersonEstimate]:
        """People of one (H, W, 3) uint8 RGB image, absolute joints in camera millimetres."""
        h, w = rgb.shape[:2]
        t0 = time.perf_counter()
        boxes, scores = self.detector.detect(rgb)
        t1 = time.perf_counter()
        processed, kept = [], []
        for i, box in enumerate(boxes):
            try:
                processed.append(process_box(box, w, h))
                kept.append(i)
            except ValueError:  # degenerate box after clipping
                continue
        if not kept:
            self.timings_ms = {"detect": (t1 - t0) * 1e3, "root": 0.0, "pose": 0.0}
            return []
        pboxes = np.stack(processed)
        roots = estimate_roots(self.rootnet, rgb, pboxes, intrinsics)
        t2 = time.perf_counter()
        joints = estimate_poses(self.posenet, rgb, pboxes, roots[:, 2], intrinsics, flip=self.config.flip_test)
        t3 = time.perf_counter()
        self.timings_ms = {"detect": (t1 - t0) * 1e3, "root": (t2 - t1) * 1e3, "pose": (t3 - t2) * 1e3}
        j17 = joints[:, :MUPOTS17.num_joints]
        out = []
        for k, i in enumerate(kept):
            out.append(PersonEstimate(
                bbox_xywh=np.asarray(boxes[i], np.float64), score=float(scores[i]), joints_cam_mm=j17[k],
                joints_2d=intrinsics.project(j17[k]),
                joint_confidence=np.full(MUPOTS17.num_joints, float(scores[i]))))
        return out

    def to(self, device: str) -> "DmppeBackend":
        """Move every network to `device`."""
        self.detector.to(device)
        self.rootnet.to(device)
        self.posenet.to(device)
        return self

    def close(self) -> None:
        """Drop the networks (frees GPU memory once nothing else holds them)."""
        self.detector = self.rootnet = self.posenet = None  # type: ignore[assignment]
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
