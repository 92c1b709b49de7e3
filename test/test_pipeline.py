"""The whole pipeline on real images with the embedded default (topdown + the packaged PI-Net)."""

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from pinet_ros.core.camera import Intrinsics
from pinet_ros.core.skeleton import MUPOTS17

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
sys.path.insert(0, str(Path(__file__).resolve().parent / "helpers"))
from numerics import F32_EPS, assert_close  # noqa: E402


def _need(name: str) -> Path:
    path = SAMPLES / name
    if not path.is_file():
        pytest.fail(f"{path} missing: make setup fetches the opencv-doc samples (scripts/get_samples.sh)")
    return path


def _basketball() -> np.ndarray:
    return cv2.imread(str(_need("basketball2.png")), cv2.IMREAD_COLOR)[..., ::-1].copy()


def _intr(w: int, h: int) -> Intrinsics:
    return Intrinsics(fx=float(w), fy=float(w), cx=w / 2, cy=h / 2)


@pytest.fixture(scope="module")
def pipeline():
    from pinet_ros.pipeline import Pipeline, PipelineConfig

    p = Pipeline(PipelineConfig())
    yield p
    p.close()


def _bone(j: np.ndarray, a: str, b: str) -> float:
    return float(np.linalg.norm(j[MUPOTS17.index(a)] - j[MUPOTS17.index(b)]))


def test_basketball2_two_men_in_metres_left_to_right(pipeline):
    pipeline.reset()
    result = pipeline.process(_basketball(), _intr(640, 480), stamp_ns=5_000_000_000, frame_id="cam")
    assert result.stamp_ns == 5_000_000_000 and result.frame_id == "cam" and result.image_size == (640, 480)
    assert len(result.persons) == 2
    left, right = sorted(result.persons, key=lambda p: p.bbox_xywh[0])
    assert left.root_m[0] < right.root_m[0]
    for person in result.persons:
        assert 1.0 <= person.root_m[2] <= 8.0
        np.testing.assert_allclose(person.root_m, person.joints_m[MUPOTS17.root])
        for joints in (person.joints_m, person.joints_initial_m):
            assert np.all(np.isfinite(joints))
            assert 0.25 <= _bone(joints, "r_hip", "r_knee") <= 0.65
            assert 0.15 <= _bone(joints, "l_shoulder", "l_elbow") <= 0.45
        assert person.id >= 1 and 0.0 <= person.score <= 1.0
        assert person.joint_confidence.shape == (17,) and np.all((0 <= person.joint_confidence) &
                                                                 (person.joint_confidence <= 1))
    assert result.interaction.shape == (2, 2)
    # float32 softmax rows (exp within 2 ulp, one division) summed: (n + 4) roundings of values <= 1
    assert_close(result.interaction.sum(axis=1), 1.0, atol=(2 + 4) * F32_EPS, label="interaction rows")
    assert np.abs(left.joints_m - left.joints_initial_m).max() > 1e-3  # PI-Net moved a joint by > 1 mm


def test_a_pipeline_leaves_torch_threads_alone_and_the_application_applies_the_policy():
    import torch

    from pinet_ros.pipeline import Pipeline, PipelineConfig, auto_torch_threads, set_torch_threads

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        p = Pipeline(PipelineConfig(refine=False))
        assert torch.get_num_threads() == 2  # a library does not change process-wide state unasked
        p.close()
        assert auto_torch_threads(PipelineConfig()) == 1  # PI-Net is the only torch work beside onnxruntime
        assert auto_torch_threads(PipelineConfig(backend="3dmppe")) is None  # torch's own default
        assert auto_torch_threads(PipelineConfig(threads=3)) == 3
        assert set_torch_threads(PipelineConfig()) == 1 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def test_live_backend_settings_take_effect_on_the_next_frame(pipeline):
    rgb = _basketball()
    pipeline.reset()
    try:
        pipeline.update(max_persons=1)
        assert len(pipeline.process(rgb, _intr(640, 480), stamp_ns=1).persons) == 1
        pipeline.update(max_persons=12)  # above the start-up value (mediapipe rebuilds its landmarker for it)
        assert pipeline.backend.config.max_people == 12
        assert len(pipeline.process(rgb, _intr(640, 480), stamp_ns=2).persons) == 2
        pipeline.update(score_threshold=0.999)  # raised: both men drop out
        assert pipeline.process(rgb, _intr(640, 480), stamp_ns=3).persons == []
        # lowered below the start-up 0.5 (above the 0.26 of a box on no one): the backend follows too
        pipeline.update(score_threshold=0.4)
        assert pipeline.backend.config.min_person_score == 0.4
        assert len(pipeline.process(rgb, _intr(640, 480), stamp_ns=4).persons) == 2
    finally:
        pipeline.update(max_persons=10, score_threshold=0.5)


def test_a_live_setting_the_backend_lacks_is_refused_with_the_reason(pipeline):
    from pinet_ros.pipeline import PipelineError

    with pytest.raises(PipelineError, match="flip_test refused by the topdown backend"):
        pipeline.update(flip_test=True)
    assert pipeline.config.flip_test is False


@pytest.mark.parametrize("fx,cx", [(1e-300, 320.0), (1e308, 320.0), (640.0, 1e9)])
def test_absurd_intrinsics_are_refused_before_any_network_runs(pipeline, fx, cx):
    with pytest.raises(ValueError, match="physical focal length|principal point"):
        pipeline.process(_basketball(), Intrinsics(fx, fx, cx, 240.0), stamp_ns=0)


def test_same_input_twice_gives_identical_output():
    from pinet_ros.pipeline import Pipeline, PipelineConfig

    outs = []
    for _ in range(2):
        p = Pipeline(PipelineConfig())
        r = p.process(_basketball(), _intr(640, 480), stamp_ns=0)
        outs.append(np.stack([q.joints_m for q in r.persons]))
        p.close()
    np.testing.assert_array_equal(outs[0], outs[1])


def test_refine_off_publishes_the_backend_estimate(pipeline):
    pipeline.update(refine=False)
    try:
        r = pipeline.process(_basketball(), _intr(640, 480), stamp_ns=10)
    finally:
        pipeline.update(refine=True)
    assert r.interaction is None and len(r.persons) == 2
    for q in r.persons:
        np.testing.assert_array_equal(q.joints_m, q.joints_initial_m)


def test_ids_stable_over_consecutive_video_frames():
    from pinet_ros.pipeline import Pipeline, PipelineConfig

    cap = cv2.VideoCapture(str(_need("vtest.avi")))
    frames = [cap.read()[1] for _ in range(6)]
    cap.release()
    pipeline = Pipeline(PipelineConfig(small_people=True))  # vtest's pedestrians are below 100 px
    ids = []
    for i, bgr in enumerate(frames):
        h, w = bgr.shape[:2]
        r = pipeline.process(bgr[..., ::-1].copy(), _intr(w, h), stamp_ns=i * 100_000_000)
        ids.append({q.id for q in r.persons})
    assert ids[0], "nobody found in the first vtest frame"
    # people stay in view over 0.5 s: most ids of the first frame are still there in the last one
    assert len(ids[0] & ids[-1]) >= max(1, len(ids[0]) - 1)
    pipeline.close()


def test_live_update_refuses_start_up_settings_and_bad_values(pipeline):
    from pinet_ros.pipeline import PipelineError

    with pytest.raises(PipelineError, match="start-up"):
        pipeline.update(backend="3dmppe")
    with pytest.raises(PipelineError, match="score_threshold"):
        pipeline.update(score_threshold=2.0)
    with pytest.raises(ValueError):
        pipeline.process(np.zeros((10, 10), np.uint8), _intr(10, 10), 0)


def test_missing_weights_and_cuda_without_gpu_fail_clearly(tmp_path):
    import torch

    from pinet_ros.pipeline import Pipeline, PipelineConfig, PipelineError

    with pytest.raises(PipelineError, match="nothing_here"):
        Pipeline(PipelineConfig(pinet_weights=str(tmp_path / "nothing_here.safetensors")))
    if not torch.cuda.is_available():
        with pytest.raises(PipelineError, match="no usable CUDA"):
            Pipeline(PipelineConfig(device="cuda"))
    with pytest.raises(PipelineError, match="posenet_muco|PoseNet|not found"):
        Pipeline(PipelineConfig(backend="3dmppe", posenet_weights=str(tmp_path / "p.pth.tar")))


def test_pinet_weights_takes_a_registry_name_or_a_path(tmp_path, monkeypatch):
    from pinet_ros import weights
    from pinet_ros.pipeline import PipelineError, _weight_path

    default = str(weights.find_weight(weights.DEFAULT_PINET))
    assert _weight_path("", weights.DEFAULT_PINET) == default
    assert _weight_path("pinet_synthetic", weights.DEFAULT_PINET) == str(weights.find_weight("pinet_synthetic"))
    with pytest.raises(PipelineError, match="pinet_muco"):  # registered but not downloaded: says how to get it
        monkeypatch.setenv("PINET_WEIGHTS_DIR", str(tmp_path))
        _weight_path("pinet_muco", weights.DEFAULT_PINET)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pinet_synthetic").write_bytes(b"")  # a file of that name in the working folder wins
    assert _weight_path("pinet_synthetic", weights.DEFAULT_PINET) == str(Path("pinet_synthetic"))


def test_a_modified_registry_file_is_refused_by_its_sha256(tmp_path, monkeypatch):
    from pinet_ros import weights
    from pinet_ros.pipeline import PipelineError, _weight_path

    good = weights.find_weight("pinet_synthetic")
    assert _weight_path("", "pinet_synthetic") == str(good)
    tampered = tmp_path / "pinet_synthetic" / good.name
    tampered.parent.mkdir()
    data = bytearray(good.read_bytes())
    data[-1] ^= 0xFF  # one flipped bit in the last tensor: still loads, but is not the registered file
    tampered.write_bytes(bytes(data))
    monkeypatch.setenv("PINET_WEIGHTS_DIR", str(tmp_path))  # searched before the packaged copy
    with pytest.raises(PipelineError, match="sha256"):
        _weight_path("", "pinet_synthetic")


def test_mediapipe_backend_rebuilds_its_landmarker_for_a_raised_max_persons():
    from pinet_ros.pipeline import Pipeline, PipelineConfig

    p = Pipeline(PipelineConfig(backend="mediapipe", refine=False, max_persons=1))
    try:
        rgb = _basketball()
        assert len(p.process(rgb, _intr(640, 480), stamp_ns=1).persons) == 1
        landmarker = p.backend._full
        p.update(max_persons=12)
        assert p.backend._full is not landmarker and p.backend.config.max_people == 12
        assert len(p.process(rgb, _intr(640, 480), stamp_ns=2).persons) == 2
        p.update(score_threshold=0.999)
        assert p.process(rgb, _intr(640, 480), stamp_ns=3).persons == []
    finally:
        p.close()


def test_pinet_on_onnxruntime_matches_torch(tmp_path, monkeypatch):
    from pinet_ros.pipeline import Pipeline, PipelineConfig

    monkeypatch.setenv("PINET_CACHE", str(tmp_path))
    rgb = _basketball()
    out = {}
    for runtime in ("torch", "onnxruntime"):
        p = Pipeline(PipelineConfig(pinet_runtime=runtime))
        assert type(p.pinet).__name__ == ("PINet" if runtime == "torch" else "PINetOnnxRunner")
        r = p.process(rgb, _intr(640, 480), stamp_ns=0)
        out[runtime] = (np.stack([q.joints_initial_m for q in r.persons]), np.stack([q.joints_m for q in r.persons]))
        p.close()
    assert len(list((tmp_path / "onnx").glob("pinet-*.onnx"))) == 1  # exported once, cached
    auto = Pipeline(PipelineConfig())  # auto: onnxruntime on the CPU
    assert type(auto.pinet).__name__ == "PINetOnnxRunner"
    auto.close()
    np.testing.assert_array_equal(out["torch"][0], out["onnxruntime"][0])  # same backend input
    # two float32 implementations of the same graph: a few hundred roundings of values up to |x| metres
    # (normalisation, 3 GRU layers, attention, head); 1e3 eps32 |x| bounds that, while PI-Net's own
    # corrections are tens of millimetres
    from numerics import F32_EPS

    scale = float(np.abs(out["torch"][1]).max())
    np.testing.assert_allclose(out["onnxruntime"][1], out["torch"][1], rtol=0, atol=1e3 * F32_EPS * scale)
    assert np.abs(out["torch"][1] - out["torch"][0]).max() > 1e-3  # PI-Net does move joints
