"""The topdown backend (NanoDet boxes -> batched BlazePose 3D landmarks) on real sample images: people counted
by eye (`pinet_ros.benchmarks.people_truth`, which says how), a person cut by the border, people seen from
behind, the stream mode, and the region geometry. Needs the models converted by setup."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pinet_ros import params as P
from pinet_ros.benchmarks import people_truth as T
from pinet_ros.core.camera import Intrinsics
from pinet_ros.core.skeleton import MUPOTS17
from pinet_ros.models.topdown_backend import (
    Region,
    TopdownBackend,
    TopdownConfig,
    extend_down,
    movenet_score_on_nanodet_scale,
    nanodet_score_on_movenet_scale,
    region_from_box,
    region_from_landmarks,
)

J = MUPOTS17.index
LEGS = [J(n) for n in ("r_knee", "r_ankle", "l_knee", "l_ankle")]
TORSO = [J(n) for n in ("thorax", "r_shoulder", "l_shoulder")]


def _rgb(bgr: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(bgr[:, :, ::-1])


def _k(rgb: np.ndarray) -> Intrinsics:
    h, w = rgb.shape[:2]
    return Intrinsics(fx=float(w), fy=float(w), cx=w / 2, cy=h / 2)


@pytest.fixture(scope="module")
def backend() -> TopdownBackend:
    try:
        b = TopdownBackend(TopdownConfig(threads=2))
    except FileNotFoundError as exc:
        pytest.fail(str(exc))
    yield b
    b.close()


def _boxes(people) -> np.ndarray:
    return T.xywh_to_xyxy(np.array([p.bbox_xywh for p in people]).reshape(-1, 4))


# ------------------------------------------------------------------------------------------ geometry
def test_region_maps_crop_centre_and_up_direction() -> None:
    r = Region(cx=300.0, cy=200.0, side=128.0, angle=0.0)
    m = r.crop_to_source(256)
    np.testing.assert_allclose(m @ [128, 128, 1], [300, 200], atol=1e-9)
    np.testing.assert_allclose(m @ [0, 0, 1], [236, 136], atol=1e-9)  # half a side up-left
    # a person leaning right by 30 degrees: the extent point is up and to the right of the hip centre
    lean = region_from_landmarks(np.array([100.0, 300.0]), np.array([100 + 50.0, 300 - 50 * math.sqrt(3)]))
    assert lean.angle == pytest.approx(math.radians(30)) and lean.side == pytest.approx(2.5 * 100)
    up = lean.crop_to_source(256) @ [128, 0, 1] - [lean.cx, lean.cy]  # the crop's top centre, in the image
    np.testing.assert_allclose(up / np.linalg.norm(up), [0.5, -math.sqrt(3) / 2], atol=1e-9)
    upright = region_from_landmarks(np.array([10.0, 50.0]), np.array([10.0, 0.0]))
    assert upright.angle == pytest.approx(0.0) and upright.side == pytest.approx(125.0)


def test_box_regions() -> None:
    r = region_from_box(np.array([100, 50, 140, 250]), 1.25)
    assert (r.cx, r.cy, r.side, r.angle) == (120, 150, 250, 0)
    np.testing.assert_allclose(extend_down(np.array([100, 50, 140, 110])), [100, 50, 140, 170])  # 3 widths
    np.testing.assert_allclose(extend_down(np.array([100, 50, 140, 250])), [100, 50, 140, 250])  # already tall


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        TopdownConfig(detect_every=0)
    with pytest.raises(ValueError):
        TopdownConfig(min_person_score=1.5)
    with pytest.raises(ValueError, match="detectors"):
        TopdownConfig(detectors="yolo")
    with pytest.raises(ValueError):
        TopdownConfig(movenet_anchor=0.0)


def test_default_backend_agrees_everywhere() -> None:
    """params.py, PipelineConfig and config/pinet.yaml name the same default backend and detect_every."""
    import yaml

    from pinet_ros.pipeline import PipelineConfig

    values = yaml.safe_load((T.SAMPLES.parents[1] / "config" / "pinet.yaml").read_text())["/**"]["ros__parameters"]
    assert P.SPECS["backend"].default == PipelineConfig().backend == values["backend"] == "topdown"
    assert P.SPECS["detect_every"].default == PipelineConfig().detect_every == values["detect_every"]
    assert (P.SPECS["person_detectors"].default == PipelineConfig().person_detectors == values["person_detectors"]
            == TopdownConfig().detectors)


def test_movenet_scores_map_onto_nanodets_scale() -> None:
    """Through (0, 0), (anchor, 0.4), (1, 1), linear between; the inverse maps thresholds back."""
    np.testing.assert_allclose(movenet_score_on_nanodet_scale([0.0, 0.05, 0.1, 0.55, 1.0], 0.1),
                               [0.0, 0.2, 0.4, 0.7, 1.0], atol=1e-12)
    for t in (0.0, 0.2, 0.4, 0.7, 0.99, 1.0):
        assert movenet_score_on_nanodet_scale(nanodet_score_on_movenet_scale(t, 0.1), 0.1) == pytest.approx(t)


def test_both_detectors_merge_into_one_box_per_person(backend: TopdownBackend) -> None:
    """vtest frame 650 (6 people) and basketball1 (one player cut by the border, whom MoveNet reports twice):
    each detector alone and the merged set give one box per counted person, the merged set keeps every person
    either detector found, no two merged boxes overlap by more than `merge_iou`, and MoveNet's scores arrive
    mapped onto NanoDet's scale and above the one threshold."""
    from pinet_ros.core.tracking import box_iou

    only_movenet = TopdownBackend(TopdownConfig(threads=2, detectors="movenet"))
    only_nanodet = TopdownBackend(TopdownConfig(threads=2, detectors="nanodet"))
    try:
        assert only_movenet.detector is None and only_nanodet.movenet is None
        for name in ("vtest_650", "basketball1"):
            item = T.truth(name)
            rgb = _rgb(T.load_image(item))
            merged, merged_scores = backend.detect(rgb)
            xywh = np.c_[merged[:, :2], merged[:, 2:] - merged[:, :2]]
            iou = box_iou(xywh, xywh) - np.eye(len(merged))
            assert iou.max() <= backend.config.merge_iou, (name, iou.max())
            hits = {}
            for label, b in (("merged", backend), ("movenet", only_movenet), ("nanodet", only_nanodet)):
                boxes, scores = b.detect(rgb)
                s = T.score_boxes(boxes, item.people, item.ignore, min_iou=0.5)
                hits[label] = set(range(s.people)) - set(s.missed)
                assert np.all((scores >= b.config.min_person_score) & (scores <= 1.0)), (label, scores)
            assert hits["merged"] == hits["movenet"] | hits["nanodet"] == set(range(len(item.people))), (name, hits)
            raw = only_movenet.movenet.detect(rgb, 0.0)
            _, mv_scores = only_movenet.detect(rgb)
            want = movenet_score_on_nanodet_scale(raw.scores, only_movenet.config.movenet_anchor)
            np.testing.assert_allclose(mv_scores, want[want >= only_movenet.config.min_person_score][:len(mv_scores)])
    finally:
        only_movenet.close()
        only_nanodet.close()


# ------------------------------------------------------------------------------------------ real images
def test_people_counted_by_eye_are_found_without_false_positives(backend: TopdownBackend) -> None:
    """On every truth image at most one counted person is missed, nobody is invented, and overall recall
    is at least 90 % (measured: 36 of 36 at the default min_person_score 0.4, 35 at 0.5)."""
    hits = people = 0
    for item in T.TRUTH:
        rgb = _rgb(T.load_image(item))
        found = backend.estimate(rgb, _k(rgb))
        s = T.score_boxes(_boxes(found), item.people, item.ignore)
        assert s.false_positives == 0 and s.hits >= s.people - 1, (item.name, s)
        for p in found:
            assert p.joints_cam_mm.shape == (17, 3) and np.all(np.isfinite(p.joints_cam_mm))
            assert p.joints_cam_mm[MUPOTS17.root, 2] > 0 and backend.config.min_person_score <= p.score <= 1.0
        hits, people = hits + s.hits, people + s.people
    assert hits >= 0.9 * people, (hits, people)


def test_person_score_is_the_detector_confidence(backend: TopdownBackend) -> None:
    rgb = _rgb(T.load_image(T.truth("basketball1")))
    _, det_scores = backend.detect(rgb)
    people = backend.estimate(rgb, _k(rgb))
    # both players are published; a third box (score ~0.43, part of a player) holds no pose of its own or
    # duplicates one, so it is dropped: each published score is one of the detector's, each used once
    assert len(people) == 2
    scores = det_scores.tolist()
    for p in people:
        k = min(range(len(scores)), key=lambda i: abs(scores[i] - p.score))
        assert abs(scores.pop(k) - p.score) <= 1e-6


def test_people_seen_from_behind(backend: TopdownBackend) -> None:
    """vtest frame 550: the man in the red jacket and the blonde woman at the bottom walk away from the
    camera (backs of their heads seen, no face); frame 650: the blonde woman again, from behind."""
    for name, idx in (("vtest_550", (1, 3)), ("vtest_650", (2,))):
        item = T.truth(name)
        rgb = _rgb(T.load_image(item))
        boxes = _boxes(backend.estimate(rgb, _k(rgb)))
        for i in idx:
            assert max(T.iou(b, item.people[i]) for b in boxes) >= 0.5, (name, i)


def test_a_person_cut_by_the_border_is_kept_with_guessed_legs_marked(backend: TopdownBackend) -> None:
    """basketball1 cut at row 300: the left man loses his legs below the thighs, the right one (already cut at
    the hips) his belly too. Both are published with confident shoulders; every knee and ankle the model had
    to guess carries low confidence (joints placed outside the image at most `outside_confidence`)."""
    img = T.load_image(T.truth("basketball1"))[:300]
    rgb = _rgb(img)
    people = backend.estimate(rgb, _k(rgb))
    visible = [(34, 85, 170, 300), (425, 24, 636, 300)]
    assert len(people) == 2
    for p, box in zip(sorted(people, key=lambda p: p.bbox_xywh[0]), visible):
        assert T.iou(T.xywh_to_xyxy(p.bbox_xywh)[0], box) >= 0.5
        out = p.joints_2d[:, 1] >= 300
        assert np.all(p.joint_confidence[out] <= backend.config.outside_confidence + 1e-12)
        assert np.all(p.joint_confidence[LEGS] < 0.5), p.joint_confidence[LEGS]
        assert np.all(p.joint_confidence[TORSO] >= 0.5), p.joint_confidence[TORSO]
    left = min(people, key=lambda p: p.bbox_xywh[0])
    assert np.all(left.joints_2d[LEGS, 1] >= 300)  # his legs continue below the image


def test_stream_runs_the_detector_every_k_frames_and_keeps_the_people() -> None:
    """10 consecutive vtest frames (from 640): with detect_every 3 the detector runs on frames 0, 3, 6, 9
    only (unless someone is lost), and each frame has as many people as with the detector on every frame,
    give or take one."""
    frames = [_rgb(f) for f in T.read_video_frames(T.SAMPLES / "vtest.avi", list(range(640, 650)))]
    every = TopdownBackend(TopdownConfig(threads=2, detect_every=1))
    tracked = TopdownBackend(TopdownConfig(threads=2, detect_every=3))
    try:
        ran = []
        for k, rgb in enumerate(frames):
            n_every = len(every.estimate(rgb, _k(rgb)))
            n_tracked = len(tracked.estimate(rgb, _k(rgb)))
            ran.append(tracked.timings_ms["detect"] > 0)
            assert abs(n_every - n_tracked) <= 1, (k, n_every, n_tracked)
        assert ran[0] and ran[3] and ran[6] and ran[9]
        assert sum(ran) <= 6, ran  # most in-between frames are tracked
        tracked.reset()
        tracked.estimate(frames[0], _k(frames[0]))
        assert tracked.timings_ms["detect"] > 0  # a reset stream starts with the detector
    finally:
        every.close()
        tracked.close()


def test_live_settings_and_closing() -> None:
    b = TopdownBackend(TopdownConfig(threads=1))
    rgb = _rgb(T.load_image(T.truth("basketball1")))
    b.apply(max_persons=1)
    assert len(b.estimate(rgb, _k(rgb))) == 1
    b.apply(score_threshold=0.99)
    assert b.estimate(rgb, _k(rgb)) == []
    with pytest.raises(ValueError, match="flip_test"):
        b.apply(flip_test=True)
    with pytest.raises(ValueError):
        b.estimate(rgb[:, :, 0], _k(rgb))
    b.close()
    with pytest.raises(RuntimeError):
        b.estimate(rgb, _k(rgb))


def test_pipeline_builds_it_from_the_parameters_and_resets_its_tracks() -> None:
    from pinet_ros.pipeline import Pipeline, PipelineConfig

    pipe = Pipeline(PipelineConfig(detect_every=5, max_persons=4, score_threshold=0.6, refine=False))
    try:
        c = pipe.backend.config
        assert pipe.backend.name == "topdown" and (c.detect_every, c.max_people, c.min_person_score) == (5, 4, 0.6)
        rgb = _rgb(T.load_image(T.truth("vtest_250")))
        first = pipe.process(rgb, _k(rgb), stamp_ns=0)
        assert first.timings_ms["detect"] > 0 and len(first.persons) == 4  # 7 people, max 4
        second = pipe.process(rgb, _k(rgb), stamp_ns=100_000_000)
        assert second.timings_ms["detect"] == 0 and len(second.persons) == 4  # tracked, no detector
        pipe.reset()
        assert pipe.process(rgb, _k(rgb), stamp_ns=200_000_000).timings_ms["detect"] > 0
    finally:
        pipe.close()
