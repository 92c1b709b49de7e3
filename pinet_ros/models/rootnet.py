"""3DMPPE RootNet (Moon et al., ICCV 2019): absolute root (pelvis) position from a 256x256 person crop.

State-dict layout matches the authors' `snapshot_18.pth.tar` (after `module.` is stripped): `backbone.*`,
`root.deconv_layers.{0..8}`, `root.xy_layer`, `root.depth_layer`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from pinet_ros.core.camera import Intrinsics
from pinet_ros.models.checkpoint import load_into, read_state_dict
from pinet_ros.models.posenet import (BBOX_3D_MM, HEATMAP_SIZE, ResNetTrunk, _model_device, hm_to_image_px,
                                      make_deconv_stack, preprocess_crops)


class RootHead(nn.Module):
    """xy: deconvs -> 1x1 conv -> 2D soft-argmax; gamma: global average pool of the trunk -> 1x1 conv."""

    def __init__(self, in_channels: int = 2048) -> None:
        super().__init__()
        self.deconv_layers = make_deconv_stack(in_channels)
        self.xy_layer = nn.Conv2d(256, 1, kernel_size=1)
        self.depth_layer = nn.Conv2d(in_channels, 1, kernel_size=1)
        for conv in (self.xy_layer, self.depth_layer):
            nn.init.normal_(conv.weight, std=0.001)
            nn.init.zeros_(conv.bias)

    def forward(self, fm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """fm (B, 2048, 8, 8) -> (xy (B, 2) heatmap units, gamma (B, 1))."""
        hm = self.xy_layer(self.deconv_layers(fm))  # (B, 1, 64, 64)
        b, _, h, w = hm.shape
        prob = torch.softmax(hm.reshape(b, h * w).float(), dim=1).reshape(b, h, w)
        x = (prob.sum(dim=1) * torch.arange(w, device=hm.device, dtype=prob.dtype)).sum(dim=1)
        y = (prob.sum(dim=2) * torch.arange(h, device=hm.device, dtype=prob.dtype)).sum(dim=1)
        feat = fm.float().mean(dim=(2, 3), keepdim=True)  # (B, 2048, 1, 1)
        # float32 even under autocast: depth = gamma * k (k ~ 2,000-10,000 mm), and a half-precision gamma
        # alone would quantise the depth in steps of k / 1024 (fp16) or k / 128 (bf16): several mm to tens of mm
        with torch.autocast(device_type=fm.device.type, enabled=False):
            gamma = self.depth_layer(feat).reshape(b, 1)
        return torch.stack([x, y], dim=1), gamma


class RootNet(nn.Module):
    """forward(images (B, 3, 256, 256), k (B, 1)) -> (B, 3): root x, y (heatmap units 0..63), depth (mm) = gamma*k."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = ResNetTrunk()
        self.root = RootHead()

    def forward(self, images: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        xy, gamma = self.root(self.backbone(images))
        depth = gamma.float() * k.reshape(-1, 1).to(gamma.device, torch.float32)
        return torch.cat([xy, depth], dim=1)


def load_rootnet(path: str | Path, device: str | torch.device = "cpu") -> RootNet:
    """Build a RootNet, load the authors' checkpoint (or a flat/safetensors state dict), eval mode on `device`.

    Raises:
        WeightLoadError: unreadable file or keys/shapes that are not a RootNet.
    """
    expected = "3DMPPE RootNet"
    state = read_state_dict(path, expected=expected)
    model = RootNet()
    load_into(model, state, path=path, expected=expected)
    return model.to(device).eval()


def rootnet_k(boxes: np.ndarray, intrinsics: Intrinsics) -> np.ndarray:
    """k = sqrt(A_real * fx * fy / A_box) with A_real = 2000 mm x 2000 mm and A_box = w*h of the processed box (px^2).

    Args:
        boxes: (N, 4) processed boxes xywh (px).
    Returns:
        (N, 1) float64 k (mm).
    """
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    return np.sqrt(BBOX_3D_MM * BBOX_3D_MM * intrinsics.fx * intrinsics.fy / (b[:, 2] * b[:, 3])).reshape(-1, 1)


@torch.no_grad()
def estimate_roots(model: RootNet, image: np.ndarray, boxes: np.ndarray, intrinsics: Intrinsics) -> np.ndarray:
    """Roots of all persons of one frame in one batched forward.

    Args:
        image: (H, W, 3) uint8 RGB image.
        boxes: (N, 4) processed boxes xywh (px).
    Returns:
        (N, 3) float64: root u, v in image px and absolute depth (mm). Camera-frame point:
        `intrinsics.back_project(out[:, :2], out[:, 2])`.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if len(boxes) == 0:
        return np.zeros((0, 3))
    return estimate_roots_from_crops(model, preprocess_crops(image, boxes), boxes, intrinsics)


@torch.no_grad()
def estimate_roots_from_crops(model: RootNet, crops: torch.Tensor, boxes: np.ndarray,
                              intrinsics: Intrinsics) -> np.ndarray:
    """`estimate_roots` from already made crops (N, 3, 256, 256) (`preprocess_crops` or `preprocess_crops_torch`).

    The crops keep their memory format on the way to the model's device; run it under `torch.autocast` for
    half precision (the soft-argmax and the depth are computed in float32 either way).
    Returns:
        (N, 3) float64: root u, v (px) and absolute depth (mm), as `estimate_roots`.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if len(boxes) == 0:
        return np.zeros((0, 3))
    if crops.shape[0] != len(boxes):
        raise ValueError(f"{crops.shape[0]} crops for {len(boxes)} boxes")
    dev = _model_device(model)
    k = torch.from_numpy(rootnet_k(boxes, intrinsics)).float().to(dev)
    out = model(crops.to(dev), k).float().cpu().numpy().astype(np.float64)
    uv = hm_to_image_px(out[:, None, :2], boxes)[:, 0]
    return np.concatenate([uv, out[:, 2:3]], axis=1)


__all__ = ["RootNet", "RootHead", "load_rootnet", "rootnet_k", "estimate_roots", "estimate_roots_from_crops",
           "HEATMAP_SIZE"]
