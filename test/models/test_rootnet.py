"""3DMPPE RootNet: checkpoint layout, shapes, the k scaling and per-frame batching."""

import numpy as np
import pytest
import torch

from pinet_ros.core.camera import Intrinsics
from pinet_ros.models.checkpoint import WeightLoadError
from pinet_ros.models.rootnet import RootNet, estimate_roots, load_rootnet, rootnet_k

K = Intrinsics(fx=1500.0, fy=1480.0, cx=320.0, cy=240.0)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = RootNet().eval()
    with torch.no_grad():  # random but non-trivial head so outputs depend on the input
        m.root.xy_layer.weight.normal_(std=0.05)
        m.root.depth_layer.weight.normal_(std=0.05)
        m.root.depth_layer.bias.fill_(1.0)
    return m


@pytest.fixture(scope="module")
def state(model):
    return model.state_dict()


def _official_checkpoint(state, path, with_nbt=True):
    net = {f"module.{k}": v.clone() for k, v in state.items() if with_nbt or not k.endswith("num_batches_tracked")}
    torch.save({"epoch": 18, "network": net, "optimizer": {}}, path)
    return path


def test_official_layout_keys(state):
    assert tuple(state["root.xy_layer.weight"].shape) == (1, 256, 1, 1)
    assert tuple(state["root.depth_layer.weight"].shape) == (1, 2048, 1, 1)
    assert tuple(state["root.deconv_layers.6.weight"].shape) == (256, 256, 4, 4)
    assert {"root.xy_layer.bias", "root.depth_layer.bias", "root.deconv_layers.7.running_var",
            "backbone.layer1.0.downsample.0.weight"} <= set(state)
    assert not any(k.startswith(("backbone.fc", "head.")) for k in state)


@pytest.mark.parametrize("with_nbt", [True, False])
def test_load_official_checkpoint(state, tmp_path, with_nbt):
    loaded = load_rootnet(_official_checkpoint(state, tmp_path / "snapshot_18.pth.tar", with_nbt))
    assert not loaded.training
    got = loaded.state_dict()
    for k in ("root.depth_layer.weight", "root.xy_layer.bias", "backbone.layer2.3.bn3.running_var"):
        torch.testing.assert_close(got[k], state[k])


def test_posenet_file_is_rejected(state, tmp_path):
    # a PoseNet checkpoint: head.* with deconvs and a J*64-channel final layer, no root.* layers
    pose_like = {k.replace("root.deconv_layers", "head.deconv_layers"): v for k, v in state.items()
                 if not k.startswith(("root.xy_layer", "root.depth_layer"))}
    pose_like["head.final_layer.weight"] = torch.zeros(1344, 256, 1, 1)
    pose_like["head.final_layer.bias"] = torch.zeros(1344)
    with pytest.raises(WeightLoadError, match="snapshot_24"):
        load_rootnet(_official_checkpoint(pose_like, tmp_path / "snapshot_24.pth.tar"))
    with pytest.raises(WeightLoadError):
        load_rootnet(tmp_path / "missing.pth.tar")


def test_k_against_hand_computation():
    boxes = np.array([[10.0, 20.0, 250.0, 250.0], [0.0, 0.0, 200.0, 300.0]])
    k = rootnet_k(boxes, K)
    assert k.shape == (2, 1)
    # sqrt(2000 * 2000 * 1500 * 1480 / (250 * 250)) = 2000 * sqrt(2220000) / 250
    assert k[0, 0] == pytest.approx(11919.731540601071, rel=1e-12)
    # sqrt(2000 * 2000 * 1500 * 1480 / (200 * 300))
    assert k[1, 0] == pytest.approx(12165.52506059644, rel=1e-12)


def test_forward_shape_and_depth_scales_with_k(model):
    x = torch.randn(1, 3, 256, 256).repeat(2, 1, 1, 1)
    with torch.no_grad():
        out = model(x, torch.tensor([[1000.0], [2500.0]]))
    assert out.shape == (2, 3)
    # the same crop in two batch rows: the same operations on the same values (torch's float32 default, 1e-5
    # absolute, is about one float32 ulp of the largest coordinate, 63)
    torch.testing.assert_close(out[0, :2], out[1, :2])
    assert float(out[0, 2]) != 0.0
    # depth = gamma x k in float32, then x 2.5 here: two roundings (2 x 6e-8 relative; the default rtol is 1.3e-6)
    torch.testing.assert_close(out[1, 2], out[0, 2] * 2.5)
    assert 0.0 <= float(out[:, :2].min()) and float(out[:, :2].max()) <= 63.0


def test_estimate_roots_one_batched_forward(model):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    boxes = np.array([[10.0, 20.0, 150.0, 150.0], [150.0, 40.0, 120.0, 160.0]])
    calls = []
    h = model.register_forward_hook(lambda m, inp, out: calls.append((inp[0].shape[0], inp[1].clone(), out.clone())))
    try:
        roots = estimate_roots(model, img, boxes, K)
    finally:
        h.remove()
    assert roots.shape == (2, 3)
    assert len(calls) == 1 and calls[0][0] == 2
    # k reaches the network as float32: rounded to nearest, relative error <= eps32 / 2
    k32_rtol = float(np.finfo(np.float32).eps)
    torch.testing.assert_close(calls[0][1].double(), torch.from_numpy(rootnet_k(boxes, K)), rtol=k32_rtol, atol=0)
    raw = calls[0][2].double().numpy()
    # below: the same float64 arithmetic on the same float32 outputs (rtol 1e-6 is ~5e9 float64 roundings)
    np.testing.assert_allclose(roots[:, 0], raw[:, 0] / 64 * boxes[:, 2] + boxes[:, 0], rtol=1e-6)
    np.testing.assert_allclose(roots[:, 1], raw[:, 1] / 64 * boxes[:, 3] + boxes[:, 1], rtol=1e-6)
    np.testing.assert_allclose(roots[:, 2], raw[:, 2], rtol=1e-6)
    assert estimate_roots(model, img, np.zeros((0, 4)), K).shape == (0, 3)
