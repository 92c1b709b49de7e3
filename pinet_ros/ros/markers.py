"""FrameResult -> visualization_msgs/MarkerArray for RViz (the message classes are imported when building)."""

from __future__ import annotations

import math

import numpy as np

from pinet_ros.core.colors import color_for_id
from pinet_ros.core.result import FrameResult
from pinet_ros.ros.fields import NS_PER_S as _NS, ns_to_stamp
from pinet_ros.ros.pose_msgs import clean_joints, points, publishable

__all__ = ["MARKER_NAMESPACES", "frame_result_to_markers"]

MARKER_NAMESPACES = ("pinet_bones", "pinet_joints", "pinet_labels")
"""Namespaces of the per-person LINE_LIST, SPHERE_LIST and TEXT_VIEW_FACING markers; marker id = the
person's index in the published list, so every frame reuses the same (ns, id) pairs."""


def frame_result_to_markers(result: FrameResult, lifetime_s: float = 0.5, line_width_m: float = 0.03,
                            joint_diameter_m: float = 0.06, text_height_m: float = 0.15):
    """FrameResult -> visualization_msgs/MarkerArray for RViz.

    Marker 0 is DELETEALL, so people who left the view never linger. Then, per published person (the same
    persons as `frame_result_to_msg`, in the same order, index i): a LINE_LIST of the refined bones whose two
    ends are finite (ns "pinet_bones", id i), a SPHERE_LIST of the finite refined joints ("pinet_joints", i)
    and a TEXT_VIEW_FACING label "id <id>" 0.2 m above the highest joint ("pinet_labels", i). All markers are
    in `result.frame_id` with the image stamp, coloured `color_for_id(person.id)` (opaque), and expire after
    `lifetime_s` seconds (0 = never) in case the node stops publishing.

    Args:
        lifetime_s: marker lifetime, seconds, finite and >= 0.
        line_width_m, joint_diameter_m, text_height_m: sizes in metres.
    """
    from builtin_interfaces.msg import Duration
    from geometry_msgs.msg import Point
    from std_msgs.msg import ColorRGBA, Header
    from visualization_msgs.msg import Marker, MarkerArray

    if not (math.isfinite(lifetime_s) and lifetime_s >= 0):
        raise ValueError(f"lifetime_s must be finite and >= 0, got {lifetime_s}")
    stamp = ns_to_stamp(result.stamp_ns)
    frame_id = str(result.frame_id)
    lifetime_ns = int(round(lifetime_s * _NS))
    lifetime = Duration(sec=lifetime_ns // _NS, nanosec=lifetime_ns % _NS)

    def marker(ns: str, mid: int, mtype: int, rgb: tuple[float, float, float]) -> Marker:
        m = Marker(header=Header(stamp=stamp, frame_id=frame_id), ns=ns, id=mid, type=mtype, action=Marker.ADD)
        m.pose.orientation.w = 1.0
        m.color = ColorRGBA(r=rgb[0], g=rgb[1], b=rgb[2], a=1.0)
        m.lifetime = lifetime
        return m

    clear = Marker(header=Header(stamp=stamp, frame_id=frame_id), action=Marker.DELETEALL)
    markers = [clear]
    bones = np.asarray(result.joint_set.bones, dtype=np.intp).reshape(-1, 2)
    for i, pi in enumerate(publishable(result)):
        p = result.persons[pi]
        rgb = color_for_id(int(p.id))
        joints, ok = clean_joints(p.joints_m)

        lines = marker(MARKER_NAMESPACES[0], i, Marker.LINE_LIST, rgb)
        drawn = bones[ok[bones[:, 0]] & ok[bones[:, 1]]] if bones.size else bones
        lines.points = points(joints[drawn.reshape(-1)])
        lines.scale.x = float(line_width_m)

        spheres = marker(MARKER_NAMESPACES[1], i, Marker.SPHERE_LIST, rgb)
        spheres.points = points(joints[ok])
        spheres.scale.x = spheres.scale.y = spheres.scale.z = float(joint_diameter_m)

        label = marker(MARKER_NAMESPACES[2], i, Marker.TEXT_VIEW_FACING, rgb)
        top = joints[ok][np.argmin(joints[ok][:, 1])]  # optical frame: y points down
        label.pose.position = Point(x=float(top[0]), y=float(top[1]) - 0.2, z=float(top[2]))
        label.scale.z = float(text_height_m)
        label.text = f"id {int(p.id)}"
        markers += [lines, spheres, label]
    return MarkerArray(markers=markers)
