"""Plausibility of a MuPoTS-17 skeleton's bone lengths: which joints to distrust.

A pose model asked about a limb it cannot see (cut by the image border, hidden) still returns a guess; the
guess must not be published as confident when it makes a skeleton no human has. Each bone (parent -> child in
the tree rooted at the pelvis) has a length range in metres, wide enough for children from ~1.1 m and tall
adults (anthropometric segment lengths, e.g. Winter's segment proportions of body height H: upper arm 0.186 H,
forearm 0.146 H, thigh 0.245 H, shank 0.246 H, shoulder width 0.259 H, hip width 0.191 H, with H 1.1-2.1 m
and a margin for where a pose model puts joint centres). The half shoulder and hip widths are only bounded
above: BlazePose's metric landmarks of a person seen side-on put both hips (or shoulders) almost at one
point (measured 0.01 m), which moves no limb. A bone outside its range marks its child joint and
everything beyond it (e.g. an impossible thigh marks knee and ankle); a left/right pair of limb bones whose
lengths differ by more than `max_asymmetry` (both in range) marks the side with the lower confidence from that
bone's child on.
"""

from __future__ import annotations

import numpy as np

from pinet_ros.core.skeleton import MUPOTS17

_J = MUPOTS17.index

#: (parent, child) -> (shortest, longest) plausible length, metres.
BONE_RANGES_M: dict[tuple[str, str], tuple[float, float]] = {
    ("pelvis", "spine"): (0.12, 0.40),
    ("spine", "thorax"): (0.12, 0.40),
    ("thorax", "head"): (0.08, 0.40),
    ("head", "head_top"): (0.04, 0.20),
    ("thorax", "r_shoulder"): (0.0, 0.30),
    ("thorax", "l_shoulder"): (0.0, 0.30),
    ("r_shoulder", "r_elbow"): (0.15, 0.45),
    ("l_shoulder", "l_elbow"): (0.15, 0.45),
    ("r_elbow", "r_wrist"): (0.12, 0.40),
    ("l_elbow", "l_wrist"): (0.12, 0.40),
    ("pelvis", "r_hip"): (0.0, 0.22),
    ("pelvis", "l_hip"): (0.0, 0.22),
    ("r_hip", "r_knee"): (0.22, 0.62),
    ("l_hip", "l_knee"): (0.22, 0.62),
    ("r_knee", "r_ankle"): (0.22, 0.62),
    ("l_knee", "l_ankle"): (0.22, 0.62),
}

#: (right bone, left bone) pairs compared for symmetry.
SYMMETRIC_BONES = ((("r_shoulder", "r_elbow"), ("l_shoulder", "l_elbow")),
                   (("r_elbow", "r_wrist"), ("l_elbow", "l_wrist")),
                   (("r_hip", "r_knee"), ("l_hip", "l_knee")),
                   (("r_knee", "r_ankle"), ("l_knee", "l_ankle")))


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for parent, child in BONE_RANGES_M:
        kids.setdefault(_J(parent), []).append(_J(child))
    return kids


_CHILDREN = _children()


def _subtree(joint: int) -> list[int]:
    """`joint` and every joint beyond it (away from the pelvis)."""
    out, stack = [], [joint]
    while stack:
        j = stack.pop()
        out.append(j)
        stack.extend(_CHILDREN.get(j, []))
    return out


def bone_lengths_m(joints: np.ndarray, unit_per_m: float = 1000.0) -> dict[tuple[str, str], float]:
    """Length of every checked bone of (17, 3) joints given in a unit with `unit_per_m` units per metre."""
    j = np.asarray(joints, dtype=np.float64) / unit_per_m
    return {bone: float(np.linalg.norm(j[_J(bone[1])] - j[_J(bone[0])])) for bone in BONE_RANGES_M}


def implausible_joints(joints: np.ndarray, confidence: np.ndarray | None = None, unit_per_m: float = 1000.0,
                       max_asymmetry: float = 1.6) -> np.ndarray:
    """(17,) bool: joints whose position rests on an implausible bone (see the module docstring).

    Args:
        joints: (17, 3) MuPoTS-17 joints (millimetres by default, see `unit_per_m`); any translation.
        confidence: (17,) joint confidences, used to pick the side of an asymmetric pair (None: both sides).
        max_asymmetry: largest accepted ratio of the longer to the shorter of a left/right bone pair.
    """
    lengths = bone_lengths_m(joints, unit_per_m)
    bad = np.zeros(MUPOTS17.num_joints, dtype=bool)
    out_of_range = set()
    for bone, (lo, hi) in BONE_RANGES_M.items():
        if not lo <= lengths[bone] <= hi:  # NaN fails too
            bad[_subtree(_J(bone[1]))] = True
            out_of_range.add(bone)
    conf = None if confidence is None else np.asarray(confidence, dtype=np.float64)
    for right, left in SYMMETRIC_BONES:
        if right in out_of_range or left in out_of_range:
            continue  # already flagged where it is wrong; the pair's asymmetry says nothing more
        a, b = lengths[right], lengths[left]
        if min(a, b) > 0 and max(a, b) / min(a, b) <= max_asymmetry:
            continue
        sides = (right, left)
        if conf is not None:
            c = [conf[_J(s[1])] for s in sides]
            sides = (sides[int(np.argmin(c))],) if c[0] != c[1] else sides
        for s in sides:
            bad[_subtree(_J(s[1]))] = True
    return bad
