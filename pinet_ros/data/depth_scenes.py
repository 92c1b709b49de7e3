"""Depth images of people with exact 3D ground truth, rasterised from skeletons (numpy only).

Used by `pinet-ros bench depth` and the tests of `pinet_ros.core.depth` when the rendered benchmark
(`pinet-ros render`, meshes through pyrender) is not at hand. A person is a union of capsules along the
17-joint skeleton (torso, neck, head, upper/lower arms and legs, radii of an adult scaled per person), standing
on a floor plane in front of a wall; occluders are boxes standing on the floor. Every pixel's ray is
intersected exactly with every capsule, box and plane, in any camera given as intrinsics + a rigid transform
from the colour camera, so depth images of another size, field of view or position are rendered from the same
scene.

Sensor noise model (`SensorNoise`), as stereo and structured-light cameras behave:
- per-pixel Gaussian depth error sigma = k z^2 (k = 0.0025 / m: ~ a RealSense D435 at 848x480, 10 mm at 2 m,
  40 mm at 4 m, 90 mm at 6 m; a Kinect v1 is about half that);
- holes (no reading) on depth edges: every pixel whose 4-neighbour is more than 0.1 m nearer or farther, grown
  by one pixel with probability 0.5 (where stereo matching and structured-light decoding fail);
- 1 % of the remaining pixels dropped at random, nothing beyond `max_range_m` (10 m);
- quantised to millimetres (16UC1).
Not modelled: the stereo shadow beside foreground edges, multipath, sunlight, correlated (wavy) error.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from pinet_ros.core.camera import Intrinsics
from pinet_ros.core.depth import ray_capsule_hit
from pinet_ros.core.skeleton import MUPOTS17

__all__ = ["Box", "Scene", "SensorNoise", "add_sensor_noise", "body_capsules", "joint_visibility", "render_depth"]

_J = {n: i for i, n in enumerate(MUPOTS17.joint_names)}
# (joint a, joint b, radius m) of an adult; spheres where a == b
_CAPSULES: tuple[tuple[str, str, float], ...] = (
    ("head", "head", 0.10), ("head", "thorax", 0.055),
    ("thorax", "spine", 0.12), ("spine", "pelvis", 0.12),
    ("r_shoulder", "l_shoulder", 0.065), ("r_hip", "l_hip", 0.09),
    ("r_shoulder", "r_hip", 0.085), ("l_shoulder", "l_hip", 0.085),
    ("r_shoulder", "r_elbow", 0.045), ("r_elbow", "r_wrist", 0.035), ("r_wrist", "r_wrist", 0.045),
    ("l_shoulder", "l_elbow", 0.045), ("l_elbow", "l_wrist", 0.035), ("l_wrist", "l_wrist", 0.045),
    ("r_hip", "r_knee", 0.07), ("r_knee", "r_ankle", 0.05), ("r_ankle", "r_ankle", 0.05),
    ("l_hip", "l_knee", 0.07), ("l_knee", "l_ankle", 0.05), ("l_ankle", "l_ankle", 0.05),
)


def body_capsules(joints_m: np.ndarray, scale: float = 1.0) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """(a, b, radius) capsules of one person, colour camera frame, metres."""
    j = np.asarray(joints_m, dtype=np.float64)
    return [(j[_J[a]], j[_J[b]], r * scale) for a, b, r in _CAPSULES]


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in the colour camera frame (x right, y down, z forward), metres."""

    lo: tuple[float, float, float]
    hi: tuple[float, float, float]


@dataclass
class Scene:
    """What is in front of the camera.

    Attributes:
        people: list of (17, 3) joints, colour camera frame, metres.
        scales: per-person body size factor (capsule radii), default 1.
        boxes: occluding objects.
        floor_y_m: the floor plane y = floor_y_m (camera height above the floor; y points down); None: no floor.
        wall_z_m: a wall z = wall_z_m; None: none (then nothing beyond the people but the floor).
    """

    people: list[np.ndarray]
    scales: list[float] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)
    floor_y_m: float | None = 1.3
    wall_z_m: float | None = 9.0


@dataclass(frozen=True)
class SensorNoise:
    """See the module docstring. `k_per_m` = 0 and `dropout` = 0 and `edge_holes` False gives exact depth."""

    k_per_m: float = 0.0025
    edge_holes: bool = True
    edge_jump_m: float = 0.1
    dropout: float = 0.01
    max_range_m: float = 10.0


@functools.lru_cache(maxsize=8)
def _rays(intr: Intrinsics, width: int, height: int) -> np.ndarray:
    """(H, W, 3) unit ray directions of every pixel (read-only, cached per camera)."""
    u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    d = np.stack([(u - intr.cx) / intr.fx, (v - intr.cy) / intr.fy, np.ones_like(u)], axis=-1)
    d = d / np.linalg.norm(d, axis=-1, keepdims=True)  # (H, W, 3) unit, depth camera frame
    d.setflags(write=False)
    return d


def _box_t(ro: np.ndarray, rd: np.ndarray, box: Box) -> np.ndarray:
    lo, hi = np.asarray(box.lo, float), np.asarray(box.hi, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / rd
        t0 = (lo - ro) * inv
        t1 = (hi - ro) * inv
    tmin = np.nanmax(np.minimum(t0, t1), axis=1)
    tmax = np.nanmin(np.maximum(t0, t1), axis=1)
    hit = (tmax >= tmin) & (tmax > 0)
    return np.where(hit, np.maximum(tmin, 0.0), np.inf)


def render_depth(scene: Scene, intrinsics: Intrinsics, width: int, height: int,
                 rotation: np.ndarray | None = None, translation_m: np.ndarray | None = None,
                 noise: SensorNoise | None = None, rng: np.random.Generator | None = None) -> np.ndarray:
    """Depth image of `scene` seen by a camera with `intrinsics` and size, at p_cam = R p_colour + t.

    Returns:
        (height, width) float32 metres along the camera's z, NaN = no reading (no surface, a hole, out of
        range). With `noise` None: exact depth.
    """
    R = np.eye(3) if rotation is None else np.asarray(rotation, float)
    t = np.zeros(3) if translation_m is None else np.asarray(translation_m, float)
    rays_cam = _rays(intrinsics, width, height).reshape(-1, 3)
    rd = rays_cam @ R  # R^T d: directions in the colour frame
    ro = -(R.T @ t)  # the camera's centre in the colour frame
    t_hit = np.full(len(rd), np.inf)
    if scene.floor_y_m is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            tf = (scene.floor_y_m - ro[1]) / rd[:, 1]
        t_hit = np.minimum(t_hit, np.where(tf > 0, tf, np.inf))
    if scene.wall_z_m is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            tw = (scene.wall_z_m - ro[2]) / rd[:, 2]
        t_hit = np.minimum(t_hit, np.where(tw > 0, tw, np.inf))
    for box in scene.boxes:
        t_hit = np.minimum(t_hit, _box_t(ro, rd, box))
    scales = list(scene.scales) + [1.0] * (len(scene.people) - len(scene.scales))
    t_img = t_hit.reshape(height, width)
    rd_img = rd.reshape(height, width, 3)
    for joints, s in zip(scene.people, scales):
        for a, b, r in body_capsules(joints, s):
            # only the pixels that can see this capsule: the image box of its bounding sphere
            centre = R @ (0.5 * (a + b)) + t  # camera frame
            radius = 0.5 * np.linalg.norm(b - a) + r
            if centre[2] - radius > 1e-3:
                reach = radius / (centre[2] - radius)
                u0 = int(np.floor(intrinsics.cx + intrinsics.fx * (centre[0] / centre[2] - reach))) - 1
                u1 = int(np.ceil(intrinsics.cx + intrinsics.fx * (centre[0] / centre[2] + reach))) + 2
                v0 = int(np.floor(intrinsics.cy + intrinsics.fy * (centre[1] / centre[2] - reach))) - 1
                v1 = int(np.ceil(intrinsics.cy + intrinsics.fy * (centre[1] / centre[2] + reach))) + 2
                u0, u1, v0, v1 = max(u0, 0), min(u1, width), max(v0, 0), min(v1, height)
            else:
                u0, u1, v0, v1 = 0, width, 0, height
            if u1 <= u0 or v1 <= v0:
                continue
            hit = ray_capsule_hit(ro, rd_img[v0:v1, u0:u1].reshape(-1, 3), a, b, r).reshape(v1 - v0, u1 - u0)
            np.minimum(t_img[v0:v1, u0:u1], hit, out=t_img[v0:v1, u0:u1])
    z = (t_hit * rays_cam[:, 2]).reshape(height, width)
    z[~np.isfinite(z)] = np.nan
    if noise is None:
        return z.astype(np.float32)
    return add_sensor_noise(z, noise, rng or np.random.default_rng(0))


def add_sensor_noise(clean_m: np.ndarray, noise: SensorNoise, rng: np.random.Generator) -> np.ndarray:
    """`SensorNoise` applied to an exact depth image (metres, NaN = no surface); returns float32 metres."""
    clean = np.asarray(clean_m, dtype=np.float64)
    z = clean.copy()
    z = z + rng.normal(0.0, 1.0, z.shape) * noise.k_per_m * np.nan_to_num(z) ** 2
    if noise.edge_holes:
        c = np.nan_to_num(clean, nan=1e3)
        edge = np.zeros(z.shape, bool)
        dx = np.abs(np.diff(c, axis=1)) > noise.edge_jump_m
        dy = np.abs(np.diff(c, axis=0)) > noise.edge_jump_m
        edge[:, 1:] |= dx
        edge[:, :-1] |= dx
        edge[1:] |= dy
        edge[:-1] |= dy
        grow = np.zeros_like(edge)
        grow[:, 1:] |= edge[:, :-1]
        grow[:, :-1] |= edge[:, 1:]
        grow[1:] |= edge[:-1]
        grow[:-1] |= edge[1:]
        edge |= grow & (rng.random(z.shape) < 0.5)
        z[edge] = np.nan
    if noise.dropout > 0:
        z[rng.random(z.shape) < noise.dropout] = np.nan
    with np.errstate(invalid="ignore"):
        z[(z > noise.max_range_m) | (z <= 0)] = np.nan
    z = np.rint(z * 1000.0) / 1000.0  # 16UC1 millimetres
    return z.astype(np.float32)


def joint_visibility(joints_m: np.ndarray, clean_depth_m: np.ndarray, intrinsics: Intrinsics,
                     margin_m: float = 0.15) -> np.ndarray:
    """(17,) bool: the joint projects into the image and nothing is more than `margin_m` in front of it
    (the body part's own surface lies within ~0.12 m of its joint)."""
    j = np.asarray(joints_m, dtype=np.float64)
    uv = intrinsics.project(j)
    h, w = clean_depth_m.shape
    u, v = np.rint(uv[:, 0]).astype(int), np.rint(uv[:, 1]).astype(int)
    inside = (u >= 0) & (u < w) & (v >= 0) & (v < h) & (j[:, 2] > 0)
    vis = np.zeros(len(j), bool)
    d = clean_depth_m[v[inside], u[inside]]
    vis[inside] = ~(d < j[inside, 2] - margin_m)
    return vis
