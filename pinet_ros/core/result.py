"""Plain numpy result types shared by the backends, the pipeline, the converters and the tools.

No torch, no rclpy: every layer (models, pipeline, ros/convert, CLI) speaks these types.
Units: 3D in millimetres inside the estimation stack (`PersonEstimate`), metres in what is published
(`PersonResult`, `FrameResult`); camera optical frame (x right, y down, z forward); pixels in the source image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pinet_ros.core.camera import Intrinsics
from pinet_ros.core.skeleton import MUPOTS17, JointSet


@dataclass
class Frame:
    """One input image with its camera.

    Attributes:
        rgb: (H, W, 3) uint8 RGB image.
        intrinsics: pinhole intrinsics of `rgb`, pixels.
        stamp_ns: capture time, integer nanoseconds (ROS time of the image header).
        frame_id: camera optical frame id copied to every output.
    """

    rgb: np.ndarray
    intrinsics: Intrinsics
    stamp_ns: int
    frame_id: str = "camera_optical_frame"


@dataclass
class PersonEstimate:
    """One person as a backend estimates it, before PI-Net and tracking.

    Attributes:
        bbox_xywh: (4,) box in source image pixels (x, y, width, height).
        score: detection confidence, 0..1.
        joints_cam_mm: (17, 3) absolute joints, camera millimetres, MuPoTS-17 order (root = pelvis, 14).
        joints_2d: (17, 2) joints in source image pixels.
        joint_confidence: (17,) per-joint confidence, 0..1.
    """

    bbox_xywh: np.ndarray
    score: float
    joints_cam_mm: np.ndarray
    joints_2d: np.ndarray
    joint_confidence: np.ndarray


@dataclass
class PersonResult:
    """One person as published.

    Attributes:
        id: tracking id (>= 1 while tracked; 0 when tracking is off).
        score: detection confidence, 0..1.
        bbox_xywh: (4,) box in source image pixels.
        root_m: (3,) pelvis of the refined pose, metres.
        joints_m: (17, 3) refined joints (what planners should use), metres.
        joints_initial_m: (17, 3) joints before PI-Net, metres.
        joints_2d: (17, 2) 2D joints of the backend, source image pixels.
        joint_confidence: (17,) 0..1.
        root_source: ROOT_MONOCULAR (0) or ROOT_DEPTH (1): whether the absolute position was corrected by
            a depth image before PI-Net (`pinet_ros.core.depth`).
    """

    id: int
    score: float
    bbox_xywh: np.ndarray
    root_m: np.ndarray
    joints_m: np.ndarray
    joints_initial_m: np.ndarray
    joints_2d: np.ndarray
    joint_confidence: np.ndarray
    root_source: int = 0


ROOT_MONOCULAR = 0
"""`PersonResult.root_source`: the absolute position is the backend's monocular estimate."""
ROOT_DEPTH = 1
"""`PersonResult.root_source`: the absolute position was corrected by a depth image."""


@dataclass
class FrameResult:
    """Everything estimated for one frame.

    Attributes:
        stamp_ns: the source image's stamp, integer nanoseconds.
        frame_id: the source image's frame id.
        image_size: (width, height) of the source image, pixels.
        persons: people in a stable order (by tracking id when tracking is on, else left to right).
        interaction: (N, N) PI-Net attention, row i = how much person i used person j; None if refine is off.
        timings_ms: per-stage wall time, milliseconds (e.g. "detect", "pose", "root", "refine", "track").
        joint_set: joint names and bones of `joints_m` (MuPoTS-17).
        lift_failures: people the backend found but could not place in 3D (a failed lift, non-finite joints,
            behind the camera); they are not in `persons`.
    """

    stamp_ns: int
    frame_id: str
    image_size: tuple[int, int]
    persons: list[PersonResult] = field(default_factory=list)
    interaction: np.ndarray | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    joint_set: JointSet = MUPOTS17
    lift_failures: int = 0
