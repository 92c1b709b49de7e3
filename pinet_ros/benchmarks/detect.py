"""Benchmark: who the embedded backends find on real images, and how fast (``pinet-ros bench detect``).

Prints, for the ``topdown`` backend (and ``mediapipe`` with ``--compare``):
  * recall of the clearly visible people counted by eye (`people_truth.TRUTH`: six vtest.avi frames the demo
    does not play, basketball1.png, messi5.jpg) and false positives per frame, per source;
  * the same on stream frames: each vtest truth frame reached as a *tracked* frame of a stream (the detector
    last ran on an earlier frame; ``detect_every`` > 1);
  * people cut by an image border whose torso is visible (`people_truth.border_cases`): legs cut off (bottom,
    55 % of the height kept), left/right border through them (70 % of the width kept: torso whole; and 55 %:
    half the torso);
  * frames/s at 640x480 through the whole `Pipeline` (backend + PI-Net + tracking) on unrelated single images
    (``detect_every`` 1) and on a stream of consecutive vtest frames with 4-6 people (frames 350-389), with
    the detector, pose, lift and PI-Net stages separately (median ms per frame);
  * how the per-frame time grows from 1 to 8 people (pose batch, lift and PI-Net for n people).
Figures are printed, never asserted; the machine's load average is printed with them (the 2-core VM is
shared: timings under load are slower than on an idle machine).
"""

from __future__ import annotations

import os
import statistics
import time

import cv2
import numpy as np

from pinet_ros.benchmarks import people_truth as T
from pinet_ros.core.camera import Intrinsics

STREAM_FRAMES = (350, 390)  # vtest.avi frames with 4-6 people, not played by the demo
SIZE = (640, 480)


def _intrinsics(rgb: np.ndarray) -> Intrinsics:
    h, w = rgb.shape[:2]
    return Intrinsics(fx=float(w), fy=float(w), cx=w / 2.0, cy=h / 2.0)


def _rgb(bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(bgr), cv2.COLOR_BGR2RGB)


def _boxes(people: list) -> np.ndarray:
    return T.xywh_to_xyxy(np.array([p.bbox_xywh for p in people], dtype=np.float64).reshape(-1, 4))


def recall_table(backend, items: tuple[T.TruthImage, ...] = T.TRUTH) -> dict[str, T.Score]:
    """{image name: Score} of `backend` on each truth image (the backend's state is reset before each)."""
    out = {}
    for item in items:
        getattr(backend, "reset", lambda: None)()
        rgb = _rgb(T.load_image(item))
        out[item.name] = T.score_boxes(_boxes(backend.estimate(rgb, _intrinsics(rgb))), item.people, item.ignore)
    return out


def stream_recall(backend, detect_every: int, items: tuple[T.TruthImage, ...] = T.TRUTH) -> dict[str, T.Score]:
    """Score each video truth frame reached as a tracked frame: the stream starts ``3 * detect_every + 1``
    frames earlier, so the detector last ran on the frame before the scored one."""
    out = {}
    for item in items:
        if item.frame is None:
            continue
        start = max(0, item.frame - 3 * detect_every - 1)
        frames = T.read_video_frames(T.SAMPLES / item.file, list(range(start, item.frame + 1)))
        backend.reset()
        people = []
        for bgr in frames:
            rgb = _rgb(bgr)
            people = backend.estimate(rgb, _intrinsics(rgb))
        out[item.name] = T.score_boxes(_boxes(people), item.people, item.ignore)
    return out


def border_table(backend, keep_bottom: float | None = 0.55, keep_side: float = 0.7) -> dict[str, tuple[int, int]]:
    """{side: (found, cases)} on the border-cut cases (no bottom cases when `keep_bottom` is None); found = a
    published box with IoU >= 0.4 with the person's visible part."""
    cases = [] if keep_bottom is None else T.border_cases(keep=keep_bottom, sides=("bottom",))
    cases += T.border_cases(keep=keep_side, sides=("left", "right"))
    out: dict[str, list[bool]] = {}
    for case in cases:
        getattr(backend, "reset", lambda: None)()
        rgb = _rgb(case.image)
        boxes = _boxes(backend.estimate(rgb, _intrinsics(rgb)))
        out.setdefault(case.side, []).append(any(T.iou(b, case.visible) >= 0.4 for b in boxes))
    return {side: (sum(v), len(v)) for side, v in out.items()}


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def time_pipeline(pipeline, frames: list[np.ndarray], reset_each: bool) -> dict[str, float]:
    """Median stage ms and frames/s of `pipeline` over `frames` (BGR, already 640x480); one warm-up pass."""
    stages: dict[str, list[float]] = {}
    people, walls, cpus = [], [], []
    for k, bgr in enumerate(list(frames[:2]) + list(frames)):
        rgb = _rgb(bgr)
        if reset_each:
            pipeline.reset()
        t0, c0 = time.perf_counter(), time.process_time()
        res = pipeline.process(rgb, _intrinsics(rgb), stamp_ns=k * 100_000_000)
        wall = (time.perf_counter() - t0) * 1e3
        if k < 2:
            continue
        walls.append(wall)
        cpus.append((time.process_time() - c0) * 1e3)
        people.append(len(res.persons))
        for name in ("detect", "pose", "lift", "refine", "track"):
            stages.setdefault(name, []).append(float(res.timings_ms.get(name, 0.0)))
    out = {name: _median(v) for name, v in stages.items()}
    out["total"] = _median(walls)
    out["mean_ms"] = statistics.fmean(walls)
    out["fps"] = 1000.0 / out["mean_ms"]
    out["people"] = statistics.fmean(people)
    out["cpu_ms"] = statistics.fmean(cpus)  # CPU time of all this process's threads per frame
    return out


def scaling(pipeline, bgr: np.ndarray, counts: tuple[int, ...] = (1, 2, 4, 6, 8), repeats: int = 5
            ) -> list[dict[str, float]]:
    """Per-frame ms of the pose batch, lift and PI-Net for n people (regions of the people detected in
    `bgr`, repeated when fewer), plus the detector once per frame."""
    from pinet_ros.models.topdown_backend import region_from_box

    backend = pipeline.backend
    rgb = _rgb(bgr)
    k = _intrinsics(rgb)
    boxes, _ = backend.detect(rgb)
    if len(boxes) == 0:
        raise RuntimeError("no person detected in the scaling image")
    t0 = time.perf_counter()
    for _ in range(repeats):
        backend.detect(rgb)
    detect_ms = (time.perf_counter() - t0) * 1e3 / repeats
    rows = []
    for n in counts:
        regions = [region_from_box(boxes[i % len(boxes)], backend.config.crop_scale) for i in range(n)]
        pose_ms, lift_ms, refine_ms = [], [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            poses = backend.pose.run(rgb, regions)
            t1 = time.perf_counter()
            people = [backend._person(p, 0.9, None, rgb.shape[1], rgb.shape[0], k) for p in poses]
            people = [p for p in people if p is not None]
            t2 = time.perf_counter()
            if pipeline.pinet is not None and people:
                pipeline.pinet.refine(np.stack([p.joints_cam_mm for p in people]).astype(np.float32))
            t3 = time.perf_counter()
            pose_ms.append((t1 - t0) * 1e3)
            lift_ms.append((t2 - t1) * 1e3)
            refine_ms.append((t3 - t2) * 1e3)
        row = {"people": n, "detect": detect_ms, "pose": _median(pose_ms), "lift": _median(lift_ms),
               "refine": _median(refine_ms)}
        row["total"] = row["detect"] + row["pose"] + row["lift"] + row["refine"]
        rows.append(row)
    return rows


def _resize(bgr: np.ndarray) -> np.ndarray:
    return cv2.resize(bgr, SIZE, interpolation=cv2.INTER_AREA if bgr.shape[1] > SIZE[0] else cv2.INTER_LINEAR)


def _print_scores(title: str, scores: dict[str, T.Score]) -> tuple[int, int, int]:
    hits = sum(s.hits for s in scores.values())
    people = sum(s.people for s in scores.values())
    fps = sum(s.false_positives for s in scores.values())
    print(f"  {title}: " + ", ".join(f"{n} {s.hits}/{s.people}" + (f" +{s.false_positives} FP" if s.false_positives
                                                                      else "") for n, s in scores.items()))
    print(f"    recall {hits}/{people} = {100.0 * hits / max(people, 1):.0f} %, false positives {fps} in "
          f"{len(scores)} frames ({fps / max(len(scores), 1):.2f} per frame)")
    return hits, people, fps


def run_bench(detect_every: int = 3, compare: bool = False, speed: bool = True, threads: int = 2) -> dict:
    """Print every figure (module docstring); return them as a dict."""
    from pinet_ros.pipeline import Pipeline, PipelineConfig, set_torch_threads

    print(f"[bench detect] load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; onnxruntime "
          f"threads {threads}")
    result: dict = {}
    from pinet_ros.models.topdown_backend import TopdownBackend, TopdownConfig

    backends = {"topdown": lambda k: TopdownBackend(TopdownConfig(threads=threads, detect_every=k))}
    if compare:
        from pinet_ros.models.mediapipe_backend import MediapipeBackend, MediapipeConfig

        backends["mediapipe"] = lambda k: MediapipeBackend(MediapipeConfig())
    for name, make in backends.items():
        backend = make(1)
        print(f"{name}: people counted by eye ({sum(len(t.people) for t in T.TRUTH)} in {len(T.TRUTH)} images)")
        result[name] = {"single": _print_scores("single images", recall_table(backend))}
        if name == "topdown" and detect_every > 1:
            tracked = make(detect_every)
            result[name]["stream"] = _print_scores(f"vtest frames as tracked stream frames (detect_every "
                                                   f"{detect_every})", stream_recall(tracked, detect_every))
            tracked.close()
        border = border_table(backend)
        half = border_table(backend, keep_bottom=None, keep_side=0.55)
        found = sum(f for f, _ in border.values())
        total = sum(n for _, n in border.values())
        print(f"  cut by the border, torso visible: {found}/{total} = {100.0 * found / max(total, 1):.0f} % ("
              + ", ".join(f"{s} {f}/{n}" for s, (f, n) in border.items()) + "); with only half the torso "
              "(55 % of the width): " + ", ".join(f"{s} {f}/{n}" for s, (f, n) in half.items()))
        result[name]["border"] = border
        result[name]["border_half_torso"] = half
        backend.close()
    if not speed:
        return result

    cfg = PipelineConfig(backend="topdown")
    set_torch_threads(cfg)
    singles = [_resize(T.load_image(t)) for t in T.TRUTH]
    stream = [_resize(f) for f in T.read_video_frames(T.SAMPLES / "vtest.avi", list(range(*STREAM_FRAMES)))]
    pipe = Pipeline(cfg, backend=TopdownBackend(TopdownConfig(threads=threads, detect_every=1)))
    rows = {"single images (detect_every 1)": time_pipeline(pipe, singles, reset_each=True)}
    pipe.backend.close()
    for k in sorted({1, detect_every}):
        pipe = Pipeline(cfg, backend=TopdownBackend(TopdownConfig(threads=threads, detect_every=k)))
        rows[f"vtest stream 350-389 (detect_every {k})"] = time_pipeline(pipe, stream, reset_each=False)
        if k != detect_every:
            pipe.backend.close()
    print(f"speed at {SIZE[0]}x{SIZE[1]}, whole pipeline (PI-Net on), median ms per frame; load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"  {'input':44s} {'people':>6s} {'detect':>7s} {'pose':>7s} {'lift':>6s} {'PI-Net':>7s} {'total':>7s} "
          f"{'frames/s':>8s} {'CPU ms':>7s}")
    for title, r in rows.items():
        print(f"  {title:44s} {r['people']:6.1f} {r['detect']:7.1f} {r['pose']:7.1f} {r['lift']:6.1f} "
              f"{r['refine']:7.1f} {r['total']:7.1f} {r['fps']:8.1f} {r['cpu_ms']:7.1f}")
    print("  (frames/s = 1000 / mean wall ms; CPU ms = CPU time of all threads per frame: on an idle machine a "
          "frame takes at least CPU ms / cores)")
    result["speed"] = rows
    scale = scaling(pipe, _resize(T.load_image(T.TRUTH[0])))
    print("  time per frame by people (detector once, pose batch, lift, PI-Net), ms:")
    for r in scale:
        print(f"    {r['people']} people: detect {r['detect']:.1f} + pose {r['pose']:.1f} + lift {r['lift']:.1f} + "
              f"PI-Net {r['refine']:.1f} = {r['total']:.1f} ({1000.0 / r['total']:.1f} frames/s)")
    result["scaling"] = scale
    pipe.backend.close()
    return result
