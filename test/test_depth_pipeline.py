"""Pipeline.process(depth=...): roots corrected before PI-Net, flagged per person, monocular without depth."""

import numpy as np
import pytest

from pinet_ros.benchmarks.depth import CAMERA_HEIGHT_M, HEIGHT, INTR, WIDTH, SimMonocular, make_sequence
from pinet_ros.core.depth import DepthCamera, DepthFrame
from pinet_ros.core.result import ROOT_DEPTH, ROOT_MONOCULAR
from pinet_ros.data.depth_scenes import Scene, SensorNoise, add_sensor_noise, joint_visibility, render_depth


@pytest.fixture(scope="module")
def clips():
    from pinet_ros.data.synthetic import load_clip

    return {"walk": load_clip("walk"), "dance_b": load_clip("dance_b")}


def _frame(gt, scales, boxes, rng):
    clean = render_depth(Scene(gt, scales, boxes, floor_y_m=CAMERA_HEIGHT_M), INTR, WIDTH, HEIGHT)
    depth = add_sensor_noise(clean, SensorNoise(), rng)
    return clean, DepthFrame(depth, DepthCamera.registered_to(INTR, WIDTH, HEIGHT))


def test_depth_corrects_roots_before_pinet_and_flags_them(clips):
    from pinet_ros.pipeline import Pipeline, PipelineConfig

    rng = np.random.default_rng(7)
    seq = None
    while seq is None or len(seq.joints[0]) < 2:
        seq = make_sequence(rng, 3, clips)
    rgb = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    runs = {}
    backend = SimMonocular(np.random.default_rng(11))
    pipe = Pipeline(PipelineConfig(), backend=backend)
    for arm in ("mono", "depth", "holes"):
        backend.rng, backend.bias = np.random.default_rng(11), {}  # the same estimates in every arm
        pipe.reset()
        frame_rng = np.random.default_rng(3)
        out = []
        for t in range(3):
            gt = seq.joints[t]
            clean, depth = _frame(gt, seq.scales, seq.boxes, frame_rng)
            owner = backend.set_frame(gt, [joint_visibility(j, clean, INTR) for j in gt])
            if arm == "holes":
                depth = DepthFrame(np.full((HEIGHT, WIDTH), np.nan, np.float32), depth.camera)
            result = pipe.process(rgb, INTR, int(t * 1e8), depth=None if arm == "mono" else depth)
            for p in result.persons:
                k = owner[tuple(np.round(p.bbox_xywh, 6))]
                out.append((t, k, p.root_source, np.linalg.norm(p.root_m - gt[k][14]) * 1e3,
                            np.linalg.norm(p.joints_initial_m[14] - gt[k][14]) * 1e3))
            if arm == "depth":
                assert "depth" in result.timings_ms
        runs[arm] = out
    assert runs["mono"] and all(r[2] == ROOT_MONOCULAR for r in runs["mono"])
    assert all(r[2] == ROOT_MONOCULAR for r in runs["holes"])  # no readings: monocular, flagged so
    np.testing.assert_allclose([r[3] for r in runs["holes"]], [r[3] for r in runs["mono"]], rtol=1e-9, atol=1e-6)
    corrected = [r for r in runs["depth"] if r[2] == ROOT_DEPTH]
    assert len(corrected) >= len(runs["depth"]) - 1
    # the correction is what PI-Net sees (joints_initial) and what it publishes stays close to it
    assert np.median([r[4] for r in corrected]) < 60
    assert np.median([r[3] for r in runs["depth"]]) < 0.5 * np.median([r[3] for r in runs["mono"]])
