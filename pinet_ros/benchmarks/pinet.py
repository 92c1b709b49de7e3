"""Benchmark: PI-Net per-person loop (one sequence per forward, as the released test code) vs batched refine.

Run: `scripts/env.sh pinet-ros bench pinet` (CPU, random weights, default config).
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch

from pinet_ros.models.pinet import PINet, build_orders

J = 17


def _scene(n: int, seed: int = 0) -> np.ndarray:
    """(n, 17, 3) mm: roots 2-6 m away, joints within ±500 mm of the root."""
    rng = np.random.default_rng(seed)
    roots = np.stack([rng.uniform(-2000, 2000, n), rng.uniform(-500, 500, n), rng.uniform(2000, 6000, n)], 1)
    return (roots[:, None, :] + rng.uniform(-500, 500, (n, J, 3))).astype(np.float32)


def _loop(model: PINet, poses: torch.Tensor) -> torch.Tensor:
    """Per-person loop: N forwards of batch 1, keeping position 0."""
    orders = build_orders(poses)
    with torch.no_grad():
        return torch.stack([model.forward_sequence(poses[orders[i]].reshape(1, -1, 3))[0, :J]
                            for i in range(poses.shape[0])])


def _released_loop(model: PINet, poses_np: np.ndarray) -> np.ndarray:
    """Per-person loop as the released test code runs it: for each target, order the others by distance in
    numpy, build that one sequence, convert it to a tensor, forward it alone, bring position 0 back to numpy."""
    roots = poses_np[:, 14]
    out = np.empty_like(poses_np)
    for i in range(poses_np.shape[0]):
        dist = np.linalg.norm(roots - roots[i], axis=1)
        others = [j for j in np.argsort(dist, kind="stable") if j != i]
        seq = np.concatenate([poses_np[i]] + [poses_np[j] for j in (others or [i])], axis=0)
        with torch.no_grad():
            y = model.forward_sequence(torch.from_numpy(seq[None].astype(np.float32)))
        out[i] = y[0, :J].numpy()
    return out


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def run_bench(ns: tuple[int, ...] = (1, 2, 3, 5, 10), repeats: int = 20, threads: int | None = 1) -> list[dict]:
    """Time loop vs refine for each N; print and return rows {n, loop_ms, refine_ms, speedup, max_abs_diff_mm}."""
    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = PINet().eval()
    rows = []
    for n in ns:
        poses = torch.as_tensor(_scene(n, seed=n))
        loop_ms = _median_ms(lambda: _loop(model, poses), repeats)
        poses_np = poses.numpy()
        released_ms = _median_ms(lambda: _released_loop(model, poses_np), repeats)
        refine_ms = _median_ms(lambda: model.refine(poses_np), repeats)
        diff = float((_loop(model, poses) - model.refine(poses)[0]).abs().max())
        diff_rel = float(np.abs(_released_loop(model, poses_np) - model.refine(poses_np)[0]).max())
        rows.append(dict(n=n, loop_ms=loop_ms, released_ms=released_ms, refine_ms=refine_ms,
                         speedup=loop_ms / refine_ms, speedup_released=released_ms / refine_ms,
                         max_abs_diff_mm=max(diff, diff_rel)))
    print(f"PI-Net CPU bench (torch {torch.__version__}, threads={torch.get_num_threads()}, median of {repeats})")
    print("loop: N forwards of batch 1 on pre-built tensor sequences; released loop: also per-person numpy "
          "ordering, sequence building and tensor conversion, as the released test code; refine: one batch")
    print(f"{'N':>3} | {'loop ms':>9} | {'released ms':>11} | {'refine ms':>9} | {'loop/refine':>11} | "
          f"{'released/refine':>15} | {'max |diff| mm':>13}")
    for r in rows:
        print(f"{r['n']:>3} | {r['loop_ms']:>9.2f} | {r['released_ms']:>11.2f} | {r['refine_ms']:>9.2f} | "
              f"{r['speedup']:>11.2f} | {r['speedup_released']:>15.2f} | {r['max_abs_diff_mm']:>13.2e}")
    return rows


if __name__ == "__main__":
    run_bench()
