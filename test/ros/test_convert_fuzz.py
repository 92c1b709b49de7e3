"""Property tests of the message decoders on generated, mostly broken, messages.

Property: `image_to_rgb` returns a (height, width, 3) uint8 array or raises InvalidMessage, never another
exception, and it succeeds on every well-formed message; `camera_info_to_intrinsics` returns intrinsics with
finite, positive focal lengths or raises InvalidMessage; `frame_result_to_msg` never publishes a non-finite
joint as a number.

The default run stays under 20 s and is derandomised (the same examples every run, for CI). The long,
randomised run:
    PINET_FUZZ_EXAMPLES=50000 scripts/env.sh pytest -q test/ros/test_convert_fuzz.py
sets every test's max_examples to that number.
"""

import array
import math
import os
from types import SimpleNamespace as NS

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pinet_ros.core.result import FrameResult, PersonResult
from pinet_ros.ros.convert import (
    MAX_IMAGE_BYTES,
    MAX_IMAGE_SIDE,
    SUPPORTED_ENCODINGS,
    InvalidMessage,
    camera_info_to_intrinsics,
    check_info_matches_image,
    image_to_rgb,
)


def examples(default: int) -> settings:
    n = int(os.environ.get("PINET_FUZZ_EXAMPLES", default))
    return settings(max_examples=n, deadline=None, derandomize="PINET_FUZZ_EXAMPLES" not in os.environ,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# Bytes per pixel and plane rows per image row of each supported encoding (an independent statement of the layouts).
def layout(encoding: str) -> tuple[float, float, int, int]:
    """(bytes per pixel of a step row, rows per image row, width multiple, height multiple)."""
    e = encoding.lower()
    if e in ("nv21", "nv12"):
        return 1, 1.5, 2, 2
    if e == "nv24":
        return 1, 3, 1, 1
    if e in ("yuv422", "uyvy", "yuv422_yuy2", "yuyv"):
        return 2, 1, 2, 1
    depth = 2 if "16" in e else 1
    channels = (4 if e.startswith(("rgba", "bgra")) or e.endswith("c4")
                else 3 if e.startswith(("rgb", "bgr")) or e.endswith("c3") else 1)
    return depth * channels, 1, 1, 1


UNKNOWN = ["32FC1", "64FC1", "16SC1", "8SC3", "32SC1", "8UC2", "foo", "", " ", "rgb", "rgb8\x00", "bayer_rggb32",
           "yuv444", "jpeg", "RGB8 ", "ÿ"]
JUNK = [None, 1.5, "3", b"x", [], {}, object(), float("nan"), -1, 2**64]


@st.composite
def well_formed(draw):
    """A decodable duck-typed Image: right sizes, any padding, any data container."""
    encoding = draw(st.sampled_from(SUPPORTED_ENCODINGS))
    bpp, rows_per, wm, hm = layout(encoding)
    width = wm * draw(st.integers(1, 9))
    height = hm * draw(st.integers(1, 7))
    step = int(width * bpp) + draw(st.integers(0, 5))
    rows = int(height * rows_per)
    need = step * rows
    raw = draw(st.binary(min_size=need, max_size=need + 8))
    container = draw(st.sampled_from(["bytes", "bytearray", "array", "numpy", "numpy2d", "list", "memoryview"]))
    data = {"bytes": raw, "bytearray": bytearray(raw), "array": array.array("B", raw),
            "numpy": np.frombuffer(raw, np.uint8).copy(), "numpy2d": np.frombuffer(raw[:need], np.uint8).reshape(rows, step).copy(),
            "list": list(raw), "memoryview": memoryview(raw)}[container]
    case = draw(st.sampled_from([str.lower, str.upper, str])) if encoding.islower() else str
    return NS(encoding=case(encoding), width=width, height=height, step=step,
              is_bigendian=draw(st.sampled_from([0, 1, True, False, np.uint8(1)])), data=data)


def ints():
    return st.one_of(st.integers(-3, 20), st.sampled_from([0, MAX_IMAGE_SIDE, MAX_IMAGE_SIDE + 1, 2**31 - 1,
                                                            2**32 - 1, -(2**31), 2**40]),
                     st.integers(-(2**64), 2**64), st.integers(0, 50).map(np.uint32))


@st.composite
def broken(draw):
    """A well-formed image with one to three fields replaced by something wrong or random."""
    msg = draw(well_formed())
    for _ in range(draw(st.integers(1, 3))):
        field = draw(st.sampled_from(["encoding", "width", "height", "step", "is_bigendian", "data", "drop"]))
        if field == "encoding":
            msg.encoding = draw(st.one_of(st.sampled_from(UNKNOWN + list(SUPPORTED_ENCODINGS)), st.text(max_size=12),
                                          st.sampled_from(JUNK)))
        elif field in ("width", "height", "step"):
            setattr(msg, field, draw(st.one_of(ints(), st.sampled_from(JUNK))))
        elif field == "is_bigendian":
            msg.is_bigendian = draw(st.one_of(st.integers(-2, 300), st.sampled_from(JUNK)))
        elif field == "data":
            try:
                n = len(msg.data)
            except (AttributeError, TypeError):
                n = 16
            msg.data = draw(st.one_of(
                st.binary(max_size=n + 4), st.just(b""),
                st.binary(max_size=n).map(lambda b: np.frombuffer(b, np.uint8).astype(np.float32)),
                st.binary(max_size=n).map(lambda b: np.frombuffer(b, np.uint8).astype(np.uint16)),
                st.lists(st.integers(-300, 300), max_size=n + 4), st.text(max_size=8), st.sampled_from(JUNK)))
        else:
            present = sorted(vars(msg))
            if present:
                delattr(msg, draw(st.sampled_from(present)))
    return msg


def check_image(msg) -> bool:
    """The property: a right-sized RGB array or InvalidMessage. True when it decoded."""
    try:
        out = image_to_rgb(msg)
    except InvalidMessage as exc:
        assert "\n" not in str(exc) and str(exc)
        return False
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8
    assert out.shape == (int(msg.height), int(msg.width), 3)
    assert out.flags.c_contiguous
    return True


@examples(1500)
@given(well_formed())
def test_every_well_formed_image_decodes(msg):
    assert check_image(msg)


@examples(2500)
@given(broken())
def test_broken_images_decode_or_raise_invalid_message(msg):
    check_image(msg)


@examples(300)
@given(encoding=st.sampled_from(SUPPORTED_ENCODINGS), width=st.integers(1, 2**32 - 1),
       height=st.integers(1, 2**32 - 1), step=st.integers(0, 2**32 - 1), data=st.binary(max_size=64))
def test_huge_declared_sizes_are_rejected_without_allocating(encoding, width, height, step, data):
    msg = NS(encoding=encoding, width=width, height=height, step=step, is_bigendian=0, data=data)
    if check_image(msg):
        assert width <= MAX_IMAGE_SIDE and height <= MAX_IMAGE_SIDE and step * height <= MAX_IMAGE_BYTES


@pytest.mark.ros
@examples(600)
@given(st.one_of(well_formed(), broken()), st.data())
def test_rclpy_images(msg, data):
    """The same through real rclpy Image messages (fields coerced into what rclpy's setters accept)."""
    from sensor_msgs.msg import Image

    def u32(v):
        try:
            return int(v) % 2**32
        except (TypeError, ValueError, OverflowError):
            return data.draw(st.integers(0, 2**32 - 1))

    raw = getattr(msg, "data", b"")
    try:
        raw = raw if isinstance(raw, (bytes, bytearray)) else np.asarray(raw, dtype=np.int64).astype(np.uint8).tobytes()
    except Exception:  # junk data: rclpy would not accept it either
        raw = b""
    enc = getattr(msg, "encoding", "")
    image = Image(width=u32(getattr(msg, "width", 0)), height=u32(getattr(msg, "height", 0)),
                  step=u32(getattr(msg, "step", 0)), encoding=enc if isinstance(enc, str) else "",
                  is_bigendian=u32(getattr(msg, "is_bigendian", 0)) % 256)
    image.data = raw
    check_image(image)


floats = st.one_of(st.sampled_from([0.0, -0.0, 1e-300, 1e308, -1.0, 500.0, 320.0, math.nan, math.inf, -math.inf]),
                   st.floats(allow_nan=True, allow_infinity=True))


@st.composite
def camera_infos(draw):
    k = draw(st.one_of(st.lists(floats, min_size=9, max_size=9), st.just([0.0] * 9),
                       st.lists(floats, max_size=12), st.sampled_from(JUNK),
                       st.tuples(floats, floats, floats).map(lambda f: [f[0], 0, f[1], 0, f[0], f[2], 0, 0, 1])))
    p = draw(st.one_of(st.just([0.0] * 12), st.lists(floats, min_size=12, max_size=12), st.sampled_from(JUNK)))
    fields = dict(k=np.asarray(k) if draw(st.booleans()) and isinstance(k, list) else k, p=p,
                  width=draw(st.one_of(ints(), st.sampled_from(JUNK))), height=draw(st.one_of(ints(), st.sampled_from(JUNK))),
                  binning_x=draw(st.one_of(st.integers(-2, 4), ints(), st.sampled_from(JUNK))),
                  binning_y=draw(st.one_of(st.integers(-2, 4), ints())),
                  roi=draw(st.one_of(st.none(), st.builds(NS, x_offset=ints(), y_offset=ints(), width=ints(), height=ints()))))
    for name in draw(st.lists(st.sampled_from(sorted(fields)), max_size=2, unique=True)):
        del fields[name]
    return NS(**fields)


@examples(1200)
@given(camera_infos(), st.builds(NS, width=ints(), height=ints()))
def test_camera_info_gives_valid_intrinsics_or_invalid_message(info, image):
    try:
        intr = camera_info_to_intrinsics(info)
    except InvalidMessage as exc:
        assert "\n" not in str(exc)
    else:
        assert math.isfinite(intr.fx) and intr.fx > 0 and math.isfinite(intr.fy) and intr.fy > 0
        assert math.isfinite(intr.cx) and math.isfinite(intr.cy)
    try:
        check_info_matches_image(info, image)
    except InvalidMessage:
        pass


finite_or_not = st.one_of(st.floats(-50, 50), st.sampled_from([math.nan, math.inf, -math.inf]))


def sprinkled(rng: np.random.Generator, shape, bad_fraction: float) -> np.ndarray:
    """Random values with a fraction replaced by NaN / +inf / -inf."""
    values = rng.uniform(-20, 20, size=shape)
    bad = rng.random(shape) < bad_fraction
    values[bad] = rng.choice([math.nan, math.inf, -math.inf], size=int(bad.sum()))
    return values


@st.composite
def frame_results(draw):
    n = draw(st.integers(0, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    bad = draw(st.sampled_from([0.0, 0.02, 0.3, 1.0]))
    persons = [PersonResult(id=draw(st.integers(0, 2**32 - 1)), score=draw(finite_or_not),
                            bbox_xywh=sprinkled(rng, (4,), bad) * 50, root_m=sprinkled(rng, (3,), bad / 4),
                            joints_m=sprinkled(rng, (17, 3), bad), joints_initial_m=sprinkled(rng, (17, 3), bad),
                            joints_2d=sprinkled(rng, (17, 2), bad) * 50, joint_confidence=sprinkled(rng, (17,), bad))
               for _ in range(n)]
    inter = draw(st.one_of(st.none(), st.just(sprinkled(rng, (n, n), bad))))
    frame_id = draw(st.one_of(st.text(max_size=30), st.sampled_from(["", "/", "a b", "camera//optical", "x" * 300])))
    size = draw(st.tuples(st.integers(0, 5000), st.integers(0, 5000)))
    stamp_ns = draw(st.integers(-(2**31) * 10**9, 2**31 * 10**9 - 1))  # what builtin_interfaces/Time holds
    return FrameResult(stamp_ns=stamp_ns, frame_id=frame_id, image_size=size, persons=persons, interaction=inter)


@pytest.mark.ros
@examples(300)
@given(frame_results())
def test_frame_results_with_nan_and_odd_frame_ids(result):
    from pinet_ros.ros.convert import frame_result_from_msg, frame_result_to_markers, frame_result_to_msg

    msg = frame_result_to_msg(result)
    back = frame_result_from_msg(msg)
    assert [p.id for p in back.persons] == [p.id for p in msg.persons] and back.stamp_ns == result.stamp_ns
    markers = frame_result_to_markers(result)
    assert msg.header.frame_id == result.frame_id
    assert len(markers.markers) == 1 + 3 * len(msg.persons)
    n = len(msg.persons)
    assert len(msg.interaction) == (0 if result.interaction is None else n * n)
    assert all(math.isfinite(v) for v in msg.interaction)
    for p in msg.persons:
        joints = np.array([[q.x, q.y, q.z] for q in p.joints])
        conf = np.asarray(p.joint_confidence)
        bad = ~np.all(np.isfinite(joints), axis=1)
        assert np.all(np.isnan(joints[bad])) and np.all(conf[bad] == 0.0)
        assert np.all((conf >= 0) & (conf <= 1)) and 0.0 <= p.score <= 1.0
        assert math.isfinite(p.root.x) and math.isfinite(p.root.y) and math.isfinite(p.root.z)
        w, h = result.image_size
        if w > 0 and h > 0:
            assert p.bbox.x_offset + p.bbox.width <= w and p.bbox.y_offset + p.bbox.height <= h
    for m in markers.markers:
        assert m.header.frame_id == result.frame_id
        assert all(math.isfinite(c) for q in m.points for c in (q.x, q.y, q.z))
