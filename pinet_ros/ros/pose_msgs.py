"""FrameResult <-> pinet_ros/MultiPerson3DPose (numpy; the message classes are imported when building)."""

from __future__ import annotations

import array
import math
import operator
from typing import Any

import numpy as np

from pinet_ros.core.result import FrameResult, PersonResult
from pinet_ros.core.skeleton import MUPOTS17, JointSet
from pinet_ros.ros.fields import InvalidMessage, field as _field, ns_to_stamp, stamp_to_ns

__all__ = ["frame_result_from_msg", "frame_result_to_msg", "points", "publishable", "clean_joints"]


def publishable(result: FrameResult) -> list[int]:
    """Indices of the persons that are published: finite root and at least one finite refined joint."""
    keep = []
    for i, p in enumerate(result.persons):
        joints = np.asarray(p.joints_m, dtype=np.float64)
        if np.all(np.isfinite(np.asarray(p.root_m, dtype=np.float64))) and np.any(np.all(np.isfinite(joints), axis=-1)):
            keep.append(i)
    return keep


def clean_joints(joints_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(J, 3) joints with every joint that has a non-finite coordinate set to NaN, and the (J,) finite mask."""
    j = np.array(joints_m, dtype=np.float64).reshape(-1, 3)
    ok = np.all(np.isfinite(j), axis=1)
    j[~ok] = np.nan
    return j, ok


def _unit(value: float) -> float:
    v = float(value)
    return min(max(v, 0.0), 1.0) if math.isfinite(v) else 0.0


def _bbox_roi(p: PersonResult, image_size: tuple[int, int]):
    """Box -> RegionOfInterest clipped to the image (non-negative ints). A non-finite box falls back to the
    bounds of the finite 2D joints, else an all-zero ROI."""
    from sensor_msgs.msg import RegionOfInterest

    box = np.asarray(p.bbox_xywh, dtype=np.float64).reshape(-1)
    if box.size == 4 and np.all(np.isfinite(box)):
        x0, y0, x1, y1 = box[0], box[1], box[0] + max(box[2], 0.0), box[1] + max(box[3], 0.0)
    else:
        uv = np.asarray(p.joints_2d, dtype=np.float64).reshape(-1, 2)
        uv = uv[np.all(np.isfinite(uv), axis=1)]
        if uv.size == 0:
            return RegionOfInterest()
        (x0, y0), (x1, y1) = uv.min(axis=0), uv.max(axis=0)
    width, height = (int(v) for v in image_size)
    hi_x = width if width > 0 else 2**32 - 1
    hi_y = height if height > 0 else 2**32 - 1
    ix0, iy0 = int(np.clip(math.floor(x0), 0, hi_x)), int(np.clip(math.floor(y0), 0, hi_y))
    ix1, iy1 = int(np.clip(math.ceil(x1), 0, hi_x)), int(np.clip(math.ceil(y1), 0, hi_y))
    return RegionOfInterest(x_offset=ix0, y_offset=iy0, width=max(ix1 - ix0, 0), height=max(iy1 - iy0, 0))


def points(joints: np.ndarray) -> list:
    from geometry_msgs.msg import Point

    return [Point(x=x, y=y, z=z) for x, y, z in joints.tolist()]


def _float32_array(values: np.ndarray) -> array.array:
    out = array.array("f")
    out.frombytes(np.ascontiguousarray(values, dtype=np.float32).tobytes())
    return out


def frame_result_to_msg(result: FrameResult):
    """FrameResult -> pinet_ros/MultiPerson3DPose.

    header: stamp from `stamp_ns`, `frame_id` copied. joint_names and bones from `result.joint_set`.
    Per person: id, score (clipped to 0..1, non-finite -> 0), bbox as a RegionOfInterest clipped to
    `image_size` with non-negative integer offsets/sizes, root, joints (refined), joints_initial,
    joint_confidence (clipped to 0..1), root_source (Person3DPose.MONOCULAR / DEPTH). interaction: the (N, N)
    matrix flattened row-major as float32 (non-finite entries -> 0), empty when `result.interaction` is None.

    Non-finite rule (a NaN must never turn into a plausible point such as the origin):
      - a person whose root or every refined joint is non-finite is dropped, together with its row and
        column of `interaction`;
      - a refined joint with any non-finite coordinate is published as (NaN, NaN, NaN) with confidence 0, so
        consumers that gate on confidence skip it and those that do not see NaN, not a position;
      - a non-finite initial joint is published as (NaN, NaN, NaN).

    Raises:
        ValueError: `interaction` is not (N, N) for N persons, or an id does not fit uint32.
    """
    from pinet_ros.msg import MultiPerson3DPose, Person3DPose
    from geometry_msgs.msg import Point
    from std_msgs.msg import Header

    keep = publishable(result)
    msg = MultiPerson3DPose()
    msg.header = Header(stamp=ns_to_stamp(result.stamp_ns), frame_id=str(result.frame_id))
    msg.joint_names = list(result.joint_set.joint_names)
    msg.bones = bytes(result.joint_set.bones_flat())
    persons = []
    for i in keep:
        p = result.persons[i]
        pid = operator.index(p.id)
        if not 0 <= pid < 2**32:
            raise ValueError(f"person id {pid} does not fit the message's uint32")
        joints, ok = clean_joints(p.joints_m)
        initial, _ = clean_joints(p.joints_initial_m)
        conf = np.clip(np.nan_to_num(np.asarray(p.joint_confidence, dtype=np.float64).reshape(-1),
                                     nan=0.0, posinf=0.0, neginf=0.0), 0.0, 1.0)
        if conf.shape != ok.shape:
            raise ValueError(f"person {pid}: {conf.size} confidences for {ok.size} joints")
        conf[~ok] = 0.0
        root = np.asarray(p.root_m, dtype=np.float64).reshape(3)
        person = Person3DPose()
        person.id = pid
        person.score = _unit(p.score)
        person.bbox = _bbox_roi(p, result.image_size)
        person.root = Point(x=float(root[0]), y=float(root[1]), z=float(root[2]))
        person.joints = points(joints)
        person.joints_initial = points(initial)
        person.joint_confidence = _float32_array(conf)
        person.root_source = int(getattr(p, "root_source", 0))
        persons.append(person)
    msg.persons = persons
    if result.interaction is not None:
        n = len(result.persons)
        inter = np.asarray(result.interaction, dtype=np.float64)
        if inter.shape != (n, n):
            raise ValueError(f"interaction has shape {inter.shape}, expected ({n}, {n})")
        inter = inter[np.ix_(keep, keep)]
        msg.interaction = _float32_array(np.where(np.isfinite(inter), inter, 0.0).ravel())
    return msg


def _xyz(points: Any, what: str) -> np.ndarray:
    try:
        return np.array([[p.x, p.y, p.z] for p in points], dtype=np.float64).reshape(-1, 3)
    except (AttributeError, TypeError, ValueError):
        raise InvalidMessage(f"{what} is not a list of geometry_msgs/Point") from None


def frame_result_from_msg(msg: Any) -> FrameResult:
    """pinet_ros/MultiPerson3DPose (rclpy or duck-typed, e.g. read from a bag) -> FrameResult, for offline tools.

    The inverse of `frame_result_to_msg` for everything the message carries. What it does not carry:
    `image_size` becomes (0, 0) (unknown), `joints_2d` all NaN, `timings_ms` empty. `bbox_xywh` is the ROI as
    floats. `joint_set` is MUPOTS17 when the names match it, else a JointSet built from the message's
    joint_names and bones (root = "pelvis" when present, else 0). `interaction` is (N, N), or None when empty.

    Raises:
        InvalidMessage: a person's joints, joints_initial or joint_confidence do not have one entry per joint
            name, bones index outside joint_names, or interaction is neither empty nor N*N long.
    """
    header = _field(msg, "header")
    names = tuple(str(n) for n in _field(msg, "joint_names"))
    flat = [int(b) for b in _field(msg, "bones")]
    if len(flat) % 2 or any(not 0 <= b < len(names) for b in flat):
        raise InvalidMessage(f"bones {flat[:8]}... do not index {len(names)} joint names in pairs")
    pairs = tuple(zip(flat[0::2], flat[1::2]))
    if names == MUPOTS17.joint_names and pairs == MUPOTS17.bones:
        joint_set = MUPOTS17
    else:
        joint_set = JointSet(name="from_msg", joint_names=names, bones=pairs, flip_pairs=(),
                             root=names.index("pelvis") if "pelvis" in names else 0)
    n_joints = len(names)
    persons = []
    for p in _field(msg, "persons"):
        joints = _xyz(p.joints, "joints")
        initial = _xyz(p.joints_initial, "joints_initial")
        conf = np.asarray(p.joint_confidence, dtype=np.float64).reshape(-1)
        if not len(joints) == len(initial) == conf.size == n_joints:
            raise InvalidMessage(f"person {p.id}: {len(joints)} joints, {len(initial)} initial joints and "
                                 f"{conf.size} confidences for {n_joints} joint names")
        roi = p.bbox
        persons.append(PersonResult(
            id=int(p.id), score=float(p.score),
            bbox_xywh=np.array([roi.x_offset, roi.y_offset, roi.width, roi.height], dtype=np.float64),
            root_m=np.array([p.root.x, p.root.y, p.root.z], dtype=np.float64), joints_m=joints,
            joints_initial_m=initial, joints_2d=np.full((n_joints, 2), np.nan), joint_confidence=conf,
            root_source=int(getattr(p, "root_source", 0))))
    inter = np.asarray(_field(msg, "interaction"), dtype=np.float64).reshape(-1)
    n = len(persons)
    if inter.size not in (0, n * n):
        raise InvalidMessage(f"interaction has {inter.size} values for {n} persons")
    return FrameResult(stamp_ns=stamp_to_ns(_field(header, "stamp")), frame_id=str(_field(header, "frame_id")),
                       image_size=(0, 0), persons=persons,
                       interaction=inter.reshape(n, n) if inter.size else None,
                       joint_set=joint_set)
