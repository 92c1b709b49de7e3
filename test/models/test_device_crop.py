"""Crops made with torch (grid_sample, on the device) against the released cv2.warpAffine crop.

Tolerance, from how cv2 interpolates uint8 images (imgwarp.cpp): the sampling point is computed in fixed point
with 1/1024 px resolution and then truncated to a 1/32 px cell (INTER_BITS = 5), so it is off by at most
d = 1/32 + 1/1024 px per axis; the bilinear weights are 15-bit fixed point (total weight error at most
4 * 2^-15 of 255); and the result is rounded to uint8 (0.5). With G the largest difference between
neighbouring pixels of the image (grey levels per px), |cv2 - exact bilinear| <= 0.5 + 2 d G + 4 * 255 * 2^-15.
A sample within one pixel of the image edge blends with the black outside, so there G is taken with the
zero border included (up to 255 even for a smooth image).
The torch crop is the exact bilinear value up to float32 rounding: its sampling point, held as a normalised
float32 coordinate in [-1, 1], is off by at most a few ulps, 4 * 2^-24 * max(H, W) px, which adds
2 * 4 * 2^-24 * max(H, W) * G; the arithmetic itself adds well under 0.01 grey levels.
"""

import numpy as np
import pytest
import torch

from pinet_ros.core.boxes import crop_image, process_box
from pinet_ros.models.posenet import (PIXEL_MEAN, PIXEL_STD, crop_sampling_grid, image_to_tensor, preprocess_crops,
                                      preprocess_crops_torch)

D = 1.0 / 32 + 1.0 / 1024


def _grad(image: np.ndarray, black_border: bool = False) -> float:
    img = image.astype(np.float64)
    if black_border:
        img = np.pad(img, ((1, 1), (1, 1), (0, 0)))
    return float(max(np.abs(np.diff(img, axis=0)).max(), np.abs(np.diff(img, axis=1)).max()))


def _torch_bound(image: np.ndarray) -> float:
    """|torch crop - exact bilinear| (grey levels): float32 sampling position, plus arithmetic."""
    return 2 * 4 * 2.0 ** -24 * max(image.shape[:2]) * _grad(image) + 0.01


def _bound(image: np.ndarray, black_border: bool = False) -> float:
    """|torch crop - cv2 crop| (grey levels); `black_border` for samples next to the image edge."""
    return 0.5 + 2 * D * _grad(image, black_border) + 4 * 255 * 2.0 ** -15 + _torch_bound(image)


def _interior(boxes: np.ndarray, h: int, w: int, size: int = 256) -> np.ndarray:
    """(N, S, S) True where crop pixel (x, y) samples image point (bx + x w/S, by + y h/S) with all four
    bilinear neighbours inside the image (one cv2 cell, 1/32 px, of margin)."""
    s = np.arange(size, dtype=np.float64)
    px = boxes[:, 0:1] + s[None] * boxes[:, 2:3] / size  # (N, S) image x per crop column
    py = boxes[:, 1:2] + s[None] * boxes[:, 3:4] / size
    okx = (px >= D) & (px <= w - 1 - D)
    oky = (py >= D) & (py <= h - 1 - D)
    return oky[:, :, None] & okx[:, None, :]


def _smooth_image(h: int, w: int, seed: int) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    low = rng.uniform(0, 255, (h // 24 + 2, w // 24 + 2, 3)).astype(np.float32)
    return np.clip(cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC), 0, 255).astype(np.uint8)


def _boxes(w: int, h: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    raw = [[rng.uniform(-40, w - 60), rng.uniform(-40, h - 80), rng.uniform(30, 220), rng.uniform(60, 300)]
           for _ in range(6)]
    raw.append([w - 30.3, h - 50.7, 80.0, 90.0])  # mostly outside: black border blended in
    raw.append([0.0, 0.0, w, h])  # whole image (box grows beyond it)
    return np.stack([process_box(b, w, h) for b in raw])


def _unnormalise(t: torch.Tensor) -> np.ndarray:
    """(N, 3, S, S) normalised -> grey levels 0..255 (float64), inverting (v - mean) / std up to the mean."""
    return t.double().numpy() * np.asarray(PIXEL_STD, np.float64).reshape(1, 3, 1, 1)


@pytest.mark.parametrize("seed", [0, 1])
def test_smooth_image_crops_match_cv2_within_interpolation_bound(seed):
    h, w = 480, 640
    img = _smooth_image(h, w, seed)
    boxes = _boxes(w, h, seed)
    ref = _unnormalise(preprocess_crops(img, boxes))
    got = _unnormalise(preprocess_crops_torch(image_to_tensor(img), boxes))
    assert got.shape == ref.shape == (len(boxes), 3, 256, 256)
    bound = _bound(img)
    assert bound < 2.0  # the image is smooth, so the comparison is tight away from the edge
    diff = np.abs(got - ref).max(axis=1)  # (N, S, S) over channels
    inside = _interior(boxes, h, w)
    assert inside.mean() > 0.5 and (~inside).sum() > 1000  # both kinds of samples are compared
    assert diff[inside].max() <= bound, (diff[inside].max(), bound)
    assert diff[~inside].max() <= _bound(img, black_border=True)
    # the crops are not trivially equal (e.g. both black): they hold the image's content
    assert ref.std() > 10.0


def test_noisy_image_crops_within_bound_and_border_is_black():
    rng = np.random.default_rng(3)
    h, w = 120, 160
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    boxes = np.array([[-50.0, -30.0, 100.0, 100.0], [20.5, 10.25, 73.3, 73.3], [100.0, 60.0, 200.0, 200.0]])
    ref = _unnormalise(preprocess_crops(img, boxes))
    got = _unnormalise(preprocess_crops_torch(image_to_tensor(img), boxes))
    assert np.abs(got - ref).max() <= _bound(img, black_border=True)
    # crop pixel (0, 0) of box 0 samples image point (-50, -30): outside, black in both (0 - mean)
    mean_only = -np.asarray(PIXEL_MEAN)
    np.testing.assert_allclose(got[0, :, 0, 0], mean_only, atol=1e-4)
    np.testing.assert_allclose(ref[0, :, 0, 0], mean_only, atol=1e-4)


def test_integer_aligned_crop_is_exact():
    # box of 256 px at integer position: every sample lands on a pixel centre, no interpolation at all
    img = np.random.default_rng(4).integers(0, 256, (300, 320, 3), dtype=np.uint8)
    box = np.array([[17.0, 23.0, 256.0, 256.0]])
    want = img[23:23 + 256, 17:17 + 256].transpose(2, 0, 1)[None].astype(np.float64)
    got = _unnormalise(preprocess_crops_torch(image_to_tensor(img), box)) + \
        np.asarray(PIXEL_MEAN).reshape(1, 3, 1, 1)
    np.testing.assert_allclose(got, want, rtol=0, atol=_torch_bound(img))
    np.testing.assert_array_equal(crop_image(img, box[0]).transpose(2, 0, 1)[None], want)


def test_grid_maps_crop_pixels_through_the_inverse_affine():
    box = np.array([[10.0, 20.0, 128.0, 64.0]])
    g = crop_sampling_grid(box, 100, 200, out_size=256).double().numpy()[0]
    # crop (x=0, y=0) -> image (10, 20); crop (x=255, y=128) -> image (10 + 255/2, 20 + 128/4)
    np.testing.assert_allclose((g[0, 0] + 1) / 2 * [199, 99], [10.0, 20.0], atol=1e-4)
    np.testing.assert_allclose((g[128, 255] + 1) / 2 * [199, 99], [10 + 255 * 0.5, 20 + 128 * 0.25], atol=1e-4)


def test_empty_and_invalid_inputs():
    img = image_to_tensor(np.zeros((10, 12, 3), np.uint8))
    assert img.shape == (3, 10, 12) and img.dtype == torch.uint8
    assert preprocess_crops_torch(img, np.zeros((0, 4))).shape == (0, 3, 256, 256)
    with pytest.raises(ValueError, match="3, H, W"):
        preprocess_crops_torch(torch.zeros(10, 12, 3), np.zeros((1, 4)))
