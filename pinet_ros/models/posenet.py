"""3DMPPE PoseNet (Moon et al., ICCV 2019): ResNet-50 + 3 deconvolutions + integral 3D heatmap regression.

State-dict layout matches the authors' `snapshot_24.pth.tar` (after the DataParallel `module.` prefix is
stripped): `backbone.*` (torchvision ResNet-50 names, no fc), `head.deconv_layers.{0..8}`, `head.final_layer`.

Coordinates "in heatmap units" are voxel indices 0..63 of the 64x64x64 output volume; the 256x256 crop is
4 crop pixels per heatmap unit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torchvision
from torch import nn

from pinet_ros.core.boxes import crop_image
from pinet_ros.core.camera import Intrinsics
from pinet_ros.core.skeleton import MUCO21
from pinet_ros.models.checkpoint import load_into, read_state_dict

INPUT_SIZE = 256
HEATMAP_SIZE = 64
DEPTH_DIM = 64
BBOX_3D_MM = 2000.0
PIXEL_MEAN = (0.485, 0.456, 0.406)
PIXEL_STD = (0.229, 0.224, 0.225)


class ResNetTrunk(nn.Module):
    """ResNet-50 feature extractor with torchvision parameter names (no avgpool/fc).

    forward: (B, 3, 256, 256) -> (B, 2048, 8, 8).
    """

    def __init__(self) -> None:
        super().__init__()
        r = torchvision.models.resnet50(weights=None)
        self.conv1, self.bn1, self.relu, self.maxpool = r.conv1, r.bn1, r.relu, r.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = r.layer1, r.layer2, r.layer3, r.layer4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


def make_deconv_stack(in_channels: int = 2048, channels: int = 256, num_layers: int = 3) -> nn.Sequential:
    """num_layers x [ConvTranspose2d(k4, s2, p1, no bias) -> BN -> ReLU]; each doubles H and W (8 -> 64)."""
    layers: list[nn.Module] = []
    for i in range(num_layers):
        layers += [nn.ConvTranspose2d(in_channels if i == 0 else channels, channels, kernel_size=4, stride=2,
                                      padding=1, output_padding=0, bias=False),
                   nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
    for m in layers:
        if isinstance(m, nn.ConvTranspose2d):
            nn.init.normal_(m.weight, std=0.001)
    return nn.Sequential(*layers)


class HeadNet(nn.Module):
    """PoseNet head: deconvolutions then a 1x1 conv to J*64 channels. (B, 2048, 8, 8) -> (B, J*64, 64, 64)."""

    def __init__(self, num_joints: int) -> None:
        super().__init__()
        self.deconv_layers = make_deconv_stack()
        self.final_layer = nn.Conv2d(256, num_joints * DEPTH_DIM, kernel_size=1)
        nn.init.normal_(self.final_layer.weight, std=0.001)
        nn.init.zeros_(self.final_layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.final_layer(self.deconv_layers(x))


def soft_argmax_3d(heatmaps: torch.Tensor, num_joints: int) -> torch.Tensor:
    """Integral regression: softmax over each joint's whole D*H*W volume, then expected voxel indices.

    Args:
        heatmaps: (B, J*D, H, W) logits, channel index = j*D + d.
        num_joints: J.
    Returns:
        (B, J, 3) float (x, y, z) in heatmap units (0..W-1, 0..H-1, 0..D-1).
    """
    b, c, h, w = heatmaps.shape
    if c % num_joints:
        raise ValueError(f"{c} channels do not split into {num_joints} joints")
    d = c // num_joints
    prob = torch.softmax(heatmaps.reshape(b, num_joints, d * h * w).float(), dim=2).reshape(b, num_joints, d, h, w)
    dev = prob.device
    x = (prob.sum(dim=(2, 3)) * torch.arange(w, device=dev, dtype=prob.dtype)).sum(dim=2)
    y = (prob.sum(dim=(2, 4)) * torch.arange(h, device=dev, dtype=prob.dtype)).sum(dim=2)
    z = (prob.sum(dim=(3, 4)) * torch.arange(d, device=dev, dtype=prob.dtype)).sum(dim=2)
    return torch.stack([x, y, z], dim=2)


class PoseNet(nn.Module):
    """3DMPPE PoseNet. forward: (B, 3, 256, 256) normalised crops -> (B, J, 3) (x, y, z) in heatmap units."""

    def __init__(self, num_joints: int = MUCO21.num_joints) -> None:
        super().__init__()
        self.num_joints = num_joints
        self.backbone = ResNetTrunk()
        self.head = HeadNet(num_joints)

    def heatmaps(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, 256, 256) -> (B, J*64, 64, 64) logits."""
        return self.head(self.backbone(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return soft_argmax_3d(self.heatmaps(images), self.num_joints)


def load_posenet(path: str | Path, num_joints: int = MUCO21.num_joints, device: str | torch.device = "cpu") -> PoseNet:
    """Build a PoseNet, load the authors' checkpoint (or a flat/safetensors state dict), eval mode on `device`.

    Raises:
        WeightLoadError: unreadable file, or keys/shapes that are not a PoseNet with `num_joints` joints.
    """
    expected = f"3DMPPE PoseNet ({num_joints} joints)"
    state = read_state_dict(path, expected=expected)
    model = PoseNet(num_joints)
    load_into(model, state, path=path, expected=expected)
    return model.to(device).eval()


def preprocess_crops(image_rgb: np.ndarray, boxes: np.ndarray, out_size: int = INPUT_SIZE) -> torch.Tensor:
    """Crop every processed box and normalise as the released 3DMPPE weights expect.

    Quirk kept on purpose: pixel values stay in 0..255 (not divided by 255) and are then normalised with
    the ImageNet mean/std given for 0..1 values: (v - mean) / std.

    Args:
        image_rgb: (H, W, 3) uint8 RGB image.
        boxes: (N, 4) processed boxes xywh (px).
    Returns:
        (N, 3, out_size, out_size) float32 tensor on CPU.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    crops = np.stack([crop_image(image_rgb, b, out_size) for b in boxes]) if len(boxes) else \
        np.zeros((0, out_size, out_size, 3), np.uint8)
    t = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float()
    return normalise_crops(t)


def normalise_crops(crops: torch.Tensor) -> torch.Tensor:
    """(N, 3, S, S) float crops with values 0..255 -> (v - PIXEL_MEAN) / PIXEL_STD (the 0..255 quirk above)."""
    mean = torch.tensor(PIXEL_MEAN, dtype=crops.dtype, device=crops.device).view(1, 3, 1, 1)
    std = torch.tensor(PIXEL_STD, dtype=crops.dtype, device=crops.device).view(1, 3, 1, 1)
    return (crops - mean) / std


def image_to_tensor(image_rgb: np.ndarray, device: str | torch.device = "cpu") -> torch.Tensor:
    """(H, W, 3) uint8 RGB numpy -> (3, H, W) uint8 tensor on `device` (one upload; convert there)."""
    img = np.ascontiguousarray(image_rgb)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got {img.shape}")
    return torch.from_numpy(img).to(device).permute(2, 0, 1)


def crop_sampling_grid(boxes: np.ndarray, height: int, width: int, out_size: int = INPUT_SIZE,
                       device: str | torch.device = "cpu") -> torch.Tensor:
    """`grid_sample` grid (N, S, S, 2) of the same crop as `core.boxes.crop_image` (cv2.warpAffine).

    cv2 samples crop pixel (x, y) (integer, no half-pixel shift) at image point
    (bx + x * w / S, by + y * h / S) (`crop_affine_inverse`); with ``align_corners=True`` image pixel
    centre i sits at normalised -1 + 2 i / (W - 1), so the grid is that point in normalised units
    (the separable case of `torch.nn.functional.affine_grid`). Computed in float64, returned float32.

    Args:
        boxes: (N, 4) processed boxes xywh (px). height, width: image size (px), both >= 2.
    """
    if height < 2 or width < 2:
        raise ValueError(f"image must be at least 2x2 pixels, got {width}x{height}")
    b = torch.as_tensor(np.asarray(boxes, np.float64).reshape(-1, 4), dtype=torch.float64)
    steps = torch.arange(out_size, dtype=torch.float64)
    sx = b[:, 0:1] + steps[None, :] * (b[:, 2:3] / out_size)  # (N, S) image x of each crop column
    sy = b[:, 1:2] + steps[None, :] * (b[:, 3:4] / out_size)  # (N, S) image y of each crop row
    # (N, S) vectors go to the device; the (N, S, S, 2) grid is broadcast there
    gx = (sx * (2.0 / (width - 1)) - 1.0).to(device=device, dtype=torch.float32)
    gy = (sy * (2.0 / (height - 1)) - 1.0).to(device=device, dtype=torch.float32)
    n = b.shape[0]
    return torch.stack([gx[:, None, :].expand(n, out_size, out_size), gy[:, :, None].expand(n, out_size, out_size)],
                       dim=-1)


def preprocess_crops_torch(image: torch.Tensor, boxes: np.ndarray, out_size: int = INPUT_SIZE) -> torch.Tensor:
    """`preprocess_crops` with torch on the image's device: one `grid_sample` for every box of the frame.

    Bilinear, outside the image black (zeros padding), like cv2.warpAffine(INTER_LINEAR, BORDER_CONSTANT 0);
    unlike cv2 the crop is not rounded to uint8 and sampling positions are not quantised to 1/32 px, so the
    two differ by at most 0.5 + |image gradient| / 32 grey levels before normalisation.

    Args:
        image: (3, H, W) RGB tensor (uint8 or float, values 0..255) on any device (`image_to_tensor`).
        boxes: (N, 4) processed boxes xywh (px).
    Returns:
        (N, 3, out_size, out_size) float32 normalised crops on the image's device.
    """
    if image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(f"expected a (3, H, W) image tensor, got {tuple(image.shape)}")
    _, h, w = image.shape
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    n = len(boxes)
    if n == 0:
        return torch.zeros((0, 3, out_size, out_size), dtype=torch.float32, device=image.device)
    grid = crop_sampling_grid(boxes, h, w, out_size, device=image.device)  # (N, S, S, 2)
    src = image.to(torch.float32).contiguous()[None]  # (1, 3, H, W)
    # every crop from the one image: stack the grids vertically instead of repeating the image N times
    out = torch.nn.functional.grid_sample(src, grid.reshape(1, n * out_size, out_size, 2), mode="bilinear",
                                          padding_mode="zeros", align_corners=True)  # (1, 3, N*S, S)
    crops = out.reshape(3, n, out_size, out_size).permute(1, 0, 2, 3)
    return normalise_crops(crops.contiguous())


def unflip_coords(coords_hm: torch.Tensor | np.ndarray, flip_perm: np.ndarray,
                  width: int = HEATMAP_SIZE) -> torch.Tensor | np.ndarray:
    """Map coordinates predicted on a mirrored crop back to the original crop.

    x' = width - x - 1, and left/right joints swapped by `flip_perm` (J,). coords_hm: (N, J, 3) heatmap units.
    """
    out = coords_hm.clone() if isinstance(coords_hm, torch.Tensor) else np.array(coords_hm, dtype=np.float64)
    out[..., 0] = width - out[..., 0] - 1
    idx = torch.as_tensor(flip_perm, dtype=torch.long) if isinstance(out, torch.Tensor) else np.asarray(flip_perm)
    if isinstance(out, torch.Tensor):
        idx = idx.to(out.device)
    return out[:, idx]


def depth_hm_to_mm(z_hm: np.ndarray, root_depth_mm: np.ndarray) -> np.ndarray:
    """Heatmap depth index (0..63) -> absolute depth (mm): (z/64*2 - 1) * 1000 + root depth."""
    return (np.asarray(z_hm, np.float64) / DEPTH_DIM * 2.0 - 1.0) * (BBOX_3D_MM / 2.0) + np.asarray(root_depth_mm,
                                                                                                      np.float64)


def depth_mm_to_hm(z_mm: np.ndarray, root_depth_mm: np.ndarray) -> np.ndarray:
    """Inverse of `depth_hm_to_mm`: absolute depth (mm) -> heatmap depth index."""
    rel = (np.asarray(z_mm, np.float64) - np.asarray(root_depth_mm, np.float64)) / (BBOX_3D_MM / 2.0)
    return (rel + 1.0) / 2.0 * DEPTH_DIM


def hm_to_image_px(coords_hm: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(N, K, >=2) heatmap x, y -> (N, K, 2) image px using the processed boxes (N, 4): x/64*w + bx."""
    c = np.asarray(coords_hm, np.float64)
    b = np.asarray(boxes, np.float64).reshape(-1, 1, 4)
    u = c[..., 0] / HEATMAP_SIZE * b[..., 2] + b[..., 0]
    v = c[..., 1] / HEATMAP_SIZE * b[..., 3] + b[..., 1]
    return np.stack([u, v], axis=-1)


def decode_pose(coords_hm: np.ndarray, boxes: np.ndarray, root_depth_mm: np.ndarray,
                intrinsics: Intrinsics) -> np.ndarray:
    """PoseNet output -> camera-frame joints.

    Args:
        coords_hm: (N, J, 3) heatmap units.
        boxes: (N, 4) processed boxes xywh (px) the crops were made from.
        root_depth_mm: (N,) absolute root depth (mm), e.g. from RootNet.
        intrinsics: camera intrinsics (px).
    Returns:
        (N, J, 3) float64 camera-frame points (mm).
    """
    c = np.asarray(coords_hm, np.float64)
    uv = hm_to_image_px(c, boxes)
    z = depth_hm_to_mm(c[..., 2], np.asarray(root_depth_mm, np.float64).reshape(-1, 1))
    return intrinsics.back_project(uv, z)


def _model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def estimate_poses(model: PoseNet, image: np.ndarray, boxes: np.ndarray, root_depth_mm: np.ndarray,
                   intrinsics: Intrinsics, flip: bool = False,
                   flip_perm: np.ndarray | None = None) -> np.ndarray:
    """All persons of one frame in one batched forward.

    Args:
        model: PoseNet in eval mode.
        image: (H, W, 3) uint8 RGB image.
        boxes: (N, 4) processed boxes xywh (px).
        root_depth_mm: (N,) root depths (mm).
        intrinsics: camera intrinsics.
        flip: also run the mirrored crops (same batch) and average.
        flip_perm: (J,) joint mirror permutation; MUCO21's when None.
    Returns:
        (N, J, 3) float64 camera-frame joints (mm).
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if len(boxes) == 0:
        return np.zeros((0, model.num_joints, 3))
    return estimate_poses_from_crops(model, preprocess_crops(image, boxes), boxes, root_depth_mm, intrinsics,
                                     flip=flip, flip_perm=flip_perm)


@torch.no_grad()
def estimate_poses_from_crops(model: PoseNet, crops: torch.Tensor, boxes: np.ndarray, root_depth_mm: np.ndarray,
                              intrinsics: Intrinsics, flip: bool = False,
                              flip_perm: np.ndarray | None = None) -> np.ndarray:
    """`estimate_poses` from already made crops (N, 3, 256, 256) (`preprocess_crops` or `preprocess_crops_torch`).

    The crops are moved to the model's device keeping their memory format (channels-last stays so); run it
    under `torch.autocast` for half precision (the soft-argmax is computed in float32 either way).
    Returns:
        (N, J, 3) float64 camera-frame joints (mm).
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    n = len(boxes)
    if n == 0:
        return np.zeros((0, model.num_joints, 3))
    if crops.shape[0] != n:
        raise ValueError(f"{crops.shape[0]} crops for {n} boxes")
    batch = crops
    if flip:
        batch = torch.cat([batch, batch.flip(3)], dim=0)
    coords = model(batch.to(_model_device(model))).float()
    if flip:
        perm = MUCO21.flip_permutation() if flip_perm is None else flip_perm
        coords = (coords[:n] + unflip_coords(coords[n:], perm)) / 2.0
    return decode_pose(coords.cpu().numpy(), boxes, np.asarray(root_depth_mm, np.float64).reshape(n), intrinsics)
