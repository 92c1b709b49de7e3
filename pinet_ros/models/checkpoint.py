"""Safe loading of weight files: torch checkpoints with `weights_only=True`, or safetensors.

Never unpickles arbitrary objects: a pickle that would run code fails with `WeightLoadError`.
"""

from __future__ import annotations

import logging
import pickle
import zipfile
from pathlib import Path
from typing import Mapping

import torch

log = logging.getLogger(__name__)


class WeightLoadError(RuntimeError):
    """A weight file is missing, unreadable, unsafe or not the expected network. The message names the file."""


def read_state_dict(path: str | Path, *, expected: str, nested_key: str | None = "network") -> dict[str, torch.Tensor]:
    """Read a state dict from `path` without executing code from it.

    Args:
        path: `.safetensors`, or a `torch.save` file (e.g. the authors' `snapshot_24.pth.tar`).
        expected: human description of what the file should hold, used in error messages.
        nested_key: key of the state dict inside a checkpoint dict (`{'epoch', 'network', 'optimizer'}`);
            a file that is itself a flat state dict is accepted too.
    Returns:
        name -> tensor, with a DataParallel `module.` prefix removed.
    Raises:
        WeightLoadError: missing, truncated, unsafe or malformed file.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightLoadError(f"weight file not found: {path} (expected {expected})")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
            state = obj.get(nested_key, obj) if isinstance(obj, Mapping) and nested_key else obj
    except pickle.UnpicklingError as exc:
        raise WeightLoadError(
            f"{path}: refused to load: the file contains pickled objects that are not plain tensors "
            f"(only weights_only files are accepted; expected {expected}): {exc}") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as exc:
        raise WeightLoadError(f"{path}: unreadable or truncated weight file (expected {expected}): {exc}") from None
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightLoadError(f"{path}: does not hold a state dict of tensors (expected {expected})")
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in state.items()}


def load_into(model: torch.nn.Module, state: Mapping[str, torch.Tensor], *, path: str | Path, expected: str,
              ignore: tuple[str, ...] = ("num_batches_tracked",)) -> None:
    """Load `state` into `model` strictly, reporting missing/unexpected keys and shape mismatches.

    Keys ending with any of `ignore` may be missing or extra without error.
    """
    own = model.state_dict()
    missing = [k for k in own if k not in state and not k.endswith(ignore)]
    unexpected = [k for k in state if k not in own and not k.endswith(ignore)]
    mismatched = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
                  for k in own if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or mismatched:
        def head(items: list[str]) -> str:
            return ", ".join(items[:5]) + (f" (+{len(items) - 5} more)" if len(items) > 5 else "")
        parts = [f"{name}: {head(items)}" for name, items in
                 (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatch", mismatched)) if items]
        raise WeightLoadError(f"{path}: not a {expected} checkpoint; " + "; ".join(parts))
    model.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)
