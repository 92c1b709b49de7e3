"""The paper's stack as a pipeline backend: torchvision person detector + 3DMPPE RootNet + PoseNet.

Per frame: detect person boxes, process them (aspect 1, x1.25, as the released code), estimate every root
depth in one RootNet batch and every root-relative pose in one PoseNet batch, back-project to absolute camera
millimetres, keep the 17 MuPoTS joints of the 21 MuCo joints. PoseNet gives no per-joint confidence, so every
joint carries the detection score.

RootNet and PoseNet read the same 256x256 crops, made once per frame: with cv2 on the CPU (the released code's
crop), or on the device with one `grid_sample` for all people (`preprocess`). Speed options for CUDA:
`half_precision` (autocast: float16 on CUDA, bfloat16 on the CPU) and `channels_last`.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, replace

import numpy as np
import torch

from pinet_ros.core.boxes import process_box
from pinet_ros.core.camera import Intrinsics
from pinet_ros.core.result import PersonEstimate
from pinet_ros.core.skeleton import MUPOTS17
from pinet_ros.models.detector import PersonDetector
from pinet_ros.models.posenet import (PoseNet, estimate_poses_from_crops, image_to_tensor, load_posenet,
                                      preprocess_crops, preprocess_crops_torch)
from pinet_ros.models.rootnet import RootNet, estimate_roots_from_crops, load_rootnet

PREPROCESS = ("auto", "cv2", "torch")


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
        half_precision: run the three networks under autocast (float16 on CUDA, bfloat16 on the CPU);
            soft-argmaxes, depths and decoding stay float32/float64.
        channels_last: networks and crops in channels-last memory format (faster convolutions on CUDA).
        preprocess: "cv2" (numpy crops on the CPU, as the released code), "torch" (crops on the device, one
            grid_sample for all people), "auto" (torch on CUDA, cv2 on the CPU).
    """

    posenet_weights: str
    rootnet_weights: str
    detector_weights: str = ""
    detector_variant: str = "v1"
    score_threshold: float = 0.5
    max_persons: int = 10
    flip_test: bool = False
    device: str = "cpu"
    half_precision: bool = False
    channels_last: bool = False
    preprocess: str = "auto"

    def __post_init__(self) -> None:
        if self.preprocess not in PREPROCESS:
            raise ValueError(f"DmppeConfig.preprocess must be one of {PREPROCESS}, got {self.preprocess!r}")


class DmppeBackend:
    """Detector + RootNet + PoseNet; `estimate(rgb, intrinsics) -> list[PersonEstimate]`."""

    name = "3dmppe"

    def __init__(self, config: DmppeConfig) -> None:
        self.config = config
        detector = PersonDetector(config.detector_weights or None, variant=config.detector_variant,
                                  score_threshold=config.score_threshold, max_persons=config.max_persons,
                                  device=config.device)
        self._setup(detector, load_rootnet(config.rootnet_weights, device=config.device),
                    load_posenet(config.posenet_weights, device=config.device))

    @classmethod
    def from_models(cls, config: DmppeConfig, detector: PersonDetector, rootnet: RootNet,
                    posenet: PoseNet) -> "DmppeBackend":
        """A backend around networks already built (the weight paths of `config` are not read)."""
        self = cls.__new__(cls)
        self.config = config
        self._setup(detector.to(config.device), rootnet.to(config.device).eval(), posenet.to(config.device).eval())
        return self

    def _setup(self, detector: PersonDetector, rootnet: RootNet, posenet: PoseNet) -> None:
        self.detector, self.rootnet, self.posenet = detector, rootnet, posenet
        if self.config.channels_last:
            for net in (self.detector.model, self.rootnet, self.posenet):
                net.to(memory_format=torch.channels_last)
        #: wall time of the last call's stages, milliseconds
        self.timings_ms: dict[str, float] = {}

    @property
    def device(self) -> torch.device:
        return self.detector.device

    def apply(self, *, score_threshold: float | None = None, max_persons: int | None = None,
              flip_test: bool | None = None, **others: object) -> None:
        """Change live settings; each takes effect on the next `estimate` (the detector's threshold and cap
        are read per call, flip_test per PoseNet batch).

        Raises:
            ValueError: a setting this backend does not have, or a bad value.
        """
        if others:
            raise ValueError(f"{', '.join(sorted(others))} do(es) not apply to the 3dmppe backend")
        changes: dict[str, object] = {}
        if score_threshold is not None:
            if not 0.0 <= float(score_threshold) <= 1.0:
                raise ValueError(f"score_threshold must be in [0, 1], got {score_threshold}")
            changes["score_threshold"] = float(score_threshold)
        if max_persons is not None:
            if int(max_persons) < 1:
                raise ValueError(f"max_persons must be >= 1, got {max_persons}")
            changes["max_persons"] = int(max_persons)
        if flip_test is not None:
            changes["flip_test"] = bool(flip_test)
        self.config = replace(self.config, **changes)
        self.detector.score_threshold = self.config.score_threshold
        self.detector.max_persons = self.config.max_persons

    def _autocast(self) -> contextlib.AbstractContextManager:
        if not self.config.half_precision:
            return contextlib.nullcontext()
        dev = self.device.type
        return torch.autocast(device_type=dev, dtype=torch.float16 if dev == "cuda" else torch.bfloat16)

    def _on_device_crops(self) -> bool:
        pre = self.config.preprocess
        return pre == "torch" or (pre == "auto" and self.device.type == "cuda")

    def _clock(self) -> float:
        """perf_counter after the device's queued work is done (stage times are otherwise launch times)."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    def estimate(self, rgb: np.ndarray, intrinsics: Intrinsics) -> list[PersonEstimate]:
        """People of one (H, W, 3) uint8 RGB image, absolute joints in camera millimetres."""
        t0 = self._clock()
        image = image_to_tensor(rgb, self.device) if self._on_device_crops() else None
        with self._autocast():
            boxes, scores = self.detector.detect_tensor(image) if image is not None else self.detector.detect(rgb)
        self.timings_ms = {"detect": (self._clock() - t0) * 1e3}
        return self.estimate_boxes(rgb, intrinsics, boxes, scores, image=image)

    def estimate_boxes(self, rgb: np.ndarray, intrinsics: Intrinsics, boxes: np.ndarray, scores: np.ndarray,
                       image: torch.Tensor | None = None) -> list[PersonEstimate]:
        """RootNet + PoseNet for given detections (the stages after `detect`).

        Args:
            rgb: (H, W, 3) uint8 RGB image.
            boxes: (N, 4) raw detection boxes xywh (px); scores: (N,) in 0..1.
            image: `rgb` already on the device as (3, H, W) uint8 (`posenet.image_to_tensor`), if at hand.
        Updates `timings_ms` with "crop", "root", "pose" (ms).
        """
        h, w = rgb.shape[:2]
        t1 = self._clock()
        processed, kept = [], []
        for i, box in enumerate(boxes):
            try:
                processed.append(process_box(box, w, h))
                kept.append(i)
            except ValueError:  # degenerate box after clipping
                continue
        if not kept:
            self.timings_ms.update({"crop": 0.0, "root": 0.0, "pose": 0.0})
            return []
        pboxes = np.stack(processed)
        if self._on_device_crops():
            crops = preprocess_crops_torch(image_to_tensor(rgb, self.device) if image is None else image, pboxes)
        else:
            crops = preprocess_crops(rgb, pboxes).to(self.device)
        if self.config.channels_last:
            crops = crops.contiguous(memory_format=torch.channels_last)
        t2 = self._clock()
        with self._autocast():
            roots = estimate_roots_from_crops(self.rootnet, crops, pboxes, intrinsics)
            t3 = self._clock()
            joints = estimate_poses_from_crops(self.posenet, crops, pboxes, roots[:, 2], intrinsics,
                                               flip=self.config.flip_test)
        t4 = self._clock()
        self.timings_ms.update({"crop": (t2 - t1) * 1e3, "root": (t3 - t2) * 1e3, "pose": (t4 - t3) * 1e3})
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
