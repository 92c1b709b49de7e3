"""The person-model build cache (`ensure_artifacts`, `verified_model_path`) with a tiny fake conversion step
(the real conversion, minutes and 1.4 GB of TensorFlow, is exercised by setup itself), and the real converted
files' manifest when setup has made them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pinet_ros.models import person_models as pm


class FakeConversion:
    """Writes fixed bytes and counts its calls."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.calls = 0

    def __call__(self, out: Path) -> None:
        self.calls += 1
        out.write_bytes(self.payload)


def _artifacts(a: FakeConversion, b: FakeConversion, recipe_a: str = "recipe a") -> list[pm.Artifact]:
    return [pm.Artifact("a.onnx", recipe_a, a), pm.Artifact("b.onnx", "recipe b", b)]


def test_first_run_builds_second_run_does_nothing(tmp_path: Path) -> None:
    a, b = FakeConversion(b"model a"), FakeConversion(b"model b" * 100)
    status = pm.ensure_artifacts(_artifacts(a, b), tmp_path)
    assert all(s.startswith("built") for s in status.values()) and (a.calls, b.calls) == (1, 1)
    manifest = json.loads((tmp_path / pm.MANIFEST_FILE).read_text())
    assert manifest["models"]["a.onnx"] == {"sha256": pm.sha256_file(tmp_path / "a.onnx"), "recipe": "recipe a"}
    mtimes = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    status = pm.ensure_artifacts(_artifacts(a, b), tmp_path)
    assert status == {"a.onnx": "kept", "b.onnx": "kept"} and (a.calls, b.calls) == (1, 1)
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == mtimes  # nothing rewritten
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.onnx", "b.onnx", pm.MANIFEST_FILE]  # no temp files


@pytest.mark.parametrize("damage", ["corrupt", "truncate", "delete"])
def test_a_damaged_model_is_rebuilt_and_only_it(tmp_path: Path, damage: str) -> None:
    a, b = FakeConversion(b"model a"), FakeConversion(b"model b")
    pm.ensure_artifacts(_artifacts(a, b), tmp_path)
    target = tmp_path / "a.onnx"
    if damage == "corrupt":
        target.write_bytes(b"model A")  # same size, one byte flipped
    elif damage == "truncate":
        target.write_bytes(b"")
    else:
        target.unlink()
    with pytest.raises(FileNotFoundError, match="a.onnx"):
        pm.verified_model_path("a.onnx", tmp_path)  # the backend refuses it
    status = pm.ensure_artifacts(_artifacts(a, b), tmp_path)
    assert status["a.onnx"].startswith("built") and status["b.onnx"] == "kept"
    assert (a.calls, b.calls) == (2, 1)
    assert target.read_bytes() == b"model a"
    assert pm.verified_model_path("a.onnx", tmp_path) == target


def test_changed_recipe_or_lost_manifest_rebuilds(tmp_path: Path) -> None:
    a, b = FakeConversion(b"model a"), FakeConversion(b"model b")
    pm.ensure_artifacts(_artifacts(a, b), tmp_path)
    status = pm.ensure_artifacts(_artifacts(a, b, recipe_a="recipe a v2"), tmp_path)
    assert "another recipe" in status["a.onnx"] and (a.calls, b.calls) == (2, 1)
    (tmp_path / pm.MANIFEST_FILE).write_text("{not json")
    status = pm.ensure_artifacts(_artifacts(a, b, recipe_a="recipe a v2"), tmp_path)
    assert all(s.startswith("built") for s in status.values()) and (a.calls, b.calls) == (3, 2)


def test_a_failed_build_leaves_the_previous_state(tmp_path: Path) -> None:
    a, b = FakeConversion(b"model a"), FakeConversion(b"model b")
    pm.ensure_artifacts(_artifacts(a, b), tmp_path)

    def broken(out: Path) -> None:
        out.write_bytes(b"half")
        raise RuntimeError("converter crashed")

    with pytest.raises(RuntimeError, match="crashed"):
        pm.ensure_artifacts([pm.Artifact("a.onnx", "recipe a v2", broken)], tmp_path)
    assert (tmp_path / "a.onnx").read_bytes() == b"model a"
    assert pm.verified_model_path("a.onnx", tmp_path) == tmp_path / "a.onnx"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.onnx", "b.onnx", pm.MANIFEST_FILE]


def test_the_converted_models_match_their_manifest() -> None:
    d = pm.default_model_dir()
    if not (d / pm.MANIFEST_FILE).is_file():
        pytest.skip(f"{d / pm.MANIFEST_FILE} missing: run make setup")
    for name in pm.MODEL_FILES:
        assert pm.verified_model_path(name, d).stat().st_size > 1_000_000


def test_setup_step_is_a_no_op_when_the_models_are_there() -> None:
    """What setup runs: with the converted files in place it touches nothing (no npm, no TensorFlow)."""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    d = repo / "data" / "models"
    if not (d / pm.MANIFEST_FILE).is_file():
        pytest.skip("data/models/person_models.json missing: run make setup")
    before = {p.name: p.stat().st_mtime_ns for p in d.iterdir()}
    run = subprocess.run([sys.executable, str(repo / "scripts" / "build_person_models.py"), "--cache",
                          "/nonexistent/pinet_cache"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count(": kept") == 3 and run.stderr == ""
    assert {p.name: p.stat().st_mtime_ns for p in d.iterdir()} == before


def test_models_command_verifies_and_names_the_fix(tmp_path):
    from pinet_ros.cli import main

    assert main(["models", "verify", "--out", str(tmp_path)]) == 1
    with pytest.raises(FileNotFoundError, match="pinet-ros models build"):
        from pinet_ros.models.person_models import NANODET_FILE, verified_model_path

        verified_model_path(NANODET_FILE, tmp_path)
    assert main(["models", "verify"]) == 0, "make setup builds data/models"


def test_verify_names_each_missing_model(tmp_path, capsys):
    """All three converted files are checked: a model folder without MoveNet fails verification by name."""
    import shutil

    from pinet_ros.cli import main

    d = pm.default_model_dir()
    for name in (pm.MANIFEST_FILE, pm.NANODET_FILE, pm.POSE_LANDMARK_FILE):
        shutil.copy(d / name, tmp_path / name)
    capsys.readouterr()
    assert main(["models", "verify", "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{pm.MOVENET_FILE} is missing" in out and pm.NANODET_FILE not in out


def test_movenet_build_check_accepts_the_model_and_rejects_another():
    """The build's check of a converted MoveNet passes on the real file and refuses a model of another
    contract (NanoDet: float NCHW input, six outputs), so a broken conversion is not recorded as built."""
    from pinet_ros.models.person_models_build import check_movenet_output

    d = pm.default_model_dir()
    check_movenet_output(pm.verified_model_path(pm.MOVENET_FILE, d))
    with pytest.raises(Exception):  # onnxruntime's own error for the wrong input type, or our RuntimeError
        check_movenet_output(pm.verified_model_path(pm.NANODET_FILE, d))
