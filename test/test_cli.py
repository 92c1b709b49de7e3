"""`pinet-ros weights ...` run in-process."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from pinet_ros import weights
from pinet_ros.cli import main
from pinet_ros.weights import WeightSpec


@pytest.fixture(autouse=True)
def _isolated_dirs(monkeypatch, tmp_path):
    monkeypatch.setenv("PINET_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))


def test_list_names_every_entry(capsys):
    assert main(["weights", "list"]) == 0
    out = capsys.readouterr().out
    for name in weights.REGISTRY:
        assert name in out
    assert "missing" in out


def test_info_manual_page(capsys):
    assert main(["weights", "info", "pinet_muco"]) == 0
    out = capsys.readouterr().out
    assert "https://github.com/GUO-W/PI-Net" in out and "MIT" in out and "snapshot_24.pth.tar" in out


def test_verify_pass_fail(capsys, monkeypatch, tmp_path):
    data = b"weights" * 1000
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    spec = WeightSpec(name="blob", filename="blob.bin", url="http://127.0.0.1:9/blob.bin", manual=False,
                      sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data), licence="MIT",
                      format="raw bytes", description="test")
    monkeypatch.setitem(weights.REGISTRY, "blob", spec)
    assert main(["weights", "verify", "blob", "--path", str(path)]) == 0
    assert "OK" in capsys.readouterr().out
    path.write_bytes(data[:-1] + b"X")
    assert main(["weights", "verify", "blob", "--path", str(path)]) == 1
    assert "FAILED" in capsys.readouterr().err
    assert main(["weights", "verify", "blob", "--path", str(tmp_path / "absent.bin")]) == 1
    assert "absent.bin" in capsys.readouterr().err


def test_unknown_name_exit_2(capsys):
    for action in ("info", "verify", "download"):
        assert main(["weights", action, "no_such_weight"]) == 2
        err = capsys.readouterr().err
        assert "unknown weight 'no_such_weight'" in err and "pinet_muco" in err


def test_manual_download_refused(capsys, tmp_path):
    assert main(["weights", "download", "pinet_muco", "--dest", str(tmp_path / "d"), "--quiet"]) == 1
    assert "GUO-W/PI-Net" in capsys.readouterr().err


def test_usage_errors(capsys):
    assert main([]) == 2
    assert main(["weights"]) == 2
    assert main(["--help"]) == 0
    assert "weights" in capsys.readouterr().out


def test_synth_then_train_writes_loadable_weights(tmp_path, capsys):
    from pinet_ros.data.synthetic import load_groups
    from pinet_ros.models.pinet import load_pinet

    data = tmp_path / "train.npz"
    assert main(["synth", str(data), "--split", "train", "--scenes", "6", "--seed", "3"]) == 0
    groups = load_groups(data)
    assert len(groups) == 6 and all(g.initial_cam is not None for g in groups)
    out = tmp_path / "pinet.safetensors"
    assert main(["train", "--train", str(data), "--out", str(out), "--epochs", "1", "--quiet"]) == 0
    assert out.is_file() and out.with_suffix(".json").is_file()
    load_pinet(out)
    assert "wrote" in capsys.readouterr().out


def test_train_ablation_variants_from_the_command_line(tmp_path):
    """Tables 5-6 need networks trained without attention / one-directional / LSTM / other depths."""
    from pinet_ros.evaluate import ablation_entries
    from pinet_ros.models.pinet import load_pinet

    data = tmp_path / "train.npz"
    assert main(["synth", str(data), "--split", "train", "--scenes", "4", "--seed", "5"]) == 0
    folder = tmp_path / "ablation"
    folder.mkdir()
    runs = {"gru_noatt_unidir": ["--no-attention", "--unidirectional"], "lstm": ["--cell", "lstm"],
            "layers2": ["--layers", "2"]}
    for name, flags in runs.items():
        out = folder / f"{name}.safetensors"
        assert main(["train", "--train", str(data), "--out", str(out), "--epochs", "1", "--quiet", *flags]) == 0
    cfg = load_pinet(folder / "gru_noatt_unidir.safetensors").config
    assert not cfg.attention and not cfg.bidirectional
    assert load_pinet(folder / "lstm.safetensors").config.cell == "lstm"
    assert load_pinet(folder / "layers2.safetensors").config.num_layers == 2
    found = {Path(e.weights).name for e in ablation_entries(folder) if e.weights is not None}
    assert {f"{n}.safetensors" for n in runs} <= found
