"""The default PI-Net shipped in pinet_ros/default_weights: present, registered, hash-checked, loadable."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open

from pinet_ros import weights
from pinet_ros.models.pinet import PINet, PINetConfig, count_parameters, load_pinet

SPEC = weights.get_spec("pinet_synthetic")


def test_packaged_file_is_found_and_matches_its_registry_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("PINET_WEIGHTS_DIR", str(tmp_path))  # nothing there: the packaged copy must be found
    path = weights.find_weight("pinet_synthetic")
    assert path == weights.packaged_path(SPEC)
    assert path.parent.name == "default_weights" and path.parent.parent.name == "pinet_ros"
    assert path.stat().st_size == SPEC.size_bytes
    assert weights.sha256_file(path) == SPEC.sha256
    assert weights.verify("pinet_synthetic")
    assert SPEC.licence == "MIT" and SPEC.packaged
    with pytest.raises(weights.DownloadError, match="ships with pinet_ros"):
        weights.download("pinet_synthetic", tmp_path)


def test_packaged_file_is_float16_and_loads_as_the_released_architecture():
    path = weights.find_weight("pinet_synthetic")
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
        dtypes = {f.get_tensor(k).dtype for k in f.keys()}
    assert dtypes == {torch.float16}
    assert PINetConfig.from_json(meta["pinet_config"]) == PINetConfig()
    model = load_pinet(path)
    assert isinstance(model, PINet) and not model.training
    assert count_parameters(model) == 3_408_896
    assert {p.dtype for p in model.parameters()} == {torch.float32}  # upcast on load
    poses = torch.randn(3, 17, 3) * 300 + torch.tensor([0.0, 0.0, 4000.0])
    refined, _ = model.refine(poses)
    assert refined.shape == (3, 17, 3) and torch.isfinite(refined).all()


def test_training_record_sits_beside_the_weights():
    record = json.loads(weights.packaged_path(SPEC).with_suffix(".json").read_text())
    for key in ("command", "data", "config", "git_commit", "final_metrics", "deviations_from_paper",
                "test_results"):
        assert key in record, key
    assert record["weights_sha256"] == SPEC.sha256
