"""Tests of pinet_ros.models.pinet: architecture, loading, batched refine, ordering, normalisation."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pinet_ros.models.checkpoint import WeightLoadError
from pinet_ros.models.pinet import (ROOT_JOINT, PINet, PINetConfig, build_orders, count_parameters, load_pinet,
                                    save_pinet)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "helpers"))
from numerics import F64_EPS, assert_close  # noqa: E402

J = 17
# Equivalence tests (batched vs one by one, padded vs not) run the network in float64: the two sides then
# differ only by float64 rounding in differently blocked reductions, at most eps64 (2.2e-16) x reduction
# length (< 1e3) x magnitude (< 1e4 mm) x depth (~10 layers) = 2e-8 mm; TOL64_MM allows 50 times that.
# A padding leak, a wrong person order or a wrong re-indexing moves outputs by millimetres.
TOL64_MM = 1e-6
# Attention weights (0..1): scores are length-512 dot products with sum |terms| < 50 (|enc| < 1, |Wa enc| < 1.2
# here), so their float64 error is < 512 x 2.2e-16 x 50 = 6e-12; the softmax does not amplify it (Lipschitz 1).
TOL64_ATTENTION = 1e-8


def _scene(n: int, seed: int = 0) -> np.ndarray:
    """(n, 17, 3) mm: roots 2-6 m in front of the camera, joints within ~±500 mm of the root."""
    rng = np.random.default_rng(seed)
    roots = np.stack([rng.uniform(-2000, 2000, n), rng.uniform(-500, 500, n), rng.uniform(2000, 6000, n)], 1)
    poses = roots[:, None, :] + rng.uniform(-500, 500, (n, J, 3))
    poses[:, ROOT_JOINT] = roots
    return poses.astype(np.float32)


def _boxes(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.uniform(0, 1500, (n, 2)), rng.uniform(50, 300, (n, 2))], 1).astype(np.float32)


def _random_model(config: PINetConfig | None = None, seed: int = 0) -> PINet:
    torch.manual_seed(seed)
    m = PINet(config)
    with torch.no_grad():  # make LayerNorms / h0 non-trivial so loading mistakes show
        for p in m.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return m.eval()


@pytest.fixture(scope="module")
def model() -> PINet:
    return _random_model()


@pytest.fixture(scope="module")
def model64(model) -> PINet:
    return copy.deepcopy(model).double()


def test_parameter_count_default():
    assert count_parameters(PINet()) == 3_408_896


@pytest.mark.parametrize("cfg", [
    PINetConfig(num_layers=2), PINetConfig(num_layers=4), PINetConfig(cell="lstm"),
    PINetConfig(bidirectional=False), PINetConfig(attention=False),
    PINetConfig(cell="lstm", bidirectional=False, attention=False, num_layers=2)])
def test_ablation_configs_forward(cfg):
    m = PINet(cfg).eval()
    assert m.h0.shape == (cfg.num_layers * (2 if cfg.bidirectional else 1), 1, cfg.hidden)
    assert hasattr(m, "c0") == (cfg.cell == "lstm")
    x = torch.as_tensor(_scene(3)).reshape(1, 3 * J, 3).repeat(2, 1, 1)
    out, alpha = m.forward_with_attention(x)
    assert out.shape == (2, 3 * J, 3)
    assert (alpha is None) == (not cfg.attention)
    if alpha is not None:
        assert alpha.shape == (2, 3, 3)
    ref, att = m.refine(_scene(4))
    assert ref.shape == (4, J, 3) and att.shape == (4, 4)


@pytest.mark.parametrize("kw", [dict(cell="rnn"), dict(num_layers=1), dict(num_layers=5)])
def test_invalid_config(kw):
    with pytest.raises(ValueError):
        PINetConfig(**kw)


@pytest.mark.parametrize("prefix", ["", "module."])
def test_official_checkpoint_roundtrip(tmp_path, model, prefix):
    path = tmp_path / "snapshot_24.pth.tar"
    state = {prefix + k: v.clone() for k, v in model.state_dict().items()}
    torch.save({"epoch": 24, "network": state, "optimizer": {}}, path)
    loaded = load_pinet(path)
    assert not loaded.training
    x = torch.as_tensor(_scene(3)).reshape(1, 3 * J, 3)
    with torch.no_grad():
        assert torch.equal(loaded.forward_sequence(x), model.forward_sequence(x))
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v)


@pytest.mark.parametrize("damage", ["drop", "shape", "extra"])
def test_wrong_checkpoint_raises(tmp_path, model, damage):
    state = dict(model.state_dict())
    if damage == "drop":
        del state["Wa.weight"]
    elif damage == "shape":
        state["linear3.weight"] = torch.zeros(50, 128)
    else:
        state["linear3.bias"] = torch.zeros(51)
    path = tmp_path / "bad_snapshot.pth.tar"
    torch.save({"epoch": 24, "network": state, "optimizer": {}}, path)
    with pytest.raises(WeightLoadError, match="bad_snapshot.pth.tar"):
        load_pinet(path)


def test_missing_file_raises(tmp_path):
    with pytest.raises(WeightLoadError, match="nothere.pth.tar"):
        load_pinet(tmp_path / "nothere.pth.tar")


@pytest.mark.parametrize("cfg", [PINetConfig(), PINetConfig(cell="lstm", num_layers=2, bidirectional=False)])
def test_safetensors_roundtrip(tmp_path, cfg):
    src = _random_model(cfg, seed=3)
    path = tmp_path / "pinet.safetensors"
    save_pinet(src, path, extra_metadata={"source": "test"})
    loaded = load_pinet(path)
    assert loaded.config == cfg
    x = torch.as_tensor(_scene(2)).reshape(1, 2 * J, 3)
    with torch.no_grad():
        assert torch.equal(loaded(x), src(x))
    from safetensors import safe_open
    with safe_open(str(path), framework="pt") as f:
        assert f.metadata()["source"] == "test"


def _loop_reference(m: PINet, poses: np.ndarray, boxes: np.ndarray | None, order: str) -> np.ndarray:
    """Per-person loop, orderings built independently with Python sorting."""
    n = len(poses)
    if order == "bbox2d":
        c = boxes[:, :2] + boxes[:, 2:] / 2
        key = lambda i, k: float(np.linalg.norm(c[i] - c[k]))  # noqa: E731
    else:
        r = poses[:, ROOT_JOINT]
        key = lambda i, k: float(np.linalg.norm(r[i] - r[k]))  # noqa: E731
    outs = []
    for i in range(n):
        seq = [i, i] if n == 1 else [i] + sorted((k for k in range(n) if k != i), key=lambda k: key(i, k))
        x = torch.as_tensor(poses[seq], dtype=m.h0.dtype).reshape(1, -1, 3)
        with torch.no_grad():
            outs.append(m.forward_sequence(x)[0, :J].numpy())
    return np.stack(outs)


@pytest.mark.parametrize("order", ["root3d", "bbox2d"])
@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_refine_equals_per_person_loop(model, model64, n, order):
    poses = _scene(n, seed=n)
    boxes = _boxes(n)
    ref32, att32 = model.refine(poses, order=order, boxes=boxes)
    assert isinstance(ref32, np.ndarray) and ref32.dtype == np.float32 and ref32.shape == (n, J, 3)
    assert att32.shape == (n, n)
    # the numbers in float64 (a torch float64 input keeps float64 out)
    ref, att = model64.refine(torch.as_tensor(poses, dtype=torch.float64), order=order, boxes=boxes)
    expected = _loop_reference(model64, poses, boxes, order)
    assert_close(ref, expected, atol=TOL64_MM, label="batched refine = per-person loop")
    # rows of a softmax, scattered: n + 2 roundings of values <= 1 (a lost or doubled entry is off by >= 1/n)
    assert_close(att.sum(1), 1.0, atol=(n + 2) * F64_EPS * 4, label="attention rows sum to 1")


def test_refine_attention_reindexed(model64):
    poses = _scene(4, seed=9)
    _, att = model64.refine(torch.as_tensor(poses, dtype=torch.float64))
    orders = build_orders(torch.as_tensor(poses))
    for i in range(4):
        x = torch.as_tensor(poses[orders[i].numpy()], dtype=torch.float64).reshape(1, -1, 3)
        with torch.no_grad():
            _, alpha = model64.forward_with_attention(x)
        for pos, person in enumerate(orders[i].tolist()):
            assert_close(att[i, person], alpha[0, 0, pos], atol=TOL64_ATTENTION, label="attention re-indexed")


def test_refine_types_and_empty(model):
    ref, att = model.refine(np.zeros((0, J, 3), np.float32))
    assert isinstance(ref, np.ndarray) and ref.shape == (0, J, 3) and att.shape == (0, 0)
    t_ref, t_att = model.refine(torch.as_tensor(_scene(2)))
    assert isinstance(t_ref, torch.Tensor) and t_ref.shape == (2, J, 3) and t_att.shape == (2, 2)
    with pytest.raises(ValueError):
        model.refine(_scene(2), order="bbox2d")
    with pytest.raises(ValueError):
        model.refine(_scene(2), order="nope")


def test_padding_has_no_influence(model64):
    lengths = [3, 1, 5, 2]
    n = max(lengths)
    batch = torch.full((len(lengths), n * J, 3), 12345.0, dtype=torch.float64)  # garbage padding
    singles = []
    for b, L in enumerate(lengths):
        x = torch.as_tensor(_scene(L, seed=20 + b), dtype=torch.float64).reshape(L * J, 3)
        batch[b, :L * J] = x
        with torch.no_grad():
            singles.append(model64.forward_with_attention(x[None]))
    with torch.no_grad():
        out, alpha = model64.forward_with_attention(batch, torch.tensor(lengths))
    for b, L in enumerate(lengths):
        assert_close(out[b, :L * J], singles[b][0][0], atol=TOL64_MM, label="padded = alone")
        assert_close(alpha[b, :L, :L], singles[b][1][0], atol=TOL64_ATTENTION, label="padded attention")
        assert torch.all(alpha[b, :, L:] == 0)


def test_zeroed_output_layer_returns_input_mean():
    m = _random_model(seed=5)
    with torch.no_grad():
        m.linear3.weight.zero_()
    x = torch.as_tensor(_scene(3, seed=4), dtype=torch.float64).reshape(1, 3 * J, 3)
    m = m.double()
    with torch.no_grad():
        out = m.forward_sequence(x)
    # float64: a mean over 51 joints of values < 1e4 mm is exact to 51 x 2.2e-16 x 1e4 = 1e-10 mm
    torch.testing.assert_close(out, x.mean(dim=1, keepdim=True).expand_as(x), atol=1e-9, rtol=0)
    # with padding: mean over valid joints only
    xp = torch.cat([x, torch.full((1, 2 * J, 3), 9e5, dtype=torch.float64)], 1)
    with torch.no_grad():
        outp = m.forward_sequence(xp, torch.tensor([3]))
    torch.testing.assert_close(outp[:, :3 * J], out, atol=1e-9, rtol=0)


def test_normalisation_scale_equivariance(model):
    """Output is de-normalised with the input mean/std: shifting the input shifts the output."""
    x = torch.as_tensor(_scene(3, seed=6)).reshape(1, 3 * J, 3).double()
    m = _random_model(seed=0).double()
    shift = torch.tensor([300.0, -200.0, 1000.0], dtype=torch.float64)
    # float64 inputs < 1e4 mm carry 2e-12 mm of rounding into the normalised input; TOL64_MM covers the rest
    with torch.no_grad():
        torch.testing.assert_close(m.forward_sequence(x + shift), m.forward_sequence(x) + shift, atol=TOL64_MM, rtol=0)


def test_orders():
    poses = _scene(5, seed=11)
    roots = poses[:, ROOT_JOINT]
    d = np.linalg.norm(roots[:, None] - roots[None], axis=-1)
    near = build_orders(poses, "root3d").numpy()
    far = build_orders(poses, "reverse").numpy()
    for i in range(5):
        assert near[i, 0] == i and far[i, 0] == i
        assert sorted(near[i].tolist()) == list(range(5))
        assert np.all(np.diff(d[i, near[i, 1:]]) > 0)
        assert np.all(np.diff(d[i, far[i, 1:]]) < 0)
    r1 = build_orders(poses, "random", seed=7).numpy()
    assert np.array_equal(r1, build_orders(poses, "random", seed=7).numpy())
    assert np.all(r1[:, 0] == np.arange(5))
    assert all(sorted(row.tolist()) == list(range(5)) for row in r1)
    assert any(not np.array_equal(build_orders(poses, "random", seed=s).numpy(), r1) for s in range(8, 12))
    assert build_orders(poses[:1], "root3d").tolist() == [[0, 0]]


def test_residual_variant_starts_as_the_identity_and_keeps_its_flag(tmp_path):
    """A new residual network returns its input exactly (zero-initialised last layer); once its last layer is
    non-zero the output moves, by the correction times the per-axis scale; the flag survives a save/load."""
    cfg = PINetConfig(residual=True)
    net = PINet(cfg).eval()
    x = torch.from_numpy(_scene(3)).reshape(1, -1, 3).float()
    with torch.no_grad():
        assert torch.equal(net(x), x)  # x + 0 * scale: exact in float32
        torch.manual_seed(0)
        net.linear3.weight.normal_(std=1e-2)
        moved = net(x)
    assert float((moved - x).abs().max()) > 1.0  # mm; the correction is scaled by the input's ~100s-mm std
    assert count_parameters(net) == count_parameters(PINet(PINetConfig()))
    path = tmp_path / "residual.safetensors"
    save_pinet(net, path)
    loaded = load_pinet(path).eval()
    assert loaded.config.residual
    with torch.no_grad():
        assert torch.equal(loaded(x), moved)
    assert not PINetConfig().residual  # the paper's (and the authors' checkpoints') head


def test_target_normalisation_keeps_the_target_pose_at_full_resolution(tmp_path):
    """norm "target": the target's joints come out standardised per axis whatever the others do (the
    paper's "sequence" statistics shrink them when the others are metres away); padding stays 0."""
    net = PINet(PINetConfig(norm="target"))
    seq = PINet(PINetConfig())
    x = torch.from_numpy(_scene(3)).reshape(1, -1, 3).double()
    far = x.clone()
    far[:, J:] += torch.tensor([8000.0, 0.0, 0.0], dtype=torch.float64)  # the others 8 m to the right
    xn, _, _ = net.double()._normalise(x, None)
    xn_far, _, _ = net._normalise(far, None)
    # float64 standardisation of values < 1e4: round-off far below 1e-9
    assert torch.allclose(xn[:, :J], xn_far[:, :J], atol=1e-9)
    assert torch.allclose(xn[:, :J].mean(dim=1), torch.zeros(1, 3, dtype=torch.float64), atol=1e-9)
    assert torch.allclose(xn[:, :J].std(dim=1), torch.ones(1, 3, dtype=torch.float64), atol=1e-4)  # eps 1e-4
    s_near, _, _ = seq.double()._normalise(x, None)
    s_far, _, _ = seq._normalise(far, None)
    assert float(s_far[:, :J, 0].std()) < 0.5 * float(s_near[:, :J, 0].std())
    padded, _, _ = net._normalise(x, torch.tensor([2]))
    assert torch.count_nonzero(padded[:, 2 * J:]) == 0
    with pytest.raises(ValueError, match="norm"):
        PINetConfig(norm="batch")
    path = tmp_path / "target.safetensors"
    save_pinet(PINet(PINetConfig(norm="target", residual=True)), path)
    assert load_pinet(path).config.norm == "target"
