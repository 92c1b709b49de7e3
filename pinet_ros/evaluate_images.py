"""End-to-end evaluation on images with 3D ground truth: the whole pipeline, detection included.

Data: a MuPoTS-style annotation file (``MuPoTS-3D.json``, read by `pinet_ros.data.mupots.read_mupots`) and
its images: the rendered benchmark of `pinet_ros.data.render_scenes` (``pinet-ros render``), or the real
MuPoTS-3D release (its ``keypoints_cam`` are then the ground truth; the rendered extras ``occlusion`` and
``keypoints_occ`` are absent there and that breakdown reads "n/a").

Per frame, `pinet_ros.pipeline.Pipeline` (tracking and smoothing off) runs the chosen backend and PI-Net;
three methods are scored on the same detections:

* ``backend``: the backend's absolute 3D joints (the pipeline's ``joints_initial``);
* ``pinet``: PI-Net refining every detected person with the other detections as context (the pipeline's
  output);
* ``alone``: the same network fed each detected person alone, as the sequence [i, i].

Matching (which detection is which ground-truth person) uses the MuPoTS protocol's 2D criterion (joints 1-13,
a joint agrees when within 40 px in u and v) on the backend's 2D joints, once per frame, so the three methods
share it. ``matching="best"`` (the default) assigns detections to persons to maximise the number of agreeing
joints (one-to-one, at least one agreeing joint); ``matching="mupots"`` is the official greedy rule
(`pinet_ros.metrics.match_persons`: persons in annotation order each take the free detection with most
agreeing joints), whose result depends on the annotation order: with people overlapping in the image a person
listed first takes a neighbour's detection on a single agreeing joint, and both are then scored wrongly. Only valid ground-truth persons (``is_valid``) count for recall and
accuracy; a detection matching no valid person is a false positive unless it matches an invalid one (a
person mostly outside the image or hidden), which is neither rewarded nor penalised.

Measures (per method, over ground-truth persons; pooled over all persons of the set):

* detection recall (% of valid persons matched), box recall (% of valid persons whose box a detection box
  overlaps by IoU >= 0.5, one-to-one), false positives per frame; also for the clearly visible persons
  (`clearly_visible`: at least 60 px tall, at most half of the joints outside the image, at most half of
  the silhouette hidden by others);
* 3DPCK@150 mm, MuPoTS protocol (root-relative, bone rescaling, joints 0-13): "all" counts an unmatched
  person as all joints missed, "matched" drops it;
* MPJPE and PA-MPJPE (pelvis-aligned, 17 joints; PA: rotation + translation), matched persons;
* absolute root error: median of |root_pred - root_gt| in mm and in % of the ground-truth root distance;
* absolute 3DPCK: % of the 14 joints whose absolute camera-frame error is below 150 mm, matched persons.

Breakdowns: number of valid people in the frame, distance band of the root (m), occlusion by other people
(fraction of the person's silhouette hidden). Tables are Markdown + CSV (`pinet_ros.evaluate.Table`),
``results.json`` keeps the numbers and throughput, ``root_error_vs_distance.png`` plots the root error.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from pinet_ros.core.camera import Intrinsics
from pinet_ros.core.result import PersonEstimate
from pinet_ros.data.annotations import AnnotationError, ImageGroup
from pinet_ros.evaluate import Table, write_tables
from pinet_ros.metrics import (PCK_JOINTS, PCK_THRESHOLD_MM, ROOT, joint_errors_mupots, match_persons, mpjpe,
                               pa_mpjpe)

METHODS = ("backend", "pinet", "alone")
METHOD_LABELS = {"backend": "Backend alone", "pinet": "Backend + PI-Net (context)",
                 "alone": "Backend + PI-Net (each alone)"}
DISTANCE_BANDS_M = ((0.0, 3.0), (3.0, 5.0), (5.0, 8.0), (8.0, 100.0))
OCCLUSION_BANDS = ((0.0, 0.1), (0.1, 0.4), (0.4, 0.7), (0.7, 1.01))
# "Clearly visible" person (the detection target's subset): at least this tall in the image (px, box of the
# silhouette clipped to the image), at most this fraction of the 17 joints outside the image, and at most
# this fraction of the in-image silhouette hidden by other people.
CLEAR_MIN_HEIGHT_PX = 60.0
CLEAR_MAX_TRUNCATION = 0.5
CLEAR_MAX_OCCLUSION = 0.5
# Box-level detection criterion: a detection box (clipped to the image) overlapping the person's box by at
# least this IoU, one-to-one (the PASCAL VOC / COCO AP50 rule).
BOX_MATCH_IOU = 0.5


# ---------------------------------------------------------------------------------------------- data
@dataclass
class Frame:
    """One annotated image: its group (valid and invalid persons) and the per-person extras."""

    group: ImageGroup
    extras: list[dict[str, Any]]


def load_frames(annotation: str | Path) -> list[Frame]:
    """Read a MuPoTS-style file with `read_mupots`, plus each annotation's extra keys (occlusion, height...)."""
    from pinet_ros.data.mupots import read_mupots

    path = Path(annotation)
    groups = list(read_mupots(path))
    data = json.loads(path.read_text())
    per_image: dict[int, list[dict]] = {}
    for a in data["annotations"]:
        per_image.setdefault(a["image_id"], []).append(a)
    if not groups:
        raise AnnotationError(f"{path}: no image with people")
    return [Frame(g, per_image[g.image_id]) for g in groups]


def distance_band(z_m: float) -> str:
    for lo, hi in DISTANCE_BANDS_M:
        if lo <= z_m < hi:
            return f"{lo:g}-{hi:g} m" if hi < 100 else f">= {lo:g} m"
    return "n/a"


def occlusion_band(occ: float | None) -> str:
    if occ is None or not math.isfinite(occ):
        return "n/a"
    for lo, hi in OCCLUSION_BANDS:
        if lo <= occ < hi:
            return f"{100 * lo:.0f}-{min(100 * hi, 100):.0f} %"
    return "n/a"


# ------------------------------------------------------------------------------------------ the oracle
class GroundTruthBackend:
    """A backend that returns the ground truth of the current frame (set by `set_frame`): the reference
    for the evaluation path (a perfect prediction must score 100 % / 0 mm)."""

    name = "ground_truth"

    def __init__(self) -> None:
        self.timings_ms: dict[str, float] = {}
        self.group: ImageGroup | None = None

    def set_frame(self, group: ImageGroup) -> None:
        self.group = group

    def estimate(self, rgb: np.ndarray, intrinsics: Intrinsics) -> list[PersonEstimate]:
        g = self.group
        assert g is not None, "set_frame first"
        return [PersonEstimate(bbox_xywh=np.asarray(g.boxes[i], float), score=1.0,
                               joints_cam_mm=np.asarray(g.gt_cam[i], float), joints_2d=np.asarray(g.gt_img[i], float),
                               joint_confidence=np.ones(17)) for i in range(g.num_persons)]

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------------------------------- scoring
@dataclass
class PersonRecord:
    """One valid ground-truth person and what each method made of it."""

    frame: int
    people: int
    distance_m: float
    occlusion: float | None
    matched: bool
    clearly_visible: bool | None = None  # None: the annotation lacks the rendered extras
    box_found: bool | None = None  # a detection box matched this person's box (BOX_MATCH_IOU); None: no boxes
    errors: dict[str, np.ndarray] = field(default_factory=dict)  # method -> (17,) MuPoTS errors (mm)
    mpjpe: dict[str, float] = field(default_factory=dict)
    pa_mpjpe: dict[str, float] = field(default_factory=dict)
    root_mm: dict[str, float] = field(default_factory=dict)
    abs_errors: dict[str, np.ndarray] = field(default_factory=dict)  # method -> (17,) absolute errors (mm)


def agreeing_joints(pred_2d: np.ndarray, gt_2d: np.ndarray) -> np.ndarray:
    """(G, P) number of joints 1-13 of each prediction within 40 px (u and v) of each ground truth; a
    predicted joint at exactly (0, 0) is invisible (the MuPoTS criterion)."""
    from pinet_ros.metrics import MATCH_JOINTS, MATCH_PIXELS

    p = np.asarray(pred_2d, float)[:, MATCH_JOINTS]
    g = np.asarray(gt_2d, float)[:, MATCH_JOINTS]
    close = np.all(np.abs(g[:, None] - p[None]) < MATCH_PIXELS, axis=-1)
    visible = ~np.all(p == 0, axis=-1)
    return (close & visible[None]).sum(-1)


def match_best(pred_2d: np.ndarray, gt_2d: np.ndarray) -> np.ndarray:
    """(G,) detection index per ground truth (-1: none): the one-to-one assignment with the most agreeing
    joints in total (`agreeing_joints`), pairs with no agreeing joint dropped."""
    from scipy.optimize import linear_sum_assignment

    out = np.full(len(gt_2d), -1)
    if len(gt_2d) == 0 or len(pred_2d) == 0:
        return out
    counts = agreeing_joints(pred_2d, gt_2d)
    rows, cols = linear_sum_assignment(-counts)
    for r, c in zip(rows, cols):
        if counts[r, c] > 0:
            out[r] = c
    return out


def clearly_visible(extra: dict[str, Any]) -> bool | None:
    """Whether a rendered person is clearly visible (`CLEAR_MIN_HEIGHT_PX`, `CLEAR_MAX_TRUNCATION`,
    `CLEAR_MAX_OCCLUSION`), or None when the annotation has no ``bbox`` / ``truncation`` / ``occlusion``."""
    try:
        height = float(extra["bbox"][3])
        truncation = float(extra["truncation"])
        occlusion = float(extra["occlusion"])
    except (KeyError, TypeError, IndexError, ValueError):
        return None
    return bool(height >= CLEAR_MIN_HEIGHT_PX and truncation <= CLEAR_MAX_TRUNCATION
                and occlusion <= CLEAR_MAX_OCCLUSION)


def match_boxes(pred_xywh: np.ndarray, gt_xywh: np.ndarray, width: int, height: int) -> np.ndarray:
    """(G,) detection index per ground-truth box (-1: none): one-to-one by IoU (maximum total IoU), pairs
    below `BOX_MATCH_IOU` dropped. Detection boxes are clipped to the image first (a backend may report the
    box of a whole person whose legs leave the image; the ground-truth box is the silhouette in the image)."""
    from scipy.optimize import linear_sum_assignment

    from pinet_ros.core.tracking import box_iou

    out = np.full(len(gt_xywh), -1)
    if len(gt_xywh) == 0 or len(pred_xywh) == 0:
        return out
    p = np.asarray(pred_xywh, float).reshape(-1, 4)
    x1, y1 = np.clip(p[:, 0], 0, width), np.clip(p[:, 1], 0, height)
    x2, y2 = np.clip(p[:, 0] + p[:, 2], 0, width), np.clip(p[:, 1] + p[:, 3], 0, height)
    clipped = np.stack([x1, y1, x2 - x1, y2 - y1], axis=1)
    iou = box_iou(np.asarray(gt_xywh, float).reshape(-1, 4), clipped)
    rows, cols = linear_sum_assignment(-iou)
    for r, c in zip(rows, cols):
        if iou[r, c] >= BOX_MATCH_IOU:
            out[r] = c
    return out


def score_frame(frame_index: int, group: ImageGroup, extras: Sequence[dict], preds: dict[str, np.ndarray],
                pred_2d: np.ndarray, matching: str = "best", pred_boxes: np.ndarray | None = None
                ) -> tuple[list[PersonRecord], int, np.ndarray]:
    """Match the detections of one frame and score every method.

    Args:
        preds: method -> (P, 17, 3) mm, the same P detections in the same order for every method.
        pred_2d: (P, 17, 2) px, the detections' 2D joints (used for matching).
        pred_boxes: (P, 4) x, y, w, h px, the detections' boxes, for the box-level criterion (`match_boxes`
            against every ground-truth person's box, valid or not); None skips it.
    Returns:
        the records of the valid persons, the number of false positives, and the match (for each valid
        person in index order, the detection index or -1).
    """
    if matching not in ("best", "mupots"):
        raise ValueError(f"matching must be 'best' or 'mupots', got {matching!r}")
    matcher = match_best if matching == "best" else match_persons
    valid = np.flatnonzero(np.asarray(group.valid, bool))
    invalid = np.flatnonzero(~np.asarray(group.valid, bool))
    p = len(pred_2d)
    match = matcher(pred_2d, group.gt_img[valid]) if p else np.full(len(valid), -1)
    taken = np.zeros(p, bool)
    taken[match[match >= 0]] = True
    if invalid.size and (~taken).any():
        rest = np.flatnonzero(~taken)
        m2 = matcher(pred_2d[rest], group.gt_img[invalid])
        taken[rest[m2[m2 >= 0]]] = True
    false_pos = int((~taken).sum())
    box_match = None
    if pred_boxes is not None:
        box_match = match_boxes(pred_boxes, group.boxes, group.width, group.height)
    records = []
    for k, g in enumerate(valid):
        gt = np.asarray(group.gt_cam[g], float)
        extra = extras[g] if g < len(extras) else {}
        occ = extra.get("occlusion")
        rec = PersonRecord(frame_index, len(valid), float(gt[ROOT, 2]) / 1000.0,
                           None if occ is None else float(occ), bool(match[k] >= 0),
                           clearly_visible=clearly_visible(extra),
                           box_found=None if box_match is None else bool(box_match[g] >= 0))
        if rec.matched:
            for method, pose in preds.items():
                pr = np.asarray(pose[match[k]], float)
                rec.errors[method] = joint_errors_mupots(pr, gt)
                rec.mpjpe[method] = mpjpe(pr, gt)
                rec.pa_mpjpe[method] = pa_mpjpe(pr - pr[ROOT], gt - gt[ROOT])
                rec.root_mm[method] = float(np.linalg.norm(pr[ROOT] - gt[ROOT]))
                rec.abs_errors[method] = np.linalg.norm(pr - gt, axis=-1)
        records.append(rec)
    return records, false_pos, match


def summarise(records: Sequence[PersonRecord], method: str) -> dict[str, float]:
    """Pooled measures of `method` over `records` (see the module docstring); NaN where nothing to average."""
    nan = float("nan")
    n = len(records)
    matched = [r for r in records if r.matched]
    if not n:
        return {"persons": 0, "matched": 0, "recall": nan, "pck_all": nan, "pck_matched": nan, "mpjpe": nan,
                "pa_mpjpe": nan, "root_median_mm": nan, "root_median_pct": nan, "abs_pck": nan}

    def correct(errors: np.ndarray) -> np.ndarray:
        return np.nan_to_num(errors[PCK_JOINTS], nan=np.inf) < PCK_THRESHOLD_MM

    hits = [correct(r.errors[method]) for r in matched]
    total_hits = float(np.sum(hits)) if hits else 0.0
    joints = len(PCK_JOINTS)
    out = {"persons": n, "matched": len(matched), "recall": 100.0 * len(matched) / n,
           "pck_all": 100.0 * total_hits / (joints * n),
           "pck_matched": 100.0 * total_hits / (joints * len(matched)) if matched else nan}
    if matched:
        out["mpjpe"] = float(np.mean([r.mpjpe[method] for r in matched]))
        out["pa_mpjpe"] = float(np.mean([r.pa_mpjpe[method] for r in matched]))
        root = np.array([r.root_mm[method] for r in matched])
        dist = np.array([r.distance_m * 1000.0 for r in matched])
        out["root_median_mm"] = float(np.median(root))
        out["root_median_pct"] = float(np.median(100.0 * root / dist))
        out["abs_pck"] = 100.0 * float(np.mean([r.abs_errors[method][PCK_JOINTS] < PCK_THRESHOLD_MM for r in matched]))
    else:
        out.update(mpjpe=nan, pa_mpjpe=nan, root_median_mm=nan, root_median_pct=nan, abs_pck=nan)
    return out


ACC_HEADER = ["Persons", "Matched", "3DPCK all (%)", "3DPCK matched (%)", "MPJPE (mm)", "PA-MPJPE (mm)",
              "Root err. median (mm)", "Root err. median (% dist.)", "Abs. 3DPCK (%)"]
ACC_KEYS = ["persons", "matched", "pck_all", "pck_matched", "mpjpe", "pa_mpjpe", "root_median_mm",
            "root_median_pct", "abs_pck"]


def _acc_row(s: dict[str, float]) -> list[Any]:
    return [str(int(s[k])) if k in ("persons", "matched") else s[k] for k in ACC_KEYS]


def _groupings(records: Sequence[PersonRecord]) -> dict[str, dict[str, list[PersonRecord]]]:
    by: dict[str, dict[str, list[PersonRecord]]] = {"people": {}, "distance": {}, "occlusion": {}}
    for r in sorted(records, key=lambda r: r.people):
        by["people"].setdefault("1 person" if r.people == 1 else f"{r.people} people", []).append(r)
    for lo, hi in DISTANCE_BANDS_M:
        by["distance"][distance_band(lo)] = [r for r in records if lo <= r.distance_m < hi]
    for lo, hi in OCCLUSION_BANDS:
        by["occlusion"][occlusion_band(lo)] = [r for r in records if r.occlusion is not None and lo <= r.occlusion < hi]
    na = [r for r in records if r.occlusion is None]
    if na:
        by["occlusion"]["n/a"] = na
    if any(r.clearly_visible is not None for r in records):
        by["visibility"] = {"clearly visible": [r for r in records if r.clearly_visible],
                            "not clearly visible": [r for r in records if r.clearly_visible is False]}
    return by


def box_recall(records: Sequence[PersonRecord]) -> float:
    """% of `records` whose box a detection box matched (`match_boxes`); NaN when none was box-scored."""
    scored = [r.box_found for r in records if r.box_found is not None]
    return 100.0 * sum(scored) / len(scored) if scored else float("nan")


def build_tables(records: Sequence[PersonRecord], false_pos: Sequence[int], frame_people: Sequence[int],
                 methods: Sequence[str], label: str) -> tuple[list[Table], dict[str, Any]]:
    """Detection table, the overall accuracy table and the three breakdowns, with their numbers."""
    by = _groupings(records)
    frames = len(false_pos)
    fp = np.asarray(false_pos, float)
    fp_people = {}
    for n, f in zip(frame_people, false_pos):
        fp_people.setdefault(n, []).append(f)
    det_rows = [["All", str(frames), str(len(records)), summarise(records, methods[0])["recall"],
                 box_recall(records), float(fp.mean()) if frames else float("nan")]]
    for axis, groups in by.items():
        for name, recs in groups.items():
            fpf = float("nan")
            if axis == "people":
                n = int(name.split()[0])
                fpf = float(np.mean(fp_people.get(n, [np.nan])))
            det_rows.append([f"{axis}: {name}", str(len({r.frame for r in recs})), str(len(recs)),
                             summarise(recs, methods[0])["recall"], box_recall(recs), fpf])
    tables = [Table("detection", f"Detection ({label})", ["Subset", "Frames", "GT persons", "Recall (%)",
                                                          "Box recall (%)", "False positives / frame"], det_rows,
                    note="Recall: valid ground-truth persons matched by a detection (MuPoTS 2D rule: joints 1-13 "
                         f"within 40 px). Box recall: persons whose box a detection box overlaps by IoU >= "
                         f"{BOX_MATCH_IOU:g} (one-to-one). Clearly visible: at least {CLEAR_MIN_HEIGHT_PX:g} px "
                         f"tall, at most {100 * CLEAR_MAX_TRUNCATION:.0f} % of the joints outside the image and "
                         f"at most {100 * CLEAR_MAX_OCCLUSION:.0f} % of the silhouette hidden by others. False "
                         "positives: detections matching no ground-truth person; per number of people only (a "
                         "false positive belongs to a frame, not to a person).")]
    summary = {m: summarise(records, m) for m in methods}
    tables.append(Table("accuracy", f"Accuracy ({label})", ["Method"] + ACC_HEADER,
                        [[METHOD_LABELS[m]] + _acc_row(summary[m]) for m in methods],
                        note="Pooled over all valid ground-truth persons. 3DPCK@150 mm (MuPoTS protocol, 14 joints, "
                             "root-relative with bone rescaling): 'all' counts unmatched persons as misses. MPJPE / "
                             "PA-MPJPE pelvis-aligned over 17 joints, root error, absolute 3DPCK: matched persons."))
    numbers: dict[str, Any] = {"overall": summary}
    clear = [r for r in records if r.clearly_visible]
    numbers["detection"] = {"recall": summary[methods[0]]["recall"], "box_recall": box_recall(records),
                            "clearly_visible_persons": len(clear),
                            "clearly_visible_recall": summarise(clear, methods[0])["recall"],
                            "clearly_visible_box_recall": box_recall(clear),
                            "false_positives_per_frame": float(fp.mean()) if frames else float("nan")}
    titles = {"people": "number of people in the frame", "distance": "root distance", "occlusion":
              "occlusion by other people (fraction of the silhouette hidden)",
              "visibility": "visibility (clearly visible: see the detection table)"}
    for axis, groups in by.items():
        rows = []
        numbers[axis] = {}
        for name, recs in groups.items():
            numbers[axis][name] = {}
            for m in methods:
                s = summarise(recs, m)
                numbers[axis][name][m] = s
                rows.append([name, METHOD_LABELS[m]] + _acc_row(s))
        tables.append(Table(f"by_{axis}", f"Accuracy by {titles[axis]} ({label})", ["Subset", "Method"] + ACC_HEADER,
                            rows))
    return tables, numbers


def plot_root_error(records: Sequence[PersonRecord], methods: Sequence[str], path: Path, title: str) -> Path:
    """Root error (mm) against the root distance (m): each matched person, and the median per distance band."""
    matched = [r for r in records if r.matched]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib comes with mediapipe
        return _plot_cv2(matched, methods, path)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    colours = {"backend": "tab:blue", "pinet": "tab:orange", "alone": "tab:green"}
    for m in methods:
        d = np.array([r.distance_m for r in matched])
        e = np.array([r.root_mm[m] for r in matched])
        if m == methods[0]:
            ax.scatter(d, e, s=6, alpha=0.35, color=colours[m], label=f"{METHOD_LABELS[m]} (each person)")
        mids, meds = [], []
        for lo, hi in DISTANCE_BANDS_M:
            sel = (d >= lo) & (d < hi)
            if sel.any():
                mids.append(float(np.median(d[sel])))
                meds.append(float(np.median(e[sel])))
        ax.plot(mids, meds, "-o", color=colours[m], label=f"{METHOD_LABELS[m]} (median per band)")
    ax.set_xlabel("ground-truth root distance (m)")
    ax.set_ylabel("absolute root error (mm)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _plot_cv2(matched: Sequence[PersonRecord], methods: Sequence[str], path: Path) -> Path:  # pragma: no cover
    import cv2

    img = np.full((450, 700, 3), 255, np.uint8)
    if matched:
        d = np.array([r.distance_m for r in matched])
        e = np.array([r.root_mm[methods[0]] for r in matched])
        emax = max(float(np.percentile(e, 98)), 1.0)
        for x, y in zip(d, e):
            cv2.circle(img, (int(50 + x / 13 * 630), int(420 - min(y, emax) / emax * 380)), 2, (200, 120, 30), -1)
    cv2.imwrite(str(path), img)
    return path


# ---------------------------------------------------------------------------------------------- runner
def evaluate(frames: Sequence[Frame], image_root: str | Path, backend: str = "topdown",
             backend_obj: Any | None = None, weights: str = "", alone: bool = True, refine: bool = True,
             progress: bool = True, pairs: list[ImageGroup] | None = None, matching: str = "best",
             score_threshold: float | None = None) -> dict[str, Any]:
    """Run the pipeline on every frame and score it.

    Args:
        frames: from `load_frames`.
        image_root: folder the annotation's file names are relative to.
        backend: pipeline backend name (ignored when `backend_obj` is given).
        backend_obj: an already built backend (e.g. `GroundTruthBackend`); it gets ``set_frame(group)``
            before each frame when it has that method.
        weights: PI-Net weights ("" = the packaged default).
        alone, refine: also score PI-Net fed each person alone / PI-Net at all.
        pairs: when a list, it receives one ImageGroup per frame with the matched valid persons: their ground
            truth and, as ``initial_cam``, the backend's estimate (PI-Net training data on the backend's
            real errors; save with `pinet_ros.data.synthetic.save_groups`).
        score_threshold: the pipeline's ``score_threshold`` (None = the parameter's default).
    Returns:
        {"records", "false_pos", "frame_people", "methods", "seconds", "frames_per_s", "timings_ms", "backend"}
    """
    import cv2

    from pinet_ros.evaluate import _refine_alone
    from pinet_ros.pipeline import Pipeline, PipelineConfig

    # Frames are unrelated images: no tracking, no smoothing, and a stream backend must detect on every frame.
    # PI-Net on torch: the "each person alone" method runs the torch model's forward on [i, i] sequences.
    extra = {} if score_threshold is None else {"score_threshold": float(score_threshold)}
    config = PipelineConfig(backend=backend if backend_obj is None else "mediapipe", refine=refine,
                            pinet_weights=weights, tracking=False, smoothing=False, pinet_runtime="torch",
                            detect_every=1, **extra)
    pipe = Pipeline(config, backend=backend_obj)
    name = getattr(backend_obj, "name", "custom") if backend_obj is not None else backend
    methods = ["backend"] + (["pinet"] + (["alone"] if alone else []) if refine else [])
    records: list[PersonRecord] = []
    false_pos: list[int] = []
    frame_people: list[int] = []
    stage: dict[str, list[float]] = {}
    root = Path(image_root)
    t_start = time.perf_counter()
    try:
        from tqdm import tqdm

        for k, fr in enumerate(tqdm(frames, desc=f"evaluate {name}", unit="frame", disable=not progress)):
            g = fr.group
            bgr = cv2.imread(str(root / g.file_name), cv2.IMREAD_COLOR)
            if bgr is None:
                raise FileNotFoundError(f"image not found: {root / g.file_name}")
            if hasattr(pipe.backend, "set_frame"):
                pipe.backend.set_frame(g)
            res = pipe.process(np.ascontiguousarray(bgr[..., ::-1]), g.intrinsics, stamp_ns=k * 100_000_000)
            for key, v in res.timings_ms.items():
                stage.setdefault(key, []).append(v)
            n = len(res.persons)
            init = np.stack([p.joints_initial_m for p in res.persons]) * 1000.0 if n else np.zeros((0, 17, 3))
            preds = {"backend": init}
            if refine:
                preds["pinet"] = np.stack([p.joints_m for p in res.persons]) * 1000.0 if n else init
                if alone:
                    t = time.perf_counter()
                    preds["alone"] = _refine_alone(pipe.pinet, init) if n else init
                    stage.setdefault("refine_alone", []).append((time.perf_counter() - t) * 1e3)
            pred_2d = np.stack([p.joints_2d for p in res.persons]) if n else np.zeros((0, 17, 2))
            boxes = np.stack([p.bbox_xywh for p in res.persons]) if n else np.zeros((0, 4))
            recs, fp, match = score_frame(k, g, fr.extras, preds, pred_2d, matching, pred_boxes=boxes)
            if pairs is not None:
                valid = np.flatnonzero(np.asarray(g.valid, bool))
                hit = match >= 0
                if hit.any():
                    sel = valid[hit]
                    pairs.append(ImageGroup(
                        image_id=g.image_id, file_name=g.file_name, width=g.width, height=g.height,
                        intrinsics=g.intrinsics, gt_cam=g.gt_cam[sel], gt_img=g.gt_img[sel],
                        visible=np.ones((len(sel), 17)), boxes=g.boxes[sel], valid=np.ones(len(sel), bool),
                        initial_cam=init[match[hit]]))
            records += recs
            false_pos.append(fp)
            frame_people.append(int(np.asarray(g.valid, bool).sum()))
    finally:
        pipe.close()
    seconds = time.perf_counter() - t_start
    return {"records": records, "false_pos": false_pos, "frame_people": frame_people, "methods": methods,
            "seconds": seconds, "frames_per_s": len(frames) / seconds if seconds > 0 else float("nan"),
            "timings_ms": {k: float(np.median(v)) for k, v in stage.items()}, "backend": name}


def run(data: str | Path, out_dir: str | Path, image_root: str | Path | None = None, backend: str = "topdown",
        weights: str = "", alone: bool = True, refine: bool = True, max_frames: int | None = None,
        progress: bool = True, backend_obj: Any | None = None, pairs_out: str | Path | None = None,
        matching: str = "best", score_threshold: float | None = None) -> dict[str, Any]:
    """Evaluate `backend` (+ PI-Net) on the images of `data` and write the tables, results.json and the plot.

    Args:
        data: ``MuPoTS-3D.json``, or a folder holding it (a ``pinet-ros render`` output).
        image_root: folder of the images (default: the annotation file's folder).
        max_frames: evaluate only the first N frames.
        pairs_out: also write the matched (ground truth, backend estimate) pairs to this ``.npz``
            (`pinet_ros.data.synthetic.save_groups` format, read by ``pinet-ros train --train``).
    Returns:
        the content of results.json plus "tables" (the Table objects).
    """
    data = Path(data)
    ann = data / "MuPoTS-3D.json" if data.is_dir() else data
    frames = load_frames(ann)
    if max_frames is not None:
        frames = frames[:max_frames]
    pairs: list[ImageGroup] | None = [] if pairs_out is not None else None
    result = evaluate(frames, image_root if image_root is not None else ann.parent, backend=backend,
                      backend_obj=backend_obj, weights=weights, alone=alone, refine=refine, progress=progress,
                      pairs=pairs, matching=matching, score_threshold=score_threshold)
    if pairs_out is not None:
        from pinet_ros.data.synthetic import save_groups

        if not pairs:
            raise ValueError("no detection matched a ground-truth person: no training pairs to write")
        Path(pairs_out).parent.mkdir(parents=True, exist_ok=True)
        save_groups(pairs_out, pairs)
    label = f"{result['backend']}, {len(frames)} frames of {ann.parent.name}, matching {matching}"
    tables, numbers = build_tables(result["records"], result["false_pos"], result["frame_people"],
                                   result["methods"], label)
    out = Path(out_dir)
    write_tables(tables, out)
    plot = plot_root_error(result["records"], result["methods"], out / "root_error_vs_distance.png",
                           f"Absolute root error vs distance ({label})")
    from pinet_ros.weights import DEFAULT_PINET

    record = {"data": str(ann), "backend": result["backend"], "weights": weights or f"{DEFAULT_PINET} (default)",
              "frames": len(frames), "persons": len(result["records"]), "matching": matching,
              "false_positives_per_frame": float(np.mean(result["false_pos"])) if frames else float("nan"),
              "seconds": result["seconds"], "frames_per_s": result["frames_per_s"],
              "median_stage_ms": result["timings_ms"], "numbers": numbers, "plot": str(plot)}
    (out / "results.json").write_text(json.dumps(record, indent=2, sort_keys=True, default=_json_default))
    record["tables"] = tables
    record["records"] = result["records"]
    return record


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
