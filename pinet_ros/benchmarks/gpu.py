"""Benchmark: the 3dmppe stack and PI-Net on CUDA (or the CPU), float32 vs half precision.

Random weights in the released layouts (torchvision Faster R-CNN ResNet-50 FPN v1, 3DMPPE RootNet and PoseNet):
the same compute as the real files, nothing to download (`--posenet-weights`/`--rootnet-weights` use real files
where present). PI-Net uses the packaged trained weights (weights.DEFAULT_PINET). Batch-norm statistics are calibrated
on random crops first (as trained networks have them) so activations keep realistic ranges in float16.
A random deep batch-norm network is chaotic: a 0.5 grey-level change of the crop swings its outputs by whole
heatmap cells (hundreds of mm), which a trained network does not do. So each residual branch is damped (last
BN scale 0.1, as small-init residual schemes do) and the output layers get a larger init (heatmaps peaked, the
coordinates spread over the volume). The half-vs-float32 and device-vs-CPU differences in mm of the 3dmppe
stack are therefore indicative only; with real weights they have to be measured again.

Per frame (640x480 by default, 1, 3 and 10 people): detect (Faster R-CNN on the whole image), crop (every
person's 256x256 crop), root (RootNet batch), pose (PoseNet batch). The people's boxes are fixed (a random
detector finds nobody in particular); the detector's compute does not depend on what it finds.
PI-Net: one batched `refine` per frame for N = 1..10 people, torch on the device (float32 and autocast
half), and onnxruntime on the CPU. Differences are reported in mm: half vs float32 on the device, and on
CUDA, the device against the CPU (float32).

Run: `pinet-ros bench gpu [--device cuda|cpu] [--out FILE]` or `python -m pinet_ros.benchmarks.gpu`.
Imports only torch, torchvision, numpy, cv2 and (for the ONNX row) onnx/onnxruntime: no ROS, no mediapipe.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from pinet_ros.core.camera import Intrinsics
from pinet_ros.core.skeleton import MUCO21
from pinet_ros.models.dmppe_backend import DmppeBackend, DmppeConfig
from pinet_ros.models.detector import PersonDetector, build_fasterrcnn
from pinet_ros.models.pinet import PINet
from pinet_ros.models.posenet import PoseNet, normalise_crops
from pinet_ros.models.rootnet import RootNet

J = 17
WIDTH, HEIGHT = 640, 480


# ----------------------------------------------------------------------------------------------- models
@torch.no_grad()
def calibrate_batchnorm(net: torch.nn.Module, make_batch: Callable[[], tuple], batches: int = 2) -> None:
    """Set every BatchNorm's running statistics to the mean/var of `batches` forwards (cumulative average)."""
    bns = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    net.train()
    for _ in range(batches):
        net(*make_batch())
    net.eval()


@torch.no_grad()
def damp_residuals(trunk: torch.nn.Module, scale: float = 0.1) -> None:
    """Multiply the last BN scale of every ResNet bottleneck by `scale` (a tamer random network, see above)."""
    for m in trunk.modules():
        if hasattr(m, "bn3") and hasattr(m, "conv3"):
            m.bn3.weight.mul_(scale)


def _random_crops(gen: torch.Generator, n: int, device: torch.device) -> torch.Tensor:
    """(n, 3, 256, 256) normalised crops of a smooth random image (values 0..255 before normalisation)."""
    low = torch.rand((n, 3, 16, 16), generator=gen) * 255.0
    img = torch.nn.functional.interpolate(low, size=(256, 256), mode="bilinear", align_corners=False)
    return normalise_crops(img).to(device)


def random_stack(device: str | torch.device = "cpu", seed: int = 0, calib_batch: int = 4,
                 detector_kwargs: dict | None = None, calibrate_detector: bool = True,
                 posenet_weights: str | None = None, rootnet_weights: str | None = None
                 ) -> tuple[PersonDetector, RootNet, PoseNet]:
    """Detector, RootNet and PoseNet with random weights in the released layouts, BN calibrated, eval mode.

    `posenet_weights` / `rootnet_weights`: real files to load instead (the detector stays random).
    """
    dev = torch.device(device)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    posenet, rootnet = PoseNet(MUCO21.num_joints).to(dev), RootNet().to(dev)
    with torch.no_grad():
        for trunk in (posenet.backbone, rootnet.backbone):
            damp_residuals(trunk)
        posenet.head.final_layer.weight.normal_(std=0.5)  # peaked heatmaps, coordinates spread over the volume
        rootnet.root.xy_layer.weight.normal_(std=0.2)
        rootnet.root.depth_layer.weight.normal_(std=0.002)
        rootnet.root.depth_layer.bias.fill_(1.0)  # gamma near 1: depth near k
    calibrate_batchnorm(posenet, lambda: (_random_crops(gen, calib_batch, dev),))
    calibrate_batchnorm(rootnet, lambda: (_random_crops(gen, calib_batch, dev), torch.full((calib_batch, 1), 4000.0,
                                                                                          device=dev)))
    model = build_fasterrcnn("v1", **(detector_kwargs or {})).to(dev)
    body = model.backbone.body

    def image_batch() -> tuple[torch.Tensor]:
        img = torch.rand((1, 3, 30, 40), generator=gen)
        img = torch.nn.functional.interpolate(img, size=(HEIGHT, WIDTH), mode="bilinear", align_corners=False)
        return (((img - 0.45) / 0.225).to(dev),)

    if calibrate_detector:
        calibrate_batchnorm(body, image_batch)
    model.eval()
    if posenet_weights:
        from pinet_ros.models.posenet import load_posenet

        posenet = load_posenet(posenet_weights, device=dev)
    if rootnet_weights:
        from pinet_ros.models.rootnet import load_rootnet

        rootnet = load_rootnet(rootnet_weights, device=dev)
    detector = PersonDetector.from_model(model, score_threshold=0.5, max_persons=20, device=dev)
    return detector, rootnet.eval(), posenet.eval()


def packaged_pinet() -> PINet:
    """The packaged trained PI-Net (float32, CPU, eval); the released architecture with random weights if the
    file is missing."""
    from pinet_ros import weights
    from pinet_ros.models.pinet import load_pinet

    try:
        return load_pinet(weights.find_weight(weights.DEFAULT_PINET)).float().eval()
    except (FileNotFoundError, OSError, RuntimeError) as exc:
        print(f"packaged PI-Net weights unavailable ({exc}); random weights")
        torch.manual_seed(0)
        return PINet().eval()


# ------------------------------------------------------------------------------------------------ scene
def scene(n_people: int, seed: int = 0, width: int = WIDTH, height: int = HEIGHT
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, Intrinsics]:
    """A (H, W, 3) uint8 frame with `n_people` person-shaped patches side by side, their boxes and camera.

    Returns:
        rgb (H, W, 3) uint8, boxes (N, 4) xywh px, scores (N,), intrinsics (fx = fy = 1.2 W).
    """
    rng = np.random.default_rng(seed)
    low = rng.uniform(0, 255, (height // 16, width // 16, 3)).astype(np.float32)
    import cv2

    rgb = cv2.resize(low, (width, height), interpolation=cv2.INTER_LINEAR)
    boxes = []
    slot = width / max(n_people, 1)
    for i in range(n_people):
        h = rng.uniform(0.4, 0.8) * height
        w = min(0.4 * h, 0.9 * slot)
        x = i * slot + rng.uniform(0, slot - w)
        y = rng.uniform(0, height - h)
        rgb[int(y):int(y + h), int(x):int(x + w)] = rng.uniform(0, 255, 3)
        boxes.append([x, y, w, h])
    rgb = np.clip(rgb + rng.normal(0, 8, rgb.shape), 0, 255).astype(np.uint8)
    scores = np.linspace(0.99, 0.9, n_people)
    return rgb, np.asarray(boxes, np.float64).reshape(-1, 4), scores, Intrinsics(1.2 * width, 1.2 * width,
                                                                                 width / 2, height / 2)


def pinet_scene(n: int, seed: int = 0) -> np.ndarray:
    """(n, 17, 3) mm: roots 2-6 m away, joints within +-500 mm of the root."""
    rng = np.random.default_rng(seed)
    roots = np.stack([rng.uniform(-2000, 2000, n), rng.uniform(-500, 500, n), rng.uniform(2000, 6000, n)], 1)
    return (roots[:, None, :] + rng.uniform(-500, 500, (n, J, 3))).astype(np.float32)


# ------------------------------------------------------------------------------------------------ timing
def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def _joints(people) -> np.ndarray:
    return np.stack([p.joints_cam_mm for p in people]) if people else np.zeros((0, J, 3))


def bench_stack(backend: DmppeBackend, n_people: int, repeats: int, seed: int = 0) -> tuple[dict, np.ndarray]:
    """Median per-stage ms of `repeats` frames (after 2 warm-ups, 1 for a single frame) and the joints
    (N, 17, 3) mm of the last."""
    rgb, boxes, scores, intr = scene(n_people, seed=seed)
    stages: dict[str, list[float]] = {}
    joints = None
    warmup = 2 if repeats > 1 else 1
    for i in range(repeats + warmup):
        backend.estimate(rgb, intr)  # detection on the whole frame (its boxes are not used)
        det_ms = backend.timings_ms["detect"]
        people = backend.estimate_boxes(rgb, intr, boxes, scores)  # the frame's n people
        if i >= warmup:
            row = {"detect": det_ms, **{k: backend.timings_ms[k] for k in ("crop", "root", "pose")}}
            row["total"] = sum(row.values())
            for k, v in row.items():
                stages.setdefault(k, []).append(v)
        joints = _joints(people)
    med = {k: _median(v) for k, v in stages.items()}
    med["fps"] = 1000.0 / med["total"] if med["total"] > 0 else float("nan")
    return med, joints


def _stack_configs(device: torch.device, quick: bool) -> list[tuple[str, dict]]:
    half = "fp16" if device.type == "cuda" else "bf16"
    if device.type == "cuda":
        return [("fp32 cv2-crop", dict(preprocess="cv2")),
                ("fp32", dict(preprocess="torch")),
                ("fp32 channels-last", dict(preprocess="torch", channels_last=True)),
                (f"{half} channels-last", dict(preprocess="torch", channels_last=True, half_precision=True))]
    rows = [("fp32 cv2-crop", dict(preprocess="cv2")), ("fp32", dict(preprocess="torch"))]
    return rows + [(f"{half}", dict(preprocess="torch", half_precision=True))]


def run_stack(device: torch.device, people: tuple[int, ...], repeats: int, quick: bool,
              detector_kwargs: dict | None, weights: dict | None = None) -> dict:
    detector, rootnet, posenet = random_stack(device, detector_kwargs=detector_kwargs, calib_batch=2 if quick else 4,
                                              **(weights or {}))
    result: dict = {"configs": {}, "half_vs_fp32_max_mm": {}, "cv2_vs_torch_crop_max_mm": {}}
    joints: dict[str, dict[int, np.ndarray]] = {}
    for name, opts in _stack_configs(device, quick):
        nets = (detector, rootnet, posenet)
        if opts.get("channels_last"):
            nets = (copy.deepcopy(detector), copy.deepcopy(rootnet), copy.deepcopy(posenet))
        backend = DmppeBackend.from_models(DmppeConfig("", "", device=str(device), **opts), *nets)
        result["configs"][name] = {}
        joints[name] = {}
        for n in people:
            med, j = bench_stack(backend, n, repeats, seed=n)
            result["configs"][name][n] = med
            joints[name][n] = j
        del backend, nets
    half_name = [k for k in joints if "fp16" in k or "bf16" in k]
    for n in people:
        ref = joints["fp32"][n]
        if half_name:
            result["half_vs_fp32_max_mm"][n] = float(np.abs(joints[half_name[0]][n] - ref).max())
        result["cv2_vs_torch_crop_max_mm"][n] = float(np.abs(joints["fp32 cv2-crop"][n] - ref).max())
    result["half_trunk_rel_err"] = half_trunk_error(posenet, device)
    if device.type == "cuda":  # same weights, same torch crop, on the CPU
        cpu = DmppeBackend.from_models(DmppeConfig("", "", device="cpu", preprocess="torch"),
                                       copy.deepcopy(detector).to("cpu"), copy.deepcopy(rootnet).to("cpu"),
                                       copy.deepcopy(posenet).to("cpu"))
        result["cuda_vs_cpu_max_mm"] = {}
        for n in people[:2]:
            rgb, boxes, scores, intr = scene(n, seed=n)
            jc = _joints(cpu.estimate_boxes(rgb, intr, boxes, scores))
            result["cuda_vs_cpu_max_mm"][n] = float(np.abs(jc - joints["fp32"][n]).max())
    return result


@torch.no_grad()
def half_trunk_error(posenet: PoseNet, device: torch.device, n: int = 3) -> float:
    """||half - float32|| / ||float32|| of PoseNet's ResNet-50 features (B, 2048, 8, 8) on 3 scene crops: what
    half precision does to the trunk, less dependent on random output layers than the joints in mm."""
    from pinet_ros.core.boxes import process_box
    from pinet_ros.models.posenet import image_to_tensor, preprocess_crops_torch

    rgb, boxes, _, _ = scene(n, seed=21)
    pboxes = np.stack([process_box(b, rgb.shape[1], rgb.shape[0]) for b in boxes])
    crops = preprocess_crops_torch(image_to_tensor(rgb, device), pboxes)
    ref = posenet.backbone(crops).double()
    with torch.autocast(device_type=device.type, dtype=torch.float16 if device.type == "cuda" else torch.bfloat16):
        half = posenet.backbone(crops).double()
    return float((half - ref).norm() / ref.norm())


def trunk_error_bound(unit_roundoff: float, layers: int = 53) -> float:
    """Relative error bound of ResNet-50 features computed in a half format: each of its 53 convolutions
    rounds its output with relative error <= u, and independent roundings add up as sqrt(layers) * u; the
    (damped, random) network amplifies them by a small factor, taken as 3."""
    return 3.0 * math.sqrt(layers) * unit_roundoff


def _time_interleaved(fns: dict[str, Callable[[], object]], repeats: int, device: torch.device) -> dict[str, float]:
    """Median ms of each function, called in turn within every repeat (a load change hits all alike)."""
    for fn in fns.values():
        fn()
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            _sync(device)
            t0 = time.perf_counter()
            fn()
            _sync(device)
            times[name].append((time.perf_counter() - t0) * 1e3)
    return {k: _median(v) for k, v in times.items()}


def pinet_cuda_graph(model: PINet, poses: torch.Tensor) -> Callable[[], torch.Tensor]:
    """One frame of N people through a captured CUDA graph of PI-Net's inference path (fixed N).

    Returns a function doing what `refine` does for these poses (orders, gather, forward of all N
    sequences) with the forward replayed from the graph; it returns the refined (N, J, 3) mm (the graph's
    static output: copy it before the next call).
    """
    from pinet_ros.export import PINetSequenceGraph
    from pinet_ros.models.pinet import build_orders

    net = PINetSequenceGraph(model).eval()
    model.rnn.flatten_parameters()
    j = model.config.num_joints
    static_in = poses[build_orders(poses)].reshape(poses.shape[0], -1, j, 3).clone()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.no_grad(), torch.cuda.stream(side):
        for _ in range(3):  # warm-up outside the graph (cuDNN workspaces, lazy init)
            net(static_in)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.no_grad(), torch.cuda.graph(graph):
        static_out = net(static_in)

    def frame() -> torch.Tensor:
        with torch.no_grad():
            static_in.copy_(poses[build_orders(poses)].reshape(static_in.shape))
            graph.replay()
        return static_out[0]

    return frame


def run_pinet(device: torch.device, ns: tuple[int, ...], repeats: int, threads: int | None) -> dict:
    """PI-Net per frame: torch float32 / half on `device`, onnxruntime on the CPU; ratios and differences."""
    from pinet_ros.models.pinet_onnx import PINetOnnxRunner

    cpu_model = packaged_pinet()
    model = copy.deepcopy(cpu_model).to(device)
    half_dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            runner = PINetOnnxRunner.from_model(cpu_model, Path(tmp) / "pinet.onnx", threads=threads)
        except Exception as exc:  # onnx / onnxruntime missing, or an exporter this torch lacks: the rest still runs
            print(f"PI-Net onnxruntime row skipped: {type(exc).__name__}: {exc}")
            runner = None
        for n in ns:
            p = pinet_scene(n, seed=n)
            pt = torch.from_numpy(p).to(device)

            def fp32() -> torch.Tensor:
                return model.refine(pt)[0]

            def half() -> torch.Tensor:
                with torch.autocast(device_type=device.type, dtype=half_dtype):
                    return model.refine(pt)[0]

            fns = {"torch_fp32_ms": fp32, "torch_half_ms": half}
            if runner is not None:
                fns["onnxruntime_cpu_ms"] = lambda: runner.refine(p)
            row = {"n": n, **_time_interleaved(fns, repeats, device)}
            ref = fp32().double().cpu().numpy()
            row["half_vs_fp32_max_mm"] = float(np.abs(half().double().cpu().numpy() - ref).max())
            if device.type == "cuda":
                row["cuda_vs_cpu_max_mm"] = float(np.abs(cpu_model.refine(p)[0] - ref).max())
            if runner is not None:
                if device.type == "cpu":
                    row["torch_over_onnxruntime"] = row["torch_fp32_ms"] / row["onnxruntime_cpu_ms"]
                row["onnxruntime_vs_torch_max_mm"] = float(np.abs(runner.refine(p)[0] - ref).max())
            rows.append(row)
    return {"rows": rows, "half_dtype": str(half_dtype).replace("torch.", "")}


def run_pinet_graphs(device: torch.device, rows: list[dict], repeats: int) -> None:
    """Add CUDA-graph timings to `run_pinet`'s rows (run last: a failed capture may leave CUDA unusable)."""
    model = packaged_pinet().to(device)
    for row in rows:
        pt = torch.from_numpy(pinet_scene(row["n"], seed=row["n"])).to(device)
        try:
            frame = pinet_cuda_graph(model, pt)
        except Exception as exc:  # capture unsupported by this torch/cuDNN: reported
            row["cudagraph_error"] = f"{type(exc).__name__}: {exc}"
            continue
        times = _time_interleaved({"g": frame, "e": lambda: model.refine(pt)[0]}, repeats, device)
        row["torch_fp32_cudagraph_ms"] = times["g"]
        row["torch_fp32_eager_again_ms"] = times["e"]
        ref = model.refine(pt)[0].double().cpu().numpy()
        row["cudagraph_vs_eager_max_mm"] = float(np.abs(frame().double().cpu().numpy() - ref).max())


# ------------------------------------------------------------------------------------------------ parity
PARITY_MM = 1.0
"""Acceptance for device-vs-CPU float32 joints (mm): the accuracy the issue asks of half precision."""


def crop_float32_bound(image: np.ndarray) -> float:
    """|torch crop on one device - on another| bound (grey levels): each samples at a float32 normalised position
    off by at most a few ulps (4 * 2^-24 * max(H, W) px) times the largest neighbour difference G (with the black
    border), on both sides, plus arithmetic rounding (0.01)."""
    img = np.pad(image.astype(np.float64), ((1, 1), (1, 1), (0, 0)))
    g = max(np.abs(np.diff(img, axis=0)).max(), np.abs(np.diff(img, axis=1)).max())
    return 2 * (2 * 4 * 2.0 ** -24 * max(image.shape[:2]) * g + 0.01)


def device_parity(device: str | torch.device = "cuda", people: int = 3) -> dict:
    """`device` against the CPU, float32 (TF32 off), same random weights and inputs.

    Checks (each {"value", "limit", "ok"}): the torch crop (grey levels, `crop_float32_bound`), the 3dmppe
    stack's joints (mm, `PARITY_MM`) and PI-Net's refined joints (mm, `PARITY_MM`). Also reports, without a
    limit, the joints with TF32 allowed (torch's default for cuDNN convolutions) and with half precision.
    """
    from pinet_ros.models.posenet import image_to_tensor, preprocess_crops_torch

    dev = torch.device(device)
    tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        rgb, boxes, scores, intr = scene(people, seed=11)
        cpu_nets = random_stack("cpu", seed=1, calib_batch=2, calibrate_detector=False)  # detector unused
        dev_nets = [copy.deepcopy(n).to(dev) for n in cpu_nets]
        cfg = dict(preprocess="torch")
        cpu = DmppeBackend.from_models(DmppeConfig("", "", device="cpu", **cfg), *cpu_nets)
        on_dev = DmppeBackend.from_models(DmppeConfig("", "", device=str(dev), **cfg), *dev_nets)
        from pinet_ros.core.boxes import process_box

        pboxes = np.stack([process_box(b, rgb.shape[1], rgb.shape[0]) for b in boxes])
        c_cpu = preprocess_crops_torch(image_to_tensor(rgb), pboxes)
        c_dev = preprocess_crops_torch(image_to_tensor(rgb, dev), pboxes).cpu()
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        checks = {"crop_grey_levels": (float(((c_dev - c_cpu) * std).abs().max()), crop_float32_bound(rgb))}
        j_cpu = _joints(cpu.estimate_boxes(rgb, intr, boxes, scores))
        j_dev = _joints(on_dev.estimate_boxes(rgb, intr, boxes, scores))
        checks["stack_joints_mm"] = (float(np.abs(j_dev - j_cpu).max()), PARITY_MM)
        torch.manual_seed(0)
        pinet_cpu = PINet().eval()
        pinet_dev = copy.deepcopy(pinet_cpu).to(dev)
        p = pinet_scene(5, seed=5)
        r_cpu = pinet_cpu.refine(p)[0]
        r_dev = pinet_dev.refine(torch.from_numpy(p).to(dev))[0].cpu().numpy()
        checks["pinet_refined_mm"] = (float(np.abs(r_dev - r_cpu).max()), PARITY_MM)
        result = {"device": str(dev), "people": people, "ok": True, "checks": {}}
        for name, (value, limit) in checks.items():
            ok = bool(np.isfinite(value) and value <= limit)
            result["checks"][name] = {"value": value, "limit": limit, "ok": ok}
            result["ok"] &= ok
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32
        info = {}
        if dev.type == "cuda":
            info["stack_joints_mm_tf32_default"] = float(np.abs(_joints(on_dev.estimate_boxes(
                rgb, intr, boxes, scores)) - j_cpu).max())
        half = DmppeBackend.from_models(DmppeConfig("", "", device=str(dev), half_precision=True, **cfg), *dev_nets)
        info["stack_joints_mm_half_vs_cpu_fp32"] = float(np.abs(_joints(half.estimate_boxes(
            rgb, intr, boxes, scores)) - j_cpu).max())
        result["info"] = info
        return result
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32


# ------------------------------------------------------------------------------------------------ report
def _print(result: dict) -> None:
    print(f"bench gpu: device {result['device_name']}, torch {result['torch']}, threads {result['threads']}, "
          f"{result['width']}x{result['height']}, median of {result['repeats']} frames, weights {result['weights']}")
    stack = result.get("stack")
    if stack:
        print("\n3dmppe stack (ms per frame; detect = Faster R-CNN on the whole frame)")
        print(f"{'config':>22} | {'people':>6} | {'detect':>8} | {'crop':>7} | {'root':>8} | {'pose':>8} | "
              f"{'total':>8} | {'frames/s':>8}")
        for name, per_n in stack["configs"].items():
            for n, r in per_n.items():
                print(f"{name:>22} | {n:>6} | {r['detect']:>8.2f} | {r['crop']:>7.2f} | {r['root']:>8.2f} | "
                      f"{r['pose']:>8.2f} | {r['total']:>8.2f} | {r['fps']:>8.2f}")
        for key, label in (("half_vs_fp32_max_mm", "half vs float32"),
                           ("cv2_vs_torch_crop_max_mm", "cv2 crop vs torch crop (float32)"),
                           ("cuda_vs_cpu_max_mm", "CUDA vs CPU (float32, torch crop)")):
            if key in stack:
                figs = ", ".join(f"{n} people {v:.3f}" for n, v in stack[key].items())
                print(f"max joint difference, {label}: {figs} mm")
        if "half_trunk_rel_err" in stack:
            print(f"PoseNet trunk features, half vs float32: relative error {stack['half_trunk_rel_err']:.2e}")
    pinet = result.get("pinet")
    if pinet:
        print(f"\nPI-Net per frame (one batched refine; half = autocast {pinet['half_dtype']})")
        cols: list[str] = []
        for r in pinet["rows"]:
            cols += [k for k, v in r.items() if k != "n" and isinstance(v, float) and k not in cols]
        print(f"{'N':>3} | " + " | ".join(f"{c:>26}" for c in cols))
        for r in pinet["rows"]:
            print(f"{r['n']:>3} | " + " | ".join(f"{r[c]:>26.4g}" if c in r else f"{'-':>26}" for c in cols))
        for r in pinet["rows"]:
            if "cudagraph_error" in r:
                print(f"N = {r['n']}: CUDA graph not measured ({r['cudagraph_error']})")


def run(device: str = "cuda", out: str | Path | None = None, quick: bool = False, repeats: int | None = None,
        threads: int | None = None, people: tuple[int, ...] | None = None,
        pinet_ns: tuple[int, ...] | None = None, posenet_weights: str | None = None,
        rootnet_weights: str | None = None) -> dict:
    """Run both parts, print tables, write JSON to `out` if given; returns the result dict.

    Args:
        device: "cuda" (or "cuda:K") or "cpu".
        quick: smoke-test sizes (1 and 3 people, 1 frame, PI-Net N = 1, 2, 5, detector input 320 px):
            checks the path, the figures mean little.
        repeats: frames per measurement (default 20 on CUDA, 3 on the CPU, 1 when quick).
        threads: torch CPU threads (None: torch's default).
        posenet_weights, rootnet_weights: real files instead of random weights (the detector stays random).
    """
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("CUDA requested but torch.cuda.is_available() is False")
    if threads:
        torch.set_num_threads(int(threads))
    if repeats is None:
        repeats = 1 if quick else (20 if dev.type == "cuda" else 3)
    people = people or ((1, 3) if quick else (1, 3, 10))
    pinet_ns = pinet_ns or ((1, 2, 5) if quick else tuple(range(1, 11)))
    det_kwargs = {"min_size": 320, "max_size": 320} if quick else None
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"CPU ({platform.processor() or 'x86_64'})"
    result: dict = {"device": str(dev), "device_name": name, "torch": torch.__version__,
                    "threads": torch.get_num_threads(), "width": WIDTH, "height": HEIGHT, "repeats": repeats,
                    "quick": quick, "detector_kwargs": det_kwargs or {}}
    with torch.inference_mode(False):
        result["stack"] = run_stack(dev, people, repeats, quick, det_kwargs,
                                    {"posenet_weights": posenet_weights, "rootnet_weights": rootnet_weights})
    from pinet_ros.weights import DEFAULT_PINET

    result["weights"] = {"posenet": posenet_weights or "random", "rootnet": rootnet_weights or "random",
                         "detector": "random", "pinet": f"packaged {DEFAULT_PINET}"}
    result["pinet"] = run_pinet(dev, pinet_ns, max(repeats * 5, 5), threads or torch.get_num_threads())
    _write(result, out)
    if dev.type == "cuda":  # last, and after the figures are saved
        print("\nPI-Net with CUDA graphs ...", flush=True)
        run_pinet_graphs(dev, result["pinet"]["rows"], max(repeats * 5, 5))
    _print(result)
    _write(result, out)
    if out:
        print(f"\nwritten: {out}")
    return result


def _write(result: dict, out: str | Path | None) -> None:
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(result, indent=2, sort_keys=True))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--out", default=None, help="write the figures as JSON here")
    ap.add_argument("--quick", action="store_true", help="smoke-test sizes (checks the path only)")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--posenet-weights", default=None, help="real PoseNet file instead of random weights")
    ap.add_argument("--rootnet-weights", default=None, help="real RootNet file instead of random weights")
    ap.add_argument("--parity", action="store_true",
                    help="only the device-vs-CPU parity checks (exit 1 if one fails); --device cpu checks the path")
    args = ap.parse_args(argv)
    if args.parity:
        if args.threads:
            torch.set_num_threads(args.threads)
        res = device_parity(args.device)
        for name, c in res["checks"].items():
            print(f"parity {name}: {c['value']:.4g} (limit {c['limit']:.4g}) {'ok' if c['ok'] else 'FAILED'}")
        for name, v in res["info"].items():
            print(f"info {name}: {v:.4g}")
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(res, indent=2, sort_keys=True))
        return 0 if res["ok"] else 1
    run(args.device, args.out, quick=args.quick, repeats=args.repeats, threads=args.threads,
        posenet_weights=args.posenet_weights, rootnet_weights=args.rootnet_weights)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
