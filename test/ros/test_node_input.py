"""The node's input handling in-process (no models): pairing, validation on arrival, latest-frame dropping.

The node is built without configuring it and marked active by hand, so only the message handling runs.
"""

import numpy as np
import pytest

pytestmark = pytest.mark.ros


@pytest.fixture
def node():
    import rclpy

    from pinet_ros.node import PinetNode

    context = rclpy.Context()
    rclpy.init(context=context)
    n = PinetNode(context=context)
    n._active = True  # accept input; no worker runs, so _pending shows what it would take next
    yield n
    n._active = False
    n.destroy_node()
    rclpy.shutdown(context=context)


def _stamp(t_s: float):
    from builtin_interfaces.msg import Time

    return Time(sec=int(t_s), nanosec=int(round((t_s % 1) * 1e9)))


def _info(t_s: float, w: int = 64, h: int = 48, f: float = 100.0):
    from sensor_msgs.msg import CameraInfo

    info = CameraInfo(width=w, height=h)
    info.header.stamp = _stamp(t_s)
    info.k = [f, 0.0, w / 2, 0.0, f, h / 2, 0.0, 0.0, 1.0]
    return info


def _image(t_s: float, w: int = 64, h: int = 48, value: int = 7, **fields):
    from sensor_msgs.msg import Image

    img = Image(width=w, height=h, **{"encoding": "rgb8", "step": w * 3, **fields})
    img.header.stamp = _stamp(t_s)
    img.header.frame_id = "cam"
    img.data = bytes([value]) * (w * h * 3)
    return img


def test_image_pairs_with_the_info_of_its_stamp_and_size(node):
    node._on_info(_info(1.0, f=100.0))
    node._on_info(_info(2.0, f=200.0))
    node._on_info(_info(2.0, w=32, h=24, f=300.0))  # newest, but for another image size
    node._on_image(_image(1.0))
    assert node._pending[1].fx == 100.0  # same stamp wins over newer
    node._on_image(_image(5.0))
    assert node._pending[1].fx == 200.0  # no stamp match: the newest of the right size
    assert node.stats.counters["dropped"] == 1


def test_bad_messages_never_displace_a_good_frame(node):
    node._on_info(_info(1.0))
    node._on_image(_image(1.0, value=9))
    good = node._pending
    node._on_image(_image(1.0, w=10, h=10))                         # no CameraInfo of its size
    node._on_image(_image(1.0, encoding="32FC1", step=64 * 4))     # unsupported encoding
    bad = _image(1.0)
    bad.data = bad.data[:100]                                       # truncated
    node._on_image(bad)
    bad_info = _info(1.0, f=float("nan"))
    node._on_info(bad_info)                                         # never stored
    assert node._pending is good
    assert node.stats.counters["invalid"] == 4 and node.stats.counters["dropped"] == 0
    assert len(node._pairer) == 1
    np.testing.assert_array_equal(node._pending[0], 9)


def test_first_image_waits_for_a_late_camera_info(node):
    node._on_image(_image(1.0))
    assert node._pending is None and node.stats.counters["no_camera_info"] == 0
    node._on_image(_image(1.1))  # replaces the waiting one, which counts as skipped
    assert node.stats.counters["no_camera_info"] == 1
    node._on_info(_info(1.1))
    assert node._pending is not None and node._pending[2] == 1_100_000_000


def test_a_handler_that_raises_is_counted_not_passed_to_the_executor(node):
    node._on_image(None)  # not even a message: AttributeError inside the handler
    assert node.stats.counters["errors"] == 1
    node._on_info(None)  # the CameraInfo decoder names the missing field instead
    assert node.stats.counters["invalid"] == 1 and node.stats.counters["errors"] == 1


@pytest.mark.parametrize("f,cx", [(1e-300, 32.0), (1e308, 32.0), (100.0, 1e9)])
def test_absurd_intrinsics_are_invalid_input_not_empty_frames(node, f, cx):
    bad = _info(1.0, f=f)
    bad.k = [f, 0.0, cx, 0.0, f, 24.0, 0.0, 0.0, 1.0]
    node._on_info(bad)
    node._on_image(_image(1.0))
    assert node.stats.counters["invalid"] == 1 and len(node._pairer) == 0
    assert node._pending is None and node._waiting is not None  # still waiting for a usable CameraInfo


def test_an_unnormalised_stamp_is_invalid_input(node):
    from builtin_interfaces.msg import Time

    node._on_info(_info(1.0))
    img = _image(1.0)
    img.header.stamp = Time(sec=0, nanosec=4_294_967_295)  # would be answered as sec 4, nanosec 294967295
    node._on_image(img)
    assert node._pending is None and node.stats.counters["invalid"] == 1


def test_diagnostics_warn_when_input_was_refused(node):
    from diagnostic_msgs.msg import DiagnosticStatus

    sent = []
    node._diag_pub.publish = sent.append  # capture what would go out (the transport is tested over DDS)
    node.pipeline = object()  # looks configured: only the status logic runs
    node._on_info(_info(1.0, f=1e-300))
    node._on_image(_image(1.0))
    node.stats.output(0.01, 0.01)  # frames are being published, yet input is refused
    node._publish_diagnostics()
    status = sent[-1].status[0]
    assert status.level == DiagnosticStatus.WARN and "1 invalid" in status.message
    values = {kv.key: kv.value for kv in status.values}
    assert values["invalid"] == "1" and values["received"] == "1"
    node._publish_diagnostics()  # nothing new refused since the last report
    assert sent[-1].status[0].level == DiagnosticStatus.OK
    node.pipeline = None


def test_a_live_sync_tolerance_change_reaches_the_pairing(node):
    from rclpy.parameter import Parameter

    node._on_info(_info(1.0, f=100.0))
    node._on_info(_info(2.0, f=200.0))
    node._on_image(_image(1.3))
    assert node._pending[1].fx == 200.0  # 0.3 s from the nearest: beyond 0.02 s, the latest
    assert node.set_parameters([Parameter("sync_tolerance_s", value=0.5)])[0].successful
    node._on_image(_image(1.3))
    assert node._pending[1].fx == 100.0  # now within tolerance: the nearest stamp
