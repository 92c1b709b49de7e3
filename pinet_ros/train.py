"""Training of PI-Net on groups of people (the paper's recipe, with the released code's choices documented).

Samples. Every valid person i of an image is the target of one training sample: the input sequence is
the initial estimates (`ImageGroup.initial_cam`, mm) ordered [i, the other valid people by root distance
of the initial estimates] (`build_orders`, same ordering as inference), and the target sequence is the
ground truth `gt_cam` in the same order. A lone person is fed as [i, i]. People with `valid == False`
are neither targets nor context (their ground truth is not trustworthy).

Loss. PI-Net de-normalises its output with the input's statistics: out_mm = delta * (std_in + eps) +
mean_in. The network output in normalised space is recovered exactly (up to float rounding) by
delta = (out_mm - mean_in) / (std_in + eps), with mean_in / std_in computed like the network does
(per sample, per axis, over the valid 17*n joints, unbiased std, eps = 1e-4). The ground-truth sequence
is normalised with ITS OWN statistics (same definition, computed on the GT sequence). The loss is

    L1 = sum_{valid positions p, joints j, axes a} |delta - gt_norm| * vis[p, j] / (3 * #valid joints),

averaged over the batch. As in the released code the head is supervised on every (non-padded) position
of the sequence against the GT sequence in the same order, not only on the target position 0.

With ``loss="mm"`` (a pinet_ros option, not the paper's) the loss is instead measured per person in
millimetres, as MPJPE is: for every valid position, the mean L1 over the 17 joints of the pelvis-aligned
error plus the L1 of the pelvis itself, times vis, divided by 1000 (`mm_l1`). The paper's loss divides by
the spread of the whole sequence, so with people metres apart a person's pose error weighs a few times less
than when they are alone, and a network trained on it refines people with context less than people alone.
Optimiser: Adam (lr 1e-5, batch 4, 25 epochs). LR schedule (see `lr_at`): the paper's polynomial decay
(power 0.9, down to 1e-8) by default, or the released step decay (/10 from epoch 17, /100 from epoch 21;
epochs counted from 0) with `schedule="step"`. The LR is updated before every optimiser step.
"""

from __future__ import annotations

import json
import math
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from tqdm import tqdm

from pinet_ros.data.annotations import ImageGroup
from pinet_ros.models.pinet import NORM_EPS, ORDERS, ROOT_JOINT, PINet, PINetConfig, build_orders, save_pinet

__all__ = ["TrainConfig", "Sample", "sequences_from_groups", "collate", "normalised_l1", "masked_stats",
           "lr_at", "train", "checkpoint_path", "SCHEDULES", "LOSSES", "mm_l1"]

SCHEDULES = ("poly", "step")
LOSSES = ("normalised", "mm")
NUM_JOINTS = 17

Sample = tuple[np.ndarray, np.ndarray, np.ndarray]
"""(input (n, 17, 3) float32 mm target-first, target (n, 17, 3) float32 mm same order, vis (n, 17) float32)."""


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters (defaults = the paper's recipe).

    Attributes:
        epochs: number of epochs (T).
        batch_size: samples (target persons) per optimiser step.
        lr: initial Adam learning rate.
        lr_end: final LR of the polynomial schedule (reached at the end of the last epoch).
        poly_power: exponent of the polynomial schedule.
        schedule: "poly" (paper) or "step" (released code).
        step_epochs: epochs (0-based) from which the step schedule divides the LR by 10 once more.
        seed: seed of the model initialisation and of the per-epoch shuffles.
        device: torch device string.
        order: order of the context people (one of `pinet_ros.models.pinet.ORDERS`).
        pinet: the network architecture.
        loss: "normalised" (the paper's, `normalised_l1`) or "mm" (`mm_l1`).
    Raises:
        ValueError: any field out of range.
    """

    epochs: int = 25
    batch_size: int = 4
    lr: float = 1e-5
    lr_end: float = 1e-8
    poly_power: float = 0.9
    schedule: str = "poly"
    step_epochs: tuple[int, ...] = (17, 21)
    seed: int = 0
    device: str = "cpu"
    order: str = "root3d"
    pinet: PINetConfig = field(default_factory=PINetConfig)
    loss: str = "normalised"

    def __post_init__(self) -> None:
        def _int(name: str, lo: int) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ValueError(f"TrainConfig.{name} must be an int >= {lo}, got {v!r}")
            object.__setattr__(self, name, int(v))

        _int("epochs", 1)
        _int("batch_size", 1)
        _int("seed", 0)
        for name in ("lr", "lr_end", "poly_power"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"TrainConfig.{name} must be a finite number, got {v!r}")
            object.__setattr__(self, name, float(v))
        if self.lr <= 0:
            raise ValueError(f"TrainConfig.lr must be > 0, got {self.lr}")
        if not 0 <= self.lr_end <= self.lr:
            raise ValueError(f"TrainConfig.lr_end must be in [0, lr={self.lr}], got {self.lr_end}")
        if self.poly_power <= 0:
            raise ValueError(f"TrainConfig.poly_power must be > 0, got {self.poly_power}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"TrainConfig.schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        try:
            steps = tuple(int(e) for e in self.step_epochs)
        except (TypeError, ValueError):
            raise ValueError(f"TrainConfig.step_epochs must be a sequence of ints, got {self.step_epochs!r}") from None
        if any(e < 0 for e in steps) or list(steps) != sorted(steps):
            raise ValueError(f"TrainConfig.step_epochs must be non-negative and ascending, got {steps}")
        object.__setattr__(self, "step_epochs", steps)
        if self.order not in ORDERS:
            raise ValueError(f"TrainConfig.order must be one of {ORDERS}, got {self.order!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"TrainConfig.loss must be one of {LOSSES}, got {self.loss!r}")
        if not isinstance(self.pinet, PINetConfig):
            raise ValueError(f"TrainConfig.pinet must be a PINetConfig, got {type(self.pinet).__name__}")
        if self.loss == "normalised" and self.pinet.norm != "sequence":
            raise ValueError("TrainConfig.loss 'normalised' inverts the sequence normalisation: it needs "
                             f"pinet.norm 'sequence', got {self.pinet.norm!r} (use loss 'mm')")
        try:
            torch.device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"TrainConfig.device is not a torch device: {self.device!r} ({exc})") from None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (pinet nested, step_epochs as a list)."""
        d = asdict(self)
        d["step_epochs"] = list(self.step_epochs)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        d = dict(d)
        d["pinet"] = PINetConfig(**d.get("pinet", {}))
        d["step_epochs"] = tuple(d.get("step_epochs", (17, 21)))
        return cls(**d)


def lr_at(epoch: float, config: TrainConfig) -> float:
    """Learning rate at a fractional epoch t (0 <= t <= epochs; t = epoch index + fraction of its steps).

    poly: lr_end + (lr - lr_end) * (1 - t / T) ** poly_power, T = config.epochs (t clipped to [0, T]).
    step: lr * 0.1 ** k, k = number of step_epochs e with t >= e (epochs 0-based, as in the released
    `set_lr`: with (17, 21) epochs 0..16 use lr, 17..20 lr/10, 21.. lr/100).
    """
    t = float(epoch)
    if config.schedule == "step":
        k = sum(1 for e in config.step_epochs if t >= e)
        return config.lr * 0.1 ** k
    frac = min(max(t / config.epochs, 0.0), 1.0)
    return config.lr_end + (config.lr - config.lr_end) * (1.0 - frac) ** config.poly_power


# ------------------------------------------------------------------------------------------- samples
def sequences_from_groups(groups: Sequence[ImageGroup], order: str = "root3d", seed: int = 0) -> list[Sample]:
    """One training sample per valid person of every group.

    Args:
        groups: image groups with `initial_cam` (n, 17, 3) mm, `gt_cam` (n, 17, 3) mm, `visible` (n, 17),
            `valid` (n,), `boxes` (n, 4) (only for order "bbox2d").
        order: context order (see `build_orders`), computed on the initial estimates.
        seed: seed of the "random" order (offset by the group index).
    Returns:
        list of (input (L, 17, 3) float32 mm, target (L, 17, 3) float32 mm, vis (L, 17) float32), the
        target person first; L = number of valid people, or 2 ([i, i]) for a lone valid person.
        Groups appear in order, people in their index order.
    Raises:
        ValueError: a group has valid people but no `initial_cam`.
    """
    out: list[Sample] = []
    for gi, g in enumerate(groups):
        valid = np.asarray(g.valid, dtype=bool).reshape(-1)
        idx = np.flatnonzero(valid)
        if idx.size == 0:
            continue
        if g.initial_cam is None:
            raise ValueError(f"group image_id={g.image_id} has no initial_cam: cannot build training inputs")
        init = np.asarray(g.initial_cam, dtype=np.float32)[idx]
        gt = np.asarray(g.gt_cam, dtype=np.float32)[idx]
        vis = np.asarray(g.visible, dtype=np.float32).reshape(len(g.gt_cam), -1)[idx]
        boxes = np.asarray(g.boxes, dtype=np.float64)[idx] if order == "bbox2d" else None
        orders = build_orders(torch.from_numpy(init), order=order, boxes=boxes, seed=seed + gi).numpy()
        for row in orders:
            out.append((np.ascontiguousarray(init[row]), np.ascontiguousarray(gt[row]),
                        np.ascontiguousarray(vis[row])))
    return out


def collate(samples: Sequence[Sample], device: torch.device | str = "cpu"
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad a batch to its largest sequence length n.

    Returns:
        inputs (B, 17*n, 3) mm, targets (B, 17*n, 3) mm, vis (B, 17*n) (0 on padding), lengths (B,) int64.
        Padded joints are zero.
    """
    n = max(s[0].shape[0] for s in samples)
    b = len(samples)
    inp = np.zeros((b, n, NUM_JOINTS, 3), np.float32)
    tgt = np.zeros((b, n, NUM_JOINTS, 3), np.float32)
    vis = np.zeros((b, n, NUM_JOINTS), np.float32)
    lengths = np.zeros(b, np.int64)
    for k, (x, y, v) in enumerate(samples):
        m = x.shape[0]
        inp[k, :m], tgt[k, :m], vis[k, :m], lengths[k] = x, y, v, m
    dev = torch.device(device)
    return (torch.from_numpy(inp.reshape(b, -1, 3)).to(dev), torch.from_numpy(tgt.reshape(b, -1, 3)).to(dev),
            torch.from_numpy(vis.reshape(b, -1)).to(dev), torch.from_numpy(lengths).to(dev))


def masked_stats(x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-sample, per-axis mean and unbiased std + NORM_EPS over the valid joints (as PINet does).

    Args:
        x: (B, 17*n, 3) mm. lengths: (B,) valid people per sample.
    Returns:
        mean (B, 1, 3) mm, std + eps (B, 1, 3) mm, joint mask (B, 17*n, 1) float (1 = valid).
    """
    valid = torch.arange(x.shape[1], device=x.device)[None, :] < (lengths[:, None] * NUM_JOINTS)
    m = valid.unsqueeze(-1).to(x.dtype)
    cnt = m.sum(dim=1, keepdim=True)
    mean = (x * m).sum(dim=1, keepdim=True) / cnt
    var = (((x - mean) * m) ** 2).sum(dim=1, keepdim=True) / (cnt - 1).clamp_min(1)
    return mean, var.sqrt() + NORM_EPS, m


def normalised_l1(out_mm: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor, vis: torch.Tensor,
                  lengths: torch.Tensor) -> torch.Tensor:
    """The training loss (scalar), see the module docstring.

    Args:
        out_mm: (B, 17*n, 3) network output, mm (de-normalised with the input statistics).
        inputs: (B, 17*n, 3) network input, mm. targets: (B, 17*n, 3) GT, mm.
        vis: (B, 17*n) joint visibility (0 on padding). lengths: (B,).
    """
    in_mean, in_scale, mask = masked_stats(inputs, lengths)
    out_n = (out_mm - in_mean) / in_scale  # inverts PINet's de-normalisation
    gt_mean, gt_scale, _ = masked_stats(targets, lengths)
    gt_n = (targets - gt_mean) / gt_scale
    err = (out_n - gt_n).abs().mean(dim=-1) * vis * mask[..., 0]  # (B, 17*n)
    per_sample = err.sum(dim=1) / (lengths.to(err.dtype) * NUM_JOINTS)
    return per_sample.mean()


def mm_l1(out_mm: torch.Tensor, targets: torch.Tensor, vis: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The ``loss="mm"`` training loss (scalar, metres): per valid position, the visibility-weighted mean L1
    over the 17 joints of the pelvis-aligned error plus the pelvis's own L1 error, averaged over positions
    and the batch.

    Args:
        out_mm: (B, 17*n, 3) network output, mm. targets: (B, 17*n, 3) GT, mm (same order).
        vis: (B, 17*n) joint visibility (0 on padding). lengths: (B,) valid people per sample.
    """
    b = out_mm.shape[0]
    out = out_mm.reshape(b, -1, NUM_JOINTS, 3)
    gt = targets.reshape(b, -1, NUM_JOINTS, 3)
    w = vis.reshape(b, -1, NUM_JOINTS)
    root = ROOT_JOINT
    rel = ((out - out[:, :, root:root + 1]) - (gt - gt[:, :, root:root + 1])).abs().sum(-1)  # (B, n, 17)
    per_pos = (rel * w).sum(-1) / w.sum(-1).clamp_min(1.0) + (out[:, :, root] - gt[:, :, root]).abs().sum(-1)
    valid = (torch.arange(out.shape[1], device=out.device)[None, :] < lengths[:, None]).to(out.dtype)
    per_sample = (per_pos * valid).sum(1) / lengths.to(out.dtype)
    return per_sample.mean() / 1000.0


# ------------------------------------------------------------------------------------------ training
def checkpoint_path(out_path: str | Path) -> Path:
    """Where `train` writes its per-epoch resume checkpoint for final weights at `out_path`."""
    out_path = Path(out_path)
    return out_path.with_name(out_path.stem + ".checkpoint.pt")


def _git_commit() -> str:
    try:
        res = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return res.stdout.strip() if res.returncode == 0 and res.stdout.strip() else "unknown"


def _batches(n: int, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """Shuffled index batches of one epoch; depends only on (seed, epoch) so resuming reproduces it."""
    gen = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch))
    perm = torch.randperm(n, generator=gen).numpy()
    return [perm[i:i + batch_size] for i in range(0, n, batch_size)]


@torch.no_grad()
def evaluate(model: PINet, samples: Sequence[Sample], batch_size: int = 64,
             device: torch.device | str = "cpu") -> dict[str, float]:
    """Validation metrics.

    Returns:
        {"l1": mean normalised L1 (the training loss, sample-weighted),
         "mpjpe_mm": mean per-joint position error of the refined target (position 0) vs its GT, mm,
         "input_mpjpe_mm": the same for the unrefined input}.
    """
    was_training = model.training
    model.eval()
    l1_sum, err_sum, in_err_sum, count = 0.0, 0.0, 0.0, 0
    for i in range(0, len(samples), batch_size):
        chunk = samples[i:i + batch_size]
        inp, tgt, vis, lengths = collate(chunk, device)
        out = model.forward_sequence(inp, lengths)
        l1_sum += float(normalised_l1(out, inp, tgt, vis, lengths)) * len(chunk)
        err_sum += float((out[:, :NUM_JOINTS] - tgt[:, :NUM_JOINTS]).norm(dim=-1).mean(dim=1).sum())
        in_err_sum += float((inp[:, :NUM_JOINTS] - tgt[:, :NUM_JOINTS]).norm(dim=-1).mean(dim=1).sum())
        count += len(chunk)
    model.train(was_training)
    c = max(count, 1)
    return {"l1": l1_sum / c, "mpjpe_mm": err_sum / c, "input_mpjpe_mm": in_err_sum / c}


def train(groups_train: Sequence[ImageGroup], config: TrainConfig, out_path: str | Path,
          groups_val: Sequence[ImageGroup] | None = None, resume: str | Path | None = None,
          progress: bool = True, data_description: str = "", stop_after_epoch: int | None = None
          ) -> dict[str, Any]:
    """Train PI-Net and write the final weights, a JSON record and a per-epoch resume checkpoint.

    Args:
        groups_train: training image groups (need `initial_cam`).
        config: hyper-parameters.
        out_path: final weights (`.safetensors`, written with `save_pinet`); the JSON record goes to
            `out_path.with_suffix('.json')`, the resume checkpoint to `checkpoint_path(out_path)`
            (a dict of plain tensors / lists / numbers / strings, readable with
            `torch.load(..., weights_only=True)`: model, optimizer, epoch = completed epochs, config JSON,
            history).
        groups_val: optional validation groups, evaluated after every epoch.
        resume: a checkpoint written by this function; training continues at its next epoch and gives
            the same weights as an uninterrupted run. Its config must equal `config`.
        progress: show a tqdm bar per epoch.
        data_description: free text stored in the JSON record.
        stop_after_epoch: stop once this many epochs are complete (simulates an interruption: only the
            checkpoint is written, not the final weights / JSON). None = run to `config.epochs`.
    Returns:
        the JSON record (dict), plus "completed": False when stopped early.
    Raises:
        ValueError: no training sample, or a resume checkpoint with a different config.
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    device = torch.device(config.device)
    samples = sequences_from_groups(groups_train, order=config.order, seed=config.seed)
    if not samples:
        raise ValueError("no training samples: the groups hold no valid person")
    val_samples = sequences_from_groups(groups_val, order=config.order, seed=config.seed) if groups_val else []

    torch.manual_seed(config.seed)
    model = PINet(config.pinet).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    history: list[dict[str, Any]] = []
    start_epoch = 0
    if resume is not None:
        ckpt = torch.load(Path(resume), map_location=device, weights_only=True)
        saved = TrainConfig.from_dict(json.loads(ckpt["config"]))
        if saved != config:
            raise ValueError(f"{resume}: checkpoint config {saved} differs from the requested {config}")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        start_epoch = int(ckpt["epoch"])
        history = json.loads(ckpt["history"])
    end_epoch = config.epochs if stop_after_epoch is None else min(config.epochs, int(stop_after_epoch))

    steps_per_epoch = math.ceil(len(samples) / config.batch_size)
    train_seconds, seen = 0.0, 0
    model.train()
    for epoch in range(start_epoch, end_epoch):
        batches = _batches(len(samples), config.batch_size, config.seed, epoch)
        t0 = time.perf_counter()
        loss_sum, n_sum = 0.0, 0
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{config.epochs}", disable=not progress, leave=False)
        for step, idx in enumerate(bar):
            lr = lr_at(epoch + step / steps_per_epoch, config)
            for pg in optimizer.param_groups:
                pg["lr"] = lr
            inp, tgt, vis, lengths = collate([samples[i] for i in idx], device)
            out = model.forward_sequence(inp, lengths)
            loss = (normalised_l1(out, inp, tgt, vis, lengths) if config.loss == "normalised"
                    else mm_l1(out, tgt, vis, lengths))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += float(loss.detach()) * len(idx)
            n_sum += len(idx)
            bar.set_postfix(loss=f"{loss_sum / n_sum:.4f}", lr=f"{lr:.2e}")
        bar.close()
        dt = time.perf_counter() - t0
        train_seconds += dt
        seen += n_sum
        rec: dict[str, Any] = {"epoch": epoch + 1, "train_loss": loss_sum / n_sum, "seconds": dt,
                               "lr_last": lr}
        if val_samples:
            metrics = evaluate(model, val_samples, device=device)
            rec.update(val_l1=metrics["l1"], val_mpjpe_mm=metrics["mpjpe_mm"],
                       val_input_mpjpe_mm=metrics["input_mpjpe_mm"])
        history.append(rec)
        if progress:
            tqdm.write(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in rec.items()))
        torch.save({"model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                    "optimizer": optimizer.state_dict(), "epoch": epoch + 1,
                    "config": json.dumps(config.to_dict(), sort_keys=True), "history": json.dumps(history)},
                   checkpoint_path(out_path))

    record: dict[str, Any] = {
        "config": config.to_dict(),
        "data": {"description": data_description, "num_train_groups": len(groups_train),
                 "num_train_samples": len(samples), "num_val_groups": len(groups_val or []),
                 "num_val_samples": len(val_samples)},
        "git_commit": _git_commit(),
        "epochs": history,
        "final_metrics": {k: v for k, v in (history[-1] if history else {}).items()
                          if k in ("train_loss", "val_l1", "val_mpjpe_mm", "val_input_mpjpe_mm")},
        "samples_per_s": seen / train_seconds if train_seconds > 0 else None,
        "resumed_from": str(resume) if resume is not None else None,
        "weights": str(out_path),
        "checkpoint": str(checkpoint_path(out_path)),
    }
    if end_epoch < config.epochs:
        record["completed"] = False
        return record
    meta = {"train_config": json.dumps(config.to_dict(), sort_keys=True), "git_commit": record["git_commit"],
            "epochs": str(config.epochs), "data_description": data_description,
            "final_train_loss": str(record["final_metrics"].get("train_loss"))}
    save_pinet(model.cpu(), out_path, extra_metadata=meta)
    model.to(device)
    out_path.with_suffix(".json").write_text(json.dumps(record, indent=2, sort_keys=True))
    return record
