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
        refine_ms = _median_ms(lambda: model.refine(poses), repeats)
        diff = float((_loop(model, poses) - model.refine(poses)[0]).abs().max())
        rows.append(dict(n=n, loop_ms=loop_ms, refine_ms=refine_ms, speedup=loop_ms / refine_ms, max_abs_diff_mm=diff))
    print(f"PI-Net CPU bench (torch {torch.__version__}, threads={torch.get_num_threads()}, median of {repeats})")
    print(f"{'N':>3} | {'loop ms':>9} | {'refine ms':>9} | {'loop/refine':>11} | {'max |diff| mm':>13}")
    for r in rows:
        print(f"{r['n']:>3} | {r['loop_ms']:>9.2f} | {r['refine_ms']:>9.2f} | {r['speedup']:>11.2f} | "
              f"{r['max_abs_diff_mm']:>13.2e}")
    return rows


if __name__ == "__main__":
    run_bench()
