"""Write pinet_ros results to an MCAP file (rosbag2 storage "mcap"), readable by `ros2 bag`, rosbags, the
mcap tools and Foxglove.

One MultiPerson3DPose (`POSES_TOPIC`) and one visualization_msgs/MarkerArray (`MARKERS_TOPIC`) per frame,
optionally the input Image (rgb8) and CameraInfo, all logged at the image stamp. Messages are built with
`pinet_ros.ros.convert`, serialised by rclpy (so they are byte-identical to what the node publishes) and
written as raw CDR by rosbags' Writer with the schemas of a typestore that knows pinet_ros/msg.

The output is a single `.mcap` file (`ros2 bag play poses.mcap` and `ros2 bag info poses.mcap` accept it):
rosbags writes a rosbag2 directory, from which only the .mcap file is kept. Needs rclpy, the built
pinet_ros messages (scripts/env.sh) and rosbags.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from pinet_ros.core.camera import Intrinsics
from pinet_ros.core.result import FrameResult

__all__ = ["IMAGE_TOPIC", "INFO_TOPIC", "MARKERS_TOPIC", "POSES_TOPIC", "PoseBagWriter", "read_pose_messages"]

POSES_TOPIC = "/pinet/poses"
MARKERS_TOPIC = "/pinet/markers"
IMAGE_TOPIC = "/image"
INFO_TOPIC = "/camera_info"

_TYPES = {
    "poses": "pinet_ros/msg/MultiPerson3DPose",
    "markers": "visualization_msgs/msg/MarkerArray",
    "image": "sensor_msgs/msg/Image",
    "info": "sensor_msgs/msg/CameraInfo",
}


class PoseBagWriter:
    """Append frame results to a new MCAP file; use as a context manager (or call `close()`).

    Args:
        path: the .mcap file to create; its folder is created; an existing file is an error unless
            `overwrite` is true.
        images: also write each frame's Image (rgb8) and CameraInfo (requires `rgb` and `intrinsics` in `write`).
        poses_topic, markers_topic, image_topic, info_topic: topic names.
        overwrite: replace an existing file.
    Raises:
        FileExistsError: `path` exists and `overwrite` is false.
    """

    def __init__(self, path: str | Path, *, images: bool = False, poses_topic: str = POSES_TOPIC,
                 markers_topic: str = MARKERS_TOPIC, image_topic: str = IMAGE_TOPIC, info_topic: str = INFO_TOPIC,
                 overwrite: bool = False) -> None:
        from rclpy.serialization import serialize_message  # noqa: F401  (fail early without rclpy)
        from rosbags.rosbag2 import StoragePlugin, Writer

        from pinet_ros.io.messages import pinet_typestore

        self.path = Path(path)
        if self.path.suffix != ".mcap":
            raise ValueError(f"output must be a .mcap file, got {self.path}")
        if self.path.exists():
            if not overwrite:
                raise FileExistsError(f"{self.path} exists already (remove it or pass overwrite=True)")
            self.path.unlink()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.parent / f".{self.path.stem}.rosbag2.tmp"
        if self._tmp.exists():
            shutil.rmtree(self._tmp)
        self.images = images
        self.frames = 0
        store = pinet_typestore()
        self._writer = Writer(self._tmp, version=8, storage_plugin=StoragePlugin.MCAP)
        self._writer.open()
        topics = {"poses": poses_topic, "markers": markers_topic}
        if images:
            topics.update(image=image_topic, info=info_topic)
        self._conns = {key: self._writer.add_connection(topic, _TYPES[key], typestore=store)
                       for key, topic in topics.items()}
        self._closed = False

    def write(self, result: FrameResult, rgb: np.ndarray | None = None, intrinsics: Intrinsics | None = None) -> None:
        """Write one frame's messages at `result.stamp_ns`.

        Args:
            result: the frame's estimate (stamp in ns, frame id, persons in metres).
            rgb: (H, W, 3) uint8 source image; required when the writer was made with `images=True`.
            intrinsics: the image's intrinsics (pixels); required with `images=True`.
        """
        from rclpy.serialization import serialize_message
        from std_msgs.msg import Header

        from pinet_ros.io.messages import camera_info_msg
        from pinet_ros.ros.convert import frame_result_to_markers, frame_result_to_msg, ns_to_stamp, rgb_to_image_msg

        if self._closed:
            raise RuntimeError(f"PoseBagWriter for {self.path} is closed")
        stamp = int(result.stamp_ns)
        if stamp < 0:
            raise ValueError(f"stamp must be >= 0 ns to be a bag log time, got {stamp}")
        out = [("poses", frame_result_to_msg(result)), ("markers", frame_result_to_markers(result))]
        if self.images:
            if rgb is None or intrinsics is None:
                raise ValueError("this writer writes images: pass rgb and intrinsics")
            header = Header(stamp=ns_to_stamp(stamp), frame_id=str(result.frame_id))
            out.append(("image", rgb_to_image_msg(rgb, header)))
            out.append(("info", camera_info_msg(intrinsics, rgb.shape[1], rgb.shape[0], header)))
        for key, msg in out:
            self._writer.write(self._conns[key], stamp, serialize_message(msg))
        self.frames += 1

    def write_serialized(self, kind: str, stamp_ns: int, cdr: bytes) -> None:
        """Write one already serialised message (e.g. received with rclpy) of `kind` ("poses", "markers",
        "image" or "info") at `stamp_ns`."""
        if self._closed:
            raise RuntimeError(f"PoseBagWriter for {self.path} is closed")
        if kind not in self._conns:
            raise ValueError(f"this writer has no {kind!r} topic; it has {sorted(self._conns)}")
        self._writer.write(self._conns[kind], int(stamp_ns), bytes(cdr))

    def close(self) -> Path:
        """Finish the file and return its path (idempotent)."""
        if not self._closed:
            self._closed = True
            self._writer.close()
            written = self._tmp / f"{self._tmp.name}.mcap"
            written.replace(self.path)
            shutil.rmtree(self._tmp, ignore_errors=True)
        return self.path

    def abort(self) -> None:
        """Drop everything written so far (no output file)."""
        if not self._closed:
            self._closed = True
            try:
                self._writer.close()
            finally:
                shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> "PoseBagWriter":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        # Keep what was written even after an error or Ctrl-C: a partial run is still a valid file.
        self.close()

    def __del__(self) -> None:  # pragma: no cover - safety net only
        if getattr(self, "_closed", True) is False:
            try:
                self.close()
            except Exception:
                pass


def read_pose_messages(path: str | Path, topic: str = POSES_TOPIC) -> list[tuple[int, Any]]:
    """(log time ns, deserialised rosbags message) of every message on `topic` of an MCAP/rosbag2 file; for
    checks and tools."""
    from rosbags.rosbag2 import Reader

    from pinet_ros.io.messages import pinet_typestore

    store = pinet_typestore()
    out = []
    with Reader(Path(path)) as reader:
        conns = [c for c in reader.connections if c.topic == topic]
        for conn, t, raw in reader.messages(connections=conns):
            out.append((t, store.deserialize_cdr(raw, conn.msgtype)))
    return out
