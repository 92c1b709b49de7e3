"""Offline multi-person absolute 3D pose from the models inside ``mediapipe==0.10.21`` (no torch needed).

Pipeline per image:
  1. ``PoseLandmarker(num_poses=N)`` (Tasks API, IMAGE mode: stateless, the same input gives the same output)
     on the whole frame: BlazePose detector + BlazePose full landmark model, 33 landmarks per person, each with
     2D image coordinates and metric 3D "world" coordinates (metres, origin between the hips, camera-aligned
     axes: x right, y down, z away from the camera).
  2. Optional small-people pass (``small_people=True``): the BlazePose detector sees the frame letterboxed to
     224x224, so people below ~100 px tall in a 640x480 frame are missed. The pass runs a second landmarker on
     overlapping square tiles of ``tile_size_px`` (stride ``tile_stride_px``) of the source image. Each tile
     is again resized to the detector's 224x224, i.e. a person is enlarged by ``max(W, H) / tile_size_px``
     for the detector, and the landmark model crops that person's own region from the tile, so the tile
     *is* the enlarged crop: explicit upscaling would add no information (both stages resample to their
     fixed input size). Landmarks are mapped back to source pixels and duplicates (people seen in two tiles
     or in the full frame too) are merged by box NMS. Chosen over OpenCV's HOG people detector as the
     proposal source because HOG only fires on people >= 128 px tall unless the frame is upscaled
     (measured ~120 ms per 768x576 frame at scale 1, ~300 ms at 1.5x, before the landmark runs), whereas the
     tiles need no extra model and give landmarks directly. Cost: one detector run (~10 ms on 2 cores) per
     tile plus one landmark run (~15 ms) per person found in a tile: with the defaults (320 px tiles, stride
     224) a 768x576 frame has 3x3 tiles and a 640x480 frame 3x2. Measured on 2 shared cores: vtest.avi
     median 190 ms/frame with the pass vs 9 ms without; basketball2.png 140 ms vs 42 ms. It is therefore
     off by default, so the whole-frame default stays fast. Tiles cut people into fragments that the
     landmark model may complete into a false small person; tile detections must pass a stricter score and
     a metric body-size check (`body_chain_length`).
  3. Per person: the 33 landmarks are mapped to MuPoTS-17 (table below) by one fixed linear map, and the
     person's translation is solved from the 2D landmarks, the metric 3D landmarks and the intrinsics
     (`solve_translation`), giving absolute camera-frame joints. No fixed or assumed depth is used; the
     depth follows from the metric body size mediapipe predicts, so a person much taller or shorter than
     the size mediapipe infers gets a proportionally wrong depth, as does any error in the focal length.
     The fit is translation only (world landmarks are camera-aligned); the 2D and 3D landmarks are not
     exactly consistent, leaving reprojection residuals of ~10-25 px on a 400 px tall person.

33 -> 17 joint map (BlazePose index in brackets; every entry is a fixed linear combination of landmarks and
is applied identically to the 2D landmarks (px) and to the metric 3D landmarks):

  ====  ==========  =========================================================================
  idx   MuPoTS-17   from BlazePose
  ====  ==========  =========================================================================
  0     head_top    mid_ears + 0.5 * (mid_ears - thorax) (extrapolated above the ears)
  1     thorax      mid-shoulders: (l_shoulder[11] + r_shoulder[12]) / 2
  2     r_shoulder  right_shoulder[12]
  3     r_elbow     right_elbow[14]
  4     r_wrist     right_wrist[16]
  5     l_shoulder  left_shoulder[11]
  6     l_elbow     left_elbow[13]
  7     l_wrist     left_wrist[15]
  8     r_hip       right_hip[24]
  9     r_knee      right_knee[26]
  10    r_ankle     right_ankle[28]
  11    l_hip       left_hip[23]
  12    l_knee      left_knee[25]
  13    l_ankle     left_ankle[27]
  14    pelvis      mid-hips: (l_hip[23] + r_hip[24]) / 2 (the root; also mediapipe's world origin)
  15    spine       midpoint of pelvis and thorax
  16    head        mid-ears: (left_ear[7] + right_ear[8]) / 2 (centre of the skull at ear height)
  ====  ==========  =========================================================================

Joint confidence: each landmark's confidence is ``visibility * presence`` (both 0..1, from the landmark
model); a derived joint takes the minimum over the landmarks it is built from. Person score: the mean
landmark presence over the 33 landmarks (the Tasks API exposes no per-pose detection score).

Units: pixels for 2D, millimetres for ``PersonEstimate.joints_cam_mm``, camera optical frame (x right, y down,
z forward).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from pinet_ros.core.camera import Intrinsics, view_rotation
from pinet_ros.core.result import PersonEstimate
from pinet_ros.core.skeleton import MUPOTS17

log = logging.getLogger(__name__)

NUM_LANDMARKS = 33
# View correction of the world landmarks (`lift_landmarks`): stop when the translation moves by less than this
# fraction of its length (1e-4 of 5 m = 0.5 mm, two or three re-solves), after at most this many re-solves.
VIEW_CORRECTION_TOLERANCE = 1e-4
VIEW_CORRECTION_MAX_STEPS = 10

#: name of the bundle file built from the wheel's two tflite files.
TASK_FILENAME = "pose_landmarker_multi.task"

#: (member name inside the .task zip, path inside the mediapipe wheel, norm mean, norm std, number of outputs)
_BUNDLE_PARTS = (
    ("pose_detector.tflite", "modules/pose_detection/pose_detection.tflite", 127.5, 127.5, 2),
    ("pose_landmarks_detector.tflite", "modules/pose_landmark/pose_landmark_full.tflite", 0.0, 255.0, 5),
)
_BUNDLE_STAMP_PREFIX = b"pinet_ros mediapipe bundle v1 sha256="


# ----------------------------------------------------------------------------------------------------------
# 33 -> 17 joint map
# ----------------------------------------------------------------------------------------------------------

def _build_joint_map() -> np.ndarray:
    """(17, 33) float64 matrix M with joints = M @ landmarks (see the module table)."""
    m = np.zeros((MUPOTS17.num_joints, NUM_LANDMARKS), dtype=np.float64)
    j = MUPOTS17.index
    direct = {"r_shoulder": 12, "r_elbow": 14, "r_wrist": 16, "l_shoulder": 11, "l_elbow": 13, "l_wrist": 15,
              "r_hip": 24, "r_knee": 26, "r_ankle": 28, "l_hip": 23, "l_knee": 25, "l_ankle": 27}
    for name, lm in direct.items():
        m[j(name), lm] = 1.0
    m[j("thorax"), [11, 12]] = 0.5
    m[j("pelvis"), [23, 24]] = 0.5
    m[j("head"), [7, 8]] = 0.5
    m[j("spine")] = 0.5 * (m[j("pelvis")] + m[j("thorax")])
    m[j("head_top")] = 1.5 * m[j("head")] - 0.5 * m[j("thorax")]
    return m


#: (17, 33) linear map from BlazePose landmarks to MuPoTS-17 joints; rows sum to 1 (affine-invariant).
BLAZEPOSE_TO_MUPOTS17 = _build_joint_map()


def map_landmarks_to_mupots17(landmarks: np.ndarray, confidence: np.ndarray | None = None
                              ) -> tuple[np.ndarray, np.ndarray | None]:
    """Map BlazePose landmarks to MuPoTS-17 joints.

    Args:
        landmarks: (33, D) landmarks (D = 2 for pixels, 3 for metric points), any unit.
        confidence: optional (33,) per-landmark confidence 0..1.
    Returns:
        joints: (17, D) float64 in the unit of `landmarks`.
        joint_confidence: (17,) float64, the minimum confidence over the landmarks each joint uses, or None.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.ndim != 2 or lm.shape[0] != NUM_LANDMARKS:
        raise ValueError(f"expected (33, D) BlazePose landmarks, got shape {lm.shape}")
    joints = BLAZEPOSE_TO_MUPOTS17 @ lm
    if confidence is None:
        return joints, None
    conf = np.asarray(confidence, dtype=np.float64).reshape(-1)
    if conf.shape != (NUM_LANDMARKS,):
        raise ValueError(f"expected (33,) confidences, got shape {conf.shape}")
    used = BLAZEPOSE_TO_MUPOTS17 != 0.0
    joint_conf = np.where(used, conf[None, :], np.inf).min(axis=1)
    return joints, joint_conf


# ----------------------------------------------------------------------------------------------------------
# Translation from 2D + metric 3D + intrinsics
# ----------------------------------------------------------------------------------------------------------

def solve_translation(points_m: np.ndarray, uv_px: np.ndarray, intrinsics: Intrinsics,
                      weights: np.ndarray | None = None, iterations: int = 3) -> np.ndarray:
    """Translation t that places root-relative metric points in front of the camera so they project onto uv.

    Solves the pinhole equations ``fx (X_i + tx) = (u_i - cx)(Z_i + tz)`` and ``fy (Y_i + ty) = (v_i - cy)
    (Z_i + tz)`` for t by weighted linear least squares (rotation is taken as identity: mediapipe's world
    landmarks are camera-aligned). The algebraic residual equals the reprojection error times
    ``(Z_i + tz) / f``; ``iterations`` re-solves divide each equation by the current ``Z_i + tz`` so the
    result minimises the (weighted) reprojection error.

    Args:
        points_m: (N, 3) points relative to the person (any length unit; metres for mediapipe), camera axes.
        uv_px: (N, 2) observed pixel coordinates.
        intrinsics: pinhole intrinsics (px).
        weights: optional (N,) non-negative weights (e.g. landmark visibility); at least 2 must be > 0.
        iterations: number of reprojection-error re-weightings after the first linear solve (>= 0).
    Returns:
        (3,) float64 translation in the unit of `points_m`, camera frame (x right, y down, z forward).
    Raises:
        ValueError: bad shapes, too few weighted points, or a degenerate/behind-camera solution.
    """
    p = np.asarray(points_m, dtype=np.float64)
    uv = np.asarray(uv_px, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 3 or uv.shape != (p.shape[0], 2):
        raise ValueError(f"expected (N, 3) points and (N, 2) pixels, got {p.shape} and {uv.shape}")
    w = np.ones(len(p)) if weights is None else np.clip(np.asarray(weights, dtype=np.float64).reshape(-1), 0, None)
    if w.shape != (len(p),):
        raise ValueError(f"expected ({len(p)},) weights, got {w.shape}")
    ok = (w > 0) & np.isfinite(p).all(axis=1) & np.isfinite(uv).all(axis=1)
    if ok.sum() < 2:
        raise ValueError(f"need at least 2 weighted finite points to solve a translation, got {int(ok.sum())}")
    p, uv, w = p[ok], uv[ok], w[ok]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        xn = (uv[:, 0] - intrinsics.cx) / intrinsics.fx  # (N,) normalised image coordinates
        yn = (uv[:, 1] - intrinsics.cy) / intrinsics.fy
    # LAPACK must never see a non-finite value (it prints to stderr and returns garbage): check first.
    if not (np.all(np.isfinite(xn)) and np.all(np.isfinite(yn)) and np.all(np.abs(xn) < 1e6)
            and np.all(np.abs(yn) < 1e6)):
        raise ValueError(f"normalised image coordinates are not finite or absurd (intrinsics {intrinsics})")
    n = len(p)
    a = np.zeros((2 * n, 3))
    a[:n, 0], a[:n, 2] = 1.0, -xn  # tx - xn tz = xn Z - X
    a[n:, 1], a[n:, 2] = 1.0, -yn  # ty - yn tz = yn Z - Y
    b = np.concatenate([xn * p[:, 2] - p[:, 0], yn * p[:, 2] - p[:, 1]])
    scale = np.ones(n)
    t = np.zeros(3)
    for _ in range(max(0, int(iterations)) + 1):
        sw = np.sqrt(np.tile(w / scale**2, 2))
        t, *_ = np.linalg.lstsq(a * sw[:, None], b * sw, rcond=None)
        depth = p[:, 2] + t[2]
        if not np.all(np.isfinite(t)) or np.any(depth <= 0):
            raise ValueError(f"translation solve put points behind the camera (t={t})")
        scale = depth / np.median(depth)
    return t


def lift_landmarks(uv_px: np.ndarray, world_m: np.ndarray, confidence: np.ndarray, intrinsics: Intrinsics,
                   min_landmark_confidence: float = 0.3, view_correction: bool = True
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One person's absolute MuPoTS-17 joints from BlazePose's 33 landmarks (shared by the mediapipe and the
    topdown backends).

    The translation is solved (`solve_translation`) with each landmark weighted by its confidence; landmarks
    below `min_landmark_confidence` get no weight unless fewer than 6 pass (then all are used).

    With `view_correction` the world landmarks are taken to be in the frame of the ray through the person
    rather than in camera axes: the landmark model sees a crop around the person as if the camera looked
    straight at them, so a person seen 30 deg off the optical axis comes out turned by about 30 deg. The
    landmarks are rotated by `view_rotation` of the solved translation and the translation re-solved, until
    it moves by less than `VIEW_CORRECTION_TOLERANCE` of its length. On the rendered test split this lowers topdown's
    pelvis-aligned MPJPE by about 6 %.

    Args:
        uv_px: (33, 2) landmarks in source pixels.
        world_m: (33, 3) metric landmarks (metres, hip-centred, camera-aligned axes).
        confidence: (33,) per-landmark confidence 0..1 (visibility * presence).
        intrinsics: pinhole intrinsics of the source image (px).
    Returns:
        joints_cam_mm (17, 3) camera millimetres, joints_2d (17, 2) px, joint_confidence (17,) 0..1.
    Raises:
        ValueError: the translation cannot be solved (see `solve_translation`).
    """
    conf = np.asarray(confidence, dtype=np.float64)
    weights = np.where(conf >= min_landmark_confidence, conf, 0.0)
    if np.count_nonzero(weights) < 6:
        weights = np.maximum(conf, 1e-3)
    world_m = np.asarray(world_m, dtype=np.float64)
    t_m = solve_translation(world_m, uv_px, intrinsics, weights)
    if view_correction:
        # Fixed-point iteration; each step shrinks the translation's error about 15x even 35 deg off axis.
        for _ in range(VIEW_CORRECTION_MAX_STEPS):
            rotated = world_m @ view_rotation(t_m).T
            t_new = solve_translation(rotated, uv_px, intrinsics, weights)
            step = float(np.linalg.norm(t_new - t_m))
            t_m = t_new
            if step <= VIEW_CORRECTION_TOLERANCE * float(np.linalg.norm(t_m)):
                break
        world_m = world_m @ view_rotation(t_m).T
    joints_m, joint_conf = map_landmarks_to_mupots17(world_m, conf)
    joints_2d, _ = map_landmarks_to_mupots17(uv_px)
    return (joints_m + t_m) * 1000.0, joints_2d, np.clip(joint_conf, 0.0, 1.0)


# ----------------------------------------------------------------------------------------------------------
# Task bundle
# ----------------------------------------------------------------------------------------------------------

def _import_mediapipe() -> Any:
    try:
        import mediapipe
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("the mediapipe backend needs mediapipe==0.10.21 (pip install 'pinet_ros[mediapipe]'): "
                          f"{err}") from err
    return mediapipe


def default_task_path() -> Path:
    """Where the bundle lives: ``$PINET_MEDIAPIPE_TASK``, else ``<repo>/data/models/`` when running from a
    source checkout (a ``package.xml`` beside the package), else ``~/.cache/pinet_ros/models/``."""
    env = os.environ.get("PINET_MEDIAPIPE_TASK")
    if env:
        return Path(env).expanduser()
    repo = Path(__file__).resolve().parents[2]
    if (repo / "package.xml").is_file() and os.access(repo, os.W_OK):
        return repo / "data" / "models" / TASK_FILENAME
    return Path.home() / ".cache" / "pinet_ros" / "models" / TASK_FILENAME


def _wheel_model_bytes() -> list[tuple[str, bytes, float, float, int]]:
    mp_dir = Path(_import_mediapipe().__file__).resolve().parent
    parts = []
    for member, rel, mean, std, n_out in _BUNDLE_PARTS:
        src = mp_dir / rel
        if not src.is_file():
            raise FileNotFoundError(f"mediapipe model file missing: {src} (mediapipe==0.10.21 ships it; newer "
                                    "releases ship no models: pip install mediapipe==0.10.21)")
        parts.append((member, src.read_bytes(), mean, std, n_out))
    return parts


def _bundle_stamp(parts: list[tuple[str, bytes, float, float, int]]) -> bytes:
    h = hashlib.sha256()
    for member, data, mean, std, n_out in parts:
        h.update(f"{member}|{mean}|{std}|{n_out}|".encode())
        h.update(data)
    return _BUNDLE_STAMP_PREFIX + h.hexdigest().encode()


def ensure_task_bundle(path: str | os.PathLike[str] | None = None) -> Path:
    """Build (once) the multi-person PoseLandmarker bundle from the two tflite files inside the mediapipe wheel.

    The wheel's ``pose_detection.tflite`` and ``pose_landmark_full.tflite`` carry no normalisation metadata,
    which the Tasks API needs: it is added with mediapipe's own ``MetadataWriter`` (detector: image input,
    mean 127.5, std 127.5, 2 outputs; landmarks: image input, mean 0, std 255, 5 outputs), and both are zipped
    as ``pose_detector.tflite`` / ``pose_landmarks_detector.tflite`` with mediapipe's aligned bundle writer.
    Idempotent: an existing bundle whose zip comment records the same source hashes is kept as is. Written to
    a temporary file in the same directory, then renamed (atomic).

    Args:
        path: output ``.task`` file; default `default_task_path()`.
    Returns:
        The bundle's path.
    """
    out = Path(path).expanduser() if path is not None else default_task_path()
    parts = _wheel_model_bytes()
    stamp = _bundle_stamp(parts)
    if out.is_file():
        try:
            with zipfile.ZipFile(out) as zf:
                if zf.comment == stamp and {p[0] for p in parts} <= set(zf.namelist()):
                    return out
        except zipfile.BadZipFile:
            pass
        log.info("rebuilding %s (stale or corrupt)", out)
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer, model_asset_bundle_utils

    models = {}
    for member, data, mean, std, n_out in parts:
        writer = metadata_writer.MetadataWriter.create(bytearray(data))
        writer.add_general_info(member.removesuffix(".tflite"), "BlazePose model from mediapipe==0.10.21")
        writer.add_image_input(norm_mean=[mean], norm_std=[std])
        for _ in range(n_out):
            writer.add_feature_output()
        model, _ = writer.populate()
        models[member] = bytes(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        model_asset_bundle_utils.create_model_asset_bundle(models, tmp)
        with zipfile.ZipFile(tmp, "a") as zf:
            zf.comment = stamp
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    log.info("built %s", out)
    return out


# ----------------------------------------------------------------------------------------------------------
# Boxes
# ----------------------------------------------------------------------------------------------------------

def box_from_points(uv_px: np.ndarray, image_w: int, image_h: int, margin: float = 0.1) -> np.ndarray:
    """(4,) float64 xywh box around (N, 2) pixel points, grown by `margin` x size on each side, clipped."""
    uv = np.asarray(uv_px, dtype=np.float64)
    lo, hi = uv.min(axis=0), uv.max(axis=0)
    pad = margin * (hi - lo)
    lo = np.clip(lo - pad, 0.0, [image_w, image_h])
    hi = np.clip(hi + pad, 0.0, [image_w, image_h])
    return np.array([lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]], dtype=np.float64)


def _overlaps(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(IoU, intersection over the smaller area) of two xywh boxes."""
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    area_a, area_b = a[2] * a[3], b[2] * b[3]
    union = area_a + area_b - inter
    return (inter / union if union > 0 else 0.0), (inter / min(area_a, area_b) if min(area_a, area_b) > 0 else 0.0)


def merge_duplicates(people: list[PersonEstimate], priority: list[int], iou: float, containment: float
                     ) -> list[PersonEstimate]:
    """Greedy NMS: keep people in (priority, score) order, drop any whose box overlaps a kept one by
    IoU > `iou` or intersection/smaller-area > `containment`. Lower priority value wins (0 = full frame).
    People of priority 0 are never dropped: the whole-frame landmarker already separated them, and one
    person partly hiding another must not lose them. Consequence: a tile person standing inside the box
    of a whole-frame person (containment) is dropped as a duplicate."""
    order = sorted(range(len(people)), key=lambda i: (priority[i], -people[i].score, i))
    kept: list[int] = []
    for i in order:
        if priority[i] == 0 or not any(ov[0] > iou or ov[1] > containment
                   for ov in (_overlaps(people[i].bbox_xywh, people[k].bbox_xywh) for k in kept)):
            kept.append(i)
    return [people[i] for i in kept]


# ----------------------------------------------------------------------------------------------------------
# Backend
# ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MediapipeConfig:
    """Settings of `MediapipeBackend`.

    Attributes:
        task_path: PoseLandmarker bundle; None = `default_task_path()`, built on first use if missing.
        max_people: most people returned per frame, and ``num_poses`` of the whole-frame pass (>= 1).
        min_detection_score: BlazePose detector threshold (0..1).
        min_presence_score: landmark-model pose presence threshold (0..1).
        min_person_score: drop people whose mean landmark presence is below this (0..1).
        min_box_height_px: drop people whose landmark box is shorter than this (px); tiles produce fragments.
        box_margin: box = landmark extent grown by this fraction of its size on each side.
        min_landmark_confidence: landmarks below this visibility*presence get no weight in the translation
            solve (all are used when fewer than 6 pass).
        small_people: run the tiled small-people pass (see the module docstring; ~100-160 ms extra per frame).
        tile_size_px: side of the square tiles of the small-people pass (source pixels, >= 64).
        tile_stride_px: step between tiles (px, 1..tile_size_px); overlap = size - stride should exceed the
            height of the people you want to catch so each one lies whole inside some tile.
        tile_max_people: ``num_poses`` of the tile landmarker.
        tile_min_detection_score: detector threshold inside tiles.
        tile_min_person_score: `min_person_score` for people found in tiles (stricter: tiles cut people
            into fragments that the landmark model sometimes completes into a false small person).
        tile_min_body_chain_m: tile people whose metric skeleton is shorter than this along
            head_top-head-thorax-spine-pelvis-hip-knee-ankle (mean of both legs, pose-independent) are
            fragments and dropped. Measured on the samples: real people 1.45-1.7 m, fragments 1.1-1.25 m.
        nms_iou: duplicate if box IoU exceeds this.
        nms_containment: duplicate if intersection / smaller box area exceeds this.
    """

    task_path: str | None = None
    max_people: int = 8
    min_detection_score: float = 0.5
    min_presence_score: float = 0.5
    min_person_score: float = 0.5
    min_box_height_px: float = 24.0
    box_margin: float = 0.1
    min_landmark_confidence: float = 0.3
    small_people: bool = False
    tile_size_px: int = 320
    tile_stride_px: int = 224
    tile_max_people: int = 2
    tile_min_detection_score: float = 0.5
    tile_min_person_score: float = 0.8
    tile_min_body_chain_m: float = 1.35
    nms_iou: float = 0.5
    nms_containment: float = 0.8

    def __post_init__(self) -> None:
        if self.max_people < 1 or self.tile_max_people < 1:
            raise ValueError("max_people and tile_max_people must be >= 1")
        for name in ("min_detection_score", "min_presence_score", "min_person_score", "min_landmark_confidence",
                     "tile_min_detection_score", "tile_min_person_score", "nms_iou", "nms_containment"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.tile_size_px < 64 or not 1 <= self.tile_stride_px <= self.tile_size_px:
            raise ValueError(f"need tile_size_px >= 64 and 1 <= tile_stride_px <= tile_size_px, got "
                             f"{self.tile_size_px}, {self.tile_stride_px}")
        if self.box_margin < 0 or self.min_box_height_px < 0:
            raise ValueError("box_margin and min_box_height_px must be >= 0")


_J = MUPOTS17.index
_TRUNK_CHAIN = (("head_top", "head"), ("head", "thorax"), ("thorax", "spine"), ("spine", "pelvis"))
_LEG_CHAINS = ((("pelvis", "r_hip"), ("r_hip", "r_knee"), ("r_knee", "r_ankle")),
               (("pelvis", "l_hip"), ("l_hip", "l_knee"), ("l_knee", "l_ankle")))


def body_chain_length(joints: np.ndarray) -> float:
    """Length of head_top-head-thorax-spine-pelvis plus the mean hip-knee-ankle leg chain (pose-independent
    body size) of (17, 3) MuPoTS-17 joints, in their unit."""
    j = np.asarray(joints, dtype=np.float64)

    def chain(pairs: tuple[tuple[str, str], ...]) -> float:
        return float(sum(np.linalg.norm(j[_J(a)] - j[_J(b)]) for a, b in pairs))

    return chain(_TRUNK_CHAIN) + 0.5 * (chain(_LEG_CHAINS[0]) + chain(_LEG_CHAINS[1]))


def tile_origins(length: int, tile: int, stride: int) -> list[int]:
    """Start offsets of tiles of size `tile` covering [0, length): the fewest tiles whose steps do not exceed
    `stride`, spread evenly, the first at 0 and the last flush with the end. Empty if the image is no larger
    than one tile (the whole-frame pass already covers it)."""
    if length <= tile:
        return []
    n = -(-(length - tile) // stride) + 1  # ceil((length - tile) / stride) + 1
    return [int(round(i * (length - tile) / (n - 1))) for i in range(n)]


class MediapipeBackend:
    """Multi-person absolute 3D pose from mediapipe's BlazePose (see the module docstring).

    Args:
        config: `MediapipeConfig`; default settings if None.
    Raises:
        ImportError: mediapipe is not installed.
        FileNotFoundError: a model file is missing (the message names the path).
    """

    def __init__(self, config: MediapipeConfig | None = None) -> None:
        self.config = config or MediapipeConfig()
        mp = _import_mediapipe()
        self._mp = mp
        self._detect_ms = 0.0
        path = Path(self.config.task_path).expanduser() if self.config.task_path else None
        if path is None:
            path = ensure_task_bundle()
        elif not path.is_file():
            raise FileNotFoundError(f"mediapipe pose bundle not found: {path} (build it with "
                                    "'python scripts/build_mediapipe_task.py' or leave task_path unset)")
        self.task_path = path
        c = self.config
        self._full = self._landmarker(c.max_people, c.min_detection_score)
        self._tiles = self._landmarker(c.tile_max_people, c.tile_min_detection_score) if c.small_people else None
        #: wall time of the last `estimate`, ms: "landmarks" (whole-frame detector + landmark model),
        #: "small_people" (all tile runs, lift included; 0 when off), "lift" (33->17 map, translation solves,
        #: NMS, whole frame).
        self.timings_ms: dict[str, float] = {}
        self.dropped = 0  # people found but not lifted to 3D in the last estimate() (counted in diagnostics)

    def _landmarker(self, num_poses: int, min_detection: float) -> Any:
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.task_path)),
            running_mode=vision.RunningMode.IMAGE,
            num_poses=num_poses,
            min_pose_detection_confidence=min_detection,
            min_pose_presence_confidence=self.config.min_presence_score,
            output_segmentation_masks=False,
        )
        return vision.PoseLandmarker.create_from_options(options)

    def apply(self, *, score_threshold: float | None = None, max_persons: int | None = None,
              **others: object) -> None:
        """Change live settings; each takes effect on the next `estimate`.

        Args:
            score_threshold: new `min_person_score` (0..1), raised or lowered.
            max_persons: new `max_people`; above the whole-frame landmarker's ``num_poses`` the landmarker is
                rebuilt for it (tens of ms, between frames).
        Raises:
            ValueError: a setting this backend does not have (e.g. flip_test), or a bad value.
        """
        if others:
            raise ValueError(f"{', '.join(sorted(others))} do(es) not apply to the mediapipe backend")
        changes: dict[str, object] = {}
        if score_threshold is not None:
            changes["min_person_score"] = float(score_threshold)
        if max_persons is not None:
            changes["max_people"] = int(max_persons)
        new = replace(self.config, **changes)  # validates
        if new.max_people != self.config.max_people and self._full is not None:
            rebuilt = self._landmarker(new.max_people, new.min_detection_score)
            self._full.close()
            self._full = rebuilt
        self.config = new

    def close(self) -> None:
        """Free the mediapipe graphs; the backend is unusable afterwards."""
        for name in ("_full", "_tiles"):
            lm = getattr(self, name, None)
            if lm is not None:
                lm.close()
                setattr(self, name, None)

    def __enter__(self) -> MediapipeBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, landmarker: Any, rgb: np.ndarray, x0: int, y0: int, image_w: int, image_h: int,
             intrinsics: Intrinsics, tile: bool = False) -> list[PersonEstimate]:
        """Run `landmarker` on `rgb` (a region at (x0, y0) of the source image) -> people in source pixels."""
        h, w = rgb.shape[:2]
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        t0 = time.perf_counter()
        result = landmarker.detect(image)
        self._detect_ms += (time.perf_counter() - t0) * 1e3
        people = []
        for lms, world in zip(result.pose_landmarks, result.pose_world_landmarks):
            a = np.array([[p.x, p.y, p.visibility or 0.0, p.presence or 0.0] for p in lms], dtype=np.float64)
            pw = np.array([[p.x, p.y, p.z] for p in world], dtype=np.float64)  # (33, 3) metres
            uv = a[:, :2] * [w, h] + [x0, y0]  # (33, 2) source px
            person = self._person(uv, pw, a[:, 2] * a[:, 3], a[:, 3], image_w, image_h, intrinsics, tile)
            if person is not None:
                people.append(person)
        return people

    def _person(self, uv: np.ndarray, world_m: np.ndarray, conf: np.ndarray, presence: np.ndarray,
                image_w: int, image_h: int, intrinsics: Intrinsics, tile: bool = False) -> PersonEstimate | None:
        """One person from 33 landmarks: (33, 2) source px, (33, 3) world metres, (33,) confidences."""
        c = self.config
        score = float(presence.mean())
        if score < (c.tile_min_person_score if tile else c.min_person_score):
            return None
        box = box_from_points(uv, image_w, image_h, c.box_margin)
        if box[3] < c.min_box_height_px or box[2] <= 0:
            return None
        try:
            joints_cam_mm, joints_2d, joint_conf = lift_landmarks(uv, world_m, conf, intrinsics,
                                                                   c.min_landmark_confidence)
        except ValueError as err:
            log.debug("dropping a person: %s", err)
            self.dropped += 1
            return None
        if tile and body_chain_length(joints_cam_mm / 1000.0) < c.tile_min_body_chain_m:
            return None
        return PersonEstimate(
            bbox_xywh=box,
            score=score,
            joints_cam_mm=joints_cam_mm,
            joints_2d=joints_2d,
            joint_confidence=joint_conf,
        )

    def estimate(self, rgb: np.ndarray, intrinsics: Intrinsics) -> list[PersonEstimate]:
        """Estimate every person's absolute 3D pose in one image.

        Args:
            rgb: (H, W, 3) uint8 RGB image.
            intrinsics: pinhole intrinsics of `rgb` (px).
        Returns:
            People sorted left to right by root x, at most ``max_people``; joints in camera mm (MuPoTS-17).
        Raises:
            ValueError: `rgb` is not an (H, W, 3) uint8 array.
            RuntimeError: the backend was closed.
        """
        if self._full is None:
            raise RuntimeError("MediapipeBackend was closed")
        if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got "
                             f"{getattr(rgb, 'shape', None)} {getattr(rgb, 'dtype', type(rgb).__name__)}")
        h, w = rgb.shape[:2]
        self.timings_ms = {"landmarks": 0.0, "small_people": 0.0, "lift": 0.0}
        self.dropped = 0
        if h == 0 or w == 0:
            return []
        t0 = time.perf_counter()
        self._detect_ms = 0.0
        people = self._run(self._full, rgb, 0, 0, w, h, intrinsics)
        t1 = time.perf_counter()
        self.timings_ms["landmarks"] = self._detect_ms
        priority = [0] * len(people)
        if self._tiles is not None:
            c = self.config
            size = min(c.tile_size_px, w, h)
            for y0 in tile_origins(h, size, c.tile_stride_px) or [0]:
                for x0 in tile_origins(w, size, c.tile_stride_px) or [0]:
                    if (y0, x0) == (0, 0) and size >= max(w, h):
                        continue  # the tile is the whole frame
                    found = self._run(self._tiles, rgb[y0:y0 + size, x0:x0 + size], x0, y0, w, h, intrinsics,
                                      tile=True)
                    people += found
                    priority += [1] * len(found)
        t2 = time.perf_counter()
        people = merge_duplicates(people, priority, self.config.nms_iou, self.config.nms_containment)
        people = sorted(people, key=lambda p: -p.score)[: self.config.max_people]
        people.sort(key=lambda p: float(p.joints_cam_mm[MUPOTS17.root, 0] / p.joints_cam_mm[MUPOTS17.root, 2]))
        self.timings_ms["small_people"] = (t2 - t1) * 1e3 if self._tiles is not None else 0.0
        self.timings_ms["lift"] = (t1 - t0) * 1e3 - self.timings_ms["landmarks"] + (time.perf_counter() - t2) * 1e3
        return people
