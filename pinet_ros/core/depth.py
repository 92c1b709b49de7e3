"""Depth images -> metric person positions (numpy only; no torch, no rclpy).

A monocular pose backend gets each person's root-relative pose right to a few centimetres but their distance
only to ~5-10 %. An RGB-D camera measures the distance of every visible surface. This module corrects each
person's absolute position with the depth readings found at that person's own 2D joints:

1. Sample points on the person: the visible (confident) torso and limb joints and points inside the torso
   between its joints, each with its monocular 3D position and the 2D pixel the backend saw it at.
2. Map every sample to the depth image through each camera's own intrinsics (and an optional colour ->
   depth extrinsic), so a depth image of another size or field of view works: nothing assumes that the
   two images have the same size.
3. Read a small window of depth pixels there. A reading is the camera-facing *surface*: each is compared with
   the surface a generic body (capsules, `BODY_CAPSULES`) around the monocular pose predicts on the same ray
   (the joint's own `SURFACE_OFFSET_M` in front of it where the ray misses the predicted body). Each reading
   gives one residual: how far the person must move in depth to agree with it.
4. Readings that hit another detected person standing nearer (inside that person's 2D body) are dropped;
   the remaining residuals are pooled with weights (joints near the root count most, times the joint
   confidence) and their dominant mode is found with a kernel density weighted by a prior centred on the
   monocular estimate (its error grows with distance). An occluder in front of the person, or background
   seen past a limb, forms a separate mode; the person's own surface is the mode that their torso supports
   and that agrees with the monocular estimate. The shift is the weighted median of the residuals in that mode.
5. The whole person moves, pose unchanged, to the corrected depth: onto the ray of the backend's 2D pelvis
   (`DepthConfig.anchor_2d`, when that joint is confident) or else along the ray of the monocular root. When
   there is no depth, too few readings, too little support for one surface, or a shift beyond what the
   monocular estimate can be wrong by, the person keeps the monocular estimate, with a reason (`DepthStatus`).

Depth values: float32 metres with NaN where there is no reading (see `decode_depth`; sensor_msgs encodings
16UC1/mono16 millimetres with 0 = no reading, 32FC1 metres with 0/NaN/inf = no reading).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from pinet_ros.core.camera import Intrinsics
from pinet_ros.core.skeleton import MUPOTS17

__all__ = [
    "DEPTH_ENCODINGS",
    "DepthCamera",
    "DepthConfig",
    "DepthCorrection",
    "DepthError",
    "DepthFrame",
    "DepthStatus",
    "SURFACE_OFFSET_M",
    "correct_people",
    "decode_depth",
    "depth_from_buffer",
    "encode_depth_mm",
]

DEPTH_ENCODINGS: tuple[str, ...] = ("16UC1", "mono16", "32FC1")
"""sensor_msgs/Image encodings read as depth: 16UC1 and mono16 in millimetres, 32FC1 in metres."""


class DepthError(ValueError):
    """A depth image or depth camera that cannot be used; `str(exc)` is a one-line reason."""


# ------------------------------------------------------------------------------------------- decoding

def decode_depth(values: np.ndarray, encoding: str) -> np.ndarray:
    """Raw depth samples -> metres.

    Args:
        values: (H, W) array: uint16 millimetres for 16UC1/mono16, float32 (or float64) metres for 32FC1.
        encoding: one of `DEPTH_ENCODINGS` (case-insensitive).
    Returns:
        (H, W) float32 metres, a new array; NaN where there is no reading (0 for 16-bit; 0, negative, NaN or
        +-inf for 32FC1).
    Raises:
        DepthError: unknown encoding, or a dtype/shape that does not fit it.
    """
    enc = str(encoding).strip().lower()
    v = np.asarray(values)
    if v.ndim != 2 or v.shape[0] == 0 or v.shape[1] == 0:
        raise DepthError(f"depth must be a non-empty (H, W) array, got shape {v.shape}")
    if enc in ("16uc1", "mono16"):
        if v.dtype != np.uint16:
            raise DepthError(f"{encoding} depth must be uint16 millimetres, got {v.dtype}")
        out = v.astype(np.float32) * np.float32(1e-3)
        out[v == 0] = np.nan
        return out
    if enc == "32fc1":
        if v.dtype.kind != "f":
            raise DepthError(f"32FC1 depth must be floating point metres, got {v.dtype}")
        out = v.astype(np.float32, copy=True)
        with np.errstate(invalid="ignore"):
            out[~np.isfinite(out) | (out <= 0.0)] = np.nan
        return out
    raise DepthError(f"unsupported depth encoding {encoding!r:.40}; supported: {', '.join(DEPTH_ENCODINGS)}")


def depth_from_buffer(data: bytes | bytearray | memoryview | np.ndarray, width: int, height: int, step: int,
                      encoding: str, big_endian: bool = False) -> np.ndarray:
    """A sensor_msgs/Image's depth payload (row stride `step` bytes) -> (height, width) float32 metres.

    Rows may be padded (step > width * bytes per pixel); extra trailing bytes are ignored.

    Raises:
        DepthError: unknown encoding, empty size, step too small, data too short.
    """
    enc = str(encoding).strip().lower()
    if enc in ("16uc1", "mono16"):
        dtype = np.dtype(">u2" if big_endian else "<u2")
    elif enc == "32fc1":
        dtype = np.dtype(">f4" if big_endian else "<f4")
    else:
        raise DepthError(f"unsupported depth encoding {encoding!r:.40}; supported: {', '.join(DEPTH_ENCODINGS)}")
    width, height, step = int(width), int(height), int(step)
    if width <= 0 or height <= 0:
        raise DepthError(f"empty depth image ({width}x{height})")
    row = width * dtype.itemsize
    if step < row:
        raise DepthError(f"step {step} < {row} bytes needed for a {width} px row of {encoding}")
    buf = np.frombuffer(data, np.uint8) if not isinstance(data, np.ndarray) else data.reshape(-1).view(np.uint8)
    if buf.size < step * height:
        raise DepthError(f"depth data has {buf.size} bytes, {encoding} {width}x{height} with step {step} "
                         f"needs {step * height}")
    rows = buf[: step * height].reshape(height, step)[:, :row]
    values = np.ascontiguousarray(rows).view(dtype).reshape(height, width).astype(dtype.newbyteorder("="))
    return decode_depth(values, "32FC1" if enc == "32fc1" else "16UC1")


def encode_depth_mm(depth_m: np.ndarray) -> np.ndarray:
    """Metres (NaN = no reading) -> uint16 millimetres (0 = no reading; beyond 65.535 m -> 0)."""
    d = np.asarray(depth_m, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(d) & (d > 0) & (d < 65.5355)
    out = np.zeros(d.shape, np.uint16)
    out[ok] = np.rint(d[ok] * 1000.0).astype(np.uint16)
    return out


# --------------------------------------------------------------------------------------------- cameras

@dataclass(frozen=True)
class DepthCamera:
    """The depth image's camera, and where it sits relative to the colour camera.

    Attributes:
        intrinsics: pinhole intrinsics of the depth image, its own pixels.
        width, height: size of the depth image, pixels.
        rotation: (3, 3) colour optical frame -> depth optical frame (p_depth = R p_colour + t).
        translation_m: (3,) metres, same convention. Identity and zero (the default) for depth registered
            to the colour image (`aligned_depth_to_color`, `depth_registered`) or for any depth image whose
            optical centre is the colour camera's, whatever its size and intrinsics.
    """

    intrinsics: Intrinsics
    width: int
    height: int
    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    translation_m: np.ndarray = field(default_factory=lambda: np.zeros(3))

    def __post_init__(self) -> None:
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise DepthError(f"depth camera size must be positive, got {self.width}x{self.height}")
        r = np.asarray(self.rotation, dtype=np.float64)
        t = np.asarray(self.translation_m, dtype=np.float64).reshape(-1)
        if r.shape != (3, 3) or t.shape != (3,) or not (np.all(np.isfinite(r)) and np.all(np.isfinite(t))):
            raise DepthError("depth extrinsic must be a finite (3, 3) rotation and (3,) translation")
        if np.abs(r @ r.T - np.eye(3)).max() > 1e-6 or np.linalg.det(r) < 0:
            raise DepthError("depth extrinsic rotation is not a rotation matrix")
        object.__setattr__(self, "rotation", r)
        object.__setattr__(self, "translation_m", t)
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))

    @property
    def co_located(self) -> bool:
        """True when the depth camera's optical centre and axes are the colour camera's (pixel mapping
        then does not depend on depth)."""
        return bool(np.array_equal(self.rotation, np.eye(3)) and not np.any(self.translation_m))

    @classmethod
    def registered_to(cls, intrinsics: Intrinsics, width: int, height: int) -> "DepthCamera":
        """A depth image registered to a colour image of this size and intrinsics."""
        return cls(intrinsics=intrinsics, width=width, height=height)


@dataclass
class DepthFrame:
    """One depth image with its camera.

    Attributes:
        depth_m: (height, width) float32 metres, NaN = no reading (as `decode_depth` returns).
        camera: the depth image's camera; its size must be the array's.
        stamp_ns: capture time, integer nanoseconds.
    """

    depth_m: np.ndarray
    camera: DepthCamera
    stamp_ns: int = 0

    def __post_init__(self) -> None:
        d = np.asarray(self.depth_m)
        if d.ndim != 2 or d.dtype.kind != "f":
            raise DepthError(f"depth_m must be an (H, W) float array of metres, got {d.dtype} {d.shape}")
        if d.shape != (self.camera.height, self.camera.width):
            raise DepthError(f"depth image is {d.shape[1]}x{d.shape[0]} but its camera info is for "
                             f"{self.camera.width}x{self.camera.height}")
        self.depth_m = d


# ------------------------------------------------------------------------------------------ correction

class DepthStatus(enum.IntEnum):
    """Why a person's root is (or is not) from depth."""

    CORRECTED = 0       # root from depth
    NO_DEPTH = 1        # no depth frame for this image
    NO_READINGS = 2     # too few valid depth readings at the person's joints (holes, out of range, off-image)
    AMBIGUOUS = 3       # no single surface got enough of the readings' weight
    INCONSISTENT = 4    # the depth surface is further from the monocular estimate than it can be wrong by


# Joint centre -> camera-facing skin, metres, along the viewing ray: about half the thickness of the body part
# at that joint for an adult (torso ~0.20-0.25 m deep, thigh ~0.14 m, upper arm ~0.09 m, forearm ~0.07 m,
# shin ~0.10 m, head ~0.19 m). The same from the front, the back or the side within ~2-3 cm.
SURFACE_OFFSET_M: dict[str, float] = {
    "thorax": 0.10, "spine": 0.11, "pelvis": 0.10, "r_hip": 0.08, "l_hip": 0.08,
    "r_shoulder": 0.06, "l_shoulder": 0.06, "head": 0.09,
    "r_elbow": 0.04, "l_elbow": 0.04, "r_knee": 0.05, "l_knee": 0.05,
    "r_wrist": 0.03, "l_wrist": 0.03, "r_ankle": 0.04, "l_ankle": 0.04,
}
_TORSO = ("thorax", "spine", "pelvis", "r_hip", "l_hip", "r_shoulder", "l_shoulder")
_LIMB = ("head", "r_elbow", "l_elbow", "r_knee", "l_knee")
_EXTREMITY = ("r_wrist", "l_wrist", "r_ankle", "l_ankle")
# How much a joint's readings count: the nearer the root, the less a wrong root-relative depth of the backend
# (a lean, a front/back confusion) moves the estimate, and the more often a reading hits the body itself.
_WEIGHT = {"pelvis": 1.0, "r_hip": 1.0, "l_hip": 1.0, "spine": 1.0, "thorax": 0.6, "r_shoulder": 0.5,
           "l_shoulder": 0.5, "head": 0.3, "r_elbow": 0.25, "l_elbow": 0.25, "r_knee": 0.25, "l_knee": 0.25,
           "r_wrist": 0.1, "l_wrist": 0.1, "r_ankle": 0.1, "l_ankle": 0.1}
# (a, b, offset, weight) for samples inside the torso, between its joints (interior points only). Samples along
# the limbs are not taken: a limb is a few pixels wide at a distance and its readings were mostly background
# or another body part (measured on rendered people with the embedded backend's 2D joints).
_SEGMENTS: tuple[tuple[str, str, float, float], ...] = (
    ("thorax", "spine", 0.11, 0.6), ("spine", "pelvis", 0.11, 1.0),
    ("r_shoulder", "l_hip", 0.10, 0.6), ("l_shoulder", "r_hip", 0.10, 0.6), ("r_hip", "l_hip", 0.10, 1.0),
)


@dataclass(frozen=True)
class DepthConfig:
    """Settings of the depth correction.

    Attributes:
        min_depth_m, max_depth_m: readings outside this range count as no reading (metres).
        min_confidence: joints below this confidence (0..1) are not sampled.
        window_m: half-size of the window read around each sample, metres at the person (converted to depth
            pixels with the depth focal length; at least 1 px, at most `max_window_px`).
        max_window_px: largest window half-size, depth pixels.
        bone_samples: interior samples per torso segment (spine, hips, diagonals).
        min_readings: fewest valid readings in the chosen surface for a correction.
        min_support: least fraction of the valid readings' weight the chosen surface must hold.
        bandwidth_m, bandwidth_per_m2: kernel bandwidth of the residual density, h = a + b z^2 (metres; the
            z^2 term follows the noise of stereo and structured-light sensors).
        prior_sigma_m, prior_sigma_rel: the monocular depth error the prior allows, sigma = a + b z (metres).
        max_shift_m, max_shift_rel: a correction larger than a + b z is inconsistent (falls back).
        occluder_margin_px: 2D half-width of another person's body, as a fraction of their limb width, in
            which this person's readings are dropped when that person is nearer.
        anchor_2d: a corrected person is placed with their root on the ray of the backend's 2D pelvis (when
            confident) rather than on the ray of the monocular 3D root: with the depth known, the 2D
            observation fixes x and y (on rendered people with the embedded backend: 37 vs 50 mm median
            lateral error at the true depth).
        contested_support: when a surface behind the chosen one also holds readings and the chosen one holds
            less than this fraction of the readings' weight, neither is trusted (AMBIGUOUS): the chosen one may
            be an occluder (0 = off).
    """

    min_depth_m: float = 0.2
    max_depth_m: float = 20.0
    min_confidence: float = 0.4
    window_m: float = 0.02
    max_window_px: int = 3
    bone_samples: int = 2
    min_readings: int = 10
    min_support: float = 0.3
    bandwidth_m: float = 0.05
    bandwidth_per_m2: float = 0.003
    prior_sigma_m: float = 0.15
    prior_sigma_rel: float = 0.10
    max_shift_m: float = 0.6
    max_shift_rel: float = 0.25
    occluder_margin_px: float = 1.0
    anchor_2d: bool = True
    contested_support: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.min_depth_m < self.max_depth_m:
            raise ValueError("need 0 < min_depth_m < max_depth_m")
        if not 0 <= self.min_support <= 1 or not 0 <= self.min_confidence <= 1:
            raise ValueError("min_support and min_confidence must be in 0..1")
        if self.bandwidth_m <= 0 or self.prior_sigma_m <= 0 or self.max_shift_m <= 0:
            raise ValueError("bandwidth_m, prior_sigma_m and max_shift_m must be positive")


@dataclass
class DepthCorrection:
    """Depth correction of every person in one frame.

    Attributes:
        joints_cam_mm: (n, 17, 3) joints after correction (the input unchanged where not corrected), mm.
        corrected: (n,) bool, True where the root now comes from depth.
        status: (n,) DepthStatus per person.
        shift_mm: (n,) change of the root depth (z), mm; 0 where not corrected.
        readings: (n,) valid depth readings used (in the chosen surface) per person.
        support: (n,) fraction of the valid readings' weight in the chosen surface (0 when none).
    """

    joints_cam_mm: np.ndarray
    corrected: np.ndarray
    status: list[DepthStatus]
    shift_mm: np.ndarray
    readings: np.ndarray
    support: np.ndarray


def _index(names: tuple[str, ...]) -> np.ndarray:
    return np.array([MUPOTS17.index(n) for n in names], dtype=np.intp)


_JOINT_IDX = _index(_TORSO + _LIMB + _EXTREMITY)
_JOINT_OFFSET = np.array([SURFACE_OFFSET_M[n] for n in _TORSO + _LIMB + _EXTREMITY])
_JOINT_WEIGHT = np.array([_WEIGHT[n] for n in _TORSO + _LIMB + _EXTREMITY])
_JOINT_TORSO = np.array([True] * len(_TORSO) + [False] * (len(_LIMB) + len(_EXTREMITY)))
_SEG_A = _index(tuple(s[0] for s in _SEGMENTS))
_SEG_B = _index(tuple(s[1] for s in _SEGMENTS))
_SEG_OFFSET = np.array([s[2] for s in _SEGMENTS])
_SEG_TORSO = np.ones(len(_SEGMENTS), bool)
_SEG_WEIGHT = np.array([s[3] for s in _SEGMENTS])


# The body the prediction of each reading assumes: (joint a, joint b, radius m) capsules of a generic adult
# around the monocular pose (spheres where a == b). With it a sample's expected reading follows the view:
# a torso seen from the side is wider than from the front, and a far shoulder hidden by the near one expects
# the near one's surface.
BODY_CAPSULES: tuple[tuple[str, str, float], ...] = (
    ("head", "head", 0.095), ("thorax", "pelvis", 0.12), ("r_shoulder", "l_shoulder", 0.06),
    ("r_hip", "l_hip", 0.085), ("r_shoulder", "r_hip", 0.08), ("l_shoulder", "l_hip", 0.08),
    ("r_shoulder", "r_elbow", 0.045), ("r_elbow", "r_wrist", 0.035),
    ("l_shoulder", "l_elbow", 0.045), ("l_elbow", "l_wrist", 0.035),
    ("r_hip", "r_knee", 0.07), ("r_knee", "r_ankle", 0.05), ("l_hip", "l_knee", 0.07), ("l_knee", "l_ankle", 0.05),
)


def ray_capsule_hit(ro: np.ndarray, rd: np.ndarray, a: np.ndarray, b: np.ndarray, r: float) -> np.ndarray:
    """Ray parameter t of the first hit of rays ``ro + t rd`` with the capsule a-b of radius r (a sphere when
    a == b); inf where a ray misses or the hit is behind its origin.

    Args:
        ro: (3,) common origin; rd: (N, 3) unit directions; a, b: (3,) segment ends; r: radius (same unit).
    Returns:
        (N,) float64.
    """
    ro, rd = np.asarray(ro, np.float64), np.asarray(rd, np.float64).reshape(-1, 3)
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    t_out = np.full(len(rd), np.inf)
    ba = b - a
    baba = float(ba @ ba)
    candidates = [a] if baba < 1e-12 else [a, b]
    if baba >= 1e-12:
        oa = ro - a
        bard = rd @ ba
        baoa = float(ba @ oa)
        qa = baba - bard * bard
        qb = baba * (rd @ oa) - baoa * bard
        qc = baba * float(oa @ oa) - baoa * baoa - r * r * baba
        h = qb * qb - qa * qc
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (-qb - np.sqrt(np.maximum(h, 0.0))) / qa
        y = baoa + t * bard
        body = (h >= 0) & (qa > 1e-12) & (y > 0) & (y < baba) & (t > 0)
        t_out[body] = t[body]
    for centre in candidates:  # end caps (or the sphere)
        oc = ro - centre
        bq = rd @ oc
        hh = bq * bq - (float(oc @ oc) - r * r)
        tc = -bq - np.sqrt(np.maximum(hh, 0.0))
        t_out = np.minimum(t_out, np.where((hh >= 0) & (tc > 0), tc, np.inf))
    return t_out


_CAPSULE_IDX = [(MUPOTS17.index(a), MUPOTS17.index(b)) for a, b, _ in BODY_CAPSULES]


_CAPSULE_R = np.array([c[2] for c in BODY_CAPSULES])


def _predicted_t(ro: np.ndarray, rd: np.ndarray, joints_m: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """(N,) ray parameter of the first hit with the generic body around `joints_m`; inf where none.

    All capsules at once (the same algebra as `ray_capsule_hit`, vectorised over capsules)."""
    idx = np.array([k for k, (ia, ib) in enumerate(_CAPSULE_IDX) if usable[ia] and usable[ib]], dtype=np.intp)
    if idx.size == 0 or len(rd) == 0:
        return np.full(len(rd), np.inf)
    ia = np.array([_CAPSULE_IDX[k][0] for k in idx])
    ib = np.array([_CAPSULE_IDX[k][1] for k in idx])
    a, b, r = joints_m[ia], joints_m[ib], _CAPSULE_R[idx]  # (C, 3), (C, 3), (C,)
    ba = b - a
    oa = ro[None] - a
    baba = np.sum(ba * ba, axis=1)  # (C,)
    bard = ba @ rd.T  # (C, N)
    baoa = np.sum(ba * oa, axis=1)[:, None]
    rdoa = oa @ rd.T
    qa = baba[:, None] - bard * bard
    qb = baba[:, None] * rdoa - baoa * bard
    qc = (baba * np.sum(oa * oa, axis=1) - baoa[:, 0] ** 2 - r * r * baba)[:, None]
    h = qb * qb - qa * qc
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (-qb - np.sqrt(np.maximum(h, 0.0))) / qa
    y = baoa + t * bard
    body = (h >= 0) & (qa > 1e-12) & (y > 0) & (y < baba[:, None]) & (t > 0)
    best = np.where(body, t, np.inf)
    for centre in (a, b):  # end caps (spheres where a == b)
        oc = ro[None] - centre
        bq = oc @ rd.T
        hh = bq * bq - (np.sum(oc * oc, axis=1) - r * r)[:, None]
        tc = -bq - np.sqrt(np.maximum(hh, 0.0))
        best = np.minimum(best, np.where((hh >= 0) & (tc > 0), tc, np.inf))
    return best.min(axis=0)


@dataclass
class _Samples:
    uv: np.ndarray       # (S, 2) colour pixels
    point_m: np.ndarray  # (S, 3) monocular 3D, colour frame, metres
    offset_m: np.ndarray  # (S,)
    weight: np.ndarray   # (S,)
    torso: np.ndarray    # (S,) bool


def _person_samples(joints_m: np.ndarray, uv: np.ndarray, conf: np.ndarray, cfg: DepthConfig) -> _Samples:
    ok = np.all(np.isfinite(joints_m), axis=1) & np.all(np.isfinite(uv), axis=1) & (conf >= cfg.min_confidence)
    j = _JOINT_IDX[ok[_JOINT_IDX]]
    sel = ok[_JOINT_IDX]
    parts_uv = [uv[j]]
    parts_p = [joints_m[j]]
    parts_off = [_JOINT_OFFSET[sel]]
    parts_w = [_JOINT_WEIGHT[sel] * conf[j]]
    parts_t = [_JOINT_TORSO[sel]]
    seg = ok[_SEG_A] & ok[_SEG_B]
    if cfg.bone_samples > 0 and np.any(seg):
        a, b = _SEG_A[seg], _SEG_B[seg]
        f = (np.arange(cfg.bone_samples) + 1.0) / (cfg.bone_samples + 1.0)  # (K,)
        w = (np.minimum(conf[a], conf[b]) * _SEG_WEIGHT[seg])[:, None].repeat(len(f), 1)
        parts_uv.append((uv[a][:, None] * (1 - f)[None, :, None] + uv[b][:, None] * f[None, :, None]).reshape(-1, 2))
        parts_p.append((joints_m[a][:, None] * (1 - f)[None, :, None]
                        + joints_m[b][:, None] * f[None, :, None]).reshape(-1, 3))
        parts_off.append(np.repeat(_SEG_OFFSET[seg], len(f)))
        parts_w.append(w.reshape(-1))
        parts_t.append(np.repeat(_SEG_TORSO[seg], len(f)))
    return _Samples(np.concatenate(parts_uv), np.concatenate(parts_p), np.concatenate(parts_off),
                    np.concatenate(parts_w), np.concatenate(parts_t))


def _segment_distance_px(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(P,) smallest 2D distance from each point to any of the segments a[k]-b[k] (pixels)."""
    ab = b - a  # (K, 2)
    ap = points[:, None, :] - a[None]  # (P, K, 2)
    denom = np.maximum(np.sum(ab * ab, axis=1), 1e-12)
    t = np.clip(np.sum(ap * ab[None], axis=2) / denom[None], 0.0, 1.0)
    closest = a[None] + t[..., None] * ab[None]
    return np.min(np.linalg.norm(points[:, None, :] - closest, axis=2), axis=1)


def _inside_person_px(points: np.ndarray, joints_m: np.ndarray, uv: np.ndarray, conf: np.ndarray,
                      fx: float, cfg: DepthConfig) -> np.ndarray:
    """(P,) True where a colour pixel lies on another person's 2D body (bones widened to the body part's
    projected thickness)."""
    ok = np.all(np.isfinite(uv), axis=1) & np.all(np.isfinite(joints_m), axis=1) & (conf >= cfg.min_confidence)
    bones = [(a, b) for a, b in MUPOTS17.bones if ok[a] and ok[b]]
    inside = np.zeros(len(points), bool)
    if not bones or not len(points):
        return inside
    z = float(np.median(joints_m[ok, 2]))
    if not z > 0:
        return inside
    a = np.array([uv[i] for i, _ in bones])
    b = np.array([uv[k] for _, k in bones])
    torso = np.array([MUPOTS17.joint_names[i] in _TORSO and MUPOTS17.joint_names[k] in _TORSO
                      for i, k in bones])
    for mask, half_m in ((torso, 0.17), (~torso, 0.07)):
        if np.any(mask):
            r = cfg.occluder_margin_px * half_m * fx / z
            inside |= _segment_distance_px(points, a[mask], b[mask]) <= r
    return inside


def _read(depth: DepthFrame, samples: _Samples, shift_z: float, joints_m: np.ndarray, usable: np.ndarray,
          colour: Intrinsics, cfg: DepthConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Valid readings around every sample, for the person moved by `shift_z` (metres) along the root ray.

    Returns (residual_m, weight, torso) per reading. residual = measured depth - the depth the generic body
    around the moved monocular pose predicts on the same ray + `shift_z`, i.e. how far the unmoved person
    must move in depth for this reading (colour camera z, metres). A ray that misses the predicted body
    expects the sample's own point, `offset_m` in front of it.
    """
    cam = depth.camera
    di = cam.intrinsics
    if len(samples.uv) == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0, bool)
    root_m = joints_m[MUPOTS17.root]
    scale = (root_m[2] + shift_z) / root_m[2]
    shift_xyz = root_m * (scale - 1.0)
    moved = samples.point_m + shift_xyz
    z_guess = np.maximum(moved[:, 2], 1e-3)
    # colour pixel -> ray -> point at the guessed depth -> depth camera pixel
    x = (samples.uv[:, 0] - colour.cx) / colour.fx
    y = (samples.uv[:, 1] - colour.cy) / colour.fy
    p_colour = np.stack([x * z_guess, y * z_guess, z_guess], axis=1)
    p_depth = p_colour @ cam.rotation.T + cam.translation_m
    front = p_depth[:, 2] > 1e-3
    zd = np.where(front, p_depth[:, 2], 1.0)
    ud = np.where(front, p_depth[:, 0] / zd * di.fx + di.cx, -1e9)
    vd = np.where(front, p_depth[:, 1] / zd * di.fy + di.cy, -1e9)
    radius = int(np.clip(round(cfg.window_m * di.fx / max(float(np.median(z_guess)), 1e-3)), 1, cfg.max_window_px))
    offs = np.arange(-radius, radius + 1)
    du, dv = np.meshgrid(offs, offs)
    cu = np.rint(ud).astype(np.int64)[:, None] + du.reshape(-1)[None]  # (S, Wn)
    cv = np.rint(vd).astype(np.int64)[:, None] + dv.reshape(-1)[None]
    inside = (cu >= 0) & (cu < cam.width) & (cv >= 0) & (cv < cam.height)
    d = np.full(cu.shape, np.nan, np.float64)
    d[inside] = depth.depth_m[cv[inside], cu[inside]]
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(d) & (d >= cfg.min_depth_m) & (d <= cfg.max_depth_m)
    if not np.any(valid):
        return np.zeros(0), np.zeros(0), np.zeros(0, bool)
    sample_of = np.nonzero(valid)[0]
    pu, pv, dd = cu[valid].astype(np.float64), cv[valid].astype(np.float64), d[valid]
    ray_depth = np.stack([(pu - di.cx) / di.fx, (pv - di.cy) / di.fy, np.ones_like(pu)], axis=1)  # z = 1
    origin = -(cam.rotation.T @ cam.translation_m)  # depth camera centre, colour frame
    ray_colour = ray_depth @ cam.rotation  # R^T d, still scaled so that the depth frame's z is 1
    measured = origin[2] + dd * ray_colour[:, 2]  # colour-frame z of the measured surface point
    # The predicted surface, once per sample on the ray through its window's centre (it changes little
    # across a window of a few pixels, and this is 9-49 times fewer ray casts).
    centre = np.stack([(np.rint(ud) - di.cx) / di.fx, (np.rint(vd) - di.cy) / di.fy, np.ones(len(ud))], 1)
    centre = centre @ cam.rotation
    norm = np.linalg.norm(centre, axis=1)
    t_pred = _predicted_t(origin, centre / norm[:, None], joints_m + shift_xyz, usable) / norm  # in units of d
    pred_sample = np.where(np.isfinite(t_pred) & front, origin[2] + t_pred * centre[:, 2],
                           moved[:, 2] - samples.offset_m)
    predicted = pred_sample[sample_of]
    count = np.maximum(valid.sum(axis=1), 1)
    w = (samples.weight / count)[sample_of]
    return measured - predicted + shift_z, w, samples.torso[sample_of]


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    v, w = values[order], weights[order]
    c = np.cumsum(w)
    return float(v[np.searchsorted(c, 0.5 * c[-1])])


def _to_depth_px(uv: np.ndarray, z_m: np.ndarray, colour: Intrinsics,
                 cam: DepthCamera) -> tuple[np.ndarray, np.ndarray]:
    """Colour pixels (S, 2) of points at colour-frame depths z_m (S,) -> depth image pixels (u, v), -1e9 behind."""
    p = np.stack([(uv[:, 0] - colour.cx) / colour.fx * z_m, (uv[:, 1] - colour.cy) / colour.fy * z_m, z_m], axis=1)
    p = p @ cam.rotation.T + cam.translation_m
    front = p[:, 2] > 1e-3
    zd = np.where(front, p[:, 2], 1.0)
    di = cam.intrinsics
    return (np.where(front, p[:, 0] / zd * di.fx + di.cx, -1e9), np.where(front, p[:, 1] / zd * di.fy + di.cy, -1e9))


def _surface_extends_outside(depth: DepthFrame, joints_m: np.ndarray, uv: np.ndarray, conf: np.ndarray,
                             colour: Intrinsics, surface_z: float, tol_m: float, cfg: DepthConfig) -> bool:
    """Whether a surface at depth `surface_z` also lies beside the person, 0.25 m (at that depth) beyond the
    horizontal extent of their confident 2D joints, at the height of their torso joints. A person's own
    surface ends at their outline; an occluder (a counter, a car, someone undetected) usually does not."""
    ok = np.all(np.isfinite(uv), axis=1) & np.all(np.isfinite(joints_m), axis=1) & (conf >= cfg.min_confidence)
    torso = ok & np.isin(np.arange(len(uv)), _index(_TORSO))
    if not np.any(torso) or surface_z <= 0:
        return False
    margin = 0.25 * colour.fx / surface_z
    x0, x1 = uv[ok, 0].min() - margin, uv[ok, 0].max() + margin
    rows = uv[torso, 1]
    pts = np.concatenate([np.stack([np.full_like(rows, x0), rows], 1), np.stack([np.full_like(rows, x1), rows], 1)])
    ud, vd = _to_depth_px(pts, np.full(len(pts), surface_z), colour, depth.camera)
    cu, cv = np.rint(ud).astype(np.int64), np.rint(vd).astype(np.int64)
    h, w = depth.depth_m.shape
    hits = total = 0
    for u, v in zip(cu, cv):
        if 1 <= u < w - 1 and 1 <= v < h - 1:
            win = depth.depth_m[v - 1:v + 2, u - 1:u + 2]
            win = win[np.isfinite(win)]
            if win.size:
                total += 1
                hits += int(abs(float(np.median(win)) - surface_z) <= tol_m)
    return total >= 4 and hits >= 0.5 * total


def _choose_surface(resid: np.ndarray, w: np.ndarray, torso: np.ndarray, z0: float, cfg: DepthConfig,
                    extends=None) -> tuple[float, float, int] | None:
    """(shift_m, support, readings) of the person's own surface among the residuals, None if there is none.

    `extends(shift_m) -> bool` (optional) says whether the surface of a candidate shift continues beside the
    person: when the best-scoring surface does and a farther one with a tenth of its score does not, the
    farther one is the person and the nearer one an occluder."""
    h = cfg.bandwidth_m + cfg.bandwidth_per_m2 * z0 * z0
    sigma = cfg.prior_sigma_m + cfg.prior_sigma_rel * z0
    limit = cfg.max_shift_m + cfg.max_shift_rel * z0
    span = limit + 3 * h
    keep = np.abs(resid) <= span
    resid, w, torso = resid[keep], w[keep], torso[keep]
    if resid.size == 0:
        return None
    step = h / 8
    grid = np.arange(-span, span + step, step)
    # torso readings count double: the middle of the body is where a reading is least likely to be background
    # Binned kernel density: readings spread linearly onto the grid, then a Gaussian of sigma h (O(G + R)).
    pos = np.clip((resid + span) / step, 0, len(grid) - 1.000001)
    lo = np.floor(pos).astype(np.intp)
    frac = pos - lo
    wt = w * np.where(torso, 2.0, 1.0)
    hist = np.bincount(lo, wt * (1 - frac), len(grid)) + np.bincount(lo + 1, wt * frac, len(grid) + 1)[:len(grid)]
    taps = np.arange(-32, 33)
    density = np.convolve(hist, np.exp(-0.5 * (taps / 8.0) ** 2), mode="same")
    score = density * np.exp(-0.5 * (grid / sigma) ** 2)
    best = int(np.argmax(score))
    mode = float(grid[best])
    if extends is not None:
        peaks = [g for g in range(1, len(grid) - 1) if score[g] >= score[g - 1] and score[g] > score[g + 1]]
        farther = [g for g in peaks if grid[g] > mode + 3 * h and score[g] >= 0.1 * score[best]]
        if farther and extends(mode):
            for g in sorted(farther, key=lambda g: -score[g]):
                if not extends(float(grid[g])):
                    mode = float(grid[g])
                    break
    near = np.abs(resid - mode) <= 2.0 * h
    if not np.any(near):
        return None
    shift = _weighted_median(resid[near], w[near])
    support = float(w[near].sum() / w.sum())
    if cfg.contested_support > 0 and support < cfg.contested_support:
        # a surface behind the chosen one also holds readings: if the chosen one were an occluder, the person
        # would be that one; without a clear majority, neither is trusted (the person stays monocular)
        peaks = [g for g in range(1, len(grid) - 1) if score[g] >= score[g - 1] and score[g] > score[g + 1]]
        if any(grid[g] > mode + 3 * h and score[g] >= 0.1 * score[best] for g in peaks):
            support = 0.0
    return shift, support, int(near.sum())


def correct_people(joints_cam_mm: np.ndarray, joints_2d: np.ndarray, joint_confidence: np.ndarray,
                   intrinsics: Intrinsics, depth: DepthFrame | None, config: DepthConfig | None = None
                   ) -> DepthCorrection:
    """Correct every person's absolute position with a depth image (see the module docstring).

    Args:
        joints_cam_mm: (n, 17, 3) monocular absolute joints, colour camera optical frame, millimetres.
        joints_2d: (n, 17, 2) the backend's 2D joints, colour image pixels.
        joint_confidence: (n, 17) 0..1.
        intrinsics: the colour image's intrinsics.
        depth: the depth frame paired with the colour image, or None (every person keeps the monocular root,
            status NO_DEPTH).
        config: settings (defaults: `DepthConfig()`).
    Returns:
        DepthCorrection; a corrected person moved along the ray through their root, pose unchanged.
    """
    cfg = config or DepthConfig()
    joints = np.asarray(joints_cam_mm, dtype=np.float64).reshape(-1, MUPOTS17.num_joints, 3)
    n = len(joints)
    uv = np.asarray(joints_2d, dtype=np.float64).reshape(n, MUPOTS17.num_joints, 2)
    conf = np.nan_to_num(np.asarray(joint_confidence, dtype=np.float64).reshape(n, MUPOTS17.num_joints))
    out = joints.copy()
    corrected = np.zeros(n, bool)
    shift_mm = np.zeros(n)
    readings = np.zeros(n, np.int64)
    support = np.zeros(n)
    if depth is None:
        return DepthCorrection(out, corrected, [DepthStatus.NO_DEPTH] * n, shift_mm, readings, support)
    status = [DepthStatus.NO_READINGS] * n
    joints_m = joints / 1000.0
    root = MUPOTS17.root
    # nearest first, so that people in front are corrected before those they may hide
    order = np.argsort([j[root, 2] if np.isfinite(j[root, 2]) else np.inf for j in joints_m])
    current_z = joints_m[:, root, 2].copy()
    for i in order:
        r = joints_m[i, root]
        if not (np.all(np.isfinite(r)) and r[2] > 0):
            continue
        samples = _person_samples(joints_m[i], uv[i], conf[i], cfg)
        if len(samples.uv):
            hidden = np.zeros(len(samples.uv), bool)
            for k in range(n):
                if k != i and np.isfinite(current_z[k]) and current_z[k] < current_z[i]:
                    hidden |= _inside_person_px(samples.uv, joints_m[k], uv[k], conf[k], intrinsics.fx, cfg)
            samples = _Samples(samples.uv[~hidden], samples.point_m[~hidden], samples.offset_m[~hidden],
                               samples.weight[~hidden], samples.torso[~hidden])
        usable = np.all(np.isfinite(joints_m[i]), axis=1) & np.all(np.isfinite(uv[i]), axis=1)
        shift = 0.0
        chosen = None
        for _ in range(2):  # the prediction and (unless the cameras are co-located) the pixels depend on depth
            resid, w, torso = _read(depth, samples, shift, joints_m[i], usable, intrinsics, cfg)
            if resid.size < cfg.min_readings:
                chosen = None
                break
            def extends(shift_m: float, i: int = i, r: np.ndarray = r) -> bool:
                h = cfg.bandwidth_m + cfg.bandwidth_per_m2 * r[2] ** 2
                return _surface_extends_outside(depth, joints_m[i], uv[i], conf[i], intrinsics,
                                                float(r[2] + shift_m - 0.1), max(2 * h, 0.15), cfg)

            chosen = _choose_surface(resid, w, torso, float(r[2]), cfg, extends)
            if chosen is None:
                status[i] = DepthStatus.INCONSISTENT
                break
            shift = chosen[0]
        if resid.size < cfg.min_readings:
            status[i] = DepthStatus.NO_READINGS
            continue
        if chosen is None:
            continue
        shift, sup, count = chosen
        readings[i], support[i] = count, sup
        if abs(shift) > cfg.max_shift_m + cfg.max_shift_rel * r[2]:
            status[i] = DepthStatus.INCONSISTENT
            continue
        if count < cfg.min_readings or sup < cfg.min_support:
            status[i] = DepthStatus.AMBIGUOUS
            continue
        new_root = r * ((r[2] + shift) / r[2])  # along the ray through the monocular root
        if cfg.anchor_2d and conf[i, root] >= cfg.min_confidence and np.all(np.isfinite(uv[i, root])):
            new_root = intrinsics.back_project(uv[i, root], r[2] + shift)  # on the ray of the 2D pelvis
        out[i] = joints[i] + (new_root - r) * 1000.0
        corrected[i] = True
        shift_mm[i] = shift * 1000.0
        status[i] = DepthStatus.CORRECTED
        current_z[i] = r[2] + shift
    return DepthCorrection(out, corrected, status, shift_mm, readings, support)
