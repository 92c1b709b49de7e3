"""Every node parameter, declared once: name, default, type, range or choices, description.

No rclpy here: the node turns these into `ParameterDescriptor`s, `PipelineConfig.from_params` reads the
pipeline's subset, and the tests check config/pinet.yaml and the launch file against this table.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

ORDERINGS = ("root3d", "bbox2d", "reverse", "random")
BACKENDS = ("mediapipe", "3dmppe", "topdown")
#: person detectors of the topdown backend (`TopdownConfig.detectors`)
PERSON_DETECTORS = ("nanodet+movenet", "nanodet", "movenet")
_DEVICE_RE = re.compile(r"^(cpu|cuda(:\d+)?)$")


@dataclass(frozen=True)
class ParamSpec:
    """One parameter.

    Attributes:
        name: parameter name (no namespace).
        default: default value; its Python type is the parameter type (bool, int, float or str).
        description: what it does, with units.
        low, high: inclusive range for int/float parameters (None: unbounded on that side).
        choices: allowed values for str parameters (None: free text, see `pattern`).
        pattern: regular expression a str value must match (None: anything).
        read_only: read once when the process starts; never changes afterwards.
        startup: used when the node configures (loads its networks): it may change only while the node is
            unconfigured (managed-node convention), and takes effect at the next configure.
    """

    name: str
    default: Any
    description: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None
    pattern: str | None = None
    read_only: bool = False
    startup: bool = False

    @property
    def type(self) -> type:
        return type(self.default)

    def validate(self, value: Any) -> str | None:
        """None if `value` is acceptable, else a one-line reason."""
        t = self.type
        if t is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not t:
            return f"{self.name} must be a {t.__name__}, got {type(value).__name__} {value!r}"
        if t in (int, float):
            if t is float and not math.isfinite(value):
                return f"{self.name} must be finite, got {value!r}"
            if self.low is not None and value < self.low:
                return f"{self.name} must be >= {self.low}, got {value!r}"
            if self.high is not None and value > self.high:
                return f"{self.name} must be <= {self.high}, got {value!r}"
        if t is str:
            if self.choices is not None and value not in self.choices:
                return f"{self.name} must be one of {', '.join(self.choices)}; got {value!r}"
            if self.pattern is not None and not re.fullmatch(self.pattern, value):
                return f"{self.name} {value!r} does not match {self.pattern}"
        return None


PIPELINE_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("backend", "topdown", "pose backend: topdown (embedded default, offline: NanoDet and MoveNet "
              "person boxes, then BlazePose 3D landmarks per person), mediapipe (MediaPipe's own face-based detector: misses "
              "people from behind or far away) or 3dmppe (detector + RootNet + PoseNet, the authors' weights)",
              choices=BACKENDS, startup=True),
    ParamSpec("device", "cpu", "torch device for the networks: cpu, cuda or cuda:N", pattern=_DEVICE_RE.pattern,
              startup=True),
    ParamSpec("refine", True, "refine every person with PI-Net (false: publish the backend's estimate)"),
    ParamSpec("ordering", "root3d", "order of the other people in PI-Net's sequence: root3d (paper), bbox2d "
              "(released code), reverse, random", choices=ORDERINGS),
    ParamSpec("pinet_weights", "", "PI-Net weights (.safetensors or the authors' snapshot_24.pth.tar) or a "
              "registry name (pinet_synthetic, pinet_muco); empty = the packaged default pinet_topdown_rendered",
              startup=True),
    ParamSpec("posenet_weights", "", "3DMPPE PoseNet weights (backend 3dmppe); empty = the registry's "
              "posenet_muco location", startup=True),
    ParamSpec("rootnet_weights", "", "3DMPPE RootNet weights (backend 3dmppe); empty = the registry's "
              "rootnet_muco location", startup=True),
    ParamSpec("detector_weights", "", "torchvision Faster R-CNN weights (backend 3dmppe); empty = torch hub "
              "cache", startup=True),
    ParamSpec("detector_variant", "v1", "Faster R-CNN variant (backend 3dmppe)", choices=("v1", "v2"),
              startup=True),
    ParamSpec("score_threshold", 0.4, "minimum person detection score, 0..1 (0.4: every clearly visible person "
              "of the real truth set and no false positive there; 0.35 adds one in 8 frames)", low=0.0, high=1.0),
    ParamSpec("max_persons", 10, "at most this many people per frame (highest scores kept)", low=1, high=64),
    ParamSpec("small_people", False, "mediapipe: second pass on enlarged crops for people below ~100 px "
              "(slower)", startup=True),
    ParamSpec("person_detectors", "nanodet+movenet", "topdown: person detectors, nanodet+movenet (both, boxes "
              "merged: MoveNet finds far and unusual-looking people NanoDet is unsure of, NanoDet people cut by the "
              "border), nanodet (faster by ~25 ms per detector frame at 640x480 on 2 cores) or movenet (at most 6 people)",
              choices=PERSON_DETECTORS, startup=True),
    ParamSpec("detect_every", 3, "topdown: run the person detector every n-th frame; between, the previous "
              "frame's people are tracked by their landmarks (a lost one triggers the detector at once); "
              "1 = every frame", low=1, high=100, startup=True),
    ParamSpec("flip_test", False, "3dmppe: average PoseNet with its mirrored crops (slower)"),
    ParamSpec("half_precision", False, "3dmppe: detector, RootNet and PoseNet under autocast (float16 on CUDA, "
              "bfloat16 on the CPU; soft-argmax and root depth stay float32); check accuracy with your weights "
              "first (pinet-ros bench gpu)", startup=True),
    ParamSpec("channels_last", False, "3dmppe: channels-last memory format (faster convolutions on CUDA)",
              startup=True),
    ParamSpec("pinet_runtime", "auto", "PI-Net runtime: onnxruntime (CPU; 1.7-2.6x faster than torch per frame "
              "here; the weights are exported to ONNX once, cached under ~/.cache/pinet_ros/onnx), torch, or auto "
              "(onnxruntime on the CPU, torch on CUDA)", choices=("auto", "onnxruntime", "torch"), startup=True),
    ParamSpec("tracking", True, "stable person ids across frames (false: every id is 0)"),
    ParamSpec("track_max_distance_m", 0.8, "tracking gate: largest root jump between frames, metres (for people "
              "within 4 m; it grows in proportion to depth beyond, as monocular depth error does)",
              low=0.01, high=10.0),
    ParamSpec("track_max_age_s", 2.0, "a person unseen this long (image time, seconds) gets a new id",
              low=0.01, high=60.0),
    ParamSpec("smoothing", False, "One-Euro smoothing of each tracked person's joints (needs tracking)"),
    ParamSpec("smoothing_min_cutoff_hz", 1.0, "One-Euro cut-off at rest, Hz (lower: smoother, more lag)",
              low=0.001, high=100.0),
    ParamSpec("smoothing_beta", 0.3, "One-Euro speed coefficient, 1/m (higher: less lag when moving)",
              low=0.0, high=100.0),
    ParamSpec("threads", 0, "torch CPU threads; 0 = auto (1 with topdown and mediapipe, where PI-Net is the "
              "only torch work; torch's default with 3dmppe)", low=0, high=256, startup=True),
)

NODE_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("autostart", True, "configure and activate at start (false: wait for lifecycle transitions)",
              read_only=True),
    ParamSpec("sync_tolerance_s", 0.02, "pair an image with the CameraInfo of the same stamp within this "
              "many seconds, else with the latest CameraInfo", low=0.0, high=10.0),
    ParamSpec("publish_markers", True, "publish ~/markers (RViz MarkerArray)"),
    ParamSpec("marker_lifetime_s", 0.5, "marker lifetime in RViz, seconds (0 = until replaced)",
              low=0.0, high=60.0),
    ParamSpec("diagnostics_period_s", 1.0, "period of /diagnostics, seconds", low=0.1, high=60.0),
    ParamSpec("warn_throttle_s", 5.0, "at most one warning of each kind per this many seconds",
              low=0.0, high=3600.0),
    ParamSpec("use_depth", False, "subscribe depth (16UC1 mm or 32FC1 m) + depth_camera_info and correct each "
              "person's absolute position with it before PI-Net (false: monocular)", read_only=True),
    ParamSpec("publish_tf", True, "publish every tracked person's REP-155 body frame body_<id> on /tf"),
    ParamSpec("tf_joints", False, "also publish one frame <joint>_<id> per joint, child of body_<id>"),
)

ALL_PARAMS: tuple[ParamSpec, ...] = PIPELINE_PARAMS + NODE_PARAMS
SPECS: dict[str, ParamSpec] = {p.name: p for p in ALL_PARAMS}


def defaults() -> dict[str, Any]:
    """{name: default} of every parameter."""
    return {p.name: p.default for p in ALL_PARAMS}


def validate(values: dict[str, Any]) -> list[str]:
    """Reasons why `values` (a subset of the parameters) is not acceptable; empty if it is."""
    reasons = []
    for name, value in values.items():
        spec = SPECS.get(name)
        if spec is None:
            reasons.append(f"unknown parameter {name!r}")
            continue
        reason = spec.validate(value)
        if reason:
            reasons.append(reason)
    return reasons


# ------------------------------------------------------------------------ files generated from this table

YAML_HEADER = """\
# Parameters of the pinet_ros node, every one with its default. GENERATED from pinet_ros/params.py:
#   python -m pinet_ros.params --write        (a test fails when this file and the table disagree)
# The wildcard key `/**` matches the node under any name and namespace (e.g. /cam1/pinet), so one file
# serves every camera; use `/cam1/pinet:` instead to give one node its own values.
# (start-up) parameters take effect at configure: change them while the node is unconfigured.
# (read-only) ones are read when the process starts. The others can be changed live (`ros2 param set`).
"""


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def _constraint(spec: ParamSpec) -> str:
    if spec.choices:
        return "[" + " | ".join(spec.choices) + "]"
    if spec.low is not None or spec.high is not None:
        return f"[{spec.low if spec.low is not None else ''} .. {spec.high if spec.high is not None else ''}]"
    return ""


def _kind(spec: ParamSpec) -> str:
    return "read-only" if spec.read_only else "start-up" if spec.startup else ""


def _wrap(text: str, width: int, indent: str) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=indent)


def yaml_text() -> str:
    """config/pinet.yaml as generated from the table (every parameter, its default, a comment)."""
    lines = [YAML_HEADER.rstrip("\n"), "/**:", "  ros__parameters:"]
    for title, group in (("pipeline", PIPELINE_PARAMS), ("node", NODE_PARAMS)):
        lines.append(f"    # --- {title} ---")
        for spec in group:
            extra = " ".join(x for x in (_constraint(spec), f"({_kind(spec)})" if _kind(spec) else "") if x)
            lines += _wrap(f"{spec.description} {extra}".strip(), 110, "    # ")
            lines.append(f"    {spec.name}: {_yaml_scalar(spec.default)}")
    return "\n".join(lines) + "\n"


def markdown_table() -> str:
    """The README's parameter table as generated from the table."""
    rows = ["| parameter | default | when | meaning |", "| --- | --- | --- | --- |"]
    for spec in ALL_PARAMS:
        default = _yaml_scalar(spec.default).replace('""', '`""`') if spec.default == "" else \
            f"`{_yaml_scalar(spec.default).strip(chr(34))}`"
        when = _kind(spec) or "live"
        meaning = spec.description.replace("|", "\\|")
        if _constraint(spec):
            meaning += " " + _constraint(spec).replace(" | ", ", ")
        rows.append(f"| `{spec.name}` | {default} | {when} | {meaning} |")
    return "\n".join(rows) + "\n"


README_BEGIN = "<!-- parameters: generated from pinet_ros/params.py by `python -m pinet_ros.params --write` -->"
README_END = "<!-- end of generated parameters -->"


def _readme_with_table(readme: str) -> str:
    start, end = readme.index(README_BEGIN) + len(README_BEGIN), readme.index(README_END)
    return readme[:start] + "\n" + markdown_table() + readme[end:]


def main(argv: list[str] | None = None) -> int:
    """`python -m pinet_ros.params [--write | --check]`: print, rewrite or check config/pinet.yaml and the
    README table (run from the repository root)."""
    import argparse
    from pathlib import Path

    ap = argparse.ArgumentParser(prog="python -m pinet_ros.params", description=main.__doc__)
    ap.add_argument("--write", action="store_true", help="rewrite config/pinet.yaml and README.md's table")
    ap.add_argument("--check", action="store_true", help="exit 1 if either file differs from the table")
    ap.add_argument("--root", default=".", help="repository root (default: .)")
    args = ap.parse_args(argv)
    root = Path(args.root)
    yaml_path, readme_path = root / "config" / "pinet.yaml", root / "README.md"
    want = {yaml_path: yaml_text(), readme_path: _readme_with_table(readme_path.read_text())}
    if args.write:
        for path, text in want.items():
            path.write_text(text)
        return 0
    if args.check:
        stale = [str(p) for p, text in want.items() if p.read_text() != text]
        if stale:
            print("out of date (run python -m pinet_ros.params --write): " + ", ".join(stale))
            return 1
        return 0
    print(yaml_text(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
