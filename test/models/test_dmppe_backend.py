"""The paper's stack through the pipeline: detector + RootNet + PoseNet files in the released layouts.

Random weights (the released files cannot be downloaded here), so the check is the plumbing: every file loads
through the real loaders, boxes flow through one RootNet and one PoseNet batch, and the result is absolute
3D in metres, consistent with the boxes and the camera.
"""

import numpy as np
import pytest
import torch

from pinet_ros.core.camera import Intrinsics
from pinet_ros.models.detector import build_fasterrcnn
from pinet_ros.models.posenet import PoseNet
from pinet_ros.models.rootnet import RootNet


def _released(model: torch.nn.Module, path, epoch: int):
    net = {f"module.{k}": v for k, v in model.state_dict().items()}
    torch.save({"epoch": epoch, "network": net, "optimizer": {}}, path)
    return str(path)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("dmppe")
    det = d / "fasterrcnn_resnet50_fpn_coco-258fb6c6.pth"
    detector = build_fasterrcnn("v1")
    with torch.no_grad():  # random weights, but every proposal confidently a person
        detector.roi_heads.box_predictor.cls_score.bias[1] = 10.0
    torch.save(detector.state_dict(), det)
    root = RootNet().eval()
    with torch.no_grad():  # gamma = 1: root depth = the k value
        root.root.depth_layer.weight.zero_()
        root.root.depth_layer.bias.fill_(1.0)
    rootnet = _released(root, d / "rootnet.pth.tar", 18)
    with torch.no_grad():  # a broken RootNet that puts everyone behind the camera
        root.root.depth_layer.bias.fill_(-1.0)
    behind = _released(root, d / "rootnet_behind.pth.tar", 18)
    return {"detector_weights": str(det), "posenet_weights": _released(PoseNet(21), d / "posenet.pth.tar", 24),
            "rootnet_weights": rootnet, "behind": behind}


def test_3dmppe_pipeline_runs_end_to_end(files, tmp_path):
    from pinet_ros.models.pinet import PINet, save_pinet
    from pinet_ros.pipeline import Pipeline, PipelineConfig

    save_pinet(PINet(), tmp_path / "pinet.safetensors")
    weights = {k: v for k, v in files.items() if k != "behind"}
    cfg = PipelineConfig(backend="3dmppe", score_threshold=0.5, max_persons=3,
                         pinet_weights=str(tmp_path / "pinet.safetensors"), **weights)
    p = Pipeline(cfg)
    rgb = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    intr = Intrinsics(fx=300.0, fy=300.0, cx=160.0, cy=120.0)
    r = p.process(rgb, intr, stamp_ns=1)
    assert 1 <= len(r.persons) <= 3
    assert {"detect", "root", "pose", "refine"} <= set(r.timings_ms)
    for q in r.persons:
        assert q.joints_m.shape == q.joints_initial_m.shape == (17, 3)
        assert np.all(np.isfinite(q.joints_initial_m)) and np.all(q.joints_initial_m[:, 2] > 0)
        # joints_2d are the projection of the initial 3D joints: float64 throughout (~1e-13 px); 1e-3 px is 25
        # float32 ulps of a 320 px coordinate (3.8e-5 px), so it holds as well if either is ever float32
        uv = intr.project(q.joints_initial_m * 1000.0)
        np.testing.assert_allclose(uv, q.joints_2d, atol=1e-3)
    assert r.interaction.shape == (len(r.persons),) * 2
    p.close()


def test_people_behind_the_camera_are_never_published(files):
    from pinet_ros.pipeline import Pipeline, PipelineConfig

    weights = {k: v for k, v in files.items() if k != "behind"}
    weights["rootnet_weights"] = files["behind"]
    p = Pipeline(PipelineConfig(backend="3dmppe", refine=False, **weights))
    rgb = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    r = p.process(rgb, Intrinsics(fx=300.0, fy=300.0, cx=160.0, cy=120.0), stamp_ns=1)
    assert r.persons == []
    p.close()


def test_live_settings_reach_the_3dmppe_backend_on_the_next_frame(files, tmp_path):
    from pinet_ros.pipeline import Pipeline, PipelineConfig

    weights = {k: v for k, v in files.items() if k != "behind"}
    p = Pipeline(PipelineConfig(backend="3dmppe", refine=False, max_persons=1, **weights))
    rgb = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    intr = Intrinsics(fx=300.0, fy=300.0, cx=160.0, cy=120.0)
    assert len(p.process(rgb, intr, stamp_ns=1).persons) == 1
    p.update(max_persons=3, flip_test=True)  # raised above its start-up value; flip on
    assert p.backend.detector.max_persons == 3 and p.backend.config.flip_test is True
    assert 1 < len(p.process(rgb, intr, stamp_ns=2).persons) <= 3
    p.update(score_threshold=1.0)  # scores are strictly above the threshold: nobody passes
    assert p.backend.detector.score_threshold == 1.0
    assert p.process(rgb, intr, stamp_ns=3).persons == []
    p.close()
