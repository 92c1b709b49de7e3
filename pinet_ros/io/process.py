"""`pinet-ros process`: run the pipeline on every frame of a video, image folder or rosbag2, offline.

Outputs in the output folder:
- `poses.mcap`: one pinet_ros/MultiPerson3DPose on /pinet/poses and one MarkerArray on /pinet/markers per
  frame, at the image stamps (optionally the input Image + CameraInfo too), see `pinet_ros.io.bag_writer`;
- `poses.jsonl` (with `jsonl=True`): one JSON object per frame, `result_to_json`;
- `annotated.mp4` (with `video=True`; `annotated.avi` (MJPG) when OpenCV has no mp4v encoder): the input with
  the 2D overlay of `pinet_ros.render.draw_overlay`, at the source's frame rate.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pinet_ros.core.result import FrameResult

__all__ = ["ProcessSummary", "VideoWriter", "load_pipeline_params", "process_input", "result_to_json"]

log = logging.getLogger(__name__)


def _list(a: Any, ndigits: int = 5) -> Any:
    """numpy array -> nested lists of floats rounded to `ndigits` (NaN/inf -> None, as JSON has neither)."""
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 0:
        v = float(arr)
        return round(v, ndigits) if math.isfinite(v) else None
    return [_list(x, ndigits) for x in arr]


def result_to_json(result: FrameResult) -> dict[str, Any]:
    """One frame as a JSON-ready dict.

    Keys: stamp_ns (int), frame_id, image_size [width, height] (px), joint_names, persons (list of: id, score,
    bbox [x, y, w, h] px, root [x, y, z] m, joints (17 x [x, y, z]) m refined, joints_initial m before PI-Net,
    joints_2d (17 x [u, v]) px, confidence (17,) 0..1), interaction (n x n, row i = how much person i used
    person j; null when refinement is off). Camera optical frame (x right, y down, z forward); metres rounded
    to 0.01 mm; non-finite numbers are null.
    """
    return {
        "stamp_ns": int(result.stamp_ns),
        "frame_id": str(result.frame_id),
        "image_size": [int(result.image_size[0]), int(result.image_size[1])],
        "joint_names": list(result.joint_set.joint_names),
        "persons": [{
            "id": int(p.id),
            "score": _list(p.score, 4),
            "bbox": _list(p.bbox_xywh, 2),
            "root": _list(p.root_m),
            "joints": _list(p.joints_m),
            "joints_initial": _list(p.joints_initial_m),
            "joints_2d": _list(p.joints_2d, 2),
            "confidence": _list(p.joint_confidence, 4),
        } for p in result.persons],
        "interaction": None if result.interaction is None else _list(result.interaction, 4),
    }


class VideoWriter:
    """An OpenCV video writer that opens on the first frame (size known then): .mp4 (mp4v) when that encoder
    works, else .avi (MJPG), both at `fps` frames per second. Frames are RGB."""

    def __init__(self, path: Path, fps: float) -> None:
        self.requested = Path(path)
        self.fps = float(fps) if fps and math.isfinite(fps) and fps > 0 else 10.0
        self.path: Path | None = None
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None

    def _open(self, width: int, height: int) -> None:
        for suffix, fourcc in ((self.requested.suffix or ".mp4", "mp4v"), (".avi", "MJPG")):
            path = self.requested.with_suffix(suffix)
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), self.fps, (width, height))
            if writer.isOpened():
                self.path, self._writer, self._size = path, writer, (width, height)
                return
            writer.release()
            path.unlink(missing_ok=True)
        raise RuntimeError(f"OpenCV can write neither {self.requested} (mp4v) nor .avi (MJPG)")

    def write(self, rgb: np.ndarray) -> None:
        """Append one (H, W, 3) uint8 RGB frame (resized to the first frame's size if it differs)."""
        h, w = rgb.shape[:2]
        if self._writer is None:
            self._open(w, h)
        assert self._writer is not None and self._size is not None
        if (w, h) != self._size:
            rgb = cv2.resize(rgb, self._size, interpolation=cv2.INTER_AREA)
        self._writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))

    def close(self) -> Path | None:
        """Finish the file; returns its path (None when no frame was written)."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        return self.path


@dataclass
class ProcessSummary:
    """What `process_input` did.

    Attributes:
        source: one-line description of the input.
        frames: frames processed.
        people_per_frame: number of people published in each processed frame.
        elapsed_s: wall time of the loop, seconds.
        poses_path: the .mcap written; jsonl_path / video_path when asked for, else None.
        skipped: frames the source skipped, by reason.
        timings_ms: median per-stage pipeline time over the frames, milliseconds.
    """

    source: str
    frames: int = 0
    people_per_frame: list[int] = field(default_factory=list)
    elapsed_s: float = 0.0
    poses_path: Path | None = None
    jsonl_path: Path | None = None
    video_path: Path | None = None
    skipped: dict[str, int] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        """Frames processed per second of wall time."""
        return self.frames / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def text(self) -> str:
        """Human-readable multi-line summary."""
        ppl = np.asarray(self.people_per_frame or [0])
        lines = [f"input   {self.source}",
                 f"frames  {self.frames} in {self.elapsed_s:.1f} s ({self.fps:.2f} frames/s)"]
        if self.frames:
            lines.append(f"people  per frame: mean {ppl.mean():.2f}, min {ppl.min()}, max {ppl.max()}; "
                         f"frames with nobody: {int((ppl == 0).sum())}")
        if self.skipped:
            lines.append("skipped " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(self.skipped.items())))
        if self.timings_ms:
            lines.append("timing  median ms: " + ", ".join(f"{k} {v:.1f}" for k, v in self.timings_ms.items()))
        for label, path in (("poses", self.poses_path), ("jsonl", self.jsonl_path), ("video", self.video_path)):
            if path is not None:
                lines.append(f"{label:<7} {path}")
        return "\n".join(lines)


def load_pipeline_params(path: str | Path) -> dict[str, Any]:
    """Pipeline parameters from YAML: the node's file (`<node>: {ros__parameters: {...}}`, e.g.
    config/pinet.yaml) or a flat mapping of parameter names to values.

    Raises:
        ValueError: not a mapping, or several nodes in a ROS parameters file.
    """
    import yaml

    path = Path(path)
    doc = yaml.safe_load(path.read_text())
    if not isinstance(doc, dict):
        raise ValueError(f"parameters file {path} must be a mapping")
    nodes = {k: v for k, v in doc.items() if isinstance(v, dict) and "ros__parameters" in v}
    if nodes:
        if len(nodes) > 1:
            raise ValueError(f"parameters file {path} has several nodes ({', '.join(nodes)}); keep one")
        doc = next(iter(nodes.values()))["ros__parameters"] or {}
    return dict(doc)


def ros_available() -> bool:
    """Whether rclpy and this package's generated messages import (what writing poses.mcap needs)."""
    try:
        import rclpy.serialization  # noqa: F401
        from pinet_ros.msg import MultiPerson3DPose  # noqa: F401
    except ImportError:
        return False
    return True


def process_input(input_path: str | Path, out_dir: str | Path = "pinet_out", *, camera: str | Path | None = None,
                  image_topic: str | None = None, info_topic: str | None = None,
                  params: dict[str, Any] | None = None, backend: str | None = None, refine: bool | None = None,
                  device: str | None = None, jsonl: bool = False, video: bool = False, bag_images: bool = False,
                  max_frames: int | None = None, rate: float | None = None, frame_id: str | None = None,
                  progress: bool = True, overwrite: bool = True, pipeline: Any = None,
                  mcap: bool | None = None) -> ProcessSummary:
    """Run the pipeline on every frame of `input_path` and write the results to `out_dir`.

    Args:
        input_path: a video, image folder/file, rosbag2 directory or .mcap/.db3 (see `open_source`).
        out_dir: output folder (created).
        camera, image_topic, info_topic, rate, frame_id: passed to `open_source`.
        params: pipeline parameters (`PipelineConfig` field names); `backend`, `refine`, `device` override them.
        jsonl: also write poses.jsonl. video: also write annotated.mp4 (or .avi). bag_images: also write
            the input Image + CameraInfo into poses.mcap.
        max_frames: stop after this many frames (None: all).
        progress: show a tqdm progress bar.
        overwrite: replace existing output files.
        pipeline: an already built object with `process(rgb, intrinsics, stamp_ns, frame_id) -> FrameResult`
            to use instead of building `Pipeline(config)` (it is not closed here).
        mcap: write poses.mcap (needs the ROS environment: rclpy and the built messages). None: when rclpy
            can be imported; without it, JSONL and/or video must be asked for.
    Returns:
        ProcessSummary.
    Raises:
        SourceError / CameraYamlError (ValueError): bad input; PipelineError: the pipeline cannot start.
    """
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    from pinet_ros.io.bag_writer import PoseBagWriter
    from pinet_ros.io.sources import open_source

    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {max_frames}")
    have_ros = ros_available()
    if mcap is None:
        mcap = have_ros
    if mcap and not have_ros:
        raise ValueError("poses.mcap needs the ROS environment (rclpy and pinet_ros's built messages: "
                         "scripts/env.sh or a sourced ROS 2 workspace); without ROS write --jsonl or --video")
    if not (mcap or jsonl or video):
        raise ValueError("nothing to write: without the ROS environment poses.mcap cannot be written; pass "
                         "--jsonl and/or --video")
    source = open_source(input_path, camera=camera, image_topic=image_topic, info_topic=info_topic, rate=rate,
                         frame_id=frame_id)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    summary = ProcessSummary(source=source.describe())
    total = source.num_frames
    if max_frames is not None:
        total = min(total, max_frames) if total is not None else max_frames
    timings: dict[str, list[float]] = {}
    draw_overlay = None
    # Every output is closed on the way out, also after an error or Ctrl-C: what was written stays valid.
    with contextlib.ExitStack() as stack:
        if pipeline is None:
            from pinet_ros.pipeline import Pipeline, PipelineConfig, set_torch_threads

            values = dict(params or {})
            for key, value in (("backend", backend), ("refine", refine), ("device", device)):
                if value is not None:
                    values[key] = value
            config = PipelineConfig.from_params(values)
            set_torch_threads(config)  # this is the application: it may choose the process-wide thread count
            pipeline = Pipeline(config)
            stack.callback(pipeline.close)
        writer = None
        if mcap:
            writer = PoseBagWriter(out / "poses.mcap", images=bag_images, overwrite=overwrite)
            stack.callback(lambda: setattr(summary, "poses_path", writer.close()))
        jsonl_file = None
        if jsonl:
            jsonl_file = stack.enter_context((out / "poses.jsonl").open("w" if overwrite else "x"))
            summary.jsonl_path = out / "poses.jsonl"
        video_writer = None
        if video:
            from pinet_ros.render import draw_overlay

            if overwrite:
                for suffix in (".mp4", ".avi"):
                    (out / "annotated").with_suffix(suffix).unlink(missing_ok=True)
            video_writer = VideoWriter(out / "annotated.mp4", source.rate_hz or 10.0)
            stack.callback(lambda: setattr(summary, "video_path", video_writer.close()))
        t0 = time.perf_counter()
        stack.callback(lambda: setattr(summary, "elapsed_s", time.perf_counter() - t0))
        frames = itertools.islice(source, max_frames) if max_frames is not None else iter(source)
        bar = stack.enter_context(tqdm(frames, total=total, unit="frame", disable=not progress, desc="pinet"))
        if progress:
            stack.enter_context(logging_redirect_tqdm())
        _loop(bar, pipeline, writer, jsonl_file, video_writer, draw_overlay, bag_images, summary, timings)
    summary.skipped = dict(source.skipped)
    summary.timings_ms = {k: float(np.median(v)) for k, v in timings.items()}
    return summary


def _loop(bar: Any, pipeline: Any, writer: Any, jsonl_file: Any, video_writer: "VideoWriter | None",
          draw_overlay: Any, bag_images: bool, summary: ProcessSummary, timings: dict[str, list[float]]) -> None:
    """The per-frame work of `process_input`."""
    for frame in bar:
        result = pipeline.process(frame.rgb, frame.intrinsics, frame.stamp_ns, frame.frame_id)
        if writer is not None:
            writer.write(result, frame.rgb if bag_images else None, frame.intrinsics if bag_images else None)
        if jsonl_file is not None:
            jsonl_file.write(json.dumps(result_to_json(result), separators=(",", ":")) + "\n")
        if video_writer is not None and draw_overlay is not None:
            video_writer.write(draw_overlay(frame.rgb, result))
        summary.frames += 1
        summary.people_per_frame.append(len(result.persons))
        for key, value in (result.timings_ms or {}).items():
            timings.setdefault(key, []).append(float(value))
        bar.set_postfix(people=len(result.persons), refresh=False)
