"""3DMPPE PoseNet: checkpoint layout, shapes, integral regression, flip test and decoding."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pinet_ros.core.boxes import crop_affine
from pinet_ros.core.camera import Intrinsics
from pinet_ros.core.skeleton import MUCO21
from pinet_ros.models.checkpoint import WeightLoadError
from pinet_ros.models.posenet import (PoseNet, decode_pose, depth_hm_to_mm, depth_mm_to_hm, estimate_poses,
                                      load_posenet, preprocess_crops, soft_argmax_3d, unflip_coords)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "helpers"))
from numerics import F32_EPS, assert_close  # noqa: E402

K = Intrinsics(fx=1500.0, fy=1480.0, cx=320.0, cy=240.0)
J = 21
# soft_argmax_3d works in float32 (it casts), so its comparisons use heatmaps whose float32 result is exact in
# any summation order (SIMD width, thread count): below, up to one float32 ulp of the largest coordinate (63).
ULP63 = 63 * F32_EPS


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = PoseNet(J).eval()
    # make the random head less flat so outputs depend on the input
    with torch.no_grad():
        m.head.final_layer.weight.normal_(std=0.05)
    return m


def _official_checkpoint(state, path, with_nbt=True):
    net = {f"module.{k}": v.clone() for k, v in state.items() if with_nbt or not k.endswith("num_batches_tracked")}
    torch.save({"epoch": 24, "network": net, "optimizer": {}}, path)
    return path


@pytest.fixture(scope="module")
def state(model):
    return model.state_dict()


def test_official_layout_keys(state):
    assert tuple(state["head.final_layer.weight"].shape) == (1344, 256, 1, 1)
    assert tuple(state["head.deconv_layers.0.weight"].shape) == (2048, 256, 4, 4)
    assert "head.deconv_layers.0.bias" not in state
    assert {"head.deconv_layers.1.running_mean", "head.deconv_layers.4.weight", "head.deconv_layers.7.bias",
            "backbone.conv1.weight", "backbone.bn1.running_var", "backbone.layer4.2.conv3.weight"} <= set(state)
    assert not any(k.startswith(("backbone.fc", "backbone.avgpool")) for k in state)


@pytest.mark.parametrize("with_nbt", [True, False])
def test_load_official_checkpoint(state, tmp_path, with_nbt):
    path = _official_checkpoint(state, tmp_path / "snapshot_24.pth.tar", with_nbt)
    loaded = load_posenet(path, num_joints=J)
    assert not loaded.training
    got = loaded.state_dict()
    for k in ("head.final_layer.weight", "backbone.layer3.1.bn2.running_mean", "head.deconv_layers.3.weight"):
        torch.testing.assert_close(got[k], state[k])


def test_wrong_checkpoints_raise(state, tmp_path):
    with pytest.raises(WeightLoadError, match="snapshot_24"):
        load_posenet(_official_checkpoint(state, tmp_path / "snapshot_24.pth.tar"), num_joints=17)
    # a RootNet-shaped file: root.* head instead of head.*
    root_like = {k.replace("head.deconv_layers", "root.deconv_layers"): v for k, v in state.items()
                 if not k.startswith("head.final_layer")}
    root_like.update({"root.xy_layer.weight": torch.zeros(1, 256, 1, 1), "root.xy_layer.bias": torch.zeros(1),
                      "root.depth_layer.weight": torch.zeros(1, 2048, 1, 1), "root.depth_layer.bias": torch.zeros(1)})
    with pytest.raises(WeightLoadError, match="snapshot_18"):
        load_posenet(_official_checkpoint(root_like, tmp_path / "snapshot_18.pth.tar"), num_joints=J)


def test_soft_argmax_one_hot_returns_voxel():
    hm = torch.zeros(2, 3 * 64, 64, 64)
    targets = [[(5, 10, 20), (63, 0, 0), (0, 63, 31)], [(12, 34, 56), (1, 2, 3), (40, 40, 40)]]  # (x, y, z)
    for b, joints in enumerate(targets):
        for j, (x, y, z) in enumerate(joints):
            hm[b, j * 64 + z, y, x] = 1e4
    out = soft_argmax_3d(hm, 3)
    assert out.shape == (2, 3, 3)
    # every other voxel weighs exp(-1e4) = 0 in float32: the expectation is the voxel index, exactly
    assert_close(out, torch.tensor(targets, dtype=torch.float64), atol=ULP63, label="one-hot")


def test_soft_argmax_uniform_is_centre():
    out = soft_argmax_3d(torch.zeros(1, 2 * 64, 64, 64), 2)
    # every weight is 2^-18 and every partial sum a multiple of it: exact in float32, 31.5 = mean of 0..63
    assert_close(out, torch.full((1, 2, 3), 31.5, dtype=torch.float64), atol=ULP63, label="uniform")


def _dyadic_heatmap(seed: int, num_joints: int = J) -> torch.Tensor:
    """(1, J*64, 64, 64) logits: 0 on a random set of 2^k voxels per joint (k = 6..12), -inf elsewhere.

    soft_argmax_3d of it is exact in float32 whatever the summation order: every kept voxel weighs exactly
    2^-k (exp(0) = 1, a sum of 2^k ones), every partial sum is a multiple of 2^-k (or of 2^-k x index) below
    2^24 x 2^-k, so no rounding happens; the result is the mean index of the kept voxels, different per joint.
    """
    g = torch.Generator().manual_seed(seed)
    hm = torch.full((num_joints, 64 ** 3), float("-inf"))
    for j in range(num_joints):
        k = int(torch.randint(6, 13, (1,), generator=g))
        hm[j, torch.randperm(64 ** 3, generator=g)[:2 ** k]] = 0.0
    return hm.reshape(1, num_joints * 64, 64, 64)


def test_flip_of_mirrored_heatmap_gives_mirrored_coords():
    # Exact arithmetic by construction (see _dyadic_heatmap): with random logits the float32 sums over the
    # 262,144 voxels depend on the summation order (differences of 2e-3 voxel between CPUs).
    hm = _dyadic_heatmap(seed=1)
    perm = MUCO21.flip_permutation()
    # the mirrored situation: image flipped left-right and left/right joints exchanged
    mirrored = hm.reshape(1, J, 64, 64, 64)[:, torch.as_tensor(perm)].flip(4).reshape(1, J * 64, 64, 64)
    a = soft_argmax_3d(hm, J)
    b = soft_argmax_3d(mirrored, J)
    assert float(a[..., 0].std()) > 0.5  # the joints' coordinates differ: a wrong permutation shows
    assert_close(b[..., 0], (63 - a[..., 0])[:, torch.as_tensor(perm)], atol=ULP63, label="mirrored x")
    assert_close(b[..., 1:], a[:, torch.as_tensor(perm), 1:], atol=ULP63, label="mirrored y, z")
    assert_close(unflip_coords(b, perm), a, atol=ULP63, label="unflip (torch)")
    # numpy path too
    assert_close(unflip_coords(b.numpy(), perm), a.numpy(), atol=ULP63, label="unflip (numpy)")


def test_preprocess_keeps_0_255_quirk():
    img = np.zeros((100, 120, 3), np.uint8)
    img[..., 0] = 255
    img[..., 2] = 10
    t = preprocess_crops(img, np.array([[10.0, 10.0, 64.0, 64.0]]))
    assert t.shape == (1, 3, 256, 256) and t.dtype == torch.float32
    c = t[0, :, 128, 128]
    torch.testing.assert_close(c, torch.tensor([(255 - 0.485) / 0.229, (0 - 0.456) / 0.224, (10 - 0.406) / 0.225]))
    assert preprocess_crops(img, np.zeros((0, 4))).shape == (0, 3, 256, 256)


def test_depth_encode_decode():
    assert depth_hm_to_mm(40.0, 5000.0) == pytest.approx(5250.0)  # (40/64*2-1)*1000 + 5000
    assert depth_hm_to_mm(32.0, 4321.0) == pytest.approx(4321.0)
    assert depth_mm_to_hm(5250.0, 5000.0) == pytest.approx(40.0)
    z = np.linspace(0, 63, 7)
    np.testing.assert_allclose(depth_mm_to_hm(depth_hm_to_mm(z, 3000.0), 3000.0), z)


def test_decode_pose_known_values():
    coords = np.array([[[32.0, 16.0, 32.0], [0.0, 0.0, 48.0]]])
    box = np.array([[100.0, 200.0, 256.0, 128.0]])
    out = decode_pose(coords, box, np.array([4000.0]), K)
    assert out.shape == (1, 2, 3)
    # joint 0: u = 32/64*256+100 = 228, v = 16/64*128+200 = 232, z = 4000
    np.testing.assert_allclose(out[0, 0], [(228 - 320) / 1500 * 4000, (232 - 240) / 1480 * 4000, 4000])
    # joint 1: u = 100, v = 200, z = (48/64*2-1)*1000+4000 = 4500
    np.testing.assert_allclose(out[0, 1], [(100 - 320) / 1500 * 4500, (200 - 240) / 1480 * 4500, 4500])
    np.testing.assert_allclose(K.project(out[0]), [[228, 232], [100, 200]])


def test_forward_shapes(model):
    x = torch.randn(1, 3, 256, 256)
    with torch.no_grad():
        hm = model.heatmaps(x)
        coords = soft_argmax_3d(hm, J)
    assert hm.shape == (1, J * 64, 64, 64)
    assert coords.shape == (1, J, 3)
    assert float(coords.min()) >= 0.0 and float(coords.max()) <= 63.0


def test_estimate_poses_single_batched_forward_with_flip(model):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    boxes = np.array([[10.0, 20.0, 150.0, 150.0], [150.0, 40.0, 120.0, 120.0]])
    roots = np.array([3000.0, 4500.0])
    calls = []
    h = model.register_forward_hook(lambda m, inp, out: calls.append((inp[0].shape[0], out.detach().clone())))
    try:
        out = estimate_poses(model, img, boxes, roots, K, flip=True)
    finally:
        h.remove()
    assert out.shape == (2, J, 3)
    assert len(calls) == 1 and calls[0][0] == 4
    raw = calls[0][1].double()
    unflipped = unflip_coords(raw[2:], MUCO21.flip_permutation())
    expected = ((raw[:2] + unflipped) / 2).numpy()  # float64; the library may average in float32
    # A float32 average of coordinates in 0..63 is off by <= one float32 ulp of 64 per coordinate; decoding is
    # smooth, so the allowed error per output is the sum over the three coordinates of its change for that step.
    step = 64 * F32_EPS
    ref = decode_pose(expected, boxes, roots, K)
    allowed = sum(np.abs(decode_pose(expected + step * np.eye(3)[axis], boxes, roots, K) - ref) for axis in range(3))
    assert_close(out, ref, atol=2 * float(allowed.max()), label="flip-averaged decode (mm)")
    # the flipped half really came from the mirrored crop: with flip it differs from the plain prediction
    assert float((raw[:2] - unflipped).abs().max()) > 1e-2
    assert estimate_poses(model, img, np.zeros((0, 4)), np.zeros(0), K).shape == (0, J, 3)


def test_crop_geometry_matches_heatmap_decoding():
    # a crop pixel (4*x_hm) maps back through decode to the image pixel it was cropped from
    box = np.array([50.0, 60.0, 200.0, 200.0])
    u, v = 130.0, 170.0
    uc, vc = crop_affine(box) @ np.array([u, v, 1.0])
    coords = np.array([[[uc / 4, vc / 4, 32.0]]])
    np.testing.assert_allclose(K.project(decode_pose(coords, box[None], np.array([2000.0]), K)[0]), [[u, v]])
