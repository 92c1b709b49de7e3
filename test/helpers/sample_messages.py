"""Deterministic MultiPerson3DPose for cross-process tests (imported by the test and the publisher)."""

from __future__ import annotations

import numpy as np
from geometry_msgs.msg import Point
from sensor_msgs.msg import RegionOfInterest

from pinet_ros.core.skeleton import MUPOTS17
from pinet_ros.msg import MultiPerson3DPose, Person3DPose


def sample_multi_person(num_persons: int = 3, seed: int = 7) -> MultiPerson3DPose:
    """num_persons people x 17 joints with every field set to a distinct, seeded value."""
    rng = np.random.default_rng(seed)
    msg = MultiPerson3DPose()
    msg.header.frame_id = "camera_color_optical_frame"
    msg.header.stamp.sec = 1_700_000_123
    msg.header.stamp.nanosec = 456_789_000
    msg.joint_names = list(MUPOTS17.joint_names)
    msg.bones = MUPOTS17.bones_flat()
    for i in range(num_persons):
        p = Person3DPose()
        p.id = 10 + i
        p.score = float(np.float32(rng.uniform(0.5, 1.0)))
        p.bbox = RegionOfInterest(x_offset=int(rng.integers(0, 600)), y_offset=int(rng.integers(0, 400)),
                                  width=int(rng.integers(20, 200)), height=int(rng.integers(50, 400)),
                                  do_rectify=bool(i % 2))
        root = rng.uniform([-2, -1, 1], [2, 1, 8])
        p.root = Point(x=float(root[0]), y=float(root[1]), z=float(root[2]))
        joints = root + rng.normal(0, 0.3, size=(17, 3))
        initial = joints + rng.normal(0, 0.05, size=(17, 3))
        p.joints = [Point(x=float(a), y=float(b), z=float(c)) for a, b, c in joints]
        p.joints_initial = [Point(x=float(a), y=float(b), z=float(c)) for a, b, c in initial]
        p.joint_confidence = [float(v) for v in rng.uniform(0, 1, 17).astype(np.float32)]
        msg.persons.append(p)
    msg.interaction = [float(v) for v in rng.dirichlet(np.ones(num_persons), num_persons).astype(np.float32).ravel()]
    return msg
