"""Float comparisons whose tolerance is derived, not tuned (imported after adding this folder to sys.path).

Every tolerance in the suite follows from the precision and the magnitudes involved: compare in float64
where the code allows, or bound the float32 error by `F32_EPS` x magnitude x a bound on the reduction
length. `assert_close` also writes the observed error next to the tolerance to the JSON-lines file named by
PINET_TEST_ERROR_LOG (when set), so runs on different machines / CPU capabilities / thread counts can be
compared (README, "Tests on other machines").
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

F32_EPS = float(np.finfo(np.float32).eps)  # 1.19e-7: spacing of float32 at 1 (2x the unit roundoff)
F64_EPS = float(np.finfo(np.float64).eps)  # 2.22e-16


def _np(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def log_error(label: str, error: float, tolerance: float, fraction: float | None = None) -> None:
    """Append {test, label, error, tolerance, fraction (of the allowed error used)} to $PINET_TEST_ERROR_LOG
    (no-op when unset)."""
    path = os.environ.get("PINET_TEST_ERROR_LOG")
    if not path:
        return
    if fraction is None:
        fraction = error / tolerance if tolerance > 0 else float(error > 0)
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").rsplit(" ", 1)[0]
    record = {"test": test, "label": label, "error": float(error), "tolerance": float(tolerance),
              "fraction": float(fraction)}
    torch = sys.modules.get("torch")
    if torch is not None:  # what the comparison really ran under
        record["torch_threads"] = torch.get_num_threads()
        record["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def assert_close(actual, desired, *, atol: float = 0.0, rtol: float = 0.0, label: str = "") -> None:
    """|actual - desired| <= atol + rtol * |desired| elementwise (numpy or torch, any shape), compared in float64.

    The largest error is logged (see `log_error`) as a fraction of the allowed error, with the label.
    """
    a, d = _np(actual), _np(desired)
    a, d = np.broadcast_arrays(a, d)
    err = np.abs(a - d)
    allowed = atol + rtol * np.abs(d)
    exact = allowed == 0
    if np.any(err[exact] > 0):
        worst = float("inf")
    else:
        worst = float(np.max(err[~exact] / allowed[~exact], initial=0.0))
    log_error(label, float(np.max(err, initial=0.0)), float(np.max(allowed, initial=0.0)), worst)
    if err.size and not np.all(err <= allowed):
        np.testing.assert_allclose(a, d, atol=atol, rtol=rtol, err_msg=f"{label} (worst error / allowed = {worst:.3g})")
