"""Top-down multi-person absolute 3D pose: NanoDet person boxes, then BlazePose's 3D landmark model per person.

The same shape as the paper's stack (boxes, then a pose per box), with embedded models converted at setup
(`pinet_ros.models.person_models`; run time needs only onnxruntime):

  1. Detectors (`detectors`): NanoDet (`pinet_ros.models.nanodet`) on the frame letterboxed to 416 x 416, and
     MoveNet MultiPose (`pinet_ros.models.movenet`, up to 6 people) on the frame at 384 px. Neither needs a
     face, so people seen from behind, far away or cut by the border are found. NanoDet keeps people cut by
     the border (MoveNet loses most of them); MoveNet, trained on people only, is sure of far and unusual-
     looking people NanoDet scores low. MoveNet's score is on another scale: it is mapped onto NanoDet's
     (`movenet_score_on_nanodet_scale`) and then compared with the one threshold `min_person_score`. The union of both detectors'
     boxes goes through non-maximum suppression at `merge_iou`; person score = the kept box's score.
  2. Regions: a square crop per person, rotated so the person stands upright. From a detector box: centred on
     the box, side ``crop_scale * max(w, h)``, upright. From landmarks (the previous frame's, or this frame's
     first pass): BlazePose's own rule, centre = its hip-centre point (landmark 33), side = 2.5 x the distance
     to its body-extent point (landmark 34), rotation from that direction. Every crop is resampled to 256 x 256,
     so a small or far person is enlarged to the model's scale (no tiling pass).
  3. Pose: the BlazePose GHUM full landmark model (``pose_landmark_full.onnx``) on all crops of the frame as
     one batch. Out: 39 landmarks (x, y in crop px, visibility and presence logits), a pose-presence
     probability, and 39 metric world landmarks (hip-centred, crop axes: rotated back to the camera's).
     A box touching the image border covers only the visible part of its person, so it gets more regions
     (`refine_border`): cut by the bottom edge, also the region of the whole person it is the top of
     (`extend_down`); then BlazePose's own region from the best first-pass landmarks, which extends beyond
     the image as the model was trained to expect. The answer the model is surest of (pose presence) wins.
  4. Lift: the shared 33 -> 17 map and translation solve (`mediapipe_backend.lift_landmarks`). Joint
     confidence = visibility x presence (minimum over a joint's landmarks), capped at `outside_confidence`
     for joints outside the image and at `implausible_confidence` for joints resting on a bone of implausible
     length (`pinet_ros.core.bone_check`).
  5. Streams (``detect_every`` > 1): the people of the previous frame are this frame's regions (from their
     landmarks); the detector runs only every `detect_every` frames, when no one is tracked, or at once in a
     frame where a tracked region lost its person (pose presence below `min_pose_presence`). New people
     therefore appear within `detect_every` frames; on a detector frame, tracked people that no box covers are
     dropped. ``detect_every = 1`` runs the detector on every frame and keeps no state (unrelated images).

Units: pixels for 2D, millimetres for ``PersonEstimate.joints_cam_mm``, camera optical frame.
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from pinet_ros.core.bone_check import implausible_joints
from pinet_ros.core.camera import Intrinsics
from pinet_ros.core.result import PersonEstimate
from pinet_ros.core.skeleton import MUPOTS17
from pinet_ros.models import person_models
from pinet_ros.models.mediapipe_backend import NUM_LANDMARKS, box_from_points, lift_landmarks, merge_duplicates
from pinet_ros.models.movenet import INPUT_SIDE as MOVENET_INPUT_SIDE
from pinet_ros.models.movenet import MoveNetMultiPose
from pinet_ros.models.nanodet import NanoDet, nms
from pinet_ros.params import PERSON_DETECTORS as DETECTORS

POSE_INPUT = 256
NUM_MODEL_LANDMARKS = 39  # 33 body landmarks + 6 auxiliary (33: hip centre, 34: body extent, ...)


@dataclass(frozen=True)
class Region:
    """A square, possibly rotated, crop of the source image.

    Attributes:
        cx, cy: centre, source px.
        side: side length, source px.
        angle: rotation, radians; the crop's "up" points along (sin a, -cos a) in the image (0 = upright).
    """

    cx: float
    cy: float
    side: float
    angle: float = 0.0

    def crop_to_source(self, size: int = POSE_INPUT) -> np.ndarray:
        """(2, 3) affine map from crop px (0..size) to source px."""
        a = self.side / size
        c, s = math.cos(self.angle) * a, math.sin(self.angle) * a
        h = size / 2
        return np.array([[c, -s, self.cx - c * h + s * h], [s, c, self.cy - s * h - c * h]], dtype=np.float64)


def region_from_box(box_xyxy: np.ndarray, crop_scale: float) -> Region:
    """Upright square region around a detector box (source px)."""
    x1, y1, x2, y2 = (float(v) for v in box_xyxy)
    return Region(0.5 * (x1 + x2), 0.5 * (y1 + y2), crop_scale * max(x2 - x1, y2 - y1), 0.0)


def region_from_landmarks(centre_px: np.ndarray, extent_px: np.ndarray, scale: float = 2.5) -> Region:
    """BlazePose's region rule from its two alignment landmarks (hip centre, body-extent point), source px:
    side = `scale` x their distance, rotated so the extent point is straight above the centre."""
    d = np.asarray(extent_px, dtype=np.float64) - np.asarray(centre_px, dtype=np.float64)
    return Region(float(centre_px[0]), float(centre_px[1]), float(scale * np.hypot(*d)),
                  float(math.atan2(d[0], -d[1])))


def crop(rgb: np.ndarray, region: Region, size: int = POSE_INPUT) -> np.ndarray:
    """(size, size, 3) uint8 crop of `region` (outside the image: black, as MediaPipe pads)."""
    return cv2.warpAffine(rgb, region.crop_to_source(size), (size, size),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(0, 0, 0))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


@dataclass
class Pose:
    """The landmark model's answer for one region.

    Attributes:
        uv: (39, 2) landmarks, source px.
        world_m: (39, 3) metric landmarks, camera-aligned axes (rotated back from the crop's).
        confidence: (39,) visibility x presence, 0..1.
        presence: the pose-presence probability, 0..1.
    """

    uv: np.ndarray
    world_m: np.ndarray
    confidence: np.ndarray
    presence: float


class PoseLandmarks:
    """The converted BlazePose full landmark model in onnxruntime, batched over regions.

    Args:
        onnx_path: ``pose_landmark_full.onnx`` (see `pinet_ros.models.person_models`).
        threads: onnxruntime intra-op threads (0 = onnxruntime's default).
    """

    def __init__(self, onnx_path: str | Path, threads: int = 0) -> None:
        from pinet_ros.models.onnx_session import cpu_session

        self.session = cpu_session(onnx_path, threads)
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = ["Identity", "Identity_1", "Identity_4"]

    def run(self, rgb: np.ndarray, regions: list[Region]) -> list[Pose]:
        """One `Pose` per region of the (H, W, 3) uint8 RGB image, all regions in one batch."""
        if not regions:
            return []
        batch = np.stack([crop(rgb, r) for r in regions]).astype(np.float32) / 255.0
        lm, flag, world = self.session.run(self.output_names, {self.input_name: batch})
        poses = []
        for k, region in enumerate(regions):
            a = lm[k].reshape(NUM_MODEL_LANDMARKS, 5).astype(np.float64)
            m = region.crop_to_source()
            uv = a[:, :2] @ m[:, :2].T + m[:, 2]
            c, s = math.cos(region.angle), math.sin(region.angle)
            w = world[k].reshape(NUM_MODEL_LANDMARKS, 3).astype(np.float64)
            w_cam = np.stack([c * w[:, 0] - s * w[:, 1], s * w[:, 0] + c * w[:, 1], w[:, 2]], axis=1)
            poses.append(Pose(uv=uv, world_m=w_cam, confidence=_sigmoid(a[:, 3]) * _sigmoid(a[:, 4]),
                              presence=float(flag[k, 0])))
        return poses


#: the NanoDet score that `TopdownConfig.movenet_anchor` is equated with
ANCHOR_SCORE = 0.4


def movenet_score_on_nanodet_scale(score: np.ndarray | float, anchor: float) -> np.ndarray:
    """MoveNet person scores -> NanoDet's scale: piecewise linear through (0, 0), (`anchor`, `ANCHOR_SCORE`)
    and (1, 1). Monotone, so one threshold orders both detectors' people; a hand-made map because the two
    scores are not calibrated against each other (on renders MoveNet's 0.1 and NanoDet's 0.4 found people at
    the same rate of false positives)."""
    return np.interp(np.asarray(score, dtype=np.float64), [0.0, anchor, 1.0], [0.0, ANCHOR_SCORE, 1.0])


def nanodet_score_on_movenet_scale(score: float, anchor: float) -> float:
    """The inverse of `movenet_score_on_nanodet_scale`: a threshold on NanoDet's scale -> MoveNet's."""
    return float(np.interp(float(score), [0.0, ANCHOR_SCORE, 1.0], [0.0, anchor, 1.0]))


@dataclass(frozen=True)
class TopdownConfig:
    """Settings of `TopdownBackend`.

    Attributes:
        model_dir: directory of the converted models; None = `person_models.default_model_dir()`.
        max_people: most people per frame (highest detector scores kept), >= 1.
        detectors: which person detectors run: "nanodet+movenet" (both, boxes merged), "nanodet" or "movenet".
        min_person_score: detector confidence a person needs (0..1); also the person's published score.
        movenet_anchor: the MoveNet person score that counts as NanoDet's `ANCHOR_SCORE` 0.4 (0 < a < 1; see
            `movenet_score_on_nanodet_scale`; 0.1 chosen on the rendered training split and the real truth set:
            0.075-0.125 gave the same recall on the val split within 0.2 points).
        movenet_input_side: longer side of MoveNet's input, px (>= 32; rounded to a multiple of 32).
        nms_iou: NanoDet's NMS IoU threshold (0..1).
        merge_iou: boxes of the two detectors that overlap by this IoU are one person (0..1).
        crop_scale: side of a detector box's square region / the box's longer side (>= 1).
        min_box_height_px: detector boxes shorter than this are ignored (px).
        min_pose_presence: a region whose pose-presence probability is below this holds no person (0..1).
        refine_border: second pose pass, on the landmark-derived region, for boxes touching the image border.
        detect_every: run the detector on every n-th frame (1 = every frame); between, the previous frame's
            people are the regions, and a lost one triggers the detector at once.
        min_landmark_confidence: landmarks below this get no weight in the translation solve.
        outside_confidence: cap of the confidence of joints outside the image (0..1).
        implausible_confidence: cap of the confidence of joints on implausible bones (0..1).
        duplicate_iou, duplicate_containment: two people whose boxes overlap this much are one (the
            higher score is kept).
        threads: onnxruntime threads per model (0 = onnxruntime's default: one per core); with both detectors
            each detector gets half (at least one) and they run at the same time.
    """

    model_dir: str | None = None
    max_people: int = 10
    detectors: str = "nanodet+movenet"
    min_person_score: float = 0.4
    movenet_anchor: float = 0.1
    movenet_input_side: int = MOVENET_INPUT_SIDE
    nms_iou: float = 0.6
    merge_iou: float = 0.5
    crop_scale: float = 1.25
    min_box_height_px: float = 24.0
    min_pose_presence: float = 0.3
    refine_border: bool = True
    detect_every: int = 1
    min_landmark_confidence: float = 0.3
    outside_confidence: float = 0.1
    implausible_confidence: float = 0.1
    duplicate_iou: float = 0.5
    duplicate_containment: float = 0.85
    threads: int = 0

    def __post_init__(self) -> None:
        if self.detectors not in DETECTORS:
            raise ValueError(f"detectors must be one of {', '.join(DETECTORS)}, got {self.detectors!r}")
        if not 0.0 < self.movenet_anchor < 1.0 or self.movenet_input_side < 32:
            raise ValueError("movenet_anchor must be in (0, 1) and movenet_input_side >= 32")
        for name in ("min_person_score", "nms_iou", "merge_iou", "min_pose_presence", "min_landmark_confidence",
                     "outside_confidence", "implausible_confidence", "duplicate_iou", "duplicate_containment"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.max_people < 1 or self.detect_every < 1 or self.threads < 0:
            raise ValueError("max_people and detect_every must be >= 1, threads >= 0")
        if self.crop_scale < 1.0 or self.min_box_height_px < 0:
            raise ValueError("crop_scale must be >= 1 and min_box_height_px >= 0")


@dataclass
class _Track:
    region: Region
    score: float


class TopdownBackend:
    """NanoDet boxes -> BlazePose 3D landmarks per box -> absolute MuPoTS-17 people (module docstring).

    Args:
        config: `TopdownConfig`; defaults if None.
    Raises:
        ImportError: onnxruntime is missing.
        FileNotFoundError: a converted model is missing or corrupt (the message says how to build it).
    """

    name = "topdown"

    def __init__(self, config: TopdownConfig | None = None) -> None:
        self.config = c = config or TopdownConfig()
        d = Path(c.model_dir).expanduser() if c.model_dir else person_models.default_model_dir()
        both = c.detectors == "nanodet+movenet"
        # Both detectors run at once, each on half the threads: on 2 cores two 1-thread sessions in parallel took
        # 58 ms a frame against 91 ms for one after the other on 2 threads each (small convolutions scale badly).
        det_threads = max(1, (c.threads or os.cpu_count() or 2) // 2) if both else c.threads
        self.detector = (NanoDet(person_models.verified_model_path(person_models.NANODET_FILE, d), det_threads)
                         if "nanodet" in c.detectors else None)
        self.movenet = (MoveNetMultiPose(person_models.verified_model_path(person_models.MOVENET_FILE, d),
                                         det_threads, c.movenet_input_side) if "movenet" in c.detectors else None)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="movenet") if both else None
        self.pose = PoseLandmarks(person_models.verified_model_path(person_models.POSE_LANDMARK_FILE, d), c.threads)
        self._tracks: list[_Track] = []
        self._frame = 0
        self._size: tuple[int, int] | None = None
        self._closed = False
        #: wall time of the last `estimate`, ms: "detect" (NanoDet; 0 on tracked frames), "pose" (crops and
        #: landmark model, every pass), "lift" (33->17 map, translation, checks).
        self.timings_ms: dict[str, float] = {}
        #: crops the landmark model ran on in the last `estimate` (border people take 2-3).
        self.regions_posed = 0
        #: people found but not placed in 3D (translation unsolvable) in the last `estimate` (diagnostics).
        self.dropped = 0

    # ------------------------------------------------------------------ settings and state
    def apply(self, *, score_threshold: float | None = None, max_persons: int | None = None,
              **others: object) -> None:
        """Change live settings (next frame, which runs the detector): `score_threshold` -> min_person_score,
        `max_persons` -> max_people.

        Raises:
            ValueError: a setting this backend does not have, or a bad value.
        """
        if others:
            raise ValueError(f"{', '.join(sorted(others))} do(es) not apply to the topdown backend")
        changes: dict[str, object] = {}
        if score_threshold is not None:
            changes["min_person_score"] = float(score_threshold)
        if max_persons is not None:
            changes["max_people"] = int(max_persons)
        self.config = replace(self.config, **changes)
        self._tracks = []  # who counts has changed: the next frame runs the detector

    def reset(self) -> None:
        """Forget the tracked people (a new stream): the next frame runs the detector."""
        self._tracks = []
        self._frame = 0

    def close(self) -> None:
        """Release the onnxruntime sessions; the backend is unusable afterwards."""
        self._closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self.detector = None
        self.movenet = None
        self.pose = None  # type: ignore[assignment]

    def __enter__(self) -> TopdownBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ the frame
    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Person boxes (K, 4) x1 y1 x2 y2 source px and scores (K,), best first, above `min_person_score`."""
        c = self.config
        parts = []
        threshold = nanodet_score_on_movenet_scale(c.min_person_score, c.movenet_anchor)
        pending = self._pool.submit(self.movenet.detect, rgb, threshold) if self._pool is not None else None
        if self.detector is not None:
            parts.append(self.detector.detect(np.ascontiguousarray(rgb[:, :, ::-1]), c.min_person_score, c.nms_iou))
        if self.movenet is not None:
            found = pending.result() if pending is not None else self.movenet.detect(rgb, threshold)
            scores = movenet_score_on_nanodet_scale(found.scores, c.movenet_anchor)
            ok = scores >= c.min_person_score  # the inverse map's rounding must not let one below through
            parts.append((found.boxes[ok], scores[ok]))
        boxes = np.concatenate([b.reshape(-1, 4) for b, _ in parts]).astype(np.float64)
        scores = np.concatenate([s for _, s in parts]).astype(np.float64)
        if len(parts) > 1:
            keep = nms(boxes, scores, c.merge_iou)
            boxes, scores = boxes[keep], scores[keep]
        keep = (boxes[:, 3] - boxes[:, 1]) >= c.min_box_height_px
        return boxes[keep][: c.max_people], scores[keep][: c.max_people]

    def estimate(self, rgb: np.ndarray, intrinsics: Intrinsics) -> list[PersonEstimate]:
        """Estimate every person's absolute 3D pose in one image (a frame of a stream: see `detect_every`).

        Args:
            rgb: (H, W, 3) uint8 RGB image.
            intrinsics: pinhole intrinsics of `rgb` (px).
        Returns:
            People, at most ``max_people``, sorted left to right by root direction; joints in camera mm.
        Raises:
            ValueError: `rgb` is not an (H, W, 3) uint8 array.
            RuntimeError: the backend was closed.
        """
        if self._closed:
            raise RuntimeError("TopdownBackend was closed")
        if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got "
                             f"{getattr(rgb, 'shape', None)} {getattr(rgb, 'dtype', type(rgb).__name__)}")
        h, w = rgb.shape[:2]
        self.timings_ms = {"detect": 0.0, "pose": 0.0, "lift": 0.0}
        self.regions_posed = 0
        self.dropped = 0
        if h == 0 or w == 0:
            return []
        if self._size != (w, h):
            self.reset()
            self._size = (w, h)
        c = self.config
        tracks = self._tracks if c.detect_every > 1 else []
        periodic = self._frame % c.detect_every == 0
        self._frame += 1
        found: list[tuple[Pose, float, np.ndarray | None]] = []  # (pose, score, detector box or None)
        if tracks:
            poses = self._pose(rgb, [t.region for t in tracks])
            found = [(p, t.score, None) for p, t in zip(poses, tracks) if p.presence >= c.min_pose_presence]
        if not tracks or periodic or len(found) < len(tracks):  # someone lost: look for them now
            found = self._detected(rgb, found)
        t0 = time.perf_counter()
        people, regions, scores = [], [], []
        for pose, score, box in found:
            person = self._person(pose, score, box, w, h, intrinsics)
            if person is not None:
                people.append(person)
                regions.append(region_from_landmarks(pose.uv[33], pose.uv[34]))
                scores.append(score)
        keep_ids = {id(p) for p in merge_duplicates(people, [1] * len(people), c.duplicate_iou,
                                                     c.duplicate_containment)}
        order = sorted((k for k in range(len(people)) if id(people[k]) in keep_ids),
                       key=lambda k: -people[k].score)[: c.max_people]
        self._tracks = [_Track(regions[k], scores[k]) for k in order]
        people = [people[k] for k in order]
        people.sort(key=lambda p: float(p.joints_cam_mm[MUPOTS17.root, 0] / p.joints_cam_mm[MUPOTS17.root, 2]))
        self.timings_ms["lift"] += (time.perf_counter() - t0) * 1e3
        return people

    def _pose(self, rgb: np.ndarray, regions: list[Region]) -> list[Pose]:
        t0 = time.perf_counter()
        poses = self.pose.run(rgb, regions)
        self.timings_ms["pose"] += (time.perf_counter() - t0) * 1e3
        self.regions_posed += len(regions)
        return poses

    def _detected(self, rgb: np.ndarray, tracked: list[tuple[Pose, float, np.ndarray | None]]
                  ) -> list[tuple[Pose, float, np.ndarray | None]]:
        """Run the detector; every box gets a pose (a tracked person it covers keeps theirs, with the new score;
        tracked people no box covers are dropped: the detector has the last word on who is there)."""
        c = self.config
        h, w = rgb.shape[:2]
        t0 = time.perf_counter()
        boxes, scores = self.detect(rgb)
        self.timings_ms["detect"] += (time.perf_counter() - t0) * 1e3
        tracked_boxes = [_xyxy(box_from_points(p.uv[:NUM_LANDMARKS], w, h, 0.0)) for p, _, _ in tracked]
        out: list[tuple[Pose, float, np.ndarray | None]] = []
        todo: list[int] = []
        used: set[int] = set()
        for k, box in enumerate(boxes):
            match = max(range(len(tracked)), key=lambda i: _iou(box, tracked_boxes[i]), default=None)
            if match is not None and match not in used and _iou(box, tracked_boxes[match]) >= 0.5:
                used.add(match)
                out.append((tracked[match][0], float(scores[k]), box))
            else:
                todo.append(k)
        # first pass: the box's own region, and for a box cut by the image's bottom edge also the region of
        # the whole person it is the top of (assumed 3 box widths tall; a person close to the camera)
        regions, owner = [], []
        for i, k in enumerate(todo):
            regions.append(region_from_box(boxes[k], c.crop_scale))
            owner.append(i)
            if c.refine_border and _touches_border(boxes[k], w, h, sides="b"):
                regions.append(region_from_box(extend_down(boxes[k]), c.crop_scale))
                owner.append(i)
        best = self._best(self._pose(rgb, regions), owner, len(todo))
        # second pass for boxes touching any border: BlazePose's own region from the first pass's landmarks
        # (it extends beyond the image as the model expects), kept when the model is surer of it. Also when the
        # first pass is already sure: skipping it then saved 18 ms on basketball2 but left a 0.146 m upper arm.
        border = [i for i, k in enumerate(todo) if c.refine_border and best[i] is not None
                  and best[i].presence >= 0.1 and _touches_border(boxes[k], w, h)]
        if border:
            again = self._pose(rgb, [region_from_landmarks(best[i].uv[33], best[i].uv[34]) for i in border])
            for i, p in zip(border, again):
                if p.presence > best[i].presence:
                    best[i] = p
        out += [(best[i], float(scores[k]), boxes[k]) for i, k in enumerate(todo)
                if best[i] is not None and best[i].presence >= c.min_pose_presence]
        return out

    @staticmethod
    def _best(poses: list[Pose], owner: list[int], n: int) -> list[Pose | None]:
        """Per owner index 0..n-1, its pose of highest presence."""
        best: list[Pose | None] = [None] * n
        for p, i in zip(poses, owner):
            if best[i] is None or p.presence > best[i].presence:
                best[i] = p
        return best

    def _person(self, pose: Pose, score: float, box: np.ndarray | None, w: int, h: int,
                intrinsics: Intrinsics) -> PersonEstimate | None:
        c = self.config
        uv, world, conf = pose.uv[:NUM_LANDMARKS], pose.world_m[:NUM_LANDMARKS], pose.confidence[:NUM_LANDMARKS]
        try:
            joints_mm, joints_2d, joint_conf = lift_landmarks(uv, world, conf, intrinsics, c.min_landmark_confidence)
        except ValueError:
            self.dropped += 1
            return None
        outside = ~((joints_2d[:, 0] >= 0) & (joints_2d[:, 0] < w) & (joints_2d[:, 1] >= 0) & (joints_2d[:, 1] < h))
        joint_conf = np.where(outside, np.minimum(joint_conf, c.outside_confidence), joint_conf)
        bad = implausible_joints(joints_mm, joint_conf)
        joint_conf = np.where(bad, np.minimum(joint_conf, c.implausible_confidence), joint_conf)
        if box is not None:
            bbox = np.array([box[0], box[1], box[2] - box[0], box[3] - box[1]], dtype=np.float64)
        else:
            bbox = box_from_points(uv[conf >= c.min_landmark_confidence] if (conf >= c.min_landmark_confidence).sum()
                                   >= 6 else uv, w, h, 0.1)
        if bbox[2] <= 0 or bbox[3] <= 0:
            return None
        return PersonEstimate(bbox_xywh=bbox, score=float(score), joints_cam_mm=joints_mm, joints_2d=joints_2d,
                              joint_confidence=joint_conf)


def _xyxy(xywh: np.ndarray) -> np.ndarray:
    return np.array([xywh[0], xywh[1], xywh[0] + xywh[2], xywh[1] + xywh[3]], dtype=np.float64)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two x1 y1 x2 y2 boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _touches_border(box: np.ndarray, w: int, h: int, margin: float = 2.0, sides: str = "ltrb") -> bool:
    """Whether the x1 y1 x2 y2 box reaches within `margin` px of the named image borders (l, t, r, b)."""
    hit = {"l": box[0] <= margin, "t": box[1] <= margin, "r": box[2] >= w - margin, "b": box[3] >= h - margin}
    return bool(any(hit[s] for s in sides))


def extend_down(box_xyxy: np.ndarray, height_per_width: float = 3.0) -> np.ndarray:
    """The box of a whole standing person whose top part `box_xyxy` is (cut by the image's bottom edge):
    same top and width, height at least `height_per_width` x the width (px; may leave the image)."""
    x1, y1, x2, y2 = (float(v) for v in box_xyxy)
    return np.array([x1, y1, x2, y1 + max(y2 - y1, height_per_width * (x2 - x1))], dtype=np.float64)
