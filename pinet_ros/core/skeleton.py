"""Joint sets used across pinet_ros, declared once and imported everywhere.

MuCo-3DHP (21 joints) is what the 3DMPPE PoseNet predicts; MuPoTS-3D and PI-Net use its first 17 joints
in the same order. The root joint is the pelvis (index 14).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class JointSet:
    """Names, bones and left/right flip pairs of one skeleton.

    Attributes:
        name: short identifier.
        joint_names: joint names in array order.
        bones: (parent-ish, child) index pairs for drawing.
        flip_pairs: (right, left) index pairs swapped by a horizontal flip.
        root: index of the root joint (pelvis).
    """

    name: str
    joint_names: tuple[str, ...]
    bones: tuple[tuple[int, int], ...]
    flip_pairs: tuple[tuple[int, int], ...]
    root: int

    def __post_init__(self) -> None:
        n = len(self.joint_names)
        for a, b in self.bones + self.flip_pairs:
            if not (0 <= a < n and 0 <= b < n):
                raise ValueError(f"{self.name}: pair ({a}, {b}) out of range for {n} joints")
        if not 0 <= self.root < n:
            raise ValueError(f"{self.name}: root {self.root} out of range")

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    def index(self, joint_name: str) -> int:
        return self.joint_names.index(joint_name)

    def bones_flat(self) -> list[int]:
        """Bones as the flat index list used by `MultiPerson3DPose.bones`."""
        return [i for pair in self.bones for i in pair]

    def flip_permutation(self) -> np.ndarray:
        """(J,) int array mapping each joint to its mirror joint."""
        perm = np.arange(self.num_joints)
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm


_MUCO_NAMES = (
    "head_top", "thorax", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist",
    "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "pelvis", "spine", "head",
    "r_hand", "l_hand", "r_toe", "l_toe",
)

MUCO21 = JointSet(
    name="muco21",
    joint_names=_MUCO_NAMES,
    bones=((0, 16), (16, 1), (1, 15), (15, 14), (14, 8), (14, 11), (8, 9), (9, 10), (10, 19),
           (11, 12), (12, 13), (13, 20), (1, 2), (2, 3), (3, 4), (4, 17), (1, 5), (5, 6), (6, 7), (7, 18)),
    flip_pairs=((2, 5), (3, 6), (4, 7), (8, 11), (9, 12), (10, 13), (17, 18), (19, 20)),
    root=14,
)

MUPOTS17 = JointSet(
    name="mupots17",
    joint_names=_MUCO_NAMES[:17],
    bones=tuple((a, b) for a, b in MUCO21.bones if a < 17 and b < 17),
    flip_pairs=tuple((a, b) for a, b in MUCO21.flip_pairs if a < 17 and b < 17),
    root=14,
)

# Parent of each MuPoTS-17 joint in the evaluation tree (pelvis is its own root).
MUPOTS17_PARENTS = (1, 15, 1, 2, 3, 1, 5, 6, 14, 8, 9, 14, 11, 12, 14, 14, 1)
