"""Per-person TF frames from 3D joints (numpy only; no torch, no rclpy).

Each tracked person gets a body frame as REP-155 (ROS4HRI) defines it:

- name ``body_<id>``, parent = the image's optical frame (REP-103: x right, y down, z forward);
- origin at the mid-point of the two hips;
- z up along the spine (mid-hips -> thorax), y to the person's left (right hip -> left hip, made
  orthogonal to z), x = y cross z forward, out of the chest. Right-handed.

Optionally every joint gets a frame ``<joint name>_<id>`` (e.g. ``l_wrist_3``), child of ``body_<id>``, at the
joint's position with the body frame's axes (17 points give no twist about a limb, so no limb orientation is
invented).

A person without a usable body frame (hips or thorax missing / non-finite, hips on the spine line, or id 0
meaning tracking is off) gets no frame: a frame that jumps between people or sits at the origin would
mislead a planner more than a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pinet_ros.core.result import FrameResult
from pinet_ros.core.skeleton import MUPOTS17, JointSet

__all__ = ["Transform", "body_axes", "body_frame_name", "frames_for_result", "joint_frame_name",
           "rotation_to_quaternion"]

_MIN_LENGTH_M = 1e-3  # shorter hip or spine vectors (metres) give no frame
_MIN_SIN = 0.1        # hips closer than ~6 degrees to the spine line give no frame


@dataclass(frozen=True)
class Transform:
    """One TF transform: `child` expressed in `parent`.

    Attributes:
        parent, child: frame ids.
        stamp_ns: integer nanoseconds.
        translation_m: (3,) child origin in parent coordinates, metres.
        rotation_xyzw: (4,) unit quaternion (x, y, z, w) rotating child axes into parent axes, w >= 0.
    """

    parent: str
    child: str
    stamp_ns: int
    translation_m: np.ndarray
    rotation_xyzw: np.ndarray


def body_frame_name(person_id: int) -> str:
    """``body_<id>``."""
    return f"body_{int(person_id)}"


def joint_frame_name(joint_name: str, person_id: int) -> str:
    """``<joint>_<id>``, e.g. ``l_wrist_3``."""
    return f"{joint_name}_{int(person_id)}"


def body_axes(joints_m: np.ndarray, joint_set: JointSet = MUPOTS17) -> tuple[np.ndarray, np.ndarray] | None:
    """Origin and axes of the REP-155 body frame of one person.

    Args:
        joints_m: (J, 3) joints in the camera optical frame, metres, `joint_set` order.
    Returns:
        (origin (3,), rotation (3, 3)) whose columns are the body x (forward), y (left), z (up) axes in
        camera coordinates; None when the hips or the thorax are missing or degenerate.
    """
    j = np.asarray(joints_m, dtype=np.float64).reshape(-1, 3)
    r_hip, l_hip, thorax = (j[joint_set.index(n)] for n in ("r_hip", "l_hip", "thorax"))
    if not (np.all(np.isfinite(r_hip)) and np.all(np.isfinite(l_hip)) and np.all(np.isfinite(thorax))):
        return None
    origin = 0.5 * (r_hip + l_hip)
    up = thorax - origin
    left = l_hip - r_hip
    nu, nl = np.linalg.norm(up), np.linalg.norm(left)
    if nu < _MIN_LENGTH_M or nl < _MIN_LENGTH_M:
        return None
    z = up / nu
    left = left / nl
    y = left - np.dot(left, z) * z
    ny = np.linalg.norm(y)
    if ny < _MIN_SIN:
        return None
    y /= ny
    x = np.cross(y, z)
    return origin, np.stack([x, y, z], axis=1)


def rotation_to_quaternion(rotation: np.ndarray) -> np.ndarray:
    """(3, 3) rotation matrix -> (x, y, z, w) unit quaternion with w >= 0 (Shepperd's method)."""
    m = np.asarray(rotation, dtype=np.float64)
    tr = m[0, 0] + m[1, 1] + m[2, 2]
    if tr > 0:
        s = 2.0 * np.sqrt(tr + 1.0)
        q = np.array([(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s])
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = np.array([0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s, (m[2, 1] - m[1, 2]) / s])
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = np.array([(m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s, (m[0, 2] - m[2, 0]) / s])
    else:
        s = 2.0 * np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = np.array([(m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s, (m[1, 0] - m[0, 1]) / s])
    q /= np.linalg.norm(q)
    return -q if q[3] < 0 else q


def frames_for_result(result: FrameResult, joints: bool = False) -> list[Transform]:
    """Every TF transform for one frame: per tracked person (id > 0) with a usable body frame, ``body_<id>``
    in `result.frame_id`, then (when `joints`) one ``<joint>_<id>`` per finite refined joint in ``body_<id>``.
    All at the image stamp. People absent from `result` get nothing, and so does an image without a frame id
    (TF has no frame to hang them on)."""
    out: list[Transform] = []
    if not str(result.frame_id).strip("/"):
        return out
    names = result.joint_set.joint_names
    identity = np.array([0.0, 0.0, 0.0, 1.0])
    for p in result.persons:
        if int(p.id) <= 0:
            continue
        axes = body_axes(p.joints_m, result.joint_set)
        if axes is None:
            continue
        origin, rot = axes
        body = body_frame_name(p.id)
        out.append(Transform(result.frame_id, body, int(result.stamp_ns), origin, rotation_to_quaternion(rot)))
        if not joints:
            continue
        j = np.asarray(p.joints_m, dtype=np.float64).reshape(-1, 3)
        local = (j - origin) @ rot  # camera -> body coordinates: R^T (p - o)
        for k, name in enumerate(names):
            if np.all(np.isfinite(local[k])):
                out.append(Transform(body, joint_frame_name(name, p.id), int(result.stamp_ns), local[k], identity))
    return out
