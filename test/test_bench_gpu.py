"""`pinet-ros bench gpu` and bench/device_check.sh, on the CPU: the path a bare GPU machine runs.

The GPU machine has no ROS, no mediapipe, no pybullet and no bag libraries, so the modules the script runs
must import and work with those absent: the subprocesses here block them (an import of one raises).
"""

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BANNED = ("rclpy", "mediapipe", "pybullet", "rosbags", "mcap")
MODULES = ("pinet_ros.benchmarks.gpu", "pinet_ros.export", "pinet_ros.models.pinet_onnx",
           "pinet_ros.models.dmppe_backend")


def _blocker(tmp_path: Path) -> dict:
    """Environment whose python refuses to import the BANNED modules (a sitecustomize on PYTHONPATH)."""
    site = tmp_path / "block"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(textwrap.dedent(f"""
        import sys
        BANNED = {BANNED!r}
        class _Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BANNED:
                    raise ModuleNotFoundError(f"{{name}} is blocked: not on a bare GPU machine", name=name)
                return None
        sys.meta_path.insert(0, _Block())
    """))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(site)])
    return env


def test_import_chain_pulls_no_ros_mediapipe_pybullet_or_bags(tmp_path):
    code = textwrap.dedent(f"""
        import json, sys
        before = set(sys.modules)
        for name in {MODULES!r}:
            __import__(name)
        try:
            import rclpy
            blocked = False
        except ModuleNotFoundError:
            blocked = True
        new = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in {BANNED!r})
        print(json.dumps({{"new": new, "blocked": blocked, "file": sys.modules["pinet_ros"].__file__}}))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_blocker(tmp_path), capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["blocked"]  # the blocker works, so the imports above really ran without those modules
    assert res["new"] == []
    assert Path(res["file"]).resolve().is_relative_to(ROOT)  # the working tree's package (PYTHONPATH=.)


def test_bench_gpu_is_a_bench_subcommand():
    from pinet_ros.cli import _bench_gpu, build_parser

    args = build_parser().parse_args(["bench", "gpu", "--device", "cpu", "--quick", "--out", "x.json"])
    assert args.func is _bench_gpu and args.device == "cpu" and args.quick and args.out == "x.json"


@pytest.mark.slow
def test_parity_on_cpu_compares_and_reports_limits():
    import torch

    from pinet_ros.benchmarks.gpu import PARITY_MM, device_parity

    torch.manual_seed(0)
    res = device_parity("cpu", people=2)
    assert set(res["checks"]) == {"crop_grey_levels", "stack_joints_mm", "pinet_refined_mm"}
    assert res["checks"]["stack_joints_mm"]["limit"] == PARITY_MM
    # the CPU against itself: identical arithmetic
    assert all(c["value"] == 0.0 and c["ok"] for c in res["checks"].values()) and res["ok"]
    assert math.isfinite(res["info"]["stack_joints_mm_half_vs_cpu_fp32"])


def test_bfloat16_trunk_error_follows_its_rounding():
    import torch

    from pinet_ros.benchmarks.gpu import (_random_crops, calibrate_batchnorm, damp_residuals, half_trunk_error,
                                          trunk_error_bound)
    from pinet_ros.models.posenet import PoseNet

    torch.manual_seed(0)
    posenet = PoseNet(21)
    damp_residuals(posenet.backbone)
    gen = torch.Generator().manual_seed(0)
    calibrate_batchnorm(posenet, lambda: (_random_crops(gen, 2, torch.device("cpu")),), batches=1)
    err = half_trunk_error(posenet, torch.device("cpu"))
    print(f"PoseNet trunk, bfloat16 vs float32: relative error {err:.2e}")
    # bfloat16 keeps 8 significant bits: unit roundoff 2^-8; the error is real (not 0: autocast took effect)
    assert 1e-4 < err <= trunk_error_bound(2.0 ** -8)


def _finite(x) -> bool:
    return all(_finite(v) for v in x.values()) if isinstance(x, dict) else \
        all(_finite(v) for v in x) if isinstance(x, list) else \
        (not isinstance(x, float) or math.isfinite(x))


@pytest.mark.slow
def test_device_check_script_on_cpu(tmp_path):
    out = tmp_path / "out"
    env = _blocker(tmp_path)
    env["PYTHON"] = sys.executable
    env.pop("OUT", None)
    proc = subprocess.run(["bash", str(ROOT / "bench" / "device_check.sh"), "--device", "cpu", "--quick", str(out)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    summary = (out / "summary.txt").read_text()
    assert "parity: exit 0" in summary and "bench_gpu: exit 0" in summary
    assert "torch" in (out / "env.txt").read_text()
    bench = json.loads((out / "bench_gpu.json").read_text())
    assert bench["device"] == "cpu" and bench["quick"]
    stack = bench["stack"]["configs"]
    assert set(stack) == {"fp32 cv2-crop", "fp32", "bf16"}
    for per_n in stack.values():
        assert set(per_n) == {"1", "3"}  # people per frame (JSON keys)
        for row in per_n.values():
            assert row["total"] > 0 and row["fps"] > 0 and row["detect"] > 0 and row["pose"] > 0
    assert [r["n"] for r in bench["pinet"]["rows"]] == [1, 2, 5]
    for r in bench["pinet"]["rows"]:
        assert r["onnxruntime_vs_torch_max_mm"] <= 1e-3 * 6500  # 1e-3 of the joints' magnitude (< 6.5 m)
    assert _finite(bench)
    parity = json.loads((out / "parity.json").read_text())
    assert parity["ok"] and np.isfinite(parity["info"]["stack_joints_mm_half_vs_cpu_fp32"])
    assert "bench gpu: device CPU" in (out / "bench_gpu.txt").read_text()
