"""Person detection with torchvision's Faster R-CNN ResNet-50 FPN (v1 or v2), from local weight files only.

The networks are built with ``weights=None, weights_backbone=None`` so torchvision never downloads anything;
their published COCO state dicts (e.g. ``fasterrcnn_resnet50_fpn_coco-258fb6c6.pth``) are read with
`pinet_ros.models.checkpoint.read_state_dict` (no code execution) from an explicit path or from the torch hub
cache (``torch.hub.get_dir()/checkpoints/<filename>``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from pinet_ros.models.checkpoint import WeightLoadError, load_into, read_state_dict

#: COCO category id of "person" in torchvision's detection label space (0 is background).
PERSON_LABEL = 1

#: variant -> (torchvision builder name, published weight file name)
VARIANTS: dict[str, tuple[str, str]] = {
    "v1": ("fasterrcnn_resnet50_fpn", "fasterrcnn_resnet50_fpn_coco-258fb6c6.pth"),
    "v2": ("fasterrcnn_resnet50_fpn_v2", "fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth"),
}


def build_fasterrcnn(variant: str = "v1", **kwargs: Any) -> torch.nn.Module:
    """Build an untrained torchvision Faster R-CNN ResNet-50 FPN with 91 COCO classes, downloading nothing.

    Args:
        variant: ``"v1"`` (`fasterrcnn_resnet50_fpn`) or ``"v2"`` (`fasterrcnn_resnet50_fpn_v2`).
        **kwargs: passed to the torchvision builder (e.g. ``min_size``, ``max_size``, ``box_score_thresh``).
    """
    import torchvision.models.detection as det

    if variant not in VARIANTS:
        raise ValueError(f"unknown Faster R-CNN variant {variant!r}; choose one of {sorted(VARIANTS)}")
    builder = getattr(det, VARIANTS[variant][0])
    kwargs.setdefault("num_classes", 91)
    return builder(weights=None, weights_backbone=None, **kwargs)


def hub_checkpoint_path(variant: str = "v1") -> Path:
    """Where torchvision caches the published weights of `variant`: ``torch.hub.get_dir()/checkpoints/<file>``."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown Faster R-CNN variant {variant!r}; choose one of {sorted(VARIANTS)}")
    return Path(torch.hub.get_dir()) / "checkpoints" / VARIANTS[variant][1]


def person_boxes_from_output(output: Mapping[str, torch.Tensor], *, score_threshold: float = 0.5,
                             max_persons: int | None = None, label: int = PERSON_LABEL,
                             ) -> tuple[np.ndarray, np.ndarray]:
    """Select person detections from one torchvision detection output.

    Args:
        output: ``{"boxes": (M, 4) xyxy px, "labels": (M,) int, "scores": (M,) float}``.
        score_threshold: keep detections with score strictly above this value.
        max_persons: keep at most this many (highest scores); None keeps all.
        label: class id to keep (COCO person = 1).
    Returns:
        boxes: (N, 4) float32 ``[x, y, w, h]`` in pixels, sorted by decreasing score.
        scores: (N,) float32, decreasing.
    """
    boxes = torch.as_tensor(output["boxes"]).detach().to("cpu", torch.float32).reshape(-1, 4)
    labels = torch.as_tensor(output["labels"]).detach().to("cpu").reshape(-1)
    scores = torch.as_tensor(output["scores"]).detach().to("cpu", torch.float32).reshape(-1)
    keep = (labels == label) & (scores > score_threshold)
    boxes, scores = boxes[keep], scores[keep]
    order = torch.argsort(scores, descending=True, stable=True)
    if max_persons is not None:
        order = order[:max(int(max_persons), 0)]
    boxes, scores = boxes[order], scores[order]
    xywh = torch.cat([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], dim=1)
    return xywh.numpy().astype(np.float32, copy=False), scores.numpy().astype(np.float32, copy=False)


class PersonDetector:
    """Faster R-CNN person detector on RGB images.

    The caller picks the device (``device=``, or `to`); nothing is moved to CUDA implicitly.
    """

    def __init__(self, weights: str | os.PathLike[str] | None = None, *, variant: str = "v1",
                 score_threshold: float = 0.5, max_persons: int | None = 20,
                 device: str | torch.device = "cpu", **model_kwargs: Any) -> None:
        """
        Args:
            weights: torchvision weight file of `variant`; None looks in the torch hub cache
                (``torch.hub.get_dir()/checkpoints/<published file name>``).
            variant: ``"v1"`` or ``"v2"``.
            score_threshold: minimum person score (exclusive), in [0, 1].
            max_persons: at most this many boxes per image (None: no cap).
            device: torch device for the network.
            **model_kwargs: passed to the torchvision builder (e.g. ``min_size=320, max_size=320``).
        Raises:
            WeightLoadError: weight file missing, unsafe, unreadable, or of another network/variant.
        """
        self.variant = variant
        self.score_threshold = float(score_threshold)
        self.max_persons = max_persons
        path = Path(weights) if weights is not None else hub_checkpoint_path(variant)
        expected = f"torchvision {VARIANTS.get(variant, (variant,))[0]} COCO state dict"
        model = build_fasterrcnn(variant, **model_kwargs)
        if weights is None and not path.is_file():
            raise WeightLoadError(
                f"weight file not found: {path} (expected {expected}); download "
                f"https://download.pytorch.org/models/{VARIANTS[variant][1]} there or pass an explicit path")
        state = read_state_dict(path, expected=expected, nested_key=None)
        load_into(model, state, path=path, expected=expected)
        self.weights_path = path
        self.device = torch.device(device)
        self.model = model.eval().to(self.device)

    @classmethod
    def from_model(cls, model: torch.nn.Module, *, variant: str = "v1", score_threshold: float = 0.5,
                   max_persons: int | None = 20, device: str | torch.device = "cpu") -> "PersonDetector":
        """Wrap an already built torchvision detection network (e.g. `build_fasterrcnn` with random weights for a
        benchmark) without reading a file."""
        self = cls.__new__(cls)
        self.variant = variant
        self.score_threshold = float(score_threshold)
        self.max_persons = max_persons
        self.weights_path = None
        self.device = torch.device(device)
        self.model = model.eval().to(self.device)
        return self

    def to(self, device: str | torch.device) -> "PersonDetector":
        """Move the network to `device`; returns self."""
        self.device = torch.device(device)
        self.model.to(self.device)
        return self

    @torch.inference_mode()
    def detect(self, image_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Detect persons in one image.

        Args:
            image_rgb: (H, W, 3) uint8 RGB.
        Returns:
            boxes: (N, 4) float32 ``[x, y, w, h]`` px, sorted by decreasing score, N <= max_persons.
            scores: (N,) float32.
        """
        image = np.asarray(image_rgb)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
        tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).to(self.device, torch.float32) / 255.0
        output = self.model([tensor])[0]
        return person_boxes_from_output(output, score_threshold=self.score_threshold, max_persons=self.max_persons)

    @torch.inference_mode()
    def detect_tensor(self, image: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """`detect` on an image already on the device: (3, H, W) uint8 RGB tensor (e.g. `posenet.image_to_tensor`).

        Converted to float 0..1 where it lies; run under `torch.autocast` for half precision.
        """
        if image.dim() != 3 or image.shape[0] != 3 or image.dtype != torch.uint8:
            raise ValueError(f"expected a (3, H, W) uint8 RGB tensor, got {tuple(image.shape)} {image.dtype}")
        tensor = image.to(self.device).to(torch.float32) / 255.0
        output = self.model([tensor])[0]
        return person_boxes_from_output(output, score_threshold=self.score_threshold, max_persons=self.max_persons)
