"""ONNX export (pinet-ros export): onnxruntime on the CPU against the torch models.

Tolerance: the issue's target, 1e-3 of the output magnitude (max |torch output| of that output): PI-Net's
refined joints in mm, its attention (probabilities, magnitude 1), PoseNet's coordinates (heatmap units), RootNet's
x, y (heatmap units) and depth (mm) together. Both runtimes compute in float32 and only reorder sums, so they
are expected to agree to about 1e-6 of the magnitude; 1e-3 leaves room for any CPU's kernels (AVX2 / AVX-512,
1 or 2 threads) while still catching a wrong graph, which is off by whole units.
"""

import hashlib

import numpy as np
import pytest
import torch

from pinet_ros.export import (PINET_INPUT, export_models, export_pinet, export_posenet, export_rootnet,
                              parity_check)
from pinet_ros.models.pinet import PINet, PINetConfig
from pinet_ros.models.pinet_onnx import PINetOnnxRunner

REL = 1e-3
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def _scene(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    roots = np.stack([rng.uniform(-2000, 2000, n), rng.uniform(-500, 500, n), rng.uniform(2000, 6000, n)], 1)
    return (roots[:, None, :] + rng.uniform(-500, 500, (n, 17, 3))).astype(np.float32)


def _dims(model_path, name):
    graph = onnx.load(str(model_path)).graph
    tensors = {t.name: t for t in list(graph.input) + list(graph.output)}
    return [d.dim_param or d.dim_value for d in tensors[name].type.tensor_type.shape.dim]


@pytest.fixture(scope="module")
def pinet_file(tmp_path_factory):
    torch.manual_seed(0)
    model = PINet().eval()
    with torch.no_grad():  # a non-trivial head (the default init gives refined ~ input)
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    path = export_pinet(model, tmp_path_factory.mktemp("onnx") / "pinet.onnx")
    return model, path


def test_pinet_graph_names_and_dynamic_axes(pinet_file):
    _, path = pinet_file
    assert _dims(path, PINET_INPUT) == ["batch", "people", 17, 3]
    assert _dims(path, "refined") == ["batch", 17, 3]
    assert _dims(path, "attention") == ["batch", "people"]


@pytest.mark.parametrize("n", [1, 2, 5])
@pytest.mark.parametrize("order", ["root3d", "random"])
def test_pinet_runner_matches_torch_refine(pinet_file, n, order):
    model, path = pinet_file
    runner = PINetOnnxRunner(path, threads=1)
    poses = _scene(n, seed=n)
    got, got_att = runner.refine(poses, order=order, seed=3)
    ref, ref_att = model.refine(poses, order=order, seed=3)
    diff = float(np.abs(got.astype(np.float64) - ref).max())
    print(f"PI-Net n={n} {order}: max |onnxruntime - torch| = {diff:.3g} mm (magnitude {np.abs(ref).max():.0f} mm), "
          f"attention {np.abs(got_att - ref_att).max():.3g}")
    assert got.shape == ref.shape == (n, 17, 3) and got_att.shape == (n, n)
    assert diff <= REL * np.abs(ref).max()
    assert np.abs(got_att - ref_att).max() <= REL
    np.testing.assert_allclose(got_att.sum(axis=1), 1.0, atol=1e-5)
    # the refinement is not the identity, so agreeing means something
    assert np.abs(ref - poses).max() > 1.0


def test_pinet_runner_empty_and_bad_shapes(pinet_file):
    runner = PINetOnnxRunner(pinet_file[1])
    ref, att = runner.refine(np.zeros((0, 17, 3), np.float32))
    assert ref.shape == (0, 17, 3) and att.shape == (0, 0)
    with pytest.raises(ValueError, match="17, 3"):
        runner.refine(np.zeros((2, 16, 3), np.float32))


def test_pinet_export_is_deterministic(pinet_file, tmp_path):
    model, path = pinet_file
    again = export_pinet(model, tmp_path / "again.onnx")
    assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(path.read_bytes()).digest()


def test_pinet_without_attention_lstm(tmp_path):
    torch.manual_seed(1)
    model = PINet(PINetConfig(cell="lstm", attention=False, num_layers=2)).eval()
    runner = PINetOnnxRunner.from_model(model, tmp_path / "lstm.onnx")
    poses = _scene(3, seed=7)
    got, att = runner.refine(poses)
    ref, _ = model.refine(poses)
    assert np.abs(got - ref).max() <= REL * np.abs(ref).max()
    assert not att.any()


def _calibrated(net: torch.nn.Module, *extra: torch.Tensor) -> torch.nn.Module:
    from pinet_ros.benchmarks.gpu import _random_crops, calibrate_batchnorm

    gen = torch.Generator().manual_seed(0)
    calibrate_batchnorm(net, lambda: (_random_crops(gen, 2, torch.device("cpu")), *extra), batches=1)
    return net.eval()


@pytest.mark.slow
def test_posenet_parity(tmp_path):
    from pinet_ros.models.posenet import PoseNet

    torch.manual_seed(2)
    model = PoseNet(21)
    with torch.no_grad():
        model.head.final_layer.weight.normal_(std=0.05)  # peaked heatmaps: coords depend on the input
    model = _calibrated(model)
    path = export_posenet(model, tmp_path / "posenet.onnx")
    assert _dims(path, "crops") == ["batch", 3, 256, 256] and _dims(path, "coords") == ["batch", 21, 3]
    rows = parity_check("posenet", model, path, batches=(1, 3))
    for r in rows:
        print(f"PoseNet batch {r['batch']}: max |onnxruntime - torch| = {r['max_abs_diff']:.3g} heatmap units "
              f"(magnitude {r['max_abs_ref']:.1f})")
        assert r["max_abs_diff"] <= REL * r["max_abs_ref"]
    assert [r["batch"] for r in rows] == [1, 3]


@pytest.mark.slow
def test_rootnet_parity(tmp_path):
    from pinet_ros.models.rootnet import RootNet

    torch.manual_seed(3)
    model = RootNet()
    with torch.no_grad():
        model.root.xy_layer.weight.normal_(std=0.05)
        model.root.depth_layer.bias.fill_(1.0)
    model = _calibrated(model, torch.full((2, 1), 4000.0))
    path = export_rootnet(model, tmp_path / "rootnet.onnx")
    assert _dims(path, "k") == ["batch", 1] and _dims(path, "root") == ["batch", 3]
    for r in parity_check("rootnet", model, path, batches=(1, 3)):
        print(f"RootNet batch {r['batch']}: max |onnxruntime - torch| = {r['max_abs_diff']:.3g} "
              f"(magnitude {r['max_abs_ref']:.1f}; x, y heatmap units, depth mm)")
        assert r["max_abs_diff"] <= REL * r["max_abs_ref"]


def test_export_models_packaged_pinet_and_cli(tmp_path, capsys):
    from pinet_ros.cli import main

    out = export_models(tmp_path / "a", which=["pinet"])
    assert out["pinet"]["path"].is_file()
    assert all(r["max_abs_diff"] <= REL * r["max_abs_ref"] for r in out["pinet"]["parity"])
    assert main(["export", str(tmp_path / "b"), "--which", "pinet"]) == 0
    text = capsys.readouterr().out
    assert (tmp_path / "b" / "pinet.onnx").is_file()
    assert "pinet" in text and "max |onnxruntime - torch|" in text
    with pytest.raises(ValueError, match="unknown network"):
        export_models(tmp_path / "c", which=["detector"])
