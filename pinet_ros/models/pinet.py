"""PI-Net: pose-interacting network that refines one person's 3D pose from everyone in the image.

The network ("ContextualRescorer" in the authors' release) reads a sequence of people -- the target
person first, then the others in a chosen order -- through a recurrent encoder, lets every position
attend over the whole sequence, and regresses a refined pose for each position. At inference only
position 0 (the target) is kept.

Units: all poses are camera coordinates in millimetres; 17 joints per person (root/pelvis = index 14).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from pinet_ros.models.checkpoint import WeightLoadError, load_into, read_state_dict

__all__ = ["PINetConfig", "PINet", "load_pinet", "save_pinet", "count_parameters", "build_orders",
           "ROOT_JOINT", "ORDERS", "NORM_EPS"]

ROOT_JOINT = 14
"""Index of the root (pelvis) joint in the 17-joint layout."""
NORM_EPS = 1e-4
"""Added to the per-axis std before dividing (as in the released model)."""
ORDERS = ("root3d", "bbox2d", "reverse", "random")
NORMS = ("sequence", "target")
_EXPECTED = "PI-Net (ContextualRescorer)"


@dataclass(frozen=True)
class PINetConfig:
    """Architecture of PI-Net. The defaults are the released model (3,408,896 parameters).

    Attributes:
        num_joints: joints per person (J); the per-person feature is 3*J.
        hidden: hidden size of the recurrent cell per direction.
        num_layers: recurrent layers, one of 2, 3, 4 (paper ablation).
        bidirectional: bidirectional encoder (E = 2*hidden) or not (E = hidden).
        attention: use the self-attention context (head input 2E) or not (head input E).
        cell: "gru" or "lstm".
        residual: False (the paper and the released model): the head's output, de-normalised, is the
            refined pose. True (a pinet_ros extension, same parameters): the head's output is a correction
            added to the normalised input, and `PINet` zero-initialises the last layer so that a new network
            starts as the identity (the backend's pose) and training can only learn what the backend gets
            wrong. Weight files record the flag; the authors' checkpoints load with False.
        norm: "sequence" (the paper and the released model): every sample is standardised per axis over
            all joints of all its people, so with people metres apart the target's own pose shrinks to a
            few hundredths of the input's range. "target" (a pinet_ros extension, same parameters): the
            statistics are those of the target person (position 0) alone, so their pose keeps the same
            resolution whatever the context, and the others are placed in units of the target's size.
    """

    num_joints: int = 17
    hidden: int = 256
    num_layers: int = 3
    bidirectional: bool = True
    attention: bool = True
    cell: str = "gru"
    residual: bool = False
    norm: str = "sequence"

    def __post_init__(self) -> None:
        if self.cell not in ("gru", "lstm"):
            raise ValueError(f"PINetConfig.cell must be 'gru' or 'lstm', got {self.cell!r}")
        if self.norm not in NORMS:
            raise ValueError(f"PINetConfig.norm must be one of {NORMS}, got {self.norm!r}")
        if self.num_layers not in (2, 3, 4):
            raise ValueError(f"PINetConfig.num_layers must be 2, 3 or 4, got {self.num_layers!r}")
        if not isinstance(self.num_joints, int) or self.num_joints < 1:
            raise ValueError(f"PINetConfig.num_joints must be a positive int, got {self.num_joints!r}")
        if not isinstance(self.hidden, int) or self.hidden < 1:
            raise ValueError(f"PINetConfig.hidden must be a positive int, got {self.hidden!r}")

    @property
    def embed_dim(self) -> int:
        """E: encoder output size per position."""
        return self.hidden * (2 if self.bidirectional else 1)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "PINetConfig":
        return cls(**json.loads(text))


class PINet(nn.Module):
    """PI-Net.

    Submodule / parameter names match the released state dict: `h0` (and `c0` for LSTM), `rnn`,
    `Wa`, `b1`, `linear1`, `b2`, `linear2`, `b3`, `linear3`.
    """

    def __init__(self, config: PINetConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or PINetConfig()
        feat = 3 * cfg.num_joints
        e = cfg.embed_dim
        n_state = cfg.num_layers * (2 if cfg.bidirectional else 1)
        rnn_cls = nn.GRU if cfg.cell == "gru" else nn.LSTM
        self.rnn = rnn_cls(feat, cfg.hidden, num_layers=cfg.num_layers, bidirectional=cfg.bidirectional,
                           batch_first=True, dropout=0.0)
        self.h0 = nn.Parameter(torch.zeros(n_state, 1, cfg.hidden))
        if cfg.cell == "lstm":
            self.c0 = nn.Parameter(torch.zeros(n_state, 1, cfg.hidden))
        if cfg.attention:
            self.Wa = nn.Linear(e, e)
        head_in = 2 * e if cfg.attention else e
        self.b1 = nn.LayerNorm(head_in)
        self.linear1 = nn.Linear(head_in, 256)
        self.b2 = nn.LayerNorm(256)
        self.linear2 = nn.Linear(256, 128)
        self.b3 = nn.LayerNorm(128)
        self.linear3 = nn.Linear(128, feat, bias=False)
        if cfg.residual:
            nn.init.zeros_(self.linear3.weight)

    # ------------------------------------------------------------------ core
    def _normalise(self, x: torch.Tensor, lengths: torch.Tensor | None
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-sample, per-axis standardisation over the valid joints (norm "sequence"), or with the
        statistics of the target's own joints (norm "target"; padded joints still set to 0).

        Args:
            x: (B, J*n, 3) mm. lengths: (B,) people per sample or None (all n valid).
        Returns:
            normalised x (B, J*n, 3) (padded joints set to 0), mean (B, 1, 3) mm, std+eps (B, 1, 3) mm.
        """
        j = self.config.num_joints
        m = None  # (B, J*n, 1) 1 = valid joint, when some are padding
        if lengths is not None:
            valid = (torch.arange(x.shape[1], device=x.device)[None, :] < (lengths[:, None] * j))  # (B, J*n)
            m = valid.unsqueeze(-1).to(x.dtype)
        if self.config.norm == "target":  # the target (position 0) is always a valid person
            mean = x[:, :j].mean(dim=1, keepdim=True)
            scale = x[:, :j].std(dim=1, keepdim=True) + NORM_EPS
            xn = (x - mean) / scale
            return (xn if m is None else xn * m), mean, scale
        if m is None:
            mean = x.mean(dim=1, keepdim=True)
            scale = x.std(dim=1, keepdim=True) + NORM_EPS
            return (x - mean) / scale, mean, scale
        cnt = m.sum(dim=1, keepdim=True)  # (B, 1, 1)
        mean = (x * m).sum(dim=1, keepdim=True) / cnt
        var = (((x - mean) * m) ** 2).sum(dim=1, keepdim=True) / (cnt - 1).clamp_min(1)
        scale = var.sqrt() + NORM_EPS
        return ((x - mean) / scale) * m, mean, scale

    def forward_with_attention(self, poses_mm: torch.Tensor, lengths: torch.Tensor | None = None
                               ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Refine every position of a batch of person sequences.

        Args:
            poses_mm: (B, J*n, 3) camera coordinates in mm, person-major (target person first).
            lengths: (B,) int64 number of valid people per sample (<= n), or None when all n are valid.
                Padded people do not influence valid ones.
        Returns:
            refined (B, J*n, 3) mm for all positions (padded positions are meaningless), and
            attention alpha (B, n, n) (row = query position, softmax over key positions; padded keys
            get 0), or None when the config has no attention.
        """
        cfg = self.config
        j = cfg.num_joints
        if poses_mm.dim() != 3 or poses_mm.shape[-1] != 3 or poses_mm.shape[1] % j:
            raise ValueError(f"poses_mm must be (B, {j}*n, 3), got {tuple(poses_mm.shape)}")
        b, jn, _ = poses_mm.shape
        n = jn // j
        if lengths is not None:
            lengths = torch.as_tensor(lengths, dtype=torch.long, device=poses_mm.device)
            if lengths.shape != (b,) or bool((lengths < 1).any()) or bool((lengths > n).any()):
                raise ValueError(f"lengths must be (B,) in [1, {n}], got {lengths.tolist()}")
            if bool((lengths == n).all()):
                lengths = None
        xn, mean, scale = self._normalise(poses_mm, lengths)
        seq = xn.reshape(b, n, 3 * j)

        h0 = self.h0.expand(-1, b, -1).contiguous()
        state: Any = (h0, self.c0.expand(-1, b, -1).contiguous()) if cfg.cell == "lstm" else h0
        if lengths is None:
            enc, _ = self.rnn(seq, state)
        else:
            packed = pack_padded_sequence(seq, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, _ = self.rnn(packed, state)
            enc, _ = pad_packed_sequence(out, batch_first=True, total_length=n)  # (B, n, E)

        alpha = None
        if cfg.attention:
            scores = torch.bmm(enc, self.Wa(enc).transpose(1, 2))  # (B, n, n)
            if lengths is not None:
                key_ok = torch.arange(n, device=enc.device)[None, :] < lengths[:, None]  # (B, n)
                scores = scores.masked_fill(~key_ok[:, None, :], float("-inf"))
            alpha = torch.softmax(scores, dim=-1)
            context = torch.bmm(alpha, enc)
            feat = torch.cat([enc, context], dim=-1)
        else:
            feat = enc
        h = torch.relu(self.linear1(self.b1(feat)))
        h = self.linear2(self.b2(h))
        delta = self.linear3(self.b3(h))  # (B, n, 3J)
        if cfg.residual:
            out = poses_mm + delta.reshape(b, jn, 3) * scale
        else:
            out = delta.reshape(b, jn, 3) * scale + mean
        return out, alpha

    def forward_sequence(self, poses_mm: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """(B, J*n, 3) mm, lengths (B,) or None -> refined (B, J*n, 3) mm for all positions."""
        return self.forward_with_attention(poses_mm, lengths)[0]

    def forward(self, poses_mm: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Same as `forward_sequence`."""
        return self.forward_sequence(poses_mm, lengths)

    # ------------------------------------------------------------- inference
    @torch.no_grad()
    def refine(self, poses_mm: torch.Tensor | np.ndarray, order: str = "root3d",
               boxes: torch.Tensor | np.ndarray | None = None, seed: int = 0
               ) -> tuple[torch.Tensor | np.ndarray, torch.Tensor | np.ndarray]:
        """Refine all N people of one image in a single batched forward.

        Each person i is the target of its own sequence [i, others ordered by `order`]; the N
        sequences form one batch. A lone person is fed as [0, 0].

        Args:
            poses_mm: (N, J, 3) camera coordinates in mm (numpy or torch).
            order: "root3d" (3D root distance, near to far), "bbox2d" (2D box-centre distance, near to
                far; needs `boxes`), "reverse" (3D root distance, far to near), "random" (seeded).
            boxes: (N, 4) boxes x, y, w, h in pixels, required for "bbox2d".
            seed: seed for "random".
        Returns:
            refined (N, J, 3) mm, and attention (N, N): row i is the target i's attention over the
            people in their original indices (rows sum to 1; zeros if the model has no attention).
            numpy float32 if the input was numpy, else torch tensors on the input's device.
        """
        as_numpy = not isinstance(poses_mm, torch.Tensor)
        j = self.config.num_joints
        p = torch.as_tensor(np.asarray(poses_mm, dtype=np.float32) if as_numpy else poses_mm)
        if p.dim() != 3 or p.shape[1:] != (j, 3):
            raise ValueError(f"poses_mm must be (N, {j}, 3), got {tuple(p.shape)}")
        in_device = p.device
        param = self.h0
        p = p.to(device=param.device, dtype=param.dtype)
        n = p.shape[0]
        if n == 0:
            ref, att = p.new_zeros((0, j, 3)), p.new_zeros((0, 0))
        else:
            orders = build_orders(p, order=order, boxes=boxes, seed=seed)  # (N, L) long
            seqs = p[orders].reshape(n, -1, 3)  # (N, J*L, 3)
            out, alpha = self.forward_with_attention(seqs)
            ref = out[:, :j, :].to(p.dtype)
            att = p.new_zeros((n, n))
            if alpha is not None:
                att.scatter_add_(1, orders, alpha[:, 0, :].to(att.dtype))  # autocast: alpha may be half
        if as_numpy:
            return ref.cpu().numpy().astype(np.float32), att.cpu().numpy().astype(np.float32)
        return ref.to(in_device), att.to(in_device)


def build_orders(poses_mm: torch.Tensor | np.ndarray, order: str = "root3d",
                 boxes: torch.Tensor | np.ndarray | None = None, seed: int = 0) -> torch.Tensor:
    """Index sequences for every target: row i = [i, the others in the chosen order].

    Args:
        poses_mm: (N, J, 3) mm, N >= 1.
        order: one of `ORDERS` (see `PINet.refine`).
        boxes: (N, 4) xywh px, required for "bbox2d".
        seed: seed for "random".
    Returns:
        (N, N) int64 on the poses' device, or (1, 2) = [[0, 0]] when N == 1.
    """
    p = torch.as_tensor(poses_mm)
    n = p.shape[0]
    dev = p.device
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; expected one of {ORDERS}")
    if order == "bbox2d" and boxes is None:
        raise ValueError("order='bbox2d' needs boxes (N, 4) as x, y, w, h in pixels")
    if n == 0:
        raise ValueError("build_orders needs at least one person")
    if n == 1:
        return torch.zeros((1, 2), dtype=torch.long, device=dev)
    if order == "random":
        gen = torch.Generator().manual_seed(int(seed))
        key = torch.rand((n, n), generator=gen, dtype=torch.float64).to(dev)
    elif order == "bbox2d":
        bx = torch.as_tensor(np.asarray(boxes, dtype=np.float64) if not isinstance(boxes, torch.Tensor)
                             else boxes).to(device=dev, dtype=torch.float64)
        if bx.shape != (n, 4):
            raise ValueError(f"boxes must be ({n}, 4) x, y, w, h, got {tuple(bx.shape)}")
        centre = bx[:, :2] + 0.5 * bx[:, 2:]
        key = torch.cdist(centre, centre)
    else:
        root = p[:, ROOT_JOINT, :].to(torch.float64)
        key = torch.cdist(root, root)
        if order == "reverse":
            key = -key
    key = key.clone()
    key.fill_diagonal_(float("-inf"))  # the target always comes first
    return torch.argsort(key, dim=1, stable=True)


def count_parameters(model: nn.Module) -> int:
    """Number of scalar parameters (trainable or not) of `model`."""
    return sum(p.numel() for p in model.parameters())


def save_pinet(model: PINet, path: str | Path, extra_metadata: Mapping[str, str] | None = None) -> None:
    """Write `model`'s weights as safetensors with its config in the metadata key "pinet_config"."""
    from safetensors.torch import save_file

    meta = {str(k): str(v) for k, v in (extra_metadata or {}).items()}
    meta["pinet_config"] = model.config.to_json()
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata=meta)


def _safetensors_config(path: Path) -> PINetConfig | None:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception as exc:  # header unreadable: read_state_dict reports it properly
        raise WeightLoadError(f"{path}: unreadable safetensors header (expected {_EXPECTED}): {exc}") from None
    text = meta.get("pinet_config")
    if text is None:
        return None
    try:
        return PINetConfig.from_json(text)
    except (ValueError, TypeError) as exc:
        raise WeightLoadError(f"{path}: invalid pinet_config metadata: {exc}") from None


def load_pinet(path: str | Path, config: PINetConfig | None = None, device: str | torch.device = "cpu") -> PINet:
    """Load PI-Net weights into a new model in eval mode.

    Args:
        path: the authors' `snapshot_24.pth.tar` ({'epoch', 'network', 'optimizer'}, optionally with a
            `module.` prefix), a flat state dict, or a `.safetensors` written by `save_pinet`.
        config: architecture; None = the safetensors metadata config if present, else the default.
        device: where to put the model.
    Raises:
        WeightLoadError: file missing/unsafe/unreadable or not matching the architecture (names the file).
    """
    path = Path(path)
    if config is None and path.suffix == ".safetensors" and path.is_file():
        config = _safetensors_config(path)
    model = PINet(config or PINetConfig())
    state = read_state_dict(path, expected=_EXPECTED, nested_key="network")
    load_into(model, state, path=path, expected=_EXPECTED)
    return model.to(device).eval()
