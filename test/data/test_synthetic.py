"""Tests of the synthetic DeepMimic scene generator."""

from __future__ import annotations

import numpy as np
import pytest

from pinet_ros.data import synthetic as syn


@pytest.fixture(scope="module")
def walk() -> np.ndarray:
    return syn.load_clip("walk")


def _bone(j: np.ndarray, a: int, b: int) -> np.ndarray:
    return np.linalg.norm(j[:, a] - j[:, b], axis=-1)


def test_clip_shape_and_bone_lengths(walk: np.ndarray) -> None:
    assert walk.ndim == 3 and walk.shape[1:] == (17, 3) and len(walk) > 10
    for a, b, lo, hi in [(8, 9, 0.3, 0.6), (11, 12, 0.3, 0.6), (9, 10, 0.3, 0.55), (2, 3, 0.2, 0.45),
                         (5, 6, 0.2, 0.45), (3, 4, 0.15, 0.4), (14, 1, 0.3, 0.7)]:
        length = _bone(walk, a, b)
        assert np.all((length > lo) & (length < hi)), (a, b, length.min(), length.max())


def test_walk_is_upright_y_down(walk: np.ndarray) -> None:
    # y is down: head above pelvis means smaller y; ankles below pelvis
    assert np.mean(walk[:, 16, 1] < walk[:, 14, 1] - 0.3) > 0.9
    assert np.mean(walk[:, 0, 1] < walk[:, 16, 1]) > 0.9
    assert np.mean(walk[:, 10, 1] > walk[:, 14, 1] + 0.5) > 0.9


def test_splits_disjoint_and_cover() -> None:
    sets = [set(v) for v in syn.SPLITS.values()]
    assert sum(len(s) for s in sets) == len(set().union(*sets)) == 15
    assert set().union(*sets) == set(syn.CLIPS)
    assert len(syn.SPLITS["val"]) == 2


def test_dataset_deterministic() -> None:
    a = syn.make_dataset("train", 5, seed=3)
    b = syn.make_dataset("train", 5, seed=3)
    c = syn.make_dataset("train", 5, seed=4)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.gt_cam, y.gt_cam)
        np.testing.assert_array_equal(x.initial_cam, y.initial_cam)
    assert any(x.gt_cam.shape != y.gt_cam.shape or not np.allclose(x.gt_cam, y.gt_cam) for x, y in zip(a, c))


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_scene_geometry(split: str) -> None:
    for g in syn.make_dataset(split, 20, seed=11):
        n = g.num_persons
        assert 1 <= n <= 4
        assert g.gt_cam.shape == (n, 17, 3) and g.gt_img.shape == (n, 17, 2) and g.boxes.shape == (n, 4)
        assert g.visible.shape == (n, 17) and np.all(g.visible == 1) and g.valid.all()
        assert np.all(g.gt_cam[..., 2] > 500.0)
        roots = g.gt_cam[:, 14, 2]
        assert np.all((roots >= 2000.0) & (roots <= 8000.0))
        np.testing.assert_allclose(g.intrinsics.project(g.gt_cam), g.gt_img, atol=1e-6)
        x, y, w, h = g.boxes.T
        assert np.all(g.gt_img[..., 0] >= x[:, None]) and np.all(g.gt_img[..., 0] <= (x + w)[:, None])
        assert np.all(g.gt_img[..., 1] >= y[:, None]) and np.all(g.gt_img[..., 1] <= (y + h)[:, None])
        uv = g.gt_img
        inside = (uv[..., 0] >= 0) & (uv[..., 0] < g.width) & (uv[..., 1] >= 0) & (uv[..., 1] < g.height)
        assert np.all(inside.mean(axis=1) >= 0.8)
        # roots inside the image
        r = g.gt_img[:, 14]
        assert np.all((r[:, 0] > 0) & (r[:, 0] < g.width) & (r[:, 1] > 0) & (r[:, 1] < g.height))


def test_depth_error_grows_with_distance() -> None:
    noise = syn.NoiseModel()
    rng = np.random.default_rng(0)
    base = syn.load_clip("run")[0] * 1000.0
    base = base - base[14]

    def err(z: float) -> float:
        gt = np.stack([base + [0.0, 0.0, z * 1000.0]] * 400)
        est = noise.apply(gt, rng)
        return float(np.mean(np.abs(est[:, 14, 2] - gt[:, 14, 2])))

    near, far = err(2.5), err(7.5)
    assert far > 2.0 * near


def test_initial_is_noisy_but_sane() -> None:
    groups = syn.make_dataset("val", 30, seed=5)
    gt = np.concatenate([g.gt_cam for g in groups])
    init = np.concatenate([g.initial_cam for g in groups])
    rel_err = np.linalg.norm((init - init[:, 14:15]) - (gt - gt[:, 14:15]), axis=-1)
    assert rel_err.mean() > 20.0 and rel_err.mean() < 150.0
    assert np.all(np.abs(init[:, 14, 2] - gt[:, 14, 2]) < 0.5 * gt[:, 14, 2])


def test_save_load_roundtrip(tmp_path) -> None:
    groups = syn.make_dataset("test", 4, seed=1)
    path = tmp_path / "groups.npz"
    syn.save_groups(path, groups)
    back = syn.load_groups(path)
    assert len(back) == 4
    for a, b in zip(groups, back):
        np.testing.assert_array_equal(a.gt_cam, b.gt_cam)
        np.testing.assert_array_equal(a.initial_cam, b.initial_cam)
        assert a.intrinsics == b.intrinsics and a.file_name == b.file_name
