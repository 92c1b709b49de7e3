"""The PI-Net files shipped in pinet_ros/default_weights: present, registered, hash-checked, loadable; the
default (`weights.DEFAULT_PINET`) is one of them."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open

from pinet_ros import weights
from pinet_ros.models.pinet import PINet, PINetConfig, count_parameters, load_pinet

PACKAGED = {  # name -> the architecture its metadata must record
    "pinet_synthetic": PINetConfig(),
    "pinet_topdown_rendered": PINetConfig(residual=True, norm="target"),
}


def test_the_default_is_packaged():
    assert weights.DEFAULT_PINET in PACKAGED
    assert weights.get_spec(weights.DEFAULT_PINET).packaged
    assert sorted(PACKAGED) == sorted(n for n, s in weights.REGISTRY.items() if s.packaged)


@pytest.mark.parametrize("name", sorted(PACKAGED))
def test_packaged_file_is_found_and_matches_its_registry_entry(tmp_path, monkeypatch, name):
    spec = weights.get_spec(name)
    monkeypatch.setenv("PINET_WEIGHTS_DIR", str(tmp_path))  # nothing there: the packaged copy must be found
    path = weights.find_weight(name)
    assert path == weights.packaged_path(spec)
    assert path.parent.name == "default_weights" and path.parent.parent.name == "pinet_ros"
    assert path.stat().st_size == spec.size_bytes
    assert weights.sha256_file(path) == spec.sha256
    assert weights.verify(name)
    assert spec.licence == "MIT" and spec.packaged
    with pytest.raises(weights.DownloadError, match="ships with pinet_ros"):
        weights.download(name, tmp_path)


@pytest.mark.parametrize("name", sorted(PACKAGED))
def test_packaged_file_is_float16_and_loads_as_the_released_size(name):
    path = weights.find_weight(name)
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
        dtypes = {f.get_tensor(k).dtype for k in f.keys()}
    assert dtypes == {torch.float16}
    assert PINetConfig.from_json(meta["pinet_config"]) == PACKAGED[name]
    model = load_pinet(path)
    assert isinstance(model, PINet) and not model.training and model.config == PACKAGED[name]
    assert count_parameters(model) == 3_408_896
    assert {p.dtype for p in model.parameters()} == {torch.float32}  # upcast on load
    poses = torch.randn(3, 17, 3) * 300 + torch.tensor([0.0, 0.0, 4000.0])
    refined, _ = model.refine(poses)
    assert refined.shape == (3, 17, 3) and torch.isfinite(refined).all()


@pytest.mark.parametrize("name", sorted(PACKAGED))
def test_training_record_sits_beside_the_weights(name):
    spec = weights.get_spec(name)
    record = json.loads(weights.packaged_path(spec).with_suffix(".json").read_text())
    for key in ("command", "data", "config", "git_commit", "final_metrics", "deviations_from_paper",
                "test_results"):
        assert key in record, key
    assert record["weights_sha256"] == spec.sha256

