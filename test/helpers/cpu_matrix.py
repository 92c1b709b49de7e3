"""Run test files under several CPU code paths and torch thread counts; report what moved and by how much.

    scripts/env.sh python test/helpers/cpu_matrix.py [--configs NAME,...] [--out DIR] [PYTEST_ARGS...]

Each configuration runs `pytest -q PYTEST_ARGS` (default: the numeric test files) in a fresh process with
its environment; the float comparisons that go through `numerics.assert_close` log their observed error and
allowed error (PINET_TEST_ERROR_LOG). The summary lists every configuration's pytest outcome, then each
comparison whose observed error differs between configurations: the smallest and largest error and the
largest fraction of its tolerance used. DIR (default out/cpu_matrix) keeps the logs and summary.json.

Configurations: ATEN_CPU_CAPABILITY alone picks torch's own kernels (softmax, sums, elementwise); convolutions
go through oneDNN, matrix products through MKL (torch) and OpenBLAS (numpy), and numpy's own loops have their
own dispatch, so the "*-all" configurations also cap those at the same instruction set -- the nearest this
machine gets to running on an older or other x86_64 CPU. MediaPipe's TFLite kernels cannot be capped.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TESTS = ["test/models", "test/test_evaluate.py", "test/test_train.py", "test/test_pipeline.py",
                 "test/test_metrics.py", "test/data"]
_NO_AVX512 = "AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR"
_AVX2_ALL = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
             "OPENBLAS_CORETYPE": "Haswell", "NPY_DISABLE_CPU_FEATURES": _NO_AVX512}
_SSE_ALL = {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
            "OPENBLAS_CORETYPE": "Nehalem", "NPY_DISABLE_CPU_FEATURES": _NO_AVX512 + " AVX2 FMA3 F16C AVX"}
CONFIGS: dict[str, dict[str, str]] = {
    "native-1t": {"PINET_TEST_TORCH_THREADS": "1"},
    "native-2t": {"PINET_TEST_TORCH_THREADS": "2"},
    "avx2-1t": {"ATEN_CPU_CAPABILITY": "avx2", "PINET_TEST_TORCH_THREADS": "1"},
    "avx2-2t": {"ATEN_CPU_CAPABILITY": "avx2", "PINET_TEST_TORCH_THREADS": "2"},
    "default-1t": {"ATEN_CPU_CAPABILITY": "default", "PINET_TEST_TORCH_THREADS": "1"},
    "default-2t": {"ATEN_CPU_CAPABILITY": "default", "PINET_TEST_TORCH_THREADS": "2"},
    "omp1": {"OMP_NUM_THREADS": "1", "PINET_TEST_TORCH_THREADS": "0"},
    "avx2-all-2t": {**_AVX2_ALL, "PINET_TEST_TORCH_THREADS": "2"},
    "sse-all-1t": {**_SSE_ALL, "PINET_TEST_TORCH_THREADS": "1"},
}


def run_config(name: str, tests: list[str], out: Path) -> dict:
    """One pytest run under configuration `name`; returns its outcome and the logged comparisons."""
    log = out / f"{name}.jsonl"
    log.unlink(missing_ok=True)
    env = {**os.environ, **CONFIGS[name], "PINET_TEST_ERROR_LOG": str(log)}
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", *tests], cwd=ROOT, env=env, capture_output=True,
                          text=True)
    (out / f"{name}.txt").write_text(proc.stdout + proc.stderr)
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    tail = next((ln for ln in reversed(lines) if re.search(r"\d+ (passed|failed|error)", ln)), lines[-1] if lines else "")
    failed = [ln.split(" ", 1)[1].split(" - ")[0] for ln in lines if ln.startswith(("FAILED ", "ERROR "))]
    records = [json.loads(ln) for ln in log.read_text().splitlines()] if log.exists() else []
    return {"config": name, "env": CONFIGS[name], "returncode": proc.returncode, "summary": tail.strip("= "),
            "failed": failed, "seconds": round(time.monotonic() - t0, 1), "records": records}


def summarise(runs: list[dict]) -> dict:
    """Per comparison (test, label): the largest error and fraction of the tolerance in every configuration."""
    table: dict[str, dict[str, tuple[float, float]]] = {}
    for run in runs:
        for r in run["records"]:
            key = f"{r['test']} [{r['label']}]"
            err, frac = table.setdefault(key, {}).get(run["config"], (0.0, 0.0))
            table[key][run["config"]] = (max(err, r["error"]), max(frac, r["fraction"]))
    moved = {}
    for key, per in table.items():
        errors = [e for e, _ in per.values()]
        if max(errors) != min(errors) or len(per) != len(runs):
            moved[key] = {"min_error": min(errors), "max_error": max(errors),
                          "max_fraction_of_tolerance": max(f for _, f in per.values()),
                          "per_config": {c: e for c, (e, _) in per.items()}}
    worst = max(((max(f for _, f in per.values()), key) for key, per in table.items()), default=(0.0, ""))
    return {"comparisons": len(table), "moved": moved, "largest_fraction_of_tolerance": worst}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated, of: {', '.join(CONFIGS)}")
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "cpu_matrix")
    args, tests = ap.parse_known_args(argv)
    names = [c for c in args.configs.split(",") if c]
    unknown = [c for c in names if c not in CONFIGS]
    if unknown:
        ap.error(f"unknown configuration(s) {unknown}")
    args.out.mkdir(parents=True, exist_ok=True)
    runs = []
    for name in names:
        run = run_config(name, tests or DEFAULT_TESTS, args.out)
        runs.append(run)
        print(f"{name:12s} rc={run['returncode']} {run['summary']} ({run['seconds']} s)"
              + (f"  FAILED: {', '.join(run['failed'])}" if run["failed"] else ""), flush=True)
    summary = summarise(runs)
    print(f"\n{summary['comparisons']} logged comparisons; largest fraction of a tolerance used: "
          f"{summary['largest_fraction_of_tolerance'][0]:.3g} ({summary['largest_fraction_of_tolerance'][1]})")
    print(f"{len(summary['moved'])} moved between configurations (error min .. max, largest fraction of tolerance):")
    for key, m in sorted(summary["moved"].items(), key=lambda kv: -kv[1]["max_fraction_of_tolerance"]):
        print(f"  {key}: {m['min_error']:.3g} .. {m['max_error']:.3g}  ({m['max_fraction_of_tolerance']:.3g})")
    (args.out / "summary.json").write_text(json.dumps(
        {"runs": [{k: v for k, v in r.items() if k != "records"} for r in runs], **summary}, indent=1))
    return 0 if all(r["returncode"] == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
