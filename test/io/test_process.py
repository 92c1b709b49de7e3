"""`pinet-ros process` end to end: a 20-frame clip through the real pipeline (mediapipe backend + PI-Net) to
poses.mcap, poses.jsonl and annotated video."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from pinet_ros.io.sources import SYNTHETIC_EPOCH_NS

pytestmark = pytest.mark.ros

ROOT = Path(__file__).resolve().parents[2]
PEOPLE_IMAGE = ROOT / "data" / "samples" / "basketball2.png"  # two people; from scripts/get_samples.sh
FPS = 10.0
JSON_ROUNDING_M = 0.5e-5 + 1e-12  # JSON metres have 5 decimals: half a unit of the last, plus float64 repr


def make_clip(path: Path, n: int = 20) -> bool:
    """An MJPG clip of `n` 640x480 frames: basketball2.png shifted by a few pixels per frame when present (returns
    True), else moving noise blobs (no people; returns False)."""
    picture = cv2.imread(str(PEOPLE_IMAGE), cv2.IMREAD_COLOR) if PEOPLE_IMAGE.is_file() else None
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (640, 480))
    assert writer.isOpened()
    rng = np.random.default_rng(0)
    for i in range(n):
        if picture is not None:
            frame = cv2.resize(picture, (640, 480))
            frame = cv2.warpAffine(frame, np.float32([[1, 0, i % 5], [0, 1, 0]]), (640, 480),
                                   borderMode=cv2.BORDER_REPLICATE)
        else:
            frame = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
        writer.write(frame)
    writer.release()
    return picture is not None


def pinet_weights(tmp_path: Path) -> str:
    """The packaged PI-Net when installed; else a seeded, untrained PI-Net written for this test (the
    refinement's numbers then mean nothing, but the whole path through the network still runs)."""
    from pinet_ros import weights

    try:
        return str(weights.find_weight("pinet_synthetic"))
    except FileNotFoundError:
        import torch

        from pinet_ros.models.pinet import PINet, PINetConfig, save_pinet

        torch.manual_seed(0)
        path = tmp_path / "pinet_untrained.safetensors"
        save_pinet(PINet(PINetConfig(hidden=32, num_layers=2)), path)
        return str(path)


def test_process_clip_end_to_end(tmp_path, capsys):
    from pinet_ros.cli import main
    from pinet_ros.io.bag_writer import MARKERS_TOPIC, read_pose_messages

    clip = tmp_path / "clip.avi"
    has_people = make_clip(clip)
    params = tmp_path / "params.yaml"
    params.write_text(f"pinet:\n  ros__parameters:\n    pinet_weights: {pinet_weights(tmp_path)}\n    threads: 2\n")
    out = tmp_path / "out"
    code = main(["process", str(clip), "--out", str(out), "--params-file", str(params), "--backend", "mediapipe",
                 "--device", "cpu", "--jsonl", "--video", "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "frames  20" in printed and str(out / "poses.mcap") in printed

    stamps = [SYNTHETIC_EPOCH_NS + int(round(i * 1e9 / FPS)) for i in range(20)]
    poses = read_pose_messages(out / "poses.mcap")
    assert [t for t, _ in poses] == stamps
    assert all(m.header.frame_id == "camera_optical_frame" for _, m in poses)
    assert len(read_pose_messages(out / "poses.mcap", MARKERS_TOPIC)) == 20

    lines = (out / "poses.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["stamp_ns"] for r in records] == stamps
    assert [len(r["persons"]) for r in records] == [len(m.persons) for _, m in poses]
    for r, (_, m) in zip(records, poses):
        assert r["image_size"] == [640, 480] and len(r["joint_names"]) == 17
        for p, q in zip(r["persons"], m.persons):
            assert p["id"] == q.id
            # JSON metres are rounded to 5 decimals (0.01 mm): off by <= 0.5e-5 m from the message's float64
            np.testing.assert_allclose(p["joints"], [[j.x, j.y, j.z] for j in q.joints], atol=JSON_ROUNDING_M)
            assert np.asarray(p["joints_initial"]).shape == (17, 3) and len(p["confidence"]) == 17
        n = len(r["persons"])
        assert np.asarray(r["interaction"]).reshape(n, n).shape == (n, n)  # refine on: n x n attention

    video = next(out.glob("annotated.*"))
    cap = cv2.VideoCapture(str(video))
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, frame = cap.read()
    cap.release()
    assert ok and frame.shape == (480, 640, 3) and count == 20

    if has_people:  # basketball2: two players, in front of the camera, ids stable across the clip
        people = [len(r["persons"]) for r in records]
        assert sum(k >= 1 for k in people) >= 15, people
        roots = np.array([p["root"] for r in records for p in r["persons"]], dtype=np.float64)
        assert np.all(roots[:, 2] > 0.5) and np.all(roots[:, 2] < 20)
        assert len({p["id"] for r in records for p in r["persons"]}) <= 4


def test_process_no_refine_and_max_frames(tmp_path, capsys):
    from pinet_ros.cli import main

    clip = tmp_path / "clip.avi"
    make_clip(clip, n=6)
    params = tmp_path / "params.yaml"
    params.write_text(f"pinet_weights: {pinet_weights(tmp_path)}\n")  # flat form
    out = tmp_path / "out"
    code = main(["process", str(clip), "--out", str(out), "--no-refine", "--max-frames", "3", "--jsonl", "--quiet",
                 "--rate", "4", "--frame-id", "cam9", "--params-file", str(params)])
    assert code == 0, capsys.readouterr()
    records = [json.loads(line) for line in (out / "poses.jsonl").read_text().splitlines()]
    assert [r["stamp_ns"] - SYNTHETIC_EPOCH_NS for r in records] == [0, 250_000_000, 500_000_000]
    assert all(r["interaction"] is None and r["frame_id"] == "cam9" for r in records)
    for r in records:  # refine off: the published joints are the backend's
        for p in r["persons"]:
            np.testing.assert_allclose(p["joints"], p["joints_initial"], atol=JSON_ROUNDING_M)
    assert not (out / "annotated.mp4").exists()


def test_process_reports_bad_input_and_missing_weights(tmp_path, capsys):
    from pinet_ros.cli import main

    assert main(["process", str(tmp_path / "missing.avi"), "--out", str(tmp_path / "o")]) == 1
    assert "missing.avi does not exist" in capsys.readouterr().err
    clip = tmp_path / "clip.avi"
    make_clip(clip, n=1)
    params = tmp_path / "params.yaml"
    params.write_text("pinet_weights: /nonexistent/pinet.safetensors\n")
    assert main(["process", str(clip), "--out", str(tmp_path / "o"), "--params-file", str(params), "--quiet"]) == 1
    assert "/nonexistent/pinet.safetensors" in capsys.readouterr().err


def test_result_to_json_contract():
    from pinet_ros.core.result import FrameResult, PersonResult
    from pinet_ros.io.process import result_to_json

    joints = np.arange(51, dtype=np.float64).reshape(17, 3) / 10
    joints[3] = np.nan
    p = PersonResult(id=7, score=0.87654, bbox_xywh=np.array([1.234, 2, 3, 4]), root_m=joints[14],
                     joints_m=joints, joints_initial_m=joints * 2, joints_2d=np.zeros((17, 2)),
                     joint_confidence=np.full(17, 0.5))
    d = result_to_json(FrameResult(stamp_ns=123, frame_id="f", image_size=(64, 48), persons=[p],
                                   interaction=np.ones((1, 1))))
    text = json.dumps(d, allow_nan=False)  # strict JSON: NaN became null
    back = json.loads(text)
    assert back["stamp_ns"] == 123 and back["frame_id"] == "f" and back["image_size"] == [64, 48]
    person = back["persons"][0]
    assert person["id"] == 7 and person["score"] == 0.8765 and person["bbox"] == [1.23, 2, 3, 4]
    assert person["joints"][3] == [None, None, None] and person["joints"][1] == [0.3, 0.4, 0.5]
    assert person["joints_initial"][1] == [0.6, 0.8, 1.0] and person["root"] == [4.2, 4.3, 4.4]
    assert back["interaction"] == [[1.0]]


def test_load_pipeline_params_forms(tmp_path):
    from pinet_ros.io.process import load_pipeline_params

    node_file = tmp_path / "node.yaml"
    node_file.write_text("pinet:\n  ros__parameters:\n    refine: false\n    backend: mediapipe\n")
    assert load_pipeline_params(node_file) == {"refine": False, "backend": "mediapipe"}
    two = tmp_path / "two.yaml"
    two.write_text("a:\n  ros__parameters: {}\nb:\n  ros__parameters: {}\n")
    with pytest.raises(ValueError, match="several nodes"):
        load_pipeline_params(two)
