"""pinet_ros.ros.camera_input: absurd intrinsics, unnormalised stamps and the one image/CameraInfo pairing rule
shared by the node and the rosbag reader (duck-typed messages; no ROS needed)."""

import math
from types import SimpleNamespace as NS

import numpy as np
import pytest

from pinet_ros.core.camera import MAX_FOCAL_IMAGE_WIDTHS, Intrinsics
from pinet_ros.ros.camera_input import CameraInfoPairer, info_image_size
from pinet_ros.ros.fields import InvalidMessage, stamp_to_ns

S = 1_000_000_000


def info(stamp_ns=0, fx=500.0, fy=None, cx=320.0, cy=240.0, width=640, height=480):
    fy = fx if fy is None else fy
    return NS(header=NS(stamp=NS(sec=stamp_ns // S, nanosec=stamp_ns % S), frame_id="cam"),
              width=width, height=height, k=[fx, 0, cx, 0, fy, cy, 0, 0, 1], p=[0.0] * 12,
              binning_x=0, binning_y=0, roi=NS(x_offset=0, y_offset=0, width=0, height=0, do_rectify=False))


# ---------------------------------------------------------------------------------------- plausibility

@pytest.mark.parametrize("fx,cx,cy,words", [
    (1e-300, 320.0, 240.0, "fx = 1e-300 px is not a physical focal length"),
    (0.5, 320.0, 240.0, "fx = 0.5 px"),
    (1e308, 320.0, 240.0, "fx = 1e\\+308 px"),
    (640 * MAX_FOCAL_IMAGE_WIDTHS * 1.01, 320.0, 240.0, "not a physical focal length"),
    (500.0, 1e9, 240.0, "principal point cx = 1e\\+09 px is more than an image size outside"),
    (500.0, 320.0, -481.0, "principal point cy = -481 px"),
])
def test_absurd_intrinsics_are_refused_with_the_reason(fx, cx, cy, words):
    with pytest.raises(InvalidMessage, match=words):
        CameraInfoPairer().add(info(fx=fx, cx=cx, cy=cy))


@pytest.mark.parametrize("fx,cx,cy", [(1.0, 320.0, 240.0), (640 * MAX_FOCAL_IMAGE_WIDTHS, 320.0, 240.0),
                                      (500.0, -640.0, 960.0), (500.0, 1280.0, -480.0)])
def test_extreme_but_physical_intrinsics_are_accepted(fx, cx, cy):
    pairer = CameraInfoPairer()
    pairer.add(info(fx=fx, cx=cx, cy=cy))
    assert pairer.pair(640, 480, 0) == Intrinsics(fx, fx, cx, cy)


def test_unsized_camera_info_is_checked_against_the_image_it_is_paired_with():
    pairer = CameraInfoPairer()
    pairer.add(info(fx=1e-3, width=0, height=0))  # size unknown: cannot be judged on arrival
    with pytest.raises(InvalidMessage, match="not a physical focal length for a 64x48 image"):
        pairer.pair(64, 48, 0)


def test_core_check_names_the_limits():
    with pytest.raises(ValueError, match=r"accepted 1 \.\. 640000 px"):
        Intrinsics(0.9, 500, 320, 240).check_plausible(640, 480)
    with pytest.raises(ValueError, match="empty"):
        Intrinsics(500, 500, 0, 0).check_plausible(0, 480)


# ---------------------------------------------------------------------------------------------- stamps

@pytest.mark.parametrize("sec,nanosec", [(4, 4_294_967_295), (0, 1_000_000_000), (1, -1)])
def test_unnormalised_stamps_are_invalid(sec, nanosec):
    with pytest.raises(InvalidMessage, match=f"nanosec {nanosec} outside"):
        stamp_to_ns(NS(sec=sec, nanosec=nanosec))


def test_camera_info_with_an_unnormalised_stamp_is_refused():
    bad = info()
    bad.header.stamp = NS(sec=4, nanosec=4_294_967_295)
    with pytest.raises(InvalidMessage, match="nanosec"):
        CameraInfoPairer().add(bad)


# --------------------------------------------------------------------------------------------- pairing

def test_pairing_prefers_the_stamp_within_tolerance_else_the_latest():
    pairer = CameraInfoPairer(tolerance_ns=20_000_000)
    assert pairer.pair(640, 480, 0) is None  # nothing yet
    for i, fx in enumerate((500.0, 501.0, 502.0)):
        pairer.add(info(stamp_ns=i * 100_000_000, fx=fx))
    assert pairer.pair(640, 480, 100_000_000 + 19_000_000).fx == 501.0  # nearest within 20 ms
    assert pairer.pair(640, 480, 50_000_000).fx == 502.0  # 50 ms from both neighbours: the latest
    pairer.tolerance_ns = 60_000_000
    assert pairer.pair(640, 480, 50_000_000).fx == 500.0  # now within tolerance: the nearest (first of a tie)


def test_pairing_only_uses_camera_infos_of_the_image_size():
    pairer = CameraInfoPairer()
    pairer.add(info(stamp_ns=0, fx=500.0))
    pairer.add(info(stamp_ns=0, fx=250.0, cx=160, cy=120, width=320, height=240))
    assert pairer.pair(640, 480, 0).fx == 500.0
    assert pairer.pair(320, 240, 0).fx == 250.0
    with pytest.raises(InvalidMessage, match="320x240 images but the image is 1280x720"):
        pairer.pair(1280, 720, 0)


def test_preloaded_camera_infos_match_by_stamp_but_are_not_the_latest_before_they_arrive():
    pairer = CameraInfoPairer(tolerance_ns=0)
    assert pairer.preload([info(stamp_ns=5 * S, fx=555.0), info(fx=math.nan)]) == 1
    assert pairer.pair(640, 480, 5 * S).fx == 555.0  # its own CameraInfo, recorded later
    assert pairer.pair(640, 480, 4 * S) is None  # no CameraInfo received yet
    pairer.add(info(stamp_ns=3 * S, fx=333.0))
    assert pairer.pair(640, 480, 4 * S).fx == 333.0


def test_a_bad_camera_info_never_replaces_a_good_one():
    pairer = CameraInfoPairer()
    pairer.add(info(stamp_ns=0, fx=500.0))
    for bad in (info(stamp_ns=1, fx=1e-300), info(stamp_ns=2, fx=math.inf), info(stamp_ns=3, fx=-1.0)):
        with pytest.raises(InvalidMessage):
            pairer.add(bad)
    assert len(pairer) == 1 and pairer.pair(640, 480, 3).fx == 500.0


def test_info_image_size_applies_roi_and_binning():
    msg = info()
    msg.binning_x = msg.binning_y = 2
    msg.roi = NS(x_offset=10, y_offset=10, width=400, height=300, do_rectify=False)
    assert info_image_size(msg) == (200, 150)
    assert info_image_size(info(width=0, height=0)) is None
