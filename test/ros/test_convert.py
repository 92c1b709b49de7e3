"""pinet_ros.ros.convert: every image encoding on hand-made pixels, CameraInfo, stamps, messages, markers.

Decoding tests use duck-typed messages (SimpleNamespace) and run without ROS; tests that build or read
rclpy messages are marked `ros`.
"""

import array
import math
import subprocess
import sys
from types import SimpleNamespace as NS

import numpy as np
import pytest

from pinet_ros.core.camera import Intrinsics
from pinet_ros.core.colors import color_for_id
from pinet_ros.core.result import FrameResult, PersonResult
from pinet_ros.core.skeleton import MUPOTS17
from pinet_ros.ros.convert import (
    MAX_IMAGE_SIDE,
    SUPPORTED_ENCODINGS,
    InvalidMessage,
    camera_info_to_intrinsics,
    check_info_matches_image,
    image_to_rgb,
    stamp_to_ns,
)

ros = pytest.mark.ros

# 2 rows x 3 columns of distinct colours.
RGB = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]],
                [[10, 20, 30], [200, 150, 100], [255, 255, 255]]], dtype=np.uint8)
GREY = np.array([[0, 17, 34], [128, 200, 255]], dtype=np.uint8)


def img(encoding, pixels, width, height, step=None, big=0, bpp=None):
    """A duck-typed Image whose data is `pixels` (H, row_bytes) uint8, rows padded to `step` with 0xEE."""
    rows = np.asarray(pixels, dtype=np.uint8).reshape(height if pixels.size else 0, -1)
    row_bytes = rows.shape[1]
    step = row_bytes if step is None else step
    data = np.full((rows.shape[0], step), 0xEE, np.uint8)
    data[:, :row_bytes] = rows
    return NS(encoding=encoding, width=width, height=height, step=step, is_bigendian=big, data=data.tobytes())


def to16(values, big, low=0xAB):
    """uint8 values -> 16-bit samples value*256 + low, as bytes in the given byte order."""
    v = np.asarray(values, dtype=np.uint16) * 256 + low
    return np.ascontiguousarray(v, dtype=">u2" if big else "<u2").reshape(-1).view(np.uint8)


def bt601(y, u, v):
    c, d, e = 1.164 * (y - 16.0), u - 128.0, v - 128.0
    return np.clip(np.rint([c + 1.596 * e, c - 0.391 * d - 0.813 * e, c + 2.018 * d]), 0, 255)


# ------------------------------------------------------------------------------------------ encodings

@pytest.mark.parametrize("encoding,order", [
    ("rgb8", "rgb"), ("bgr8", "bgr"), ("rgba8", "rgba"), ("bgra8", "bgra"), ("8UC3", "bgr"), ("8UC4", "bgra"),
])
def test_8bit_colour_encodings(encoding, order):
    idx = {"rgb": [0, 1, 2], "bgr": [2, 1, 0]}[order[:3]]
    packed = RGB[..., idx]
    if len(order) == 4:
        packed = np.concatenate([packed, np.full((2, 3, 1), 77, np.uint8)], axis=2)
    out = image_to_rgb(img(encoding, packed.reshape(2, -1), 3, 2))
    assert out.dtype == np.uint8 and out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out, RGB)


@pytest.mark.parametrize("big", [0, 1])
@pytest.mark.parametrize("encoding,order", [
    ("rgb16", "rgb"), ("bgr16", "bgr"), ("rgba16", "rgba"), ("bgra16", "bgra"), ("16UC3", "bgr"), ("16UC4", "bgra"),
])
def test_16bit_colour_encodings_take_the_high_byte_in_either_byte_order(encoding, order, big):
    idx = {"rgb": [0, 1, 2], "bgr": [2, 1, 0]}[order[:3]]
    packed = RGB[..., idx]
    if len(order) == 4:
        packed = np.concatenate([packed, np.full((2, 3, 1), 77, np.uint8)], axis=2)
    data = to16(packed, big).reshape(2, -1)
    np.testing.assert_array_equal(image_to_rgb(img(encoding, data, 3, 2, big=big)), RGB)


@pytest.mark.parametrize("encoding", ["mono8", "8UC1"])
def test_8bit_grey(encoding):
    out = image_to_rgb(img(encoding, GREY, 3, 2))
    np.testing.assert_array_equal(out, np.repeat(GREY[..., None], 3, axis=2))


@pytest.mark.parametrize("big", [0, 1])
@pytest.mark.parametrize("encoding", ["mono16", "16UC1"])
def test_16bit_grey(encoding, big):
    out = image_to_rgb(img(encoding, to16(GREY, big).reshape(2, -1), 3, 2, big=big))
    np.testing.assert_array_equal(out, np.repeat(GREY[..., None], 3, axis=2))


def test_big_endian_flag_changes_the_reading():
    """The same bytes read as little- or big-endian give different pixels: the flag is honoured."""
    data = np.array([[0x12, 0x34]], np.uint8)
    little = image_to_rgb(img("mono16", data, 1, 1, big=0))
    big = image_to_rgb(img("mono16", data, 1, 1, big=1))
    assert little[0, 0, 0] == 0x34 and big[0, 0, 0] == 0x12


def bayer_mosaic(pattern, rgb, h=6, w=8):
    colour = dict(zip("rgb", rgb))
    mosaic = np.zeros((h, w), np.uint16)
    for dy in range(2):
        for dx in range(2):
            mosaic[dy::2, dx::2] = colour[pattern[2 * dy + dx]]
    return mosaic


@pytest.mark.parametrize("pattern", ["rggb", "bggr", "gbrg", "grbg"])
@pytest.mark.parametrize("bits", [8, 16])
def test_bayer_on_a_uniform_colour(pattern, bits):
    colour = (200, 100, 50)
    mosaic = bayer_mosaic(pattern, colour)
    data = mosaic.astype(np.uint8) if bits == 8 else to16(mosaic, big=1).reshape(6, -1)
    out = image_to_rgb(img(f"bayer_{pattern}{bits}", data, 8, 6, big=1))
    assert out.shape == (6, 8, 3)
    # Interior pixels are exact for a uniform colour; borders depend on OpenCV's border rule.
    np.testing.assert_allclose(out[1:-1, 1:-1].reshape(-1, 3), np.tile(colour, (24, 1)), atol=1)


@pytest.mark.parametrize("encoding,layout", [
    ("yuv422", "uyvy"), ("uyvy", "uyvy"), ("yuv422_yuy2", "yuyv"), ("yuyv", "yuyv"),
])
def test_yuv422_byte_orders(encoding, layout):
    y0, y1, u, v = 60, 180, 90, 170  # two pixels sharing chroma; the left one darker
    group = [u, y0, v, y1] if layout == "uyvy" else [y0, u, y1, v]
    data = np.array([group * 2] * 2, np.uint8)  # 4 x 2 pixels
    out = image_to_rgb(img(encoding, data, 4, 2))
    assert out.shape == (2, 4, 3)
    np.testing.assert_allclose(out[0, 0], bt601(y0, u, v), atol=2)
    np.testing.assert_allclose(out[1, 3], bt601(y1, u, v), atol=2)


@pytest.mark.parametrize("encoding", ["nv21", "nv12"])
def test_nv21_and_nv12_chroma_order(encoding):
    h, w, y, u, v = 4, 6, 120, 70, 200
    chroma = [v, u] if encoding == "nv21" else [u, v]
    planes = np.concatenate([np.full((h, w), y, np.uint8), np.tile(np.array(chroma, np.uint8), (h // 2, w // 2))])
    out = image_to_rgb(NS(encoding=encoding, width=w, height=h, step=w, is_bigendian=0, data=planes.tobytes()))
    assert out.shape == (h, w, 3)
    np.testing.assert_allclose(out.reshape(-1, 3), np.tile(bt601(y, u, v), (h * w, 1)), atol=2)


def test_nv24_full_resolution_chroma():
    h, w = 2, 3
    y = np.array([[50, 100, 150], [200, 80, 30]], np.uint8)
    u = np.array([[60, 128, 200], [90, 140, 20]], np.uint8)
    v = np.array([[190, 128, 40], [100, 60, 220]], np.uint8)
    uv = np.stack([u, v], axis=-1).reshape(h, 2 * w)
    step = 4  # padded Y rows; UV rows are 2 * step
    data = np.full(step * h * 3, 0xEE, np.uint8)
    data[: step * h].reshape(h, step)[:, :w] = y
    data[step * h:].reshape(h, 2 * step)[:, : 2 * w] = uv
    out = image_to_rgb(NS(encoding="nv24", width=w, height=h, step=step, is_bigendian=0, data=data.tobytes()))
    expected = np.stack([[bt601(float(y[r, c]), float(u[r, c]), float(v[r, c])) for c in range(w)] for r in range(h)])
    np.testing.assert_allclose(out, expected, atol=1)


def test_every_supported_encoding_is_exercised_here():
    covered = {"rgb8", "bgr8", "rgba8", "bgra8", "8UC3", "8UC4", "rgb16", "bgr16", "rgba16", "bgra16", "16UC3",
               "16UC4", "mono8", "8UC1", "mono16", "16UC1", "yuv422", "uyvy", "yuv422_yuy2", "yuyv", "nv21", "nv12",
               "nv24"} | {f"bayer_{p}{b}" for p in ("rggb", "bggr", "gbrg", "grbg") for b in (8, 16)}
    assert set(SUPPORTED_ENCODINGS) == covered


def test_encoding_names_match_case_insensitively():
    np.testing.assert_array_equal(image_to_rgb(img("RGB8", RGB.reshape(2, -1), 3, 2)), RGB)
    np.testing.assert_array_equal(image_to_rgb(img("8uc3", RGB[..., ::-1].reshape(2, -1), 3, 2)), RGB)


# ------------------------------------------------------------------------------- layout and data types

@pytest.mark.parametrize("encoding,packed,pad", [
    ("rgb8", RGB.reshape(2, -1), 5), ("bgr8", RGB[..., ::-1].reshape(2, -1), 1),
    ("mono16", to16(GREY, 0).reshape(2, -1), 3),
])
def test_step_padding_is_skipped(encoding, packed, pad):
    msg = img(encoding, packed, 3, 2, step=packed.shape[1] + pad)
    out = image_to_rgb(msg)
    expected = RGB if encoding != "mono16" else np.repeat(GREY[..., None], 3, axis=2)
    np.testing.assert_array_equal(out, expected)


def test_padded_nv21_planes():
    h, w, step = 2, 2, 5
    planes = np.full((3, step), 0xEE, np.uint8)
    planes[:2, :w] = 100
    planes[2, :w] = [200, 60]  # V, U
    out = image_to_rgb(NS(encoding="nv21", width=w, height=h, step=step, is_bigendian=0, data=planes.tobytes()))
    np.testing.assert_allclose(out.reshape(-1, 3), np.tile(bt601(100, 60, 200), (4, 1)), atol=2)


def test_trailing_bytes_beyond_step_times_height_are_ignored():
    msg = img("rgb8", RGB.reshape(2, -1), 3, 2)
    msg.data += b"\x01\x02\x03"
    np.testing.assert_array_equal(image_to_rgb(msg), RGB)


@pytest.mark.parametrize("wrap", [
    bytes, bytearray, memoryview, lambda b: array.array("B", b), lambda b: np.frombuffer(b, np.uint8).copy(),
    lambda b: np.frombuffer(b, np.uint8).reshape(2, -1).copy(), list, tuple,
])
def test_data_containers(wrap):
    msg = img("rgb8", RGB.reshape(2, -1), 3, 2)
    msg.data = wrap(msg.data)
    np.testing.assert_array_equal(image_to_rgb(msg), RGB)


def test_result_owns_its_memory():
    buf = bytearray(RGB.tobytes())
    msg = NS(encoding="rgb8", width=3, height=2, step=9, is_bigendian=0, data=buf)
    out = image_to_rgb(msg)
    buf[:] = bytes(len(buf))
    np.testing.assert_array_equal(out, RGB)
    assert out.flags.c_contiguous and out.flags.writeable and out.flags.owndata


# ---------------------------------------------------------------------------------------- rejections

@pytest.mark.parametrize("encoding", ["32FC1", "64FC1", "16SC1", "8UC2", "foo", "", "rgb8 x", "bayer_rggb32"])
def test_unsupported_encodings_name_themselves_and_the_supported_list(encoding):
    with pytest.raises(InvalidMessage) as err:
        image_to_rgb(NS(encoding=encoding, width=2, height=2, step=8, is_bigendian=0, data=bytes(64)))
    text = str(err.value)
    assert repr(encoding) in text and "rgb8" in text and "bayer_rggb8" in text and "\n" not in text


GOOD = dict(encoding="rgb8", width=3, height=2, step=9, is_bigendian=0, data=RGB.tobytes())


@pytest.mark.parametrize("change,words", [
    (dict(width=0), "empty"), (dict(height=0), "empty"), (dict(width=-3), "empty"),
    (dict(width=MAX_IMAGE_SIDE + 1), "larger"), (dict(height=2**32 - 1), "larger"),
    (dict(step=8), "step"), (dict(step=-1), "step"), (dict(step=2**40), "limit"),
    (dict(data=RGB.tobytes()[:-1]), "bytes"), (dict(data=b""), "bytes"), (dict(data=None), "data"),
    (dict(data="abcdefghijklmnopqr"), "data"), (dict(data=np.zeros(18, np.float32)), "float32"),
    (dict(data=[0] * 17 + [256]), "0..255"), (dict(data=[-1] * 18), "0..255"),
    (dict(width=2.0), "integer"), (dict(width="3"), "integer"), (dict(step=None), "integer"),
    (dict(encoding=None), "encoding"), (dict(encoding=b"rgb8"), "encoding"),
])
def test_bad_fields_raise_invalid_message(change, words):
    with pytest.raises(InvalidMessage, match=words):
        image_to_rgb(NS(**{**GOOD, **change}))


def test_missing_field_and_layout_constraints():
    with pytest.raises(InvalidMessage, match="no field 'data'"):
        image_to_rgb(NS(encoding="rgb8", width=1, height=1, step=3, is_bigendian=0))
    with pytest.raises(InvalidMessage, match="even width"):
        image_to_rgb(NS(encoding="yuyv", width=3, height=1, step=6, is_bigendian=0, data=bytes(6)))
    with pytest.raises(InvalidMessage, match="even width and height"):
        image_to_rgb(NS(encoding="nv21", width=2, height=3, step=2, is_bigendian=0, data=bytes(12)))
    with pytest.raises(InvalidMessage, match="is_bigendian"):
        image_to_rgb(NS(encoding="mono16", width=1, height=1, step=2, is_bigendian="yes", data=bytes(2)))


# ------------------------------------------------------------------------------------------- camera info

def info(**fields):
    base = dict(width=640, height=480, k=[500.0, 0, 320, 0, 510, 240, 0, 0, 1], p=[0.0] * 12,
                d=[0.1, -0.2, 0, 0, 0], binning_x=0, binning_y=0,
                roi=NS(x_offset=0, y_offset=0, width=0, height=0, do_rectify=False))
    base.update(fields)
    return NS(**base)


def test_intrinsics_from_k():
    assert camera_info_to_intrinsics(info()) == Intrinsics(500.0, 510.0, 320.0, 240.0)
    assert camera_info_to_intrinsics(info(k=np.array([500.0, 0, 320, 0, 510, 240, 0, 0, 1]))).fy == 510.0
    ros1 = NS(K=[400.0, 0, 100, 0, 400, 80, 0, 0, 1], width=200, height=160)
    assert camera_info_to_intrinsics(ros1) == Intrinsics(400.0, 400.0, 100.0, 80.0)


def test_all_zero_k_falls_back_to_p():
    p = [600.0, 0, 330, 0, 0, 610, 250, 0, 0, 0, 1, 0]
    assert camera_info_to_intrinsics(info(k=[0.0] * 9, p=p)) == Intrinsics(600.0, 610.0, 330.0, 250.0)
    with pytest.raises(InvalidMessage, match="not calibrated"):
        camera_info_to_intrinsics(info(k=[0.0] * 9, p=[0.0] * 12))


def test_binning_and_roi_describe_the_published_image():
    got = camera_info_to_intrinsics(info(binning_x=2, binning_y=2,
                                         roi=NS(x_offset=100, y_offset=40, width=400, height=300)))
    assert got == Intrinsics(250.0, 255.0, 110.0, 100.0)


@pytest.mark.parametrize("k,words", [
    ([0.0, 0, 320, 0, 510, 240, 0, 0, 1], "fx"), ([500.0, 0, 320, 0, -5, 240, 0, 0, 1], "fy"),
    ([math.nan, 0, 320, 0, 510, 240, 0, 0, 1], "fx"), ([500.0, 0, math.inf, 0, 510, 240, 0, 0, 1], "cx"),
    ([500.0, 0, 320, 0, 510, -math.inf, 0, 0, 1], "cy"), ([500.0] * 8, "9"), (["a"] * 9, "numeric"),
    (None, "values"),
])
def test_bad_intrinsics(k, words):
    with pytest.raises(InvalidMessage, match=words):
        camera_info_to_intrinsics(info(k=k))


def test_info_size_check():
    check_info_matches_image(info(), NS(width=640, height=480))
    check_info_matches_image(info(width=0, height=0), NS(width=17, height=9))  # size not set
    check_info_matches_image(info(binning_x=2, binning_y=2), NS(width=320, height=240))
    check_info_matches_image(info(roi=NS(x_offset=8, y_offset=8, width=100, height=50)), NS(width=100, height=50))
    with pytest.raises(InvalidMessage, match="640x480 images but the image is 1280x720"):
        check_info_matches_image(info(), NS(width=1280, height=720))


@ros
def test_real_camera_info_message():
    from sensor_msgs.msg import CameraInfo

    msg = CameraInfo(width=640, height=480, k=[500.0, 0, 320, 0, 510, 240, 0, 0, 1])
    assert camera_info_to_intrinsics(msg) == Intrinsics(500.0, 510.0, 320.0, 240.0)
    with pytest.raises(InvalidMessage, match="not calibrated"):
        camera_info_to_intrinsics(CameraInfo())


# ------------------------------------------------------------------------------------------------ stamps

@pytest.mark.parametrize("ns", [0, 1, 999_999_999, 1_000_000_000, 1_700_000_123_456_789_012 // 1000, -1, -1_500_000_000])
def test_stamp_round_trip(ns):
    from pinet_ros.ros.convert import ns_to_stamp

    stamp = ns_to_stamp(ns)
    sec, nanosec = (stamp.sec, stamp.nanosec) if hasattr(stamp, "sec") else stamp
    assert 0 <= nanosec < 1_000_000_000
    assert stamp_to_ns(NS(sec=sec, nanosec=nanosec)) == ns


def test_stamp_out_of_int32_range():
    from pinet_ros.ros.convert import ns_to_stamp

    with pytest.raises(ValueError, match="int32"):
        ns_to_stamp(2**31 * 1_000_000_000)
    with pytest.raises(InvalidMessage):
        stamp_to_ns(NS(sec=1.5, nanosec=0))


# --------------------------------------------------------------------------------------- rclpy images

@ros
def test_rclpy_image_round_trip_and_header():
    from std_msgs.msg import Header
    from builtin_interfaces.msg import Time

    from pinet_ros.ros.convert import rgb_to_image_msg

    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    header = Header(stamp=Time(sec=12, nanosec=345), frame_id="cam_optical")
    msg = rgb_to_image_msg(rgb, header)
    assert (msg.encoding, msg.width, msg.height, msg.step, msg.is_bigendian) == ("rgb8", 64, 48, 192, 0)
    assert msg.header.frame_id == "cam_optical" and (msg.header.stamp.sec, msg.header.stamp.nanosec) == (12, 345)
    assert msg.header is not header
    np.testing.assert_array_equal(image_to_rgb(msg), rgb)
    with pytest.raises(ValueError):
        rgb_to_image_msg(rgb[..., 0])


@ros
def test_rosbags_deserialised_messages_decode_like_rclpy_ones():
    from rclpy.serialization import serialize_message
    from rosbags.typesys import Stores, get_typestore
    from sensor_msgs.msg import CameraInfo

    from pinet_ros.ros.convert import rgb_to_image_msg

    store = get_typestore(Stores.ROS2_JAZZY)
    msg = rgb_to_image_msg(RGB)
    bag_msg = store.deserialize_cdr(serialize_message(msg), "sensor_msgs/msg/Image")
    assert isinstance(bag_msg.data, np.ndarray)
    np.testing.assert_array_equal(image_to_rgb(bag_msg), RGB)
    cam = CameraInfo(width=3, height=2, k=[5.0, 0, 1, 0, 5, 1, 0, 0, 1])
    bag_cam = store.deserialize_cdr(serialize_message(cam), "sensor_msgs/msg/CameraInfo")
    assert camera_info_to_intrinsics(bag_cam) == Intrinsics(5.0, 5.0, 1.0, 1.0)
    check_info_matches_image(bag_cam, bag_msg)


# -------------------------------------------------------------------------------------- FrameResult

def person(pid, offset, rng):
    root = np.array([offset, 0.1, 3.0 + offset])
    joints = root + rng.normal(0, 0.3, (17, 3))
    joints[MUPOTS17.root] = root
    return PersonResult(id=pid, score=0.8, bbox_xywh=np.array([100.0 + 50 * offset, 40.0, 80.0, 200.0]),
                        root_m=root, joints_m=joints, joints_initial_m=joints + 0.01,
                        joints_2d=rng.uniform(0, 400, (17, 2)), joint_confidence=rng.uniform(0.2, 1.0, 17))


def frame(n=3, seed=0):
    rng = np.random.default_rng(seed)
    inter = np.arange(n * n, dtype=np.float64).reshape(n, n) / 100.0
    return FrameResult(stamp_ns=1_700_000_123_456_789_000, frame_id="cam_optical", image_size=(640, 480),
                       persons=[person(10 + i, float(i), rng) for i in range(n)], interaction=inter)


def xyz(points):
    return np.array([[p.x, p.y, p.z] for p in points])


@ros
def test_message_copies_every_field():
    from pinet_ros.msg import MultiPerson3DPose
    from pinet_ros.ros.convert import frame_result_to_msg

    result = frame()
    msg = frame_result_to_msg(result)
    assert isinstance(msg, MultiPerson3DPose)
    assert msg.header.frame_id == "cam_optical"
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (1_700_000_123, 456_789_000)
    assert list(msg.joint_names) == list(MUPOTS17.joint_names)
    assert list(msg.bones) == MUPOTS17.bones_flat()
    assert [p.id for p in msg.persons] == [10, 11, 12]
    for got, want in zip(msg.persons, result.persons):
        assert got.score == pytest.approx(0.8)
        np.testing.assert_allclose(xyz(got.joints), want.joints_m)
        np.testing.assert_allclose(xyz(got.joints_initial), want.joints_initial_m)
        np.testing.assert_allclose([got.root.x, got.root.y, got.root.z], want.root_m)
        np.testing.assert_allclose(got.joint_confidence, want.joint_confidence, rtol=1e-6)
    roi = msg.persons[1].bbox
    assert (roi.x_offset, roi.y_offset, roi.width, roi.height) == (150, 40, 80, 200)


@ros
def test_interaction_is_row_major_float32_and_empty_without_refinement():
    from pinet_ros.ros.convert import frame_result_to_msg

    result = frame(3)
    msg = frame_result_to_msg(result)
    np.testing.assert_allclose(np.asarray(msg.interaction).reshape(3, 3), result.interaction, rtol=1e-6)
    assert msg.interaction[1] == pytest.approx(result.interaction[0, 1])  # row 0, column 1
    result.interaction = None
    assert len(frame_result_to_msg(result).interaction) == 0
    result.interaction = np.zeros((2, 2))
    with pytest.raises(ValueError, match="interaction"):
        frame_result_to_msg(result)


@ros
def test_bbox_is_clipped_to_the_image():
    from pinet_ros.ros.convert import frame_result_to_msg

    result = frame(3)
    result.persons[0].bbox_xywh = np.array([-20.5, -10.0, 100.0, 50.0])
    result.persons[1].bbox_xywh = np.array([600.2, 400.0, 100.0, 200.0])
    result.persons[2].bbox_xywh = np.array([np.nan, 0, 10, 10])
    result.persons[2].joints_2d = np.tile([[30.0, 40.0], [50.5, 90.2]], (9, 1))[:17]
    rois = [p.bbox for p in frame_result_to_msg(result).persons]
    assert [(r.x_offset, r.y_offset, r.width, r.height) for r in rois] == [
        (0, 0, 80, 40), (600, 400, 40, 80), (30, 40, 21, 51)]


@ros
def test_non_finite_people_are_dropped_and_joints_become_nan_with_zero_confidence():
    from pinet_ros.ros.convert import frame_result_to_markers, frame_result_to_msg

    result = frame(4)
    result.persons[1].root_m = np.array([np.nan, 0.0, 2.0])       # dropped
    result.persons[3].joints_m = np.full((17, 3), np.inf)          # dropped
    result.persons[2].joints_m[5] = [0.1, np.nan, 2.0]             # one bad joint
    result.persons[2].joints_initial_m[6] = [np.inf, 0.0, 2.0]
    result.persons[2].score = float("nan")
    msg = frame_result_to_msg(result)
    assert [p.id for p in msg.persons] == [10, 12]
    np.testing.assert_allclose(np.asarray(msg.interaction).reshape(2, 2), result.interaction[np.ix_([0, 2], [0, 2])],
                               rtol=1e-6)
    bad = msg.persons[1]
    assert np.all(np.isnan(xyz(bad.joints)[5])) and bad.joint_confidence[5] == 0.0
    assert np.all(np.isnan(xyz(bad.joints_initial)[6]))
    assert np.all(np.isfinite(np.delete(xyz(bad.joints), 5, axis=0)))
    assert bad.score == 0.0
    for p in msg.persons:  # nothing was published at the origin
        assert not np.any(np.all(xyz(p.joints) == 0.0, axis=1))
    markers = frame_result_to_markers(result).markers
    assert len(markers) == 1 + 3 * 2
    spheres = [m for m in markers if m.ns == "pinet_joints"]
    assert len(spheres[1].points) == 16
    assert all(np.all(np.isfinite(xyz(m.points))) for m in markers)


@ros
def test_frame_result_round_trips_through_the_message():
    from pinet_ros.ros.convert import frame_result_from_msg, frame_result_to_msg

    result = frame(3)
    result.persons[2].joints_m[4] = np.nan
    back = frame_result_from_msg(frame_result_to_msg(result))
    assert (back.stamp_ns, back.frame_id, back.joint_set) == (result.stamp_ns, result.frame_id, MUPOTS17)
    np.testing.assert_allclose(back.interaction, result.interaction, rtol=1e-6)
    for got, want in zip(back.persons, result.persons):
        assert got.id == want.id and got.score == pytest.approx(want.score)
        np.testing.assert_array_equal(got.joints_m, want.joints_m)  # float64 Points: exact, NaN included
        np.testing.assert_array_equal(got.joints_initial_m, want.joints_initial_m)
        np.testing.assert_array_equal(got.root_m, want.root_m)
        np.testing.assert_allclose(got.bbox_xywh, want.bbox_xywh)
    assert back.persons[2].joint_confidence[4] == 0.0
    result.interaction = None
    assert frame_result_from_msg(frame_result_to_msg(result)).interaction is None


@ros
def test_frame_result_from_a_malformed_message():
    from pinet_ros.ros.convert import frame_result_from_msg, frame_result_to_msg

    msg = frame_result_to_msg(frame(2))
    msg.interaction = [0.5, 0.5, 0.5]
    with pytest.raises(InvalidMessage, match="interaction"):
        frame_result_from_msg(msg)
    msg = frame_result_to_msg(frame(2))
    msg.persons[0].joints = msg.persons[0].joints[:3]
    with pytest.raises(InvalidMessage, match="joints"):
        frame_result_from_msg(msg)


# ------------------------------------------------------------------------------------------- markers

@ros
def test_marker_structure():
    from visualization_msgs.msg import Marker

    from pinet_ros.ros.convert import frame_result_to_markers

    result = frame(3)
    markers = frame_result_to_markers(result, lifetime_s=0.25).markers
    assert markers[0].action == Marker.DELETEALL
    assert len(markers) == 1 + 3 * 3
    for m in markers:
        assert m.header.frame_id == "cam_optical"
        assert (m.header.stamp.sec, m.header.stamp.nanosec) == (1_700_000_123, 456_789_000)
    for i, p in enumerate(result.persons):
        lines, spheres, label = markers[1 + 3 * i: 4 + 3 * i]
        assert (lines.type, spheres.type, label.type) == (Marker.LINE_LIST, Marker.SPHERE_LIST, Marker.TEXT_VIEW_FACING)
        assert (lines.ns, spheres.ns, label.ns) == ("pinet_bones", "pinet_joints", "pinet_labels")
        assert lines.id == spheres.id == label.id == i
        assert all(m.action == Marker.ADD for m in (lines, spheres, label))
        assert len(lines.points) == 2 * len(MUPOTS17.bones)
        np.testing.assert_allclose(xyz(lines.points), p.joints_m[np.array(MUPOTS17.bones_flat())])
        np.testing.assert_allclose(xyz(spheres.points), p.joints_m)
        assert label.text == f"id {p.id}"
        assert label.pose.position.y < p.joints_m[:, 1].min()  # above the head (optical y points down)
        for m in (lines, spheres, label):
            assert (m.color.r, m.color.g, m.color.b, m.color.a) == pytest.approx((*color_for_id(p.id), 1.0))
            assert m.pose.orientation.w == 1.0
            assert (m.lifetime.sec, m.lifetime.nanosec) == (0, 250_000_000)
        assert lines.scale.x > 0 and spheres.scale.x > 0 and label.scale.z > 0


@ros
def test_marker_colour_follows_the_id_not_the_position():
    from pinet_ros.ros.convert import frame_result_to_markers

    a = frame(3)
    b = frame(3)
    b.persons.reverse()
    b.interaction = None

    def colours(result):
        return {int(m.text.split()[1]): (m.color.r, m.color.g, m.color.b)
                for m in frame_result_to_markers(result).markers if m.ns == "pinet_labels"}

    assert colours(a) == colours(b)
    assert len(set(colours(a).values())) == 3


@ros
def test_empty_frame_still_clears_rviz():
    from visualization_msgs.msg import Marker

    from pinet_ros.ros.convert import frame_result_to_markers, frame_result_to_msg

    empty = FrameResult(stamp_ns=5, frame_id="f", image_size=(10, 10), interaction=np.zeros((0, 0)))
    markers = frame_result_to_markers(empty).markers
    assert len(markers) == 1 and markers[0].action == Marker.DELETEALL
    msg = frame_result_to_msg(empty)
    assert len(msg.persons) == 0 and len(msg.interaction) == 0


def test_convert_and_render_import_neither_torch_nor_rclpy():
    code = (
        "import sys, pinet_ros.ros.convert, pinet_ros.render, pinet_ros.core.colors\n"
        "print(','.join(m for m in ('torch', 'rclpy') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"convert/render pulled in: {out.stdout.strip()}"
