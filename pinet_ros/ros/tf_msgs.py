"""Person TF frames -> tf2_msgs/TFMessage (no rclpy at import; the message classes are imported when called).

The frames themselves (names, parents, axes) are computed by `pinet_ros.core.body_frames`; see there and
README "TF". `tf2_msgs` comes with a full ROS 2 install; with the PyPI wheels, `make setup` builds it from its
interface definition (ros_deps/tf2_msgs). `tf_available()` says whether it can be imported.
"""

from __future__ import annotations

from pinet_ros.core.body_frames import Transform, frames_for_result
from pinet_ros.core.result import FrameResult
from pinet_ros.ros.fields import ns_to_stamp

__all__ = ["frame_result_to_tf", "tf_available", "transforms_to_msg"]


def tf_available() -> bool:
    """True when tf2_msgs/TFMessage can be imported."""
    try:
        from tf2_msgs.msg import TFMessage  # noqa: F401
    except ImportError:
        return False
    return True


def transforms_to_msg(transforms: list[Transform]):
    """Transforms -> tf2_msgs/TFMessage (geometry_msgs/TransformStamped each)."""
    from geometry_msgs.msg import Quaternion, Transform as TransformMsg, TransformStamped, Vector3
    from std_msgs.msg import Header
    from tf2_msgs.msg import TFMessage

    out = []
    for t in transforms:
        x, y, z = (float(v) for v in t.translation_m)
        qx, qy, qz, qw = (float(v) for v in t.rotation_xyzw)
        out.append(TransformStamped(
            header=Header(stamp=ns_to_stamp(t.stamp_ns), frame_id=t.parent), child_frame_id=t.child,
            transform=TransformMsg(translation=Vector3(x=x, y=y, z=z),
                                   rotation=Quaternion(x=qx, y=qy, z=qz, w=qw))))
    return TFMessage(transforms=out)


def frame_result_to_tf(result: FrameResult, joints: bool = False):
    """FrameResult -> TFMessage of every tracked person's ``body_<id>`` (and ``<joint>_<id>`` when `joints`);
    None when there is nothing to publish."""
    transforms = frames_for_result(result, joints=joints)
    return transforms_to_msg(transforms) if transforms else None
