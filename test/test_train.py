"""Tests of pinet_ros.train: samples, loss, LR schedules, config validation, training, resume."""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from pinet_ros.core.camera import Intrinsics
from pinet_ros.data.annotations import ImageGroup
from pinet_ros.models.pinet import ROOT_JOINT, PINet, PINetConfig, load_pinet
from pinet_ros.train import (TrainConfig, checkpoint_path, collate, lr_at, normalised_l1, sequences_from_groups,
                             train)

sys.path.insert(0, str(Path(__file__).resolve().parent / "helpers"))
from numerics import F64_EPS, assert_close  # noqa: E402

J = 17


def _group(n: int, rng: np.random.Generator, image_id: int = 0, noise_mm: float = 60.0,
           valid: np.ndarray | None = None) -> ImageGroup:
    """n random people: roots 2-6 m ahead, joints within ±500 mm; initial = gt + a biased noise."""
    roots = np.stack([rng.uniform(-2000, 2000, n), rng.uniform(-500, 500, n), rng.uniform(2000, 6000, n)], 1)
    gt = roots[:, None, :] + rng.uniform(-500, 500, (n, J, 3))
    gt[:, ROOT_JOINT] = roots
    init = gt + rng.normal(0, noise_mm, (n, J, 3)) + np.array([0.0, 0.0, 150.0])
    intr = Intrinsics(1000, 1000, 640, 360)
    return ImageGroup(image_id=image_id, file_name=f"{image_id}.jpg", width=1280, height=720, intrinsics=intr,
                      gt_cam=gt, gt_img=intr.project(gt), visible=(rng.random((n, J)) > 0.1).astype(float),
                      boxes=np.tile([100.0, 100.0, 200.0, 400.0], (n, 1)),
                      valid=np.ones(n, bool) if valid is None else valid, initial_cam=init)


def _groups(count: int, seed: int = 0) -> list[ImageGroup]:
    rng = np.random.default_rng(seed)
    return [_group(int(rng.integers(1, 4)), rng, image_id=i) for i in range(count)]


# ------------------------------------------------------------------------------------ samples
def test_sequences_target_first_ordered_by_root_distance():
    rng = np.random.default_rng(3)
    g = _group(4, rng)
    # put the people on a line so the order is unambiguous: x = 0, 1000, 2500, 4500 mm
    for k, x in enumerate([0.0, 1000.0, 2500.0, 4500.0]):
        shift = np.array([x, 0.0, 4000.0]) - g.initial_cam[k, ROOT_JOINT]
        g.initial_cam[k] += shift
        g.gt_cam[k] += shift
    seqs = sequences_from_groups([g])
    assert len(seqs) == 4
    expected = {0: [0, 1, 2, 3], 1: [1, 0, 2, 3], 2: [2, 1, 3, 0], 3: [3, 2, 1, 0]}
    for i, (inp, tgt, vis) in enumerate(seqs):
        assert inp.shape == tgt.shape == (4, J, 3) and vis.shape == (4, J)
        assert inp.dtype == np.float32 and tgt.dtype == np.float32
        np.testing.assert_allclose(inp, g.initial_cam[expected[i]].astype(np.float32))
        np.testing.assert_allclose(tgt, g.gt_cam[expected[i]].astype(np.float32))
        np.testing.assert_array_equal(vis, g.visible[expected[i]])


def test_sequences_lone_person_and_invalid_people():
    rng = np.random.default_rng(4)
    lone = _group(1, rng)
    (inp, tgt, vis), = sequences_from_groups([lone])
    assert inp.shape == (2, J, 3)
    np.testing.assert_allclose(inp[0], inp[1])
    np.testing.assert_allclose(tgt[1], lone.gt_cam[0].astype(np.float32))
    # invalid people are neither targets nor context; one valid person left -> [i, i]
    g = _group(3, rng, valid=np.array([False, True, False]))
    seqs = sequences_from_groups([g, lone])
    assert len(seqs) == 2
    np.testing.assert_allclose(seqs[0][0], g.initial_cam[[1, 1]].astype(np.float32))
    none_valid = _group(2, rng, valid=np.zeros(2, bool))
    assert sequences_from_groups([none_valid]) == []
    no_init = _group(2, rng)
    no_init.initial_cam = None
    with pytest.raises(ValueError, match="initial_cam"):
        sequences_from_groups([no_init])


def test_loss_zero_for_perfect_output_and_matches_hand_value():
    rng = np.random.default_rng(5)
    seqs = sequences_from_groups(_groups(3, seed=5))[:3]
    inp, tgt, vis, lengths = collate(seqs)
    assert lengths.tolist() == [s[0].shape[0] for s in seqs]
    # the loss is computed in float64 here (it follows its inputs' dtype): rounding is then eps64 x magnitude
    inp, tgt, vis = inp.double(), tgt.double(), vis.double()
    # an output equal to GT de-normalised... the perfect normalised output is gt_norm mapped through input stats
    from pinet_ros.train import masked_stats
    in_mean, in_scale, _ = masked_stats(inp, lengths)
    gt_mean, gt_scale, _ = masked_stats(tgt, lengths)
    perfect = (tgt - gt_mean) / gt_scale * in_scale + in_mean
    # ~10 roundings of values < 1e4 mm, over a scale > 100 mm: < 10 x 2.2e-16 x 1e2 normalised units; a wrong
    # statistic (biased std, padding in the mean) costs > 1e-3
    assert_close(normalised_l1(perfect, inp, tgt, vis, lengths), 0.0, atol=1e3 * F64_EPS, label="perfect loss")
    # one sample by hand, numpy (unbiased std, +1e-4, mean over xyz, times vis, mean over the joints)
    x, y, v = seqs[0]
    out = x + rng.normal(0, 30, x.shape).astype(np.float32)
    xs, ys = x.reshape(-1, 3).astype(np.float64), y.reshape(-1, 3).astype(np.float64)
    out_n = (out.reshape(-1, 3) - xs.mean(0)) / (xs.std(0, ddof=1) + 1e-4)
    gt_n = (ys - ys.mean(0)) / (ys.std(0, ddof=1) + 1e-4)
    want = (np.abs(out_n - gt_n).mean(1) * v.reshape(-1)).mean()
    i1, t1, v1, l1 = collate([seqs[0]])
    got = float(normalised_l1(torch.from_numpy(out.reshape(1, -1, 3)).double(), i1.double(), t1.double(),
                              v1.double(), l1))
    # both in float64 from the same float32 data: sums over <= 102 values, relative rounding < 1e3 x eps64
    assert_close(got, want, rtol=1e3 * F64_EPS, label="loss by hand")


def test_padding_does_not_change_the_loss():
    rng = np.random.default_rng(6)
    short = sequences_from_groups([_group(2, rng)])[0]
    long = sequences_from_groups([_group(5, rng)])[0]
    assert long[0].shape[0] == 5 and short[0].shape[0] == 2
    torch.manual_seed(0)
    model = PINet().eval().double()  # float64: padded and unpadded differ by rounding only (see below)

    def collate64(samples):
        inp, tgt, vis, lengths = collate(samples)
        return inp.double(), tgt.double(), vis.double(), lengths

    with torch.no_grad():
        a = collate64([short])
        la = normalised_l1(model(a[0], a[3]), *a)
        b = collate64([short, long])
        out_b = model(b[0], b[3])
        lb = normalised_l1(out_b[:1], b[0][:1], b[1][:1], b[2][:1], b[3][:1])
    # the loss (~1) of outputs that agree to eps64 (2.2e-16) x reduction length (< 1e3) x depth (~10 layers)
    # relative: 2e-12; rel 1e-9 allows 500 times that, while padding that leaks moves the loss by > 1e-3
    assert_close(float(lb), float(la), rtol=1e-9, label="padded loss")


# ------------------------------------------------------------------------------------ schedules
def test_lr_poly_schedule_hand_values():
    c = TrainConfig()
    assert lr_at(0, c) == pytest.approx(1e-5)
    assert lr_at(25, c) == pytest.approx(1e-8)
    assert lr_at(12.5, c) == pytest.approx(1e-8 + (1e-5 - 1e-8) * 0.5 ** 0.9)
    assert lr_at(20, c) == pytest.approx(1e-8 + (1e-5 - 1e-8) * 0.2 ** 0.9)
    assert lr_at(30, c) == pytest.approx(1e-8)  # clipped
    vals = [lr_at(t / 4, c) for t in range(101)]
    assert all(a > b for a, b in zip(vals, vals[1:]))


def test_lr_step_schedule_hand_values():
    c = TrainConfig(schedule="step")
    assert lr_at(0, c) == pytest.approx(1e-5)
    assert lr_at(16.99, c) == pytest.approx(1e-5)
    assert lr_at(17, c) == pytest.approx(1e-6)
    assert lr_at(20.5, c) == pytest.approx(1e-6)
    assert lr_at(21, c) == pytest.approx(1e-7)
    assert lr_at(24.9, c) == pytest.approx(1e-7)


@pytest.mark.parametrize("kwargs", [
    {"epochs": 0}, {"epochs": 2.5}, {"batch_size": 0}, {"lr": 0.0}, {"lr": float("nan")}, {"lr_end": -1.0},
    {"lr_end": 1.0}, {"poly_power": 0.0}, {"schedule": "cosine"}, {"step_epochs": (21, 17)},
    {"step_epochs": (-1,)}, {"seed": -1}, {"order": "nearest"}, {"pinet": {"hidden": 8}}, {"device": "warp9"},
])
def test_train_config_validation(kwargs):
    with pytest.raises(ValueError):
        TrainConfig(**kwargs)


def test_train_config_defaults_and_roundtrip():
    c = TrainConfig()
    assert (c.epochs, c.batch_size, c.lr, c.lr_end, c.poly_power, c.schedule, c.step_epochs) == \
        (25, 4, 1e-5, 1e-8, 0.9, "poly", (17, 21))
    assert c.pinet == PINetConfig()
    c2 = TrainConfig(step_epochs=[3, 5], pinet=PINetConfig(hidden=16))
    assert c2.step_epochs == (3, 5)
    assert TrainConfig.from_dict(json.loads(json.dumps(c2.to_dict()))) == c2
    with pytest.raises(Exception):
        c.epochs = 3  # frozen


# ------------------------------------------------------------------------------------ training
def test_two_epoch_training_lowers_loss_and_writes_outputs(tmp_path):
    groups = _groups(24, seed=1)
    val = _groups(4, seed=2)
    config = TrainConfig(epochs=2, lr=1e-3, lr_end=1e-4, seed=0)  # default network
    out = tmp_path / "pinet_trained.safetensors"
    torch.manual_seed(0)
    before = PINet(config.pinet)
    samples = sequences_from_groups(groups)
    with torch.no_grad():
        b = collate(samples)
        loss_before = float(normalised_l1(before(b[0], b[3]), *b))
    rec = train(groups, config, out, groups_val=val, progress=False, data_description="unit test random people")
    assert out.is_file()
    model = load_pinet(out)
    assert model.config == PINetConfig()
    with torch.no_grad():
        loss_after = float(normalised_l1(model(b[0], b[3]), *b))
    assert loss_after < 0.8 * loss_before, (loss_before, loss_after)
    assert len(rec["epochs"]) == 2
    assert rec["epochs"][1]["train_loss"] < rec["epochs"][0]["train_loss"]
    saved = json.loads(out.with_suffix(".json").read_text())
    assert saved == json.loads(json.dumps(rec))
    for key in ("config", "data", "git_commit", "epochs", "final_metrics", "samples_per_s"):
        assert key in saved
    assert saved["config"]["lr"] == 1e-3 and saved["config"]["pinet"]["hidden"] == 256
    assert saved["data"]["num_train_samples"] == len(samples)
    assert saved["data"]["description"] == "unit test random people"
    assert isinstance(saved["git_commit"], str) and saved["git_commit"]
    assert saved["samples_per_s"] > 0
    for k in ("train_loss", "val_l1", "val_mpjpe_mm"):
        assert math.isfinite(saved["final_metrics"][k])
    ckpt = torch.load(checkpoint_path(out), weights_only=True)
    assert ckpt["epoch"] == 2 and set(ckpt) >= {"model", "optimizer", "config"}


def test_resume_gives_the_same_weights(tmp_path):
    groups = _groups(6, seed=7)
    config = TrainConfig(epochs=3, batch_size=3, lr=1e-3, seed=3, pinet=PINetConfig(hidden=32))
    full = tmp_path / "full.safetensors"
    part = tmp_path / "part.safetensors"
    rec_full = train(groups, config, full, progress=False)
    rec_part = train(groups, config, part, progress=False, stop_after_epoch=2)
    assert rec_part["completed"] is False and not part.exists()
    ckpt = torch.load(checkpoint_path(part), weights_only=True)
    assert ckpt["epoch"] == 2
    rec_res = train(groups, config, part, resume=checkpoint_path(part), progress=False)
    a, b = load_pinet(full).state_dict(), load_pinet(part).state_dict()
    assert a.keys() == b.keys()
    # Same process, same data, same operations: resuming reproduces the run bit for bit on any one machine; the
    # tolerance is 1e-3 of one Adam step (~lr = 1e-3 per weight), the smallest effect of a lost optimizer
    # state, a skipped or a repeated epoch.
    for k in a:
        assert a[k].dtype == b[k].dtype
        assert_close(a[k], b[k], atol=1e-3 * config.lr, label="resumed weights")
    # bit for bit as above, so the losses agree to pytest's default rel 1e-6 (float64 means of float32 losses)
    assert [e["train_loss"] for e in rec_res["epochs"]] == pytest.approx([e["train_loss"] for e in rec_full["epochs"]])
    # the final weights moved away from the 2-epoch state (the resumed epoch really trained)
    assert any(not torch.allclose(ckpt["model"][k], b[k]) for k in b)
    with pytest.raises(ValueError, match="differs"):
        train(groups, replace(config, lr=2e-3), part, resume=checkpoint_path(part), progress=False)


def test_training_throughput_default_network():
    """Samples/s of one training step loop at batch 4 with the default network (printed; no timed assertion:
    speed depends on the machine and its load)."""
    samples = sequences_from_groups(_groups(12, seed=9))
    torch.manual_seed(0)
    model = PINet()
    opt = torch.optim.Adam(model.parameters(), lr=1e-5)
    batches = [samples[i:i + 4] for i in range(0, len(samples) - 3, 4)]
    t0 = time.perf_counter()
    for chunk in batches:
        b = collate(chunk)
        loss = normalised_l1(model(b[0], b[3]), *b)
        opt.zero_grad()
        loss.backward()
        opt.step()
    rate = 4 * len(batches) / (time.perf_counter() - t0)
    print(f"training throughput: {rate:.1f} samples/s")
    assert math.isfinite(float(loss.detach())) and rate > 0.0


def test_mm_loss_is_per_person_millimetres_and_ignores_padding():
    """A whole person 100 mm off (pose right) costs their root's 100 mm; a joint 170 mm off costs 170/17 mm
    of that person's pelvis-aligned mean; padded positions cost nothing; averaged over the valid people."""
    from pinet_ros.train import mm_l1

    out = torch.zeros(1, 3 * 17, 3)
    vis = torch.ones(1, 3 * 17)
    shifted = torch.zeros(1, 3 * 17, 3)
    shifted[0, :17, 0] = 100.0  # person 0 entirely 100 mm to the right
    assert float(mm_l1(out, shifted, vis, torch.tensor([2]))) == pytest.approx(100.0 / 2 / 1000.0, rel=1e-6)
    one_joint = torch.zeros(1, 3 * 17, 3)
    one_joint[0, 17 + 3, 1] = 170.0  # person 1's joint 3
    assert float(mm_l1(out, one_joint, vis, torch.tensor([2]))) == pytest.approx(170.0 / 17 / 2 / 1000.0, rel=1e-6)
    padding = torch.zeros(1, 3 * 17, 3)
    padding[0, 34:] = 1e4  # the third position is padding when lengths = 2
    assert float(mm_l1(out, padding, vis, torch.tensor([2]))) == 0.0
    # unlike the normalised loss, the same person error costs the same whether the others are near or far
    from pinet_ros.train import normalised_l1

    def both(spread_mm: float) -> tuple[float, float]:
        inp = torch.zeros(1, 2 * 17, 3)
        inp[0, :17] = torch.randn(17, 3, generator=torch.Generator().manual_seed(0)) * 200.0
        inp[0, 17:] = inp[0, :17] + torch.tensor([spread_mm, 0.0, 0.0])
        gt = inp.clone()
        gt[0, 5, 0] += 150.0  # along the axis the people are spread on (the normalisation is per axis)
        v, n = torch.ones(1, 34), torch.tensor([2])
        return float(mm_l1(inp, gt, v, n)), float(normalised_l1(inp, inp, gt, v, n))

    (mm_near, norm_near), (mm_far, norm_far) = both(500.0), both(4000.0)
    assert mm_near == pytest.approx(mm_far, rel=1e-5)
    assert norm_far < 0.5 * norm_near


def test_train_config_checks_the_loss_and_its_normalisation():
    from pinet_ros.models.pinet import PINetConfig
    from pinet_ros.train import TrainConfig

    with pytest.raises(ValueError, match="loss"):
        TrainConfig(loss="l2")
    with pytest.raises(ValueError, match="needs pinet.norm 'sequence'"):
        TrainConfig(loss="normalised", pinet=PINetConfig(norm="target"))
    cfg = TrainConfig(loss="mm", pinet=PINetConfig(norm="target", residual=True))
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    # a record written before these options existed still reads (paper defaults)
    old = cfg.to_dict()
    del old["loss"], old["pinet"]["norm"], old["pinet"]["residual"]
    assert TrainConfig.from_dict(old) == TrainConfig()
