"""Frame sources: video files, image folders and rosbag2 recordings as one iterable of `Frame`.

`open_source(path, ...)` picks the reader from what `path` is:

- a video file (.avi, .mp4, .mkv, .mov, .webm, .m4v, .mpg, .mpeg, .wmv): read with OpenCV. Frame i has the
  stamp `SYNTHETIC_EPOCH_NS + round(i * 1e9 / fps)` ns, fps from the container (or `rate` when given, or
  `DEFAULT_VIDEO_RATE_HZ` when the container has none), so the same file always gives the same stamps;
- an image folder (.png, .jpg, .jpeg, .bmp; sorted in natural order, so frame2 comes before frame10), or a
  single image file: frame i has the stamp `SYNTHETIC_EPOCH_NS + round(i * 1e9 / rate)` ns, `rate` defaulting
  to `DEFAULT_FOLDER_RATE_HZ`;
- a rosbag2 directory (with metadata.yaml, or without it when it holds a single storage file) or a bare
  .mcap / .db3 file, read with `rosbags`: sensor_msgs/Image
  (or CompressedImage) plus sensor_msgs/CameraInfo. Topics are found automatically when there is only one
  candidate; several give an error listing them. Stamps and frame ids come from the image headers; images
  are decoded by `pinet_ros.ros.convert.image_to_rgb`, so every encoding it knows works.

Intrinsics: a rosbag's CameraInfo (the one with the image's stamp, else the latest recorded before the
image; images before any CameraInfo are skipped and counted). For videos and folders, and for bags without a
CameraInfo topic: the `camera` YAML file (ROS camera_calibration format, `pinet_ros.io.camera_yaml`) when
given, else the assumed pinhole of `camera_yaml.assumed_intrinsics` (fx = fy = image width, principal point
at the centre) with a one-line warning. A `camera` file given for a bag replaces its CameraInfo.

No rclpy and no torch here: sources work in a plain Python environment (rosbags is pure Python).
"""

from __future__ import annotations

import logging
import math
import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np

from pinet_ros.core.camera import Intrinsics
from pinet_ros.core.result import Frame
from pinet_ros.io.camera_yaml import CameraCalibration, assumed_intrinsics, read_camera_yaml

__all__ = [
    "DEFAULT_FOLDER_RATE_HZ",
    "DEFAULT_FRAME_ID",
    "DEFAULT_VIDEO_RATE_HZ",
    "IMAGE_SUFFIXES",
    "SYNTHETIC_EPOCH_NS",
    "VIDEO_SUFFIXES",
    "FrameSource",
    "ImageFolderSource",
    "RosbagSource",
    "SourceError",
    "VideoSource",
    "open_source",
]

log = logging.getLogger(__name__)

SYNTHETIC_EPOCH_NS = 1_000_000_000 * 1_000_000_000
"""Stamp of the first frame of a video or image folder: 1e9 s after the Unix epoch (2001-09-09T01:46:40Z),
integer nanoseconds. Fixed, so outputs are reproducible; non-zero, because ROS treats a zero stamp as unset."""
DEFAULT_FRAME_ID = "camera_optical_frame"
"""frame_id of videos and image folders (and of bag images whose header has none) unless `frame_id` is given."""
DEFAULT_FOLDER_RATE_HZ = 10.0
"""Stamp rate of image folders when no `rate` is given, frames per second."""
DEFAULT_VIDEO_RATE_HZ = 30.0
"""Stamp rate of videos whose container states no frame rate, frames per second."""
VIDEO_SUFFIXES = frozenset({".avi", ".mp4", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp"})
BAG_SUFFIXES = frozenset({".mcap", ".db3"})

IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")
INFO_TYPE = "sensor_msgs/msg/CameraInfo"


class SourceError(ValueError):
    """An input that cannot be read; the message names the file or topic and the problem."""


def _stamp_at(index: int, rate_hz: float) -> int:
    """Synthetic stamp of frame `index` at `rate_hz` frames per second, integer nanoseconds."""
    return SYNTHETIC_EPOCH_NS + int(round(index * 1e9 / rate_hz))


def _check_rate(rate: float | None, what: str) -> float | None:
    if rate is None:
        return None
    rate = float(rate)
    if not np.isfinite(rate) or rate <= 0:
        raise SourceError(f"rate for {what} must be a positive number of frames per second, got {rate}")
    return rate


class FrameSource(ABC):
    """An iterable of `Frame` (every `iter()` starts again from the first frame).

    Attributes:
        path: where the frames come from.
        kind: "video", "images" or "rosbag2".
        rate_hz: nominal frame rate in frames per second (video fps, folder rate, a bag's mean image rate),
            None when unknown; what `pinet-ros play` publishes at by default.
        skipped: frames skipped by the last complete or partial iteration, by reason (e.g.
            "before_camera_info", "undecodable"); empty when none were.
    """

    kind: str = ""

    def __init__(self, path: Path, rate_hz: float | None) -> None:
        self.path = path
        self.rate_hz = rate_hz
        self.skipped: dict[str, int] = {}

    @property
    @abstractmethod
    def num_frames(self) -> int | None:
        """Number of frames an iteration yields when known (for bags: image messages, before skips)."""

    def __len__(self) -> int:
        n = self.num_frames
        if n is None:
            raise TypeError(f"the number of frames of {self.path} is not known")
        return n

    @abstractmethod
    def __iter__(self) -> Iterator[Frame]:
        """Frames in order, each with (H, W, 3) uint8 RGB, intrinsics, stamp (ns) and frame id."""

    def describe(self) -> str:
        """One line: kind, path, frames and rate."""
        n = self.num_frames
        rate = f"{self.rate_hz:.3g} Hz" if self.rate_hz else "unknown rate"
        return f"{self.kind} {self.path} ({n if n is not None else 'unknown number of'} frames, {rate})"


class _StaticCamera:
    """Intrinsics of media without CameraInfo: from the YAML file, else the assumed pinhole (warned once)."""

    def __init__(self, calibration: CameraCalibration | None, source: Path) -> None:
        self.calibration = calibration
        self.source = source
        self._warned = False

    def intrinsics(self, width: int, height: int, what: str) -> Intrinsics:
        if self.calibration is not None:
            try:
                self.calibration.check_size(width, height, what)
            except ValueError as exc:
                raise SourceError(str(exc)) from None
            return self.calibration.intrinsics
        if not self._warned:
            log.warning("no camera calibration for %s: assuming fx = fy = %d px (image width), principal point "
                        "at the centre (pass --camera CALIB.yaml for metric accuracy)", self.source, width)
            self._warned = True
        return assumed_intrinsics(width, height)


# ------------------------------------------------------------------------------------------------ video

class VideoSource(FrameSource):
    """Frames of a video file decoded by OpenCV (BGR converted to RGB)."""

    kind = "video"

    def __init__(self, path: Path, camera: CameraCalibration | None = None, rate: float | None = None,
                 frame_id: str | None = None) -> None:
        cap = cv2.VideoCapture(str(path))
        try:
            if not cap.isOpened():
                raise SourceError(f"OpenCV cannot open video {path} (unsupported codec or not a video)")
            fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        finally:
            cap.release()
        rate = _check_rate(rate, str(path))
        if rate is None:
            if np.isfinite(fps) and fps > 0:
                rate = fps
            else:
                log.warning("video %s states no frame rate: stamping frames at %.0f Hz", path, DEFAULT_VIDEO_RATE_HZ)
                rate = DEFAULT_VIDEO_RATE_HZ
        super().__init__(path, rate)
        self._count = count if count > 0 else None
        self._camera = _StaticCamera(camera, path)
        self.frame_id = frame_id or DEFAULT_FRAME_ID

    @property
    def num_frames(self) -> int | None:
        """Frame count stated by the container (OpenCV's CAP_PROP_FRAME_COUNT); None when it states none."""
        return self._count

    def __iter__(self) -> Iterator[Frame]:
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise SourceError(f"OpenCV cannot open video {self.path}")
        self.skipped = {}
        assert self.rate_hz is not None
        try:
            index = 0
            while True:
                ok, bgr = cap.read()
                if not ok or bgr is None:
                    break
                if bgr.ndim == 2:
                    rgb = cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
                else:
                    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                h, w = rgb.shape[:2]
                yield Frame(rgb=rgb, intrinsics=self._camera.intrinsics(w, h, f"video {self.path}"),
                            stamp_ns=_stamp_at(index, self.rate_hz), frame_id=self.frame_id)
                index += 1
        finally:
            cap.release()


# ---------------------------------------------------------------------------------------------- images

def _natural_key(path: Path) -> list[Any]:
    """Sort key: digit runs compare as numbers ("img2" < "img10")."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)] + [path.name]


class ImageFolderSource(FrameSource):
    """Image files (png/jpg/jpeg/bmp) in natural name order; grey or 16-bit files become 8-bit RGB."""

    kind = "images"

    def __init__(self, path: Path, camera: CameraCalibration | None = None, rate: float | None = None,
                 frame_id: str | None = None, files: list[Path] | None = None) -> None:
        rate = _check_rate(rate, str(path)) or DEFAULT_FOLDER_RATE_HZ
        super().__init__(path, rate)
        if files is None:
            files = sorted((p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                           key=_natural_key)
        if not files:
            raise SourceError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in folder {path}")
        self.files = files
        self._camera = _StaticCamera(camera, path)
        self.frame_id = frame_id or DEFAULT_FRAME_ID

    @property
    def num_frames(self) -> int:
        return len(self.files)

    def __iter__(self) -> Iterator[Frame]:
        self.skipped = {}
        assert self.rate_hz is not None
        for index, file in enumerate(self.files):
            bgr = cv2.imread(str(file), cv2.IMREAD_COLOR)
            if bgr is None:
                raise SourceError(f"cannot read image {file} (corrupt or not an image)")
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            h, w = rgb.shape[:2]
            yield Frame(rgb=rgb, intrinsics=self._camera.intrinsics(w, h, f"image {file}"),
                        stamp_ns=_stamp_at(index, self.rate_hz), frame_id=self.frame_id)


# --------------------------------------------------------------------------------------------- rosbag2

def _typestore():
    from rosbags.typesys import Stores, get_typestore

    return get_typestore(Stores.ROS2_JAZZY)


def _topic_list(connections: list[Any]) -> str:
    seen = sorted({(c.topic, c.msgtype) for c in connections})
    return ", ".join(f"{t} [{m}]" for t, m in seen) or "none"


def _pick_topic(connections: list[Any], types: tuple[str, ...], wanted: str | None, what: str, option: str,
                path: Path, prefer: str | None = None) -> str | None:
    """The topic to read: `wanted` if given (checked), else the only one of `types`, else `prefer` if it is
    one of them; None when the bag has none; SourceError when several fit."""
    candidates = sorted({c.topic for c in connections if c.msgtype in types})
    if wanted is not None:
        matching = [c for c in connections if c.topic == wanted]
        if not matching:
            raise SourceError(f"topic {wanted} not in bag {path}; its topics: {_topic_list(connections)}")
        bad = [c.msgtype for c in matching if c.msgtype not in types]
        if bad:
            raise SourceError(f"topic {wanted} in bag {path} is {bad[0]}, expected {' or '.join(types)}")
        return wanted
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        return None
    if prefer in candidates:
        return prefer
    raise SourceError(f"bag {path} has several {what} topics ({', '.join(candidates)}): choose one with {option}")


def _sibling_info_topic(image_topic: str) -> str:
    """The CameraInfo topic beside an image topic, by the image_transport convention (/cam/image_raw ->
    /cam/camera_info)."""
    return image_topic.rsplit("/", 1)[0] + "/camera_info" if "/" in image_topic else "camera_info"


def _decode_compressed(msg: Any) -> np.ndarray:
    """sensor_msgs/CompressedImage (jpeg/png) -> (H, W, 3) uint8 RGB."""
    from pinet_ros.ros.convert import InvalidMessage

    data = np.asarray(msg.data, dtype=np.uint8).reshape(-1)
    if data.size == 0:
        raise InvalidMessage("empty CompressedImage")
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise InvalidMessage(f"CompressedImage format {msg.format!r:.40} could not be decoded (jpeg/png expected)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class RosbagSource(FrameSource):
    """Images of one topic of a rosbag2 recording, paired with CameraInfo.

    Pairing: the node's policy (`pinet_ros.ros.camera_input.CameraInfoPairer`): among the CameraInfos that
    describe an image of its size, the one whose stamp is nearest the image's within `sync_tolerance_s`
    (also when recorded just after the image), otherwise the latest CameraInfo recorded before the image.
    Images with neither are skipped ("before_camera_info"); so are images that cannot be decoded or carry an
    invalid stamp ("undecodable"), images whose size differs from their CameraInfo's ("size_mismatch") and
    images whose intrinsics are absurd for their size ("invalid_camera_info"). A CameraInfo that gives no
    usable intrinsics (all-zero K and P, NaN, absurd values) is ignored with a warning. The counts are in
    `skipped` after an iteration and logged as one warning line.
    """

    kind = "rosbag2"

    def __init__(self, path: Path, camera: CameraCalibration | None = None, image_topic: str | None = None,
                 info_topic: str | None = None, rate: float | None = None, frame_id: str | None = None,
                 sync_tolerance_s: float = 0.02) -> None:
        from rosbags.rosbag2 import Reader

        if not (math.isfinite(sync_tolerance_s) and sync_tolerance_s >= 0):
            raise SourceError(f"sync_tolerance_s must be finite and >= 0, got {sync_tolerance_s}")
        self.sync_tolerance_ns = int(round(sync_tolerance_s * 1e9))

        try:
            reader = Reader(path)
            reader.open()
        except Exception as exc:  # rosbags raises its own ReaderError and plain OSErrors
            raise SourceError(f"cannot open rosbag2 {path}: {exc}") from None
        try:
            connections = list(reader.connections)
            image = _pick_topic(connections, IMAGE_TYPES, image_topic, "image", "--image-topic", path)
            if image is None:
                raise SourceError(f"bag {path} has no sensor_msgs/Image or CompressedImage topic; its topics: "
                                  f"{_topic_list(connections)}")
            info = None
            if camera is None:
                info = _pick_topic(connections, (INFO_TYPE,), info_topic, "CameraInfo", "--info-topic", path,
                                   prefer=_sibling_info_topic(image))
            elif info_topic is not None:
                log.warning("camera YAML %s given: ignoring CameraInfo topic %s of %s", camera.path, info_topic, path)
            image_conns = [c for c in connections if c.topic == image]
            count = sum(c.msgcount for c in image_conns)
            duration_s = reader.duration * 1e-9
        finally:
            reader.close()
        rate = _check_rate(rate, str(path))
        if rate is None and count > 1 and duration_s > 0:
            rate = (count - 1) / duration_s
        super().__init__(path, rate)
        self.image_topic = image
        self.info_topic = info
        self._count = count
        self._frame_id = frame_id
        self._camera = _StaticCamera(camera, path) if (camera is not None or info is None) else None
        if info is None and camera is None:
            log.warning("bag %s has no CameraInfo topic for %s", path, image)

    @property
    def num_frames(self) -> int:
        """Image messages on the topic (frames skipped during iteration are not subtracted)."""
        return self._count

    def _read_infos(self, reader: Any, store: Any) -> list[Any]:
        """Every CameraInfo of the info topic, in recording order."""
        conns = [c for c in reader.connections if c.topic == self.info_topic]
        return [store.deserialize_cdr(raw, conn.msgtype) for conn, _, raw in reader.messages(connections=conns)]

    def __iter__(self) -> Iterator[Frame]:
        from rosbags.rosbag2 import Reader

        from pinet_ros.ros.camera_input import CameraInfoPairer
        from pinet_ros.ros.convert import InvalidMessage, image_to_rgb, stamp_to_ns

        store = _typestore()
        self.skipped = {}
        skipped = self.skipped

        def skip(reason: str, detail: str = "") -> None:
            skipped[reason] = skipped.get(reason, 0) + 1
            if skipped[reason] == 1 and detail:
                log.warning("skipping %s on %s in %s: %s", reason.replace("_", " "), self.image_topic, self.path,
                            detail)

        # The same pairing policy as the node (pinet_ros.ros.camera_input); reading ahead lets an image meet
        # its CameraInfo of the same stamp even when that was recorded just after the image.
        pairer = CameraInfoPairer(tolerance_ns=self.sync_tolerance_ns)
        reader = Reader(self.path)
        reader.open()
        try:
            if self.info_topic and self._camera is None:
                bad = pairer.preload(self._read_infos(reader, store))
                if bad:
                    log.warning("ignored %d unusable CameraInfo message(s) on %s in %s", bad, self.info_topic,
                                self.path)
            conns = [c for c in reader.connections if c.topic in (self.image_topic, self.info_topic)]
            for conn, _, raw in reader.messages(connections=conns):
                msg = store.deserialize_cdr(raw, conn.msgtype)
                if conn.topic == self.info_topic:
                    try:
                        pairer.add(msg)
                    except InvalidMessage:
                        pass  # counted by preload
                    continue
                try:
                    stamp_ns = stamp_to_ns(msg.header.stamp)
                    rgb = _decode_compressed(msg) if conn.msgtype.endswith("CompressedImage") else image_to_rgb(msg)
                except InvalidMessage as exc:
                    skip("undecodable", str(exc))
                    continue
                h, w = rgb.shape[:2]
                if self._camera is not None:
                    intrinsics = self._camera.intrinsics(w, h, f"topic {self.image_topic} of {self.path}")
                else:
                    try:
                        intrinsics = pairer.pair(w, h, stamp_ns)
                    except InvalidMessage as exc:
                        reason = "size_mismatch" if "images but the image is" in str(exc) else "invalid_camera_info"
                        skip(reason, str(exc))
                        continue
                    if intrinsics is None:
                        skip("before_camera_info")
                        continue
                frame_id = self._frame_id or msg.header.frame_id or DEFAULT_FRAME_ID
                yield Frame(rgb=rgb, intrinsics=intrinsics, stamp_ns=stamp_ns, frame_id=frame_id)
        finally:
            reader.close()
            if skipped:
                log.warning("%s: skipped %d image(s) of %s (%s)", self.path, sum(skipped.values()), self.image_topic,
                            ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in sorted(skipped.items())))


# ------------------------------------------------------------------------------------------------- entry

def _is_bag_dir(path: Path) -> bool:
    return (path / "metadata.yaml").is_file() or any(p.suffix in BAG_SUFFIXES for p in path.iterdir())


def open_source(path: str | Path, *, camera: str | Path | CameraCalibration | None = None,
                image_topic: str | None = None, info_topic: str | None = None, rate: float | None = None,
                frame_id: str | None = None) -> FrameSource:
    """Open a video file, an image folder (or one image), a rosbag2 directory or a .mcap/.db3 file.

    Args:
        path: the input.
        camera: ROS camera_calibration YAML (path or an already read `CameraCalibration`) giving the
            intrinsics of videos and images, and of bags instead of their CameraInfo. Without it, videos and
            images use the assumed pinhole (fx = fy = width, centred principal point) with a warning.
        image_topic, info_topic: bag topics (only for bags); found automatically when unambiguous, and the
            CameraInfo beside the image topic (/cam/image_raw -> /cam/camera_info) is preferred.
        rate: frames per second for the synthetic stamps of videos (instead of the container's fps) and image
            folders (default `DEFAULT_FOLDER_RATE_HZ`); for bags it only sets `rate_hz`.
        frame_id: frame id for every frame (default: `DEFAULT_FRAME_ID`; for bags the image header's).
    Returns:
        A `FrameSource`.
    Raises:
        SourceError: the path does not exist, is of an unknown kind, cannot be opened, the topics are
            missing or ambiguous; CameraYamlError (a ValueError) for a bad `camera` file.
    """
    path = Path(path)
    if not path.exists():
        raise SourceError(f"input {path} does not exist")
    calibration = camera if isinstance(camera, CameraCalibration) or camera is None else read_camera_yaml(camera)
    suffix = path.suffix.lower()
    is_bag = (path.is_dir() and _is_bag_dir(path)) or (path.is_file() and suffix in BAG_SUFFIXES)
    if (image_topic or info_topic) and not is_bag:
        raise SourceError(f"--image-topic/--info-topic only apply to rosbag2 inputs, not {path}")
    if is_bag and path.is_dir() and not (path / "metadata.yaml").is_file():
        files = sorted(p for p in path.iterdir() if p.suffix in BAG_SUFFIXES)
        if len(files) != 1:
            raise SourceError(f"folder {path} has no metadata.yaml and {len(files)} .mcap/.db3 files: "
                              "give one file")
        path = files[0]  # a rosbag2 folder that lost its metadata.yaml
    if is_bag:
        return RosbagSource(path, calibration, image_topic=image_topic, info_topic=info_topic, rate=rate,
                            frame_id=frame_id)
    if path.is_dir():
        return ImageFolderSource(path, calibration, rate=rate, frame_id=frame_id)
    if suffix in IMAGE_SUFFIXES:
        return ImageFolderSource(path, calibration, rate=rate, frame_id=frame_id, files=[path])
    if suffix in VIDEO_SUFFIXES:
        return VideoSource(path, calibration, rate=rate, frame_id=frame_id)
    raise SourceError(f"unsupported input {path}: expected a video ({', '.join(sorted(VIDEO_SUFFIXES))}), an image "
                      f"({', '.join(sorted(IMAGE_SUFFIXES))}) or a folder of them, a rosbag2 directory, or a "
                      ".mcap/.db3 file")
