"""Field access shared by the message converters: the error type, typed field reads and stamps (no rclpy).

Every problem with a message's content raises `InvalidMessage` with a one-line reason; the node logs it
and skips the frame.
"""

from __future__ import annotations

import operator
from typing import Any

__all__ = ["InvalidMessage", "NS_PER_S", "field", "int_field", "ns_to_stamp", "stamp_to_ns"]

NS_PER_S = 1_000_000_000


class InvalidMessage(ValueError):
    """A message whose content cannot be converted; `str(exc)` is a one-line human-readable reason."""


def field(msg: Any, name: str) -> Any:
    """`msg.name`, or InvalidMessage naming the missing field."""
    try:
        return getattr(msg, name)
    except AttributeError:
        raise InvalidMessage(f"message has no field '{name}' ({type(msg).__name__})") from None


def int_field(msg: Any, name: str) -> int:
    """`msg.name` as a Python int, or InvalidMessage when it is not an integer."""
    value = field(msg, name)
    try:
        return operator.index(value)
    except TypeError:
        raise InvalidMessage(f"{name} must be an integer, got {type(value).__name__} {value!r:.40}") from None


def stamp_to_ns(stamp: Any) -> int:
    """builtin_interfaces/Time (or anything with integer `sec`, `nanosec`) -> integer nanoseconds.

    Raises:
        InvalidMessage: `nanosec` outside [0, 1e9) (an unnormalised stamp: answering it with the normalised
            value would break every consumer that matches by stamp), or `sec` outside int32.
    """
    sec, nanosec = int_field(stamp, "sec"), int_field(stamp, "nanosec")
    if not 0 <= nanosec < NS_PER_S:
        raise InvalidMessage(f"stamp nanosec {nanosec} outside [0, 999999999] (sec {sec}): not a valid time")
    if not -(2**31) <= sec < 2**31:
        raise InvalidMessage(f"stamp sec {sec} outside int32")
    return sec * NS_PER_S + nanosec


def ns_to_stamp(ns: int):
    """Integer nanoseconds -> builtin_interfaces.msg.Time (nanosec in [0, 1e9), sec floored).

    Returns a (sec, nanosec) tuple when builtin_interfaces is not importable.
    Raises:
        ValueError: `sec` would not fit the message's int32.
    """
    sec, nanosec = divmod(operator.index(ns), NS_PER_S)
    if not -(2**31) <= sec < 2**31:
        raise ValueError(f"stamp {ns} ns outside the int32 seconds of builtin_interfaces/Time")
    try:
        from builtin_interfaces.msg import Time
    except ImportError:
        return sec, nanosec
    return Time(sec=sec, nanosec=nanosec)
