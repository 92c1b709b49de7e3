"""Benchmark: the whole frame on the embedded default, stage by stage.

Stages: decode (ROS Image message -> RGB array, as the node does), the backend's own stages (mediapipe:
detect / landmarks / lift; 3dmppe: detect / root / pose), refine (PI-Net), track, convert (FrameResult ->
MultiPerson3DPose + MarkerArray). Run: `scripts/env.sh pinet-ros bench pipeline`.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np

from pinet_ros.io.camera_yaml import assumed_intrinsics

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


def load_bgr_frames(samples: Path = SAMPLES, vtest_frames: int = 30) -> dict[str, list[np.ndarray]]:
    """{"basketball2": [BGR image], "vtest": [BGR frames]} from the opencv-doc samples (scripts/get_samples.sh)."""
    path = samples / "basketball2.png"
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"{path} missing: run scripts/get_samples.sh (or make setup)")
    cap = cv2.VideoCapture(str(samples / "vtest.avi"))
    frames = []
    while len(frames) < vtest_frames:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    if not frames:
        raise FileNotFoundError(f"{samples / 'vtest.avi'} missing or unreadable: run scripts/get_samples.sh")
    return {"basketball2": [img], "vtest": frames}


def _bgr_message(bgr: np.ndarray) -> SimpleNamespace:
    h, w = bgr.shape[:2]
    header = SimpleNamespace(stamp=SimpleNamespace(sec=0, nanosec=0), frame_id="camera")
    return SimpleNamespace(header=header, height=h, width=w, encoding="bgr8", is_bigendian=0, step=w * 3,
                           data=bgr.tobytes())


def run_bench(repeats: int = 30, refine: bool = True, small_people: bool = False, threads: int | None = None,
              vtest_frames: int = 30) -> dict[str, dict[str, float]]:
    """Time every stage on basketball2 (repeated) and on consecutive vtest frames; print a table.

    Returns {input name: {stage: median ms, "fps": frames/s, "people": mean people per frame,
    "refine_share_pct": PI-Net's share of the frame time}}.
    """
    import torch

    from pinet_ros.pipeline import Pipeline, PipelineConfig, set_torch_threads
    from pinet_ros.ros import convert

    config = PipelineConfig(refine=refine, small_people=small_people)
    if threads:
        torch.set_num_threads(threads)
    else:
        set_torch_threads(config)  # the node's policy, so that the figures are the node's
    pipeline = Pipeline(config)
    pipeline.warmup()
    results: dict[str, dict[str, float]] = {}
    for name, frames in load_bgr_frames(vtest_frames=vtest_frames).items():
        msgs = [_bgr_message(f) for f in frames]
        pipeline.reset()
        per_stage: dict[str, list[float]] = {}
        totals, people = [], []
        n = repeats if len(msgs) == 1 else len(msgs)
        for i in range(n):
            msg = msgs[i % len(msgs)]
            t0 = time.perf_counter()
            rgb = convert.image_to_rgb(msg)
            t1 = time.perf_counter()
            result = pipeline.process(rgb, assumed_intrinsics(msg.width, msg.height), stamp_ns=i * 100_000_000,
                                      frame_id="camera")
            t2 = time.perf_counter()
            convert.frame_result_to_msg(result)
            convert.frame_result_to_markers(result)
            t3 = time.perf_counter()
            stages = {"decode": (t1 - t0) * 1e3, **{k: v for k, v in result.timings_ms.items() if k != "total"},
                      "convert": (t3 - t2) * 1e3}
            for k, v in stages.items():
                per_stage.setdefault(k, []).append(v)
            totals.append((t3 - t0) * 1e3)
            people.append(len(result.persons))
        row = {k: statistics.median(v) for k, v in per_stage.items()}
        row["frame"] = statistics.median(totals)
        row["fps"] = 1000.0 / row["frame"]
        row["people"] = float(np.mean(people))
        row["refine_share_pct"] = 100.0 * row.get("refine", 0.0) / row["frame"]
        results[name] = row
    pipeline.close()

    print(f"pinet-ros bench pipeline: embedded default (mediapipe + PI-Net{' ' if refine else ' off '}), "
          f"torch threads {torch.get_num_threads()}, small_people={small_people}; median ms per frame")
    stages = [k for k in next(iter(results.values())) if k not in ("fps", "people", "refine_share_pct", "frame")]
    header = ["input", *stages, "frame", "fps", "people", "PI-Net %"]
    print(" | ".join(header))
    for name, row in results.items():
        cells = [name] + [f"{row.get(k, float('nan')):.2f}" for k in stages] + [
            f"{row['frame']:.1f}", f"{row['fps']:.1f}", f"{row['people']:.1f}", f"{row['refine_share_pct']:.1f}"]
        print(" | ".join(cells))
    return results
