"""What a user outside this machine installs: pyproject declares everything the default pipeline imports,
the process command works without ROS, and package.xml / CMakeLists.txt carry what rosdep and colcon need."""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "samples" / "basketball2.png"


def _requirement_names(specs: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", s, maxsplit=1)[0].strip().lower().replace("_", "-") for s in specs}


def test_pyproject_declares_every_distribution_the_default_pipeline_imports():
    """`pip install .` then `Pipeline(PipelineConfig())` must work: every third-party distribution whose modules
    get imported while building and running the default pipeline is a declared dependency (or required by one)."""
    from importlib.metadata import PackageNotFoundError, packages_distributions, requires

    code = ("import sys, numpy as np\n"
            "from pinet_ros.pipeline import Pipeline, PipelineConfig\n"
            "from pinet_ros.core.camera import Intrinsics\n"
            "p = Pipeline(PipelineConfig())\n"
            "p.process(np.zeros((48, 64, 3), np.uint8), Intrinsics(64, 64, 32, 24), 0)\n"
            "print('\\n'.join(sorted({m.split('.')[0] for m in sys.modules})))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    modules = set(out.stdout.split())
    dist_of = packages_distributions()
    declared = _requirement_names(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    covered, todo = set(declared), list(declared)
    while todo:  # everything the declared distributions pull in themselves
        try:
            reqs = requires(todo.pop()) or []
        except PackageNotFoundError:
            continue
        for name in _requirement_names([r for r in reqs if "extra ==" not in r]):
            if name not in covered:
                covered.add(name)
                todo.append(name)
    missing = {}
    for module in modules:
        for dist in dist_of.get(module, []):
            name = dist.lower().replace("_", "-")
            if name not in covered and not name.startswith("ros-") and name != "pinet-ros":
                missing[module] = name
    assert not missing, f"imported by the default pipeline but not declared in pyproject.toml: {missing}"
    assert "mediapipe" in declared


@pytest.mark.skipif(not SAMPLE.is_file(), reason="data/samples not fetched (make setup)")
def test_process_without_ros_writes_jsonl_and_says_mcap_needs_ros(tmp_path):
    # rclpy made unimportable (as on a machine without ROS) before the command runs
    runner = ("import sys; sys.modules['rclpy'] = None; sys.modules['rclpy.serialization'] = None\n"
              "from pinet_ros.cli import main; sys.exit(main(sys.argv[1:]))\n")
    base = [sys.executable, "-c", runner, "process", str(SAMPLE), "--quiet", "--no-refine"]
    ok = subprocess.run(base + ["--out", str(tmp_path / "a"), "--jsonl"], capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    lines = (tmp_path / "a" / "poses.jsonl").read_text().splitlines()
    assert len(lines) == 1 and len(json.loads(lines[0])["persons"]) == 2
    assert not (tmp_path / "a" / "poses.mcap").exists()
    bad = subprocess.run(base + ["--out", str(tmp_path / "b")], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "without the ROS environment" in bad.stderr and "pass --jsonl" in bad.stderr


def test_ros_packaging_declares_runtime_dependencies_and_tests():
    xml = (ROOT / "package.xml").read_text()
    for dep in ("python3-scipy", "rviz2", "python3-yaml", "python3-numpy", "rclpy", "launch_ros"):
        assert f"<exec_depend>{dep}</exec_depend>" in xml, dep
    cmake = (ROOT / "CMakeLists.txt").read_text()
    assert "ament_add_pytest_test" in cmake and "DESTINATION bin" in cmake
    assert (ROOT / "scripts" / "pinet-ros").stat().st_mode & 0o111
