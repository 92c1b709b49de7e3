"""`pinet-ros bench depth`: root error and tracking with a depth image vs monocular, in the same run.

Scenes (`pinet_ros.data.depth_scenes`): sequences of 1-4 people at 1.5-6 m from a colour camera (640x480,
f = 615 px, 1.3 m above the floor, horizontal), walking (DeepMimic `walk`) or standing and dancing (`dance_b`),
in front of a wall; about half the sequences put an occluder in front of someone: an undetected box (a
counter, a bin, a parked cart) or another person standing 0.6-1.2 m nearer. Depth images are rasterised from
the ground-truth skeletons as capsule bodies (scaled 0.85-1.15 per person) and degraded by
`SensorNoise` (sigma = 0.0025 z^2 m, holes at depth edges, 1 % dropouts, mm quantisation).

The monocular backend is simulated from the ground truth, as the real one errs (its errors are what the
depth correction has to fix): 2D joints with 2 px noise; root depth off by a persistent per-person 8 % of the
distance plus 4 % per frame (the root stays on its pixel's ray), a median root error of ~0.2 m at 1.5-6 m,
as the embedded default measured on rendered people (~250 mm at 2.5-8 m, ~240 mm at 1.5-6 m); 30 mm noise on
the root-relative joints and an occasional wrong limb; occluded joints reported with low confidence (not
always below the threshold). People with fewer than 6 visible joints are not detected.

Both runs go through the real `Pipeline` (packaged PI-Net, tracker) with the same estimates; one with the
depth image, one without. Printed, never asserted:
- median root error (refined pelvis vs ground truth, 3D, mm) per distance band, monocular vs depth, and the
  share of people corrected;
- the people with an occluder in front (at least 3 of their joints hidden by something other than their own
  body): median and worst change of their root error with depth, and how many got worse by more than 100 mm;
- tracking: id switches (a ground-truth person's id changing between frames) and ids handed out.

`--rendered DIR` instead reads the output of `pinet-ros render` (rendered anny bodies over real photos,
MuPoTS-3D.json + exact per-frame people depth in DIR/depth/): the real default backend (`--backend` to choose) runs once
per image on the rendered colour image, and its estimates go through both arms. The rendered depth holds the
people only; the ground plane (from the annotation's `ground_plane`) is filled in analytically, the rest of the
photo has no reading. The same `SensorNoise` is applied. Detections are matched to the ground truth with the
MuPoTS 2D rule (`pinet_ros.metrics.match_persons`), keeping a pair only when the detection is nearest in 2D to
that ground-truth person (the greedy rule can hand an occluded person the detection of the one in front of
them); "occluded" there means at least 20 % of the person's
silhouette hidden by other people (the annotation's `occlusion`). The rendered frames are independent
pictures, so tracking is only measured on the sequences.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from pinet_ros.core.camera import Intrinsics
from pinet_ros.core.depth import DepthCamera, DepthFrame
from pinet_ros.core.result import PersonEstimate
from pinet_ros.core.skeleton import MUPOTS17
from pinet_ros.data.depth_scenes import Box, Scene, SensorNoise, add_sensor_noise, joint_visibility, render_depth

__all__ = ["SimMonocular", "make_sequence", "run_depth_bench", "run_rendered_bench"]

WIDTH, HEIGHT = 640, 480
INTR = Intrinsics(fx=615.0, fy=615.0, cx=320.0, cy=240.0)
CAMERA_HEIGHT_M = 1.3
RATE_HZ = 10.0


@dataclass
class Sequence:
    """Ground truth of one sequence: joints[t][k] (17, 3) metres for person k (None when out of view)."""

    joints: list[list[np.ndarray]]
    scales: list[float]
    boxes: list[Box]
    occluded_person: int | None


def _yaw(theta: float) -> np.ndarray:
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def make_sequence(rng: np.random.Generator, frames: int, clips: dict[str, np.ndarray]) -> Sequence:
    """People on the floor, y down, in the colour camera frame; see the module docstring."""
    n = int(rng.integers(1, 5))
    starts, vels, poses, yaws, phases = [], [], [], [], []
    for _ in range(200):
        if len(starts) == n:
            break
        z = rng.uniform(1.5, 6.0)
        x = rng.uniform(-0.35, 0.35) * WIDTH / INTR.fx * z
        if any(abs(x - s[0]) < 0.7 and abs(z - s[2]) < 0.7 for s in starts):
            continue
        walking = rng.random() < 0.6
        speed = rng.uniform(0.3, 1.2) if walking else 0.0
        heading = rng.uniform(0, 2 * np.pi)
        starts.append(np.array([x, CAMERA_HEIGHT_M, z]))
        vels.append(speed * np.array([np.cos(heading), 0.0, np.sin(heading)]) * 0.5)
        poses.append("walk" if walking else "dance_b")
        yaws.append(-heading if walking else rng.uniform(0, 2 * np.pi))
        phases.append(int(rng.integers(0, 1000)))
    boxes: list[Box] = []
    occluded = None
    kind = rng.random()
    if kind < 0.3 and starts:  # an undetected box in front of someone
        occluded = int(rng.integers(len(starts)))
        s = starts[occluded]
        zf = s[2] - rng.uniform(0.6, 1.5)
        if zf > 0.8:
            wdt, hgt = rng.uniform(0.4, 0.9), rng.uniform(0.7, 1.3)
            cx = s[0] + rng.uniform(-0.25, 0.25)
            boxes.append(Box((cx - wdt / 2, CAMERA_HEIGHT_M - hgt, zf - 0.3), (cx + wdt / 2, CAMERA_HEIGHT_M, zf)))
            vels[occluded] = vels[occluded] * 0.2
        else:
            occluded = None
    elif kind < 0.55 and starts:  # a person standing in front of someone
        occluded = int(rng.integers(len(starts)))
        s = starts[occluded]
        zf = s[2] - rng.uniform(0.6, 1.2)
        if zf > 1.2:
            starts.append(np.array([s[0] + rng.uniform(-0.3, 0.3), CAMERA_HEIGHT_M, zf]))
            vels.append(np.zeros(3))
            vels[occluded] = vels[occluded] * 0.2
            poses.append("dance_b")
            yaws.append(rng.uniform(0, 2 * np.pi))
            phases.append(int(rng.integers(0, 1000)))
        else:
            occluded = None
    scales = [float(rng.uniform(0.85, 1.15)) for _ in starts]
    joints = []
    for t in range(frames):
        row = []
        for k, s in enumerate(starts):
            clip = clips[poses[k]]
            pose = clip[(phases[k] + t * 3) % len(clip)]
            rel = (pose - pose[14] * np.array([1.0, 0.0, 1.0])) @ _yaw(yaws[k]).T
            rel *= scales[k] ** 0.5  # taller people are also wider
            row.append(rel + s + vels[k] * t / RATE_HZ)
        joints.append(row)
    return Sequence(joints, scales, boxes, occluded)


class SimMonocular:
    """A monocular backend simulated from ground truth (see the module docstring). Set `frame` before each
    `Pipeline.process` call; `boxes` then maps each returned box to its ground-truth person."""

    name = "simulated-monocular"

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.timings_ms: dict[str, float] = {}
        self.frame: list[PersonEstimate] = []
        self.bias: dict[int, float] = {}

    def set_frame(self, gt: list[np.ndarray], visible: list[np.ndarray]) -> dict[tuple, int]:
        rng = self.rng
        out, owner = [], {}
        for k, (j, vis) in enumerate(zip(gt, visible)):
            if vis.sum() < 6:
                continue
            z = j[14, 2]
            b = self.bias.setdefault(k, float(rng.normal(0, 0.08)))
            z_est = max(z * (1.0 + b + rng.normal(0, 0.04)), 0.5)
            root = j[14] * (z_est / z)
            rel = j - j[14] + rng.normal(0, 0.03, j.shape)
            rel[14] = 0
            for mid, end in ((3, 4), (6, 7), (9, 10), (12, 13)):
                if rng.random() < 0.05:
                    d = rng.normal(size=3)
                    d *= rng.uniform(0.15, 0.3) / np.linalg.norm(d)
                    rel[end] += d
                    rel[mid] += d / 2
            uv = INTR.project(j) + rng.normal(0, 2.0, (17, 2))
            conf = np.where(vis, rng.uniform(0.7, 1.0, 17), rng.uniform(0.05, 0.6, 17))
            lo, hi = uv.min(0), uv.max(0)
            box = np.array([lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]])
            out.append(PersonEstimate(bbox_xywh=box, score=0.9, joints_cam_mm=(root + rel) * 1000.0,
                                      joints_2d=uv, joint_confidence=conf))
            owner[tuple(np.round(box, 6))] = k
        self.frame = out
        return owner

    def estimate(self, rgb: np.ndarray, intrinsics: Intrinsics) -> list[PersonEstimate]:
        return list(self.frame)

    def close(self) -> None:
        pass


def _band(z: float) -> str:
    if z < 1.5:
        return "below 1.5 m"
    return "1.5-3 m" if z < 3.0 else "3-4.5 m" if z < 4.5 else "4.5-6 m" if z <= 6.0 else "beyond 6 m"


def run_depth_bench(sequences: int = 24, frames: int = 20, seed: int = 0, first_sequence: int = 0) -> dict:
    """Run both arms over the same scenes and print the tables; returns the figures."""
    from pinet_ros.data.synthetic import load_clip
    from pinet_ros.pipeline import Pipeline, PipelineConfig, set_torch_threads

    set_torch_threads(PipelineConfig())
    clips = {"walk": load_clip("walk"), "dance_b": load_clip("dance_b")}
    rng = np.random.default_rng(seed)
    noise = SensorNoise()
    camera = DepthCamera.registered_to(INTR, WIDTH, HEIGHT)
    rgb = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    arms = {}
    for arm in ("mono", "depth"):
        backend = SimMonocular(np.random.default_rng(seed + 1))
        arms[arm] = (Pipeline(PipelineConfig(), backend=backend), backend)
    errors = {"mono": [], "depth": []}  # (band, err_mm, occluded)
    corrected = []
    ids = {"mono": {}, "depth": {}}  # (seq, k) -> list of ids per frame
    t_render = t_pipe = 0.0
    n_frames = 0
    for s in range(first_sequence, first_sequence + sequences):
        rng = np.random.default_rng([seed, s])  # each sequence on its own: any one can be re-run alone
        seq = make_sequence(rng, frames, clips)
        for arm in arms.values():
            arm[0].reset()
            arm[1].bias = {}
            arm[1].rng = np.random.default_rng([seed, s, 1])  # the same estimates in both arms
        for t in range(frames):
            gt = seq.joints[t]
            t0 = time.perf_counter()
            scene = Scene(gt, seq.scales, seq.boxes, floor_y_m=CAMERA_HEIGHT_M, wall_z_m=9.0)
            clean = render_depth(scene, INTR, WIDTH, HEIGHT)
            depth = add_sensor_noise(clean, noise, rng)
            visible = [joint_visibility(j, clean, INTR) for j in gt]
            occluded_by_other = np.zeros(len(gt), bool)
            if seq.occluded_person is not None:
                k = seq.occluded_person
                others = Scene([j for i, j in enumerate(gt) if i != k],
                               [sc for i, sc in enumerate(seq.scales) if i != k], seq.boxes,
                               floor_y_m=None, wall_z_m=None)
                hidden = ~joint_visibility(gt[k], render_depth(others, INTR, WIDTH, HEIGHT), INTR)
                occluded_by_other[k] = hidden.sum() >= 3
            t_render += time.perf_counter() - t0
            frame = DepthFrame(depth, camera, stamp_ns=0)
            stamp = int((s * 1000 + t) * 1e9 / RATE_HZ)
            t1 = time.perf_counter()
            for arm, (pipe, backend) in arms.items():
                owner = backend.set_frame(gt, visible)
                result = pipe.process(rgb, INTR, stamp, depth=frame if arm == "depth" else None)
                for p in result.persons:
                    k = owner.get(tuple(np.round(p.bbox_xywh, 6)))
                    if k is None:
                        continue
                    err = float(np.linalg.norm(p.root_m - gt[k][14]) * 1000.0)
                    dz = float(abs(p.root_m[2] - gt[k][14, 2]) * 1000.0)
                    before = float(np.linalg.norm(p.joints_initial_m[14] - gt[k][14]) * 1000.0)
                    errors[arm].append((s, t, k, _band(gt[k][14, 2]), err, bool(occluded_by_other[k]), dz, before))
                    ids[arm].setdefault((s, k), []).append(int(p.id))
                    if arm == "depth":
                        corrected.append(p.root_source == 1)
            t_pipe += time.perf_counter() - t1
            n_frames += 1
    return _report(errors, corrected, ids, n_frames, t_render, t_pipe)


def _report(errors, corrected, ids, n_frames, t_render, t_pipe,
            scenes: str = "capsule scenes, simulated monocular backend, real PI-Net + tracker") -> dict:
    mono = {(e[0], e[1], e[2]): e for e in errors["mono"]}
    depth = {(e[0], e[1], e[2]): e for e in errors["depth"]}
    both = sorted(set(mono) & set(depth))
    figures: dict = {}
    print(f"depth benchmark: {n_frames} frames, {len(both)} person-frames ({scenes}); "
          f"sensor sigma = 0.0025 z^2 m, edge holes, 1 % dropouts")
    print("root error (median, mm) = 3D distance published (PI-Net-refined) pelvis - true pelvis; z: its depth "
          "component only; 'before': the depth-corrected root PI-Net was given")
    print(f"{'band':<12}{'people':>7}{'mono':>7}{'depth':>7}{'before':>8}{'mono z':>8}{'depth z':>9}{'corrected':>11}")
    corr = np.array(corrected, bool)
    for band in ("1.5-3 m", "3-4.5 m", "4.5-6 m", "beyond 6 m", "1.5-6 m", "all"):
        keys = [k for k in both if band == "all" or mono[k][3] == band
                or (band == "1.5-6 m" and mono[k][3] not in ("beyond 6 m", "below 1.5 m"))]
        if not keys:
            continue
        m = np.median([mono[k][4] for k in keys])
        d = np.median([depth[k][4] for k in keys])
        mz = np.median([mono[k][6] for k in keys])
        dz = np.median([depth[k][6] for k in keys])
        db = np.median([depth[k][7] for k in keys])
        figures[band] = (len(keys), m, d, mz, dz, db)
        share = f"{100 * corr.mean():.0f} %" if band == "all" and corr.size else ""
        print(f"{band:<12}{len(keys):>7}{m:>7.0f}{d:>7.0f}{db:>8.0f}{mz:>8.0f}{dz:>9.0f}{share:>11}")
    occ = [k for k in both if mono[k][5]]
    if occ:
        delta = np.array([depth[k][4] - mono[k][4] for k in occ])
        figures["worst_occluded"] = occ[int(np.argmax(delta))]  # (sequence, frame, person)
        figures["occluded"] = (len(occ), float(np.median([mono[k][4] for k in occ])),
                               float(np.median([depth[k][4] for k in occ])), float(delta.max()),
                               int((delta > 100).sum()))
        print(f"occluder in front: {len(occ)} person-frames, median root error mono "
              f"{figures['occluded'][1]:.0f} mm -> depth {figures['occluded'][2]:.0f} mm; worst change with depth "
              f"{delta.max():+.0f} mm; worse than monocular by > 100 mm: {int((delta > 100).sum())}")
    for arm in ("mono", "depth") if ids["mono"] else ():
        switches = sum(int(np.sum(np.diff(v) != 0)) for v in ids[arm].values())
        handed = len({(key[0], i) for key, v in ids[arm].items() for i in v})
        figures[f"ids_{arm}"] = (switches, handed, len(ids[arm]))
        print(f"tracking {arm:<5}: {switches} id switches, {handed} ids handed out for {len(ids[arm])} people")
    print(f"time: scenes {1e3 * t_render / max(n_frames, 1):.0f} ms/frame, both pipelines "
          f"{1e3 * t_pipe / max(n_frames, 1):.0f} ms/frame")
    return figures


class _Replay:
    """A backend that returns the estimates it was given (the real backend's, computed once per image)."""

    name = "replay"

    def __init__(self) -> None:
        self.frame: list[PersonEstimate] = []
        self.timings_ms: dict[str, float] = {}

    def estimate(self, rgb: np.ndarray, intrinsics: Intrinsics) -> list[PersonEstimate]:
        return list(self.frame)

    def close(self) -> None:
        pass


def _ground_depth_m(plane: list[float], intr: Intrinsics, width: int, height: int, max_m: float = 12.0) -> np.ndarray:
    """Depth (z, metres) of the ground plane n . X + d = 0 (X in mm) on every pixel, NaN where not seen."""
    n = np.asarray(plane[:3], float)
    d = float(plane[3])
    u, v = np.meshgrid(np.arange(width, dtype=float), np.arange(height, dtype=float))
    denom = n[0] * (u - intr.cx) / intr.fx + n[1] * (v - intr.cy) / intr.fy + n[2]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = -d / denom / 1000.0
    z[~((z > 0) & (z < max_m))] = np.nan
    return z


def run_rendered_bench(folder: str, max_frames: int = 0, seed: int = 0, backend: str = "") -> dict:
    """Both arms over a `pinet-ros render` output folder with a real backend (`backend`, default: the default
    one); prints and returns the figures (see the module docstring)."""
    import json
    from pathlib import Path

    import cv2

    from pinet_ros.metrics import MATCH_JOINTS, match_persons
    from pinet_ros.pipeline import Pipeline, PipelineConfig, set_torch_threads

    root = Path(folder)
    data = json.loads((root / "MuPoTS-3D.json").read_text())
    anns: dict[int, list[dict]] = {}
    for a in data["annotations"]:
        anns.setdefault(int(a["image_id"]), []).append(a)
    images = sorted(data["images"], key=lambda im: im["id"])
    if max_frames:
        images = images[:max_frames]
    set_torch_threads(PipelineConfig())
    real = Pipeline(PipelineConfig(refine=False, tracking=False, **({"backend": backend} if backend else {})))
    arms = {}
    for arm in ("mono", "depth"):
        replay = _Replay()
        arms[arm] = (Pipeline(PipelineConfig(tracking=False), backend=replay), replay)
    rng = np.random.default_rng(seed)
    noise = SensorNoise()
    errors = {"mono": [], "depth": []}
    corrected, gt_people, found, ambiguous = [], 0, 0, 0
    t0 = time.perf_counter()
    for i, im in enumerate(images):
        bgr = cv2.imread(str(root / im["file_name"]), cv2.IMREAD_COLOR)
        mm = cv2.imread(str(root / "depth" / im["file_name"].replace(".jpg", ".png")), cv2.IMREAD_UNCHANGED)
        if bgr is None or mm is None:
            continue
        rgb = np.ascontiguousarray(bgr[..., ::-1])
        h, w = mm.shape
        intr = Intrinsics(*[float(x) for x in im["intrinsic"]])
        clean = np.where(mm > 0, mm / 1000.0, np.nan)
        if "ground_plane" in im:
            ground = _ground_depth_m(im["ground_plane"], intr, w, h)
            clean = np.where(np.isnan(clean), ground, np.fmin(clean, ground))
        frame = DepthFrame(add_sensor_noise(clean, noise, rng), DepthCamera.registered_to(intr, w, h))
        estimates = real.backend.estimate(rgb, intr)
        # every annotated person takes part in the matching (a detection of someone mostly outside the image
        # must not be paired with the valid person behind them), only valid ones are scored
        gts = list(anns.get(int(im["id"]), []))
        scored = [bool(a.get("is_valid", True)) for a in gts]
        gt_people += sum(scored)
        if not any(scored):
            continue
        gt_2d = np.array([a["keypoints_img"] for a in gts], float)[:, :17]
        gt_cam = np.array([a["keypoints_cam"] for a in gts], float)[:, :17] / 1000.0
        for arm, (pipe, replay) in arms.items():
            replay.frame = estimates
            result = pipe.process(rgb, intr, i, depth=frame if arm == "depth" else None)
            if not result.persons:
                continue
            pred_2d = np.stack([p.joints_2d for p in result.persons])
            match = match_persons(pred_2d, gt_2d)
            for g, k in enumerate(match):
                if k < 0 or not scored[g]:
                    continue
                # the protocol's greedy matching can give an occluded person the detection of the one in front:
                # keep a pair only when that ground-truth person is the detection's nearest in 2D
                dist = np.nanmedian(np.linalg.norm(pred_2d[k][None, MATCH_JOINTS] - gt_2d[:, MATCH_JOINTS], axis=-1),
                                    axis=1)
                if int(np.argmin(dist)) != g:
                    if arm == "mono":
                        ambiguous += 1
                    continue
                p = result.persons[k]
                err = float(np.linalg.norm(p.root_m - gt_cam[g, 14]) * 1000.0)
                dz = float(abs(p.root_m[2] - gt_cam[g, 14, 2]) * 1000.0)
                before = float(np.linalg.norm(p.joints_initial_m[14] - gt_cam[g, 14]) * 1000.0)
                occluded = float(gts[g].get("occlusion", 0.0)) >= 0.2
                errors[arm].append((i, 0, g, _band(gt_cam[g, 14, 2]), err, occluded, dz, before))
                if arm == "depth":
                    corrected.append(p.root_source == 1)
                else:
                    found += 1
    print(f"rendered frames from {root}: {len(images)} images, {gt_people} valid people, {found} matched "
          f"detections (backend {real.config.backend}; {ambiguous} more matched to a person they are not nearest "
          f"to in 2D "
          f"left out), {time.perf_counter() - t0:.0f} s")
    return _report(errors, corrected, {"mono": {}, "depth": {}}, len(images), 0.0, time.perf_counter() - t0,
                   scenes=f"rendered anny people over photos, real {real.config.backend} backend, real PI-Net")
