#!/usr/bin/env python3
"""Store a trained PI-Net (float32 .safetensors from `pinet-ros train`) as the packaged float16 file.

    scripts/env.sh python scripts/package_pinet_weights.py SRC.safetensors DST.safetensors --check PAIRS.npz

Every tensor is cast to float16 (half the size; `load_pinet` upcasts to float32), the metadata (architecture,
training config) is kept and ``stored_dtype`` added. With ``--check`` both files refine the groups of PAIRS
(e.g. the validation pairs of `pinet-ros evaluate --pairs-out`) and the script prints, as JSON, the largest
and the mean joint difference (mm) and both pelvis-aligned MPJPEs against the ground truth, for the record
beside the weights. Prints the sha256 and size the registry entry needs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file


def to_float16(src: Path, dst: Path) -> None:
    with safe_open(str(src), framework="pt") as f:
        meta = dict(f.metadata() or {})
        state = {k: f.get_tensor(k).to(torch.float16).contiguous() for k in f.keys()}
    meta["stored_dtype"] = "float16"
    save_file(state, str(dst), metadata=meta)


def check(src: Path, dst: Path, pairs: Path) -> dict[str, float]:
    from pinet_ros.data.synthetic import load_groups
    from pinet_ros.models.pinet import ROOT_JOINT, load_pinet

    full, half = load_pinet(src).eval(), load_pinet(dst).eval()
    diffs, err32, err16 = [], [], []
    for g in load_groups(pairs):
        init = np.asarray(g.initial_cam, np.float32)
        a, _ = full.refine(init)
        b, _ = half.refine(init)
        diffs.append(np.linalg.norm(a - b, axis=-1).ravel())
        gt = np.asarray(g.gt_cam, np.float64)
        gt_rel = gt - gt[:, ROOT_JOINT:ROOT_JOINT + 1]
        for out, acc in ((a, err32), (b, err16)):
            rel = out.astype(np.float64) - out[:, ROOT_JOINT:ROOT_JOINT + 1]
            acc.append(np.linalg.norm(rel - gt_rel, axis=-1).mean(axis=1))
    d = np.concatenate(diffs)
    return {"max_abs_diff_mm": float(d.max()), "mean_abs_diff_mm": float(d.mean()),
            "mpjpe_fp32": float(np.concatenate(err32).mean()), "mpjpe_fp16": float(np.concatenate(err16).mean())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    ap.add_argument("--check", type=Path, default=None, metavar="PAIRS.npz")
    args = ap.parse_args(argv)
    to_float16(args.src, args.dst)
    out = {"sha256": hashlib.sha256(args.dst.read_bytes()).hexdigest(), "size_bytes": args.dst.stat().st_size}
    if args.check is not None:
        with torch.no_grad():
            out["float16_check"] = check(args.src, args.dst, args.check)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
