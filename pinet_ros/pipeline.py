"""One frame in, every person's absolute 3D pose out: backend -> PI-Net -> tracking -> smoothing.

`Pipeline(config).process(rgb, intrinsics, stamp_ns, frame_id) -> FrameResult` is the whole estimation stack;
the ROS node, `pinet-ros process` and the benchmarks all call it. Inside: millimetres (what the networks use);
out: metres, camera optical frame.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from pinet_ros import params as P
from pinet_ros.core.camera import Intrinsics
from pinet_ros.core.depth import DepthFrame, correct_people
from pinet_ros.core.filters import OneEuroConfig, TrackSmoother
from pinet_ros.core.result import FrameResult, PersonEstimate, PersonResult
from pinet_ros.core.skeleton import MUPOTS17
from pinet_ros.core.tracking import Tracker, TrackerConfig

__all__ = ["PipelineConfig", "Pipeline", "PipelineError", "auto_torch_threads", "resolve_device", "set_torch_threads"]


BACKEND_LIVE = ("score_threshold", "max_persons", "flip_test")
"""Pipeline settings that the backend itself uses and that may change while it runs (`Backend.apply`)."""


class PipelineError(RuntimeError):
    """The pipeline cannot start: bad configuration, missing weights, unavailable device."""


class Backend(Protocol):
    name: str
    timings_ms: dict[str, float]

    def estimate(self, rgb: np.ndarray, intrinsics: Intrinsics) -> list[PersonEstimate]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class PipelineConfig:
    """The pipeline's settings; field names, defaults and ranges are those of `pinet_ros.params.PIPELINE_PARAMS`."""

    backend: str = "topdown"
    device: str = "cpu"
    refine: bool = True
    ordering: str = "root3d"
    pinet_weights: str = ""
    posenet_weights: str = ""
    rootnet_weights: str = ""
    detector_weights: str = ""
    detector_variant: str = "v1"
    score_threshold: float = 0.4
    max_persons: int = 10
    small_people: bool = False
    person_detectors: str = "nanodet+movenet"
    detect_every: int = 3
    flip_test: bool = False
    half_precision: bool = False
    channels_last: bool = False
    pinet_runtime: str = "auto"
    tracking: bool = True
    track_max_distance_m: float = 0.8
    track_max_age_s: float = 2.0
    smoothing: bool = False
    smoothing_min_cutoff_hz: float = 1.0
    smoothing_beta: float = 0.3
    threads: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, int) and not isinstance(value, bool) and P.SPECS[f.name].type is float:
                object.__setattr__(self, f.name, float(value))
        reasons = P.validate(asdict(self))
        if reasons:
            raise PipelineError("invalid pipeline configuration: " + "; ".join(reasons))

    @classmethod
    def from_params(cls, values: dict[str, Any]) -> "PipelineConfig":
        """Build from a parameter dict; keys that are not pipeline parameters are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


def resolve_device(device: str) -> torch.device:
    """`device` as a torch device; raises PipelineError when CUDA is asked for but absent."""
    dev = torch.device(device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise PipelineError(f"device {device!r} requested but this machine has no usable CUDA GPU "
                                f"(torch {torch.__version__}, torch.cuda.is_available() is False); "
                                "set device: cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise PipelineError(f"device {device!r} requested but only {torch.cuda.device_count()} GPU(s) exist")
    return dev


def auto_torch_threads(config: PipelineConfig) -> int | None:
    """The torch CPU thread count `threads: 0` (auto) stands for, or None for torch's own default.

    With a backend whose networks are not torch (mediapipe, topdown), PI-Net is the only torch work: one
    small forward per frame between the backend's runs, which measured 3.5 ms on one thread and 3-13 ms on
    two (the second thread's wake-up and contention with the backend's own threads) on a 2-core machine.
    """
    if config.threads > 0:
        return config.threads
    return None if config.backend == "3dmppe" else 1


def set_torch_threads(config: PipelineConfig) -> int:
    """Apply `auto_torch_threads(config)` to this process (torch's thread count is process-wide, so only
    the application may choose it: the node, the `pinet-ros` commands; a `Pipeline` never does unless its
    config names a count). Returns the thread count in force."""
    n = auto_torch_threads(config)
    if n is not None:
        torch.set_num_threads(n)
    return torch.get_num_threads()


def _weight_path(explicit: str, registry_name: str) -> str:
    """`explicit` if given (a file, which must exist, or a registry name such as ``pinet_synthetic``), else
    the registry's file `registry_name`; a registry file is checked against its sha256 where one is known."""
    from pinet_ros import weights

    if explicit and weights.registry_name_of(explicit):
        explicit, registry_name = "", explicit
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise PipelineError(f"weight file not found: {path} (given for {registry_name}; "
                                f"`pinet-ros weights info {registry_name}` says how to get it)")
        return str(path)
    try:
        path = weights.find_weight(registry_name)
    except FileNotFoundError as exc:
        raise PipelineError(str(exc)) from None
    spec = weights.get_spec(registry_name)
    if spec.sha256 and weights.sha256_file(path) != spec.sha256:
        raise PipelineError(f"{path} does not match the sha256 registered for {registry_name} ({spec.sha256}): "
                            "the file is corrupt or was modified; reinstall it "
                            f"(`pinet-ros weights info {registry_name}`)")
    return str(path)


def _onnx_pinet(model: Any, weights_path: str) -> Any:
    """`model` on onnxruntime: exported once per weight file (cached by the file's sha256 and the torch
    version under ``$PINET_CACHE`` or ``~/.cache/pinet_ros/onnx``), then opened with one intra-op thread.

    Raises:
        PipelineError: the export or onnxruntime is not available.
    """
    import os

    from pinet_ros import weights

    if model.config.num_joints != MUPOTS17.num_joints:
        raise PipelineError("pinet_runtime onnxruntime supports 17-joint PI-Net files only")
    cache = Path(os.environ.get("PINET_CACHE", Path.home() / ".cache" / "pinet_ros")).expanduser() / "onnx"
    key = f"{weights.sha256_file(weights_path)[:16]}-torch{torch.__version__.split('+')[0]}"
    path = cache / f"pinet-{key}.onnx"
    try:
        from pinet_ros.models.pinet_onnx import PINetOnnxRunner

        if not path.is_file():
            from pinet_ros.export import export_pinet

            cache.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            export_pinet(model.cpu().eval(), tmp)
            tmp.replace(path)  # atomic: a half-written file is never picked up
        return PINetOnnxRunner(path, threads=1, num_joints=model.config.num_joints)
    except ImportError as exc:
        raise PipelineError(f"pinet_runtime onnxruntime needs onnx and onnxruntime ({exc}); "
                            "pip install onnx onnxruntime, or set pinet_runtime: torch") from None
    except Exception as exc:  # noqa: BLE001 - an exporter or runtime failure on an unusual checkpoint
        raise PipelineError(f"PI-Net {weights_path} could not run on onnxruntime ({type(exc).__name__}: {exc}); "
                            "set pinet_runtime: torch") from None


def _make_backend(config: PipelineConfig, device: torch.device) -> Backend:
    if config.backend == "mediapipe":
        from pinet_ros.models.mediapipe_backend import MediapipeBackend, MediapipeConfig

        try:
            return MediapipeBackend(MediapipeConfig(max_people=config.max_persons,
                                                    min_person_score=config.score_threshold,
                                                    small_people=config.small_people))
        except (ImportError, FileNotFoundError) as exc:
            raise PipelineError(f"mediapipe backend unavailable: {exc} (make setup installs mediapipe==0.10.21 "
                                "and builds its pose bundle)") from None
    if config.backend == "topdown":
        from pinet_ros.models.topdown_backend import TopdownBackend, TopdownConfig

        try:
            return TopdownBackend(TopdownConfig(max_people=config.max_persons,
                                                min_person_score=config.score_threshold,
                                                detectors=config.person_detectors,
                                                detect_every=config.detect_every))
        except (ImportError, FileNotFoundError) as exc:
            raise PipelineError(f"topdown backend unavailable: {exc}") from None
    from pinet_ros.models.dmppe_backend import DmppeBackend, DmppeConfig

    return DmppeBackend(DmppeConfig(
        posenet_weights=_weight_path(config.posenet_weights, "posenet_muco"),
        rootnet_weights=_weight_path(config.rootnet_weights, "rootnet_muco"),
        detector_weights=config.detector_weights, detector_variant=config.detector_variant,
        score_threshold=config.score_threshold, max_persons=config.max_persons, flip_test=config.flip_test,
        device=str(device), half_precision=config.half_precision, channels_last=config.channels_last))


class Pipeline:
    """The estimation stack for one camera stream (tracking and smoothing keep per-stream state)."""

    def __init__(self, config: PipelineConfig | None = None, backend: Backend | None = None) -> None:
        """Load every network (nothing is downloaded).

        Args:
            config: settings; the defaults give the embedded mediapipe backend + the packaged PI-Net.
            backend: an already built backend to use instead of `config.backend` (e.g. shared between streams).
        Raises:
            PipelineError: bad configuration, a missing or unreadable weight file (the message names the file,
                where it was looked for and how to get it), or CUDA requested without a GPU.
        """
        from pinet_ros.models.checkpoint import WeightLoadError

        self.config = config = config or PipelineConfig()
        if config.threads > 0:  # asked for explicitly; the automatic policy is the caller's (`set_torch_threads`)
            torch.set_num_threads(config.threads)
        self.device = resolve_device(config.device)
        self.pinet = None
        self.pinet_path = ""
        try:
            self.backend = backend if backend is not None else _make_backend(config, self.device)
        except WeightLoadError as exc:
            raise PipelineError(str(exc)) from None
        if config.refine:
            self._load_pinet()
        self.tracker = Tracker(TrackerConfig(max_root_distance_m=config.track_max_distance_m,
                                             max_age_s=config.track_max_age_s))
        self.smoother = TrackSmoother(OneEuroConfig(min_cutoff_hz=config.smoothing_min_cutoff_hz,
                                                    beta=config.smoothing_beta))

    def _load_pinet(self) -> None:
        """Load PI-Net (only needed while refine is on)."""
        from pinet_ros.models.checkpoint import WeightLoadError
        from pinet_ros.models.pinet import load_pinet

        from pinet_ros.weights import DEFAULT_PINET

        path = _weight_path(self.config.pinet_weights, DEFAULT_PINET)
        try:
            model = load_pinet(path, device=self.device)
        except WeightLoadError as exc:
            raise PipelineError(str(exc)) from None
        runtime = self.config.pinet_runtime
        if runtime == "auto":
            runtime = "torch" if self.device.type == "cuda" else "onnxruntime"
        self.pinet = _onnx_pinet(model, path) if runtime == "onnxruntime" else model
        self.pinet_path = path

    # ------------------------------------------------------------------ settings that may change live
    def update(self, **changes: Any) -> None:
        """Change settings that need no reload; each takes effect on the next `process`.

        Live: refine, ordering, tracking and smoothing settings here, and the backend's own live settings
        (`BACKEND_LIVE`: score threshold raised or lowered, max_persons, flip_test) through the backend's
        `apply`, which refuses what it cannot honour. Nothing changes when anything is refused.

        Raises:
            PipelineError: a bad value, a start-up setting (backend, device, weights: build a new Pipeline), or
                a setting the backend cannot change live (the reason says which).
        """
        new = PipelineConfig(**{**asdict(self.config), **changes})
        fixed = [k for k in changes if (P.SPECS[k].read_only or P.SPECS[k].startup)
                 and getattr(new, k) != getattr(self.config, k)]
        if fixed:
            raise PipelineError(f"{', '.join(fixed)} can only be set at start-up (reconfigure the node)")
        backend_changes = {k: getattr(new, k) for k in BACKEND_LIVE
                           if k in changes and getattr(new, k) != getattr(self.config, k)}
        if backend_changes:
            apply = getattr(self.backend, "apply", None)
            if apply is None:
                raise PipelineError(f"{', '.join(backend_changes)} cannot change while the {self.config.backend} "
                                    "backend runs (reconfigure the node)")
            try:
                apply(**backend_changes)
            except ValueError as exc:
                raise PipelineError(f"{', '.join(backend_changes)} refused by the {self.config.backend} backend: "
                                    f"{exc}") from None
        if new.refine and self.pinet is None:
            previous, self.config = self.config, new
            try:
                self._load_pinet()
            except PipelineError:
                self.config = previous
                raise
        self.config = new
        self.tracker.config = TrackerConfig(max_root_distance_m=new.track_max_distance_m,
                                            max_age_s=new.track_max_age_s)
        self.smoother.config = OneEuroConfig(min_cutoff_hz=new.smoothing_min_cutoff_hz, beta=new.smoothing_beta)
        self.smoother.reset()

    def reset(self) -> None:
        """Forget tracks and filter states (a new stream or a jump in time)."""
        self.tracker.reset()
        self.smoother.reset()
        backend_reset = getattr(self.backend, "reset", None)  # a backend that tracks people between frames
        if backend_reset is not None:
            backend_reset()

    def close(self) -> None:
        """Release the networks (and GPU memory)."""
        if self.backend is not None:
            self.backend.close()
        self.backend = None  # type: ignore[assignment]
        self.pinet = None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def warmup(self, image_size: tuple[int, int] = (640, 480)) -> None:
        """Run every network once so that the first real frame is not slow."""
        w, h = image_size
        rgb = np.zeros((h, w, 3), np.uint8)
        self.backend.estimate(rgb, Intrinsics(fx=w, fy=w, cx=w / 2, cy=h / 2))
        if self.pinet is not None:
            people = np.random.default_rng(0).normal(0, 300, (3, MUPOTS17.num_joints, 3)) + [[[0, 0, 4000]]]
            self.pinet.refine(people.astype(np.float32))

    # ------------------------------------------------------------------ the frame
    def process(self, rgb: np.ndarray, intrinsics: Intrinsics, stamp_ns: int,
                frame_id: str = "camera_optical_frame", depth: DepthFrame | None = None) -> FrameResult:
        """Estimate every person in one frame.

        Args:
            rgb: (H, W, 3) uint8 RGB image.
            intrinsics: the image's pinhole intrinsics, pixels.
            stamp_ns: the image's stamp, integer nanoseconds (copied to the result; drives tracking and smoothing).
            frame_id: the image's frame id (copied to the result).
            depth: a depth image paired with `rgb` (`pinet_ros.core.depth`); when given, each person's absolute
                position is corrected by it before PI-Net (`PersonResult.root_source` says who was).
        Returns:
            FrameResult in metres; persons sorted by id when tracking is on, else left to right.
        Raises:
            ValueError: `rgb` is not an (H, W, 3) uint8 array, or `intrinsics` make no physical sense for its
                size (`Intrinsics.check_plausible`).
        """
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {rgb.shape} {rgb.dtype}")
        intrinsics.check_plausible(rgb.shape[1], rgb.shape[0])
        cfg = self.config
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        people = self.backend.estimate(rgb, intrinsics)
        timings.update(getattr(self.backend, "timings_ms", {}) or {})
        timings["backend"] = (time.perf_counter() - t0) * 1e3

        # A person whose joints are not all finite is never published (it would show at the origin).
        # A person behind the camera (a broken depth estimate) is dropped for the same reason.
        lifted = [p for p in people if np.all(np.isfinite(p.joints_cam_mm)) and p.joints_cam_mm[MUPOTS17.root, 2] > 0]
        lift_failures = int(getattr(self.backend, "dropped", 0) or 0) + len(people) - len(lifted)
        people = [p for p in lifted if p.score >= cfg.score_threshold]
        people = sorted(people, key=lambda p: -p.score)[:cfg.max_persons]
        # left to right, so that new track ids (and the untracked order) follow the image
        people.sort(key=lambda p: float(p.bbox_xywh[0] + p.bbox_xywh[2] / 2))
        n = len(people)
        initial_mm = np.stack([p.joints_cam_mm for p in people]) if n else np.zeros((0, MUPOTS17.num_joints, 3))
        boxes = np.stack([p.bbox_xywh for p in people]) if n else np.zeros((0, 4))
        root_source = np.zeros(n, np.int64)
        if depth is not None and n:
            t_depth = time.perf_counter()
            fix = correct_people(initial_mm, np.stack([p.joints_2d for p in people]),
                                 np.stack([p.joint_confidence for p in people]), intrinsics, depth)
            initial_mm, root_source = fix.joints_cam_mm, fix.corrected.astype(np.int64)
            timings["depth"] = (time.perf_counter() - t_depth) * 1e3

        t1 = time.perf_counter()
        interaction = None
        refined_mm = initial_mm
        if cfg.refine and n:
            refined_mm, interaction = self.pinet.refine(initial_mm.astype(np.float32), order=cfg.ordering,
                                                        boxes=boxes)
            refined_mm = refined_mm.astype(np.float64)
            bad = ~np.all(np.isfinite(refined_mm), axis=(1, 2))
            refined_mm[bad] = initial_mm[bad]  # keep the backend's estimate rather than publish garbage
            # A measured root beats PI-Net's: it learnt to move roots against monocular errors. Depth-corrected
            # people keep PI-Net's pose at their measured root (bench depth: 11 vs 19 mm median).
            fixed = root_source == 1
            refined_mm[fixed] += (initial_mm[fixed, MUPOTS17.root] - refined_mm[fixed, MUPOTS17.root])[:, None]
        elif cfg.refine:
            interaction = np.zeros((0, 0), np.float32)
        timings["refine"] = (time.perf_counter() - t1) * 1e3

        t2 = time.perf_counter()
        refined_m = refined_mm / 1000.0
        root = MUPOTS17.root
        time_s = stamp_ns * 1e-9
        if cfg.tracking:
            ids = self.tracker.update(refined_m[:, root], boxes, time_s)
        else:
            ids = np.zeros(n, np.int64)
        if cfg.smoothing and cfg.tracking:
            refined_m = np.stack([self.smoother(int(i), refined_m[k], time_s) for k, i in enumerate(ids)]) \
                if n else refined_m
        timings["track"] = (time.perf_counter() - t2) * 1e3

        order = np.argsort(ids, kind="stable") if cfg.tracking else np.argsort(boxes[:, 0] + boxes[:, 2] / 2,
                                                                                kind="stable")
        persons = [PersonResult(
            id=int(ids[k]), score=float(people[k].score), bbox_xywh=np.asarray(boxes[k], np.float64),
            root_m=refined_m[k, root].copy(), joints_m=refined_m[k], joints_initial_m=initial_mm[k] / 1000.0,
            joints_2d=np.asarray(people[k].joints_2d, np.float64),
            joint_confidence=np.clip(np.nan_to_num(np.asarray(people[k].joint_confidence, np.float64)), 0, 1),
            root_source=int(root_source[k]))
            for k in order]
        if interaction is not None and n:
            interaction = np.asarray(interaction, np.float32)[np.ix_(order, order)]
        timings["total"] = (time.perf_counter() - t0) * 1e3
        return FrameResult(stamp_ns=int(stamp_ns), frame_id=frame_id, image_size=(rgb.shape[1], rgb.shape[0]),
                           persons=persons, interaction=interaction, timings_ms=timings,
                           lift_failures=lift_failures)


def default_weight_file() -> Path:
    """The packaged default PI-Net file (`weights.DEFAULT_PINET`)."""
    from pinet_ros import weights

    return weights.find_weight(weights.DEFAULT_PINET)
