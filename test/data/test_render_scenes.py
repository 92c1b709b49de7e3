"""The rendered benchmark: real anny renders (tiny frames), read back by the MuPoTS reader, ground truth on the
rendered bodies, resumable and deterministic, splits disjoint; and the image evaluation's own check (a
perfect prediction scores 100 % / 0 mm through `pinet-ros evaluate`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from pinet_ros.data import backgrounds
from pinet_ros.data.synthetic import SPLITS as CLIP_SPLITS

SPLIT = "val"
FRAMES = 3
W, H = 240, 180


def _skip_reason() -> str | None:
    from pinet_ros.data.anny_body import anny_available, anny_cache_ready

    reason = anny_available()
    if reason:
        return reason
    try:
        import pyrender  # noqa: F401
    except ImportError as exc:
        return f"pyrender not installed ({exc}); make setup installs it"
    if not anny_cache_ready():
        return "anny's model cache is not built (make setup runs `python -m pinet_ros.data.render_scenes --prepare`)"
    missing = [n for names in backgrounds.SPLITS.values() for n in names
               if not backgrounds.background_path(n).is_file()]
    if missing:
        return f"backgrounds not prepared ({', '.join(missing[:3])}...): make setup prepares them"
    return None


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from pinet_ros.data.render_scenes import render_split

    out = tmp_path_factory.mktemp("rendered")
    stats = render_split(out, SPLIT, FRAMES, seed=3, width=W, height=H, seq_frames=2, progress=False, max_people=3)
    return out, stats


def test_readers_read_the_output_unchanged(rendered):
    from pinet_ros.data.mupots import read_mupots, sequence_of

    out, stats = rendered
    assert stats["rendered"] == FRAMES
    data = json.loads((out / "MuPoTS-3D.json").read_text())
    assert len(data["images"]) == FRAMES
    groups = list(read_mupots(out / "MuPoTS-3D.json"))
    assert len(groups) == len({a["image_id"] for a in data["annotations"]}) >= 1
    for g in groups:
        assert re.fullmatch(r"TS\d+/img_\d{6}\.jpg", g.file_name)
        assert sequence_of(g.file_name) == g.image_id // 2 + 1
        assert g.gt_cam.shape == (g.num_persons, 17, 3) and g.gt_img.shape == (g.num_persons, 17, 2)
        assert (g.width, g.height) == (W, H)
        import cv2

        img = cv2.imread(str(out / g.file_name))
        assert img.shape == (H, W, 3)
        depth = cv2.imread(str(out / "depth" / g.file_name.replace(".jpg", ".png")), cv2.IMREAD_UNCHANGED)
        assert depth.dtype == np.uint16 and depth.shape == (H, W)
        # pixels follow from the camera millimetres through the stored intrinsics (float64, rounding 1e-3 px)
        np.testing.assert_allclose(g.intrinsics.project(g.gt_cam), g.gt_img, atol=2e-3)
        # the people's depth in the PNG spans the persons' roots
        z = g.gt_cam[:, 14, 2]
        assert depth.max() > 0 and depth[depth > 0].min() < z.max() + 300


def test_ground_truth_lands_on_the_rendered_body(rendered):
    """Every joint marked visible projects onto a person surface whose depth lies just in front of the joint
    (a body is at most ~0.35 m thick; the rendered depth is exact, the PNG keeps whole millimetres)."""
    import cv2

    out, _ = rendered
    data = json.loads((out / "MuPoTS-3D.json").read_text())
    files = {im["id"]: im["file_name"] for im in data["images"]}
    checked = 0
    for a in data["annotations"]:
        depth = cv2.imread(str(out / "depth" / files[a["image_id"]].replace(".jpg", ".png")), cv2.IMREAD_UNCHANGED)
        cam = np.asarray(a["keypoints_cam"])
        uv = np.asarray(a["keypoints_img"])
        for j in np.flatnonzero(np.asarray(a["keypoints_vis"]) == 1):
            u, v = int(uv[j, 0]), int(uv[j, 1])
            # the joint's own pixel, or (a joint on the silhouette's edge, e.g. the head top) its 3x3 neighbours
            win = depth[max(v - 1, 0):v + 2, max(u - 1, 0):u + 2].astype(float)
            assert depth[v, u] > 0 or (win > 0).any(), f"visible joint {j} of {a['id']} is not on a rendered surface"
            surface = float(depth[v, u]) if depth[v, u] > 0 else win[win > 0].min()
            assert cam[j, 2] - 350.0 <= surface <= cam[j, 2] + 30.0, (j, surface, cam[j, 2])
            checked += 1
        codes = np.asarray(a["keypoints_occ"])
        assert ((codes == 0) == (np.asarray(a["keypoints_vis"]) == 1)).all()
        inside = (uv[:, 0] >= 0) & (uv[:, 0] < W) & (uv[:, 1] >= 0) & (uv[:, 1] < H)
        assert ((codes == 3) == ~inside).all()
        assert 1550.0 - 1.0 <= a["height"] <= 1900.0 + 1.0
        assert a["identity"].startswith(f"{SPLIT}/")
    assert checked >= 10


def test_resume_skips_done_frames_and_rerenders_identically(rendered):
    from pinet_ros.data.render_scenes import RenderError, render_split

    out, _ = rendered
    again = render_split(out, SPLIT, FRAMES, seed=3, width=W, height=H, seq_frames=2, progress=False, max_people=3)
    assert again["rendered"] == 0 and again["skipped"] == FRAMES
    record = out / "ann" / "TS1" / "img_000001.json"
    before = json.loads(record.read_text())
    record.unlink()
    redo = render_split(out, SPLIT, FRAMES, seed=3, width=W, height=H, seq_frames=2, progress=False, max_people=3)
    assert redo["rendered"] == 1
    assert json.loads(record.read_text()) == before
    with pytest.raises(RenderError, match="seed"):
        render_split(out, SPLIT, FRAMES, seed=4, width=W, height=H, seq_frames=2, progress=False, max_people=3)


def test_splits_are_disjoint():
    from pinet_ros.data.render_scenes import IDENTITIES_PER_SPLIT

    for table in (CLIP_SPLITS, backgrounds.SPLITS):
        names = [set(v) for v in table.values()]
        assert all(not (a & b) for i, a in enumerate(names) for b in names[i + 1:])
        assert all(names)
    # identities are keyed by split: "<split>/<index>", so no body is shared
    keys = {s: {f"{s}/{i}" for i in range(n)} for s, n in IDENTITIES_PER_SPLIT.items()}
    assert not (keys["train"] & keys["test"]) and not (keys["val"] & keys["test"])


def test_identity_height_is_solved():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from pinet_ros.data.anny_body import ADULT_HEIGHT_RANGE_M, BodyModel

    body = BodyModel()
    ident = body.make_identity(f"{SPLIT}/0")
    lo, hi = ADULT_HEIGHT_RANGE_M
    assert lo - 1e-3 <= ident.height_m <= hi + 1e-3
    # the rest mesh of the solved phenotype is as tall as recorded (bisection to 2^-16 of anny's range)
    assert abs(body.rest_height(ident.phenotype) - ident.height_m) < 1e-6


def test_perfect_prediction_scores_100_percent_and_0_mm(rendered, tmp_path):
    """The ground truth fed through `pinet-ros evaluate --backend ground_truth` (the pipeline, the matching,
    the metrics) scores 100 % and 0 mm for the backend row."""
    from pinet_ros.cli import main

    out, _ = rendered
    res = tmp_path / "eval"
    assert main(["evaluate", str(out), "--backend", "ground_truth", "--out", str(res)]) == 0
    record = json.loads((res / "results.json").read_text())
    s = record["numbers"]["overall"]["backend"]
    assert s["recall"] == 100.0 and s["pck_all"] == 100.0 and s["pck_matched"] == 100.0 and s["abs_pck"] == 100.0
    # millimetres go through metres and back in the pipeline: float64 round-off only
    assert s["mpjpe"] < 1e-6 and s["pa_mpjpe"] < 1e-4 and s["root_median_mm"] < 1e-6
    assert record["false_positives_per_frame"] == 0.0
    det = record["numbers"]["detection"]
    assert det["box_recall"] == 100.0  # the ground-truth boxes themselves: IoU 1
    assert det["clearly_visible_persons"] == 0 or det["clearly_visible_recall"] == 100.0
    assert (res / "root_error_vs_distance.png").stat().st_size > 0
    for name in ("detection", "accuracy", "by_people", "by_distance", "by_occlusion"):
        assert (res / f"{name}.md").is_file() and (res / f"{name}.csv").is_file()
    # PI-Net rows are scored on the same detections
    assert record["numbers"]["overall"]["pinet"]["persons"] == s["persons"]


def test_mediapipe_runs_through_the_image_evaluation(rendered, tmp_path):
    from pinet_ros.evaluate_images import run

    out, _ = rendered
    record = run(out, tmp_path / "mp", backend="mediapipe", alone=False, progress=False)
    s = record["numbers"]["overall"]["backend"]
    assert s["persons"] == record["persons"] >= 1
    assert 0.0 <= s["recall"] <= 100.0 and 0.0 <= s["pck_all"] <= 100.0
    assert record["frames_per_s"] > 0


def test_best_matching_fixes_the_greedy_rule_on_overlapping_people():
    """Person 0 overlaps person 1's detection on one joint only; the official greedy rule (persons in
    annotation order) gives that detection to person 0, the best assignment to person 1."""
    from pinet_ros.evaluate_images import agreeing_joints, match_best
    from pinet_ros.metrics import match_persons

    rng = np.random.default_rng(0)
    gt = np.stack([rng.uniform(0, 50, (17, 2)) + [500, 500], rng.uniform(0, 50, (17, 2)) + [100, 100]])
    gt[0, 5] = gt[1, 5] + 5.0  # one of person 0's joints lies next to person 1's
    pred = gt[1:2] + 3.0  # one detection: person 1
    assert agreeing_joints(pred, gt).tolist() == [[1], [13]]
    assert match_persons(pred, gt).tolist() == [0, -1]
    assert match_best(pred, gt).tolist() == [-1, 0]
    assert match_best(np.zeros((0, 17, 2)), gt).tolist() == [-1, -1]


def test_box_matching_is_one_to_one_clips_to_the_image_and_needs_half_overlap():
    from pinet_ros.evaluate_images import BOX_MATCH_IOU, match_boxes

    gt = np.array([[100.0, 100.0, 50.0, 150.0], [140.0, 100.0, 50.0, 150.0], [600.0, 300.0, 40.0, 180.0]])
    pred = np.array([
        [142.0, 102.0, 50.0, 150.0],  # person 1 (IoU ~0.95 with it, ~0.13 with person 0)
        [600.0, 300.0, 40.0, 400.0],  # person 2 with legs below the 640x480 image: IoU 1 once clipped
        [101.0, 100.0, 50.0, 150.0],  # person 0
    ])
    assert match_boxes(pred, gt, 640, 480).tolist() == [2, 0, 1]
    # unclipped, the same box would overlap person 2 by 180 / 400 < 0.5
    assert 180.0 / 400.0 < BOX_MATCH_IOU
    # one detection for two people: only one of them is found
    assert sorted(match_boxes(pred[:1], gt[:2], 640, 480).tolist()) == [-1, 0]
    # a box shifted by half its width overlaps 1/3: not found
    assert match_boxes(np.array([[125.0, 100.0, 50.0, 150.0]]), gt[:1], 640, 480).tolist() == [-1]
    assert match_boxes(np.zeros((0, 4)), gt, 640, 480).tolist() == [-1, -1, -1]


@pytest.mark.parametrize("extra, want", [
    ({"bbox": [0, 0, 30, 60], "truncation": 0.5, "occlusion": 0.5}, True),  # every limit is inclusive
    ({"bbox": [0, 0, 30, 59.9], "truncation": 0.0, "occlusion": 0.0}, False),  # too small
    ({"bbox": [0, 0, 30, 200], "truncation": 0.53, "occlusion": 0.0}, False),  # 9 of 17 joints outside
    ({"bbox": [0, 0, 30, 200], "truncation": 0.0, "occlusion": 0.51}, False),  # mostly hidden by others
    ({"bbox": [0, 0, 30, 200]}, None),  # real MuPoTS: no rendered extras
])
def test_clearly_visible_follows_the_documented_limits(extra, want):
    from pinet_ros.evaluate_images import clearly_visible

    assert clearly_visible(extra) is want
