"""PI-Net on onnxruntime: the same `refine()` contract as `PINet.refine`, from a file of `pinet_ros.export`.

Optional runtime (CPU): `pinet-ros export OUT --which pinet` writes the file; `bench gpu` prints how it
compares with torch per frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pinet_ros.models.pinet import PINet, build_orders

__all__ = ["PINetOnnxRunner"]


class PINetOnnxRunner:
    """PI-Net refinement through an onnxruntime session (CPU execution provider)."""

    def __init__(self, path: str | Path, threads: int | None = 1, num_joints: int = 17) -> None:
        """
        Args:
            path: PI-Net ONNX file written by `pinet_ros.export.export_pinet`.
            threads: onnxruntime intra-op threads (None: onnxruntime's default, all cores).
            num_joints: joints per person (J) of the exported model.
        """
        from pinet_ros.export import PINET_INPUT, onnx_session

        self.path = Path(path)
        self.session = onnx_session(self.path, threads=threads)
        self.num_joints = int(num_joints)
        self._input = PINET_INPUT
        self._has_attention = len(self.session.get_outputs()) > 1

    @classmethod
    def from_model(cls, model: PINet, path: str | Path, threads: int | None = 1) -> "PINetOnnxRunner":
        """Export `model` to `path` and open it."""
        from pinet_ros.export import export_pinet

        export_pinet(model, path)
        return cls(path, threads=threads, num_joints=model.config.num_joints)

    def refine(self, poses_mm: np.ndarray | torch.Tensor, order: str = "root3d",
               boxes: np.ndarray | torch.Tensor | None = None, seed: int = 0
               ) -> tuple[np.ndarray, np.ndarray]:
        """Refine all N people of one image, as `PINet.refine` (same orders, same lone-person rule).

        Args:
            poses_mm: (N, J, 3) camera coordinates in mm.
            order, boxes, seed: as `PINet.refine`.
        Returns:
            refined (N, J, 3) float32 mm, attention (N, N) float32 (zeros without attention). Always numpy.
        """
        j = self.num_joints
        p = np.asarray(poses_mm.detach().cpu().numpy() if isinstance(poses_mm, torch.Tensor) else poses_mm,
                       dtype=np.float32)
        if p.ndim != 3 or p.shape[1:] != (j, 3):
            raise ValueError(f"poses_mm must be (N, {j}, 3), got {p.shape}")
        n = p.shape[0]
        if n == 0:
            return np.zeros((0, j, 3), np.float32), np.zeros((0, 0), np.float32)
        orders = build_orders(torch.from_numpy(p), order=order, boxes=boxes, seed=seed).numpy()  # (N, L)
        outs = self.session.run(None, {self._input: np.ascontiguousarray(p[orders])})  # (N, L, J, 3) in
        att = np.zeros((n, n), np.float32)
        if self._has_attention:
            np.add.at(att, (np.arange(n)[:, None], orders), outs[1])
        return outs[0].astype(np.float32, copy=False), att
