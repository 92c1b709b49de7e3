"""MuPoTS-3D metrics as the papers report them (official MATLAB protocol), plus MPJPE and PA-MPJPE.

All functions are numpy only. Poses are (17, 3) millimetres in the MuPoTS-17 joint order
(`pinet_ros.core.skeleton.MUPOTS17`); 2D joints are (17, 2) pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pinet_ros.core.skeleton import MUPOTS17, MUPOTS17_PARENTS

ROOT = MUPOTS17.root
PCK_JOINTS = np.arange(14)  # pelvis, spine and head are not scored
PCK_THRESHOLD_MM = 150.0
AUC_THRESHOLDS_MM = np.arange(0.0, 151.0, 5.0)
JOINT_GROUPS: dict[str, tuple[int, ...]] = {
    "head": (0,), "neck": (1,), "shoulder": (2, 5), "elbow": (3, 6), "wrist": (4, 7),
    "hip": (8, 11), "knee": (9, 12), "ankle": (10, 13),
}
MATCH_JOINTS = np.arange(1, 14)
MATCH_PIXELS = 40.0
UNMATCHED_VALUE_MM = 100000.0


def _walk_order(parents: tuple[int, ...], root: int) -> list[int]:
    """Joints ordered so that each comes after its parent (root excluded)."""
    depth = {}
    for j in range(len(parents)):
        d, k = 0, j
        while k != root:
            k, d = parents[k], d + 1
            if d > len(parents):
                raise ValueError("parent table has a cycle")
        depth[j] = d
    return [j for j in sorted(depth, key=lambda j: depth[j]) if j != root]


_ORDER = _walk_order(MUPOTS17_PARENTS, ROOT)


def root_relative(pose: np.ndarray, root: int = ROOT) -> np.ndarray:
    """(..., J, 3) -> same, centred on the root joint."""
    return pose - pose[..., root:root + 1, :]


def rescale_bones(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Re-place each predicted joint at its moved parent + GT bone length x predicted bone direction.

    Args:
        pred, gt: (17, 3) root-relative millimetres.
    Returns:
        (17, 3); a zero-length predicted bone gives NaN for that joint and its descendants.
    """
    out = pred.astype(np.float64).copy()
    for j in _ORDER:
        p = MUPOTS17_PARENTS[j]
        direction = pred[j] - pred[p]
        norm = np.linalg.norm(direction)
        with np.errstate(invalid="ignore", divide="ignore"):
            unit = direction / norm if norm > 0 else np.full(3, np.nan)
        out[j] = out[p] + np.linalg.norm(gt[j] - gt[p]) * unit
    return out


def joint_errors_mupots(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(17,) 3D errors (mm) after root-centring and bone rescaling; NaN where undefined."""
    pred_rel, gt_rel = root_relative(pred), root_relative(gt)
    return np.linalg.norm(rescale_bones(pred_rel, gt_rel) - gt_rel, axis=-1)


def match_persons(pred_2d: np.ndarray, gt_2d: np.ndarray) -> np.ndarray:
    """Greedy 2D matching of the MuPoTS protocol.

    Args:
        pred_2d: (P, 17, 2) predicted pixels; a joint at exactly (0, 0) is invisible.
        gt_2d: (G, 17, 2) ground-truth pixels of the valid GT persons, in annotation order.
    Returns:
        (G,) int: index of the matched prediction, or -1.
    """
    taken = np.zeros(len(pred_2d), bool)
    result = np.full(len(gt_2d), -1)
    for g in range(len(gt_2d)):
        best, best_count = -1, 0
        for p in range(len(pred_2d)):
            if taken[p]:
                continue
            d = np.abs(pred_2d[p, MATCH_JOINTS] - gt_2d[g, MATCH_JOINTS])
            visible = ~np.all(pred_2d[p, MATCH_JOINTS] == 0, axis=-1)
            count = int(np.sum(np.all(d < MATCH_PIXELS, axis=-1) & visible))
            if count > best_count:  # strict: ties keep the lowest index
                best, best_count = p, count
        if best >= 0:
            taken[best] = True
            result[g] = best
    return result


@dataclass
class PCKAccumulator:
    """Collects per-joint errors of person instances and reports 3DPCK, groups and AUC."""

    errors: list[np.ndarray] = field(default_factory=list)  # each (17,) mm, NaN = miss

    def add(self, errors_mm: np.ndarray) -> None:
        self.errors.append(np.asarray(errors_mm, float))

    def _correct(self, threshold: float) -> np.ndarray:
        e = np.stack(self.errors)[:, PCK_JOINTS]
        return np.nan_to_num(e, nan=np.inf) < threshold  # (instances, 14)

    def pck(self, threshold: float = PCK_THRESHOLD_MM) -> float:
        return 100.0 * float(self._correct(threshold).mean()) if self.errors else float("nan")

    def groups(self, threshold: float = PCK_THRESHOLD_MM) -> dict[str, float]:
        if not self.errors:
            return {g: float("nan") for g in JOINT_GROUPS}
        c = self._correct(threshold)
        return {g: 100.0 * float(c[:, list(idx)].mean()) for g, idx in JOINT_GROUPS.items()}

    def auc(self) -> float:
        return float(np.mean([self.pck(t) for t in AUC_THRESHOLDS_MM])) if self.errors else float("nan")


def evaluate_frame(pred_3d: np.ndarray, pred_2d: np.ndarray, gt_3d: np.ndarray, gt_2d: np.ndarray,
                   all_gt: PCKAccumulator, matched_only: PCKAccumulator) -> None:
    """Score one frame under both protocols ("all ground truths" and "only matched").

    Args:
        pred_3d: (P, 17, 3) mm; pred_2d: (P, 17, 2) px; gt_3d: (G, 17, 3) mm (univ_annot3);
        gt_2d: (G, 17, 2) px — valid GT persons only.
    """
    if len(gt_3d) == 0:
        return
    match = match_persons(pred_2d, gt_2d)
    for g, p in enumerate(match):
        if p < 0:
            # The protocol puts an unmatched person at 1e5 mm, not rescaled: every joint misses.
            all_gt.add(np.linalg.norm(np.full((17, 3), UNMATCHED_VALUE_MM) - gt_3d[g], axis=-1))
            continue
        errors = joint_errors_mupots(pred_3d[p], gt_3d[g])
        all_gt.add(errors)
        matched_only.add(errors)


def mpjpe(pred: np.ndarray, gt: np.ndarray, root: int | None = ROOT) -> float:
    """Mean per-joint position error (mm) over all joints and persons; pelvis-aligned when root is set.

    pred, gt: (..., J, 3).
    """
    if root is not None:
        pred, gt = root_relative(pred, root), root_relative(gt, root)
    return float(np.mean(np.linalg.norm(pred - gt, axis=-1)))


def procrustes_align(pred: np.ndarray, gt: np.ndarray, scale: bool = False) -> np.ndarray:
    """Rigidly align pred (J, 3) to gt (J, 3) by SVD: rotation + translation (+ uniform scale if asked)."""
    mu_p, mu_g = pred.mean(0), gt.mean(0)
    p, g = pred - mu_p, gt - mu_g
    u, s, vt = np.linalg.svd(p.T @ g)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.diag([1.0, 1.0, d])
    rot = u @ fix @ vt
    k = float((s * np.diag(fix)).sum() / (p ** 2).sum()) if scale else 1.0
    return k * p @ rot + mu_g


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray, scale: bool = False) -> float:
    """MPJPE (mm) after Procrustes alignment of each pose. pred, gt: (N, J, 3) or (J, 3)."""
    pred, gt = np.asarray(pred, float).reshape(-1, *pred.shape[-2:]), np.asarray(gt, float).reshape(-1, *gt.shape[-2:])
    aligned = np.stack([procrustes_align(p, g, scale) for p, g in zip(pred, gt)])
    return float(np.mean(np.linalg.norm(aligned - gt, axis=-1)))
