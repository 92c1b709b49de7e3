"""Fuzzing the live node: thousands of malformed Image/CameraInfo messages between real frames.

The node runs as its own OS process; this process publishes over DDS. Between good frames (basketball2.png
with a valid CameraInfo) it sends bursts of bad messages: unknown encodings, sizes that disagree with the data,
truncated or empty data, huge declared sizes, zero/NaN/inf/negative intrinsics, CameraInfo of another size,
odd frame ids, stamps going backwards. The node must stay up, skip each bad message with a throttled warning,
and process every good frame before, between and after the bursts.

`make test` sends PINET_FUZZ_MESSAGES=1500 (default); the full run is
`PINET_FUZZ_MESSAGES=10000 scripts/env.sh pytest -q test/ros/test_node_fuzz.py`.
"""

import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pytest

from pinet_ros.processes import stop

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "helpers"))
from ros_session import node_cmd, spin_until as ros_spin_until  # noqa: E402

pytestmark = pytest.mark.ros

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "samples" / "basketball2.png"
ENCODINGS = ["rgb8", "bgr8", "rgba8", "bgra8", "mono8", "mono16", "rgb16", "bgr16", "rgba16", "bgra16", "8UC1",
             "8UC3", "16UC1", "32FC1", "64FC1", "bayer_rggb8", "bayer_bggr16", "yuv422", "yuv422_yuy2", "nv21",
             "nv24", "foo", "", "RGB8", "jpeg", "8SC3", "32SC4", "ü" * 40]
FRAME_IDS = ["", "cam", " ", "/leading/slash", "x" * 5000, "ünïcödé", "a b\tc", "nul?"]


def _bad_image(rng: np.random.Generator, Image, stamp) -> object:
    msg = Image()
    msg.header.stamp = stamp
    msg.header.frame_id = FRAME_IDS[rng.integers(len(FRAME_IDS))]
    kind = rng.integers(6)
    enc = ENCODINGS[rng.integers(len(ENCODINGS))]
    w, h = int(rng.integers(1, 48)), int(rng.integers(1, 48))
    msg.encoding = enc
    msg.is_bigendian = int(rng.integers(2))
    if kind == 0:  # unknown / unsupported encoding with plausible data
        msg.encoding = ["foo", "32FC1", "64FC1", "", "jpeg", "8SC3"][rng.integers(6)]
        msg.width, msg.height, msg.step = w, h, w * 3
        msg.data = bytes(rng.integers(0, 256, w * h * 3, dtype=np.uint8))
    elif kind == 1:  # step disagreeing with width
        msg.width, msg.height, msg.step = w, h, int(rng.integers(0, w))
        msg.data = bytes(rng.integers(0, 256, w * h * 3, dtype=np.uint8))
    elif kind == 2:  # truncated data
        msg.width, msg.height, msg.step = w, h, w * 3
        msg.data = bytes(rng.integers(0, 256, int(rng.integers(0, w * h * 3)), dtype=np.uint8))
    elif kind == 3:  # empty data, or zero sizes
        msg.width, msg.height = int(rng.integers(0, 2)) * w, int(rng.integers(0, 2)) * h
        msg.step = msg.width * 3
        msg.data = b""
    elif kind == 4:  # huge declared sizes, small data
        msg.width, msg.height = int(rng.choice([2**31 - 1, 2**32 - 1, 100000])), int(rng.choice([1, 100000]))
        msg.step = int(min(msg.width * 3, 2**32 - 1))
        msg.data = bytes(16)
    else:  # a valid-looking 8-bit colour image whose row count exceeds the data by one row
        msg.encoding = "rgb8"
        msg.width, msg.height, msg.step = w, h + 1, w * 3
        msg.data = bytes(w * h * 3)
    return msg


def _bad_info(rng: np.random.Generator, CameraInfo, stamp) -> object:
    info = CameraInfo()
    info.header.stamp = stamp
    info.header.frame_id = FRAME_IDS[rng.integers(len(FRAME_IDS))]
    info.width, info.height = 640, 480
    bad = [0.0, -500.0, float("nan"), float("inf"), -float("inf"), 1e-300]
    fx = bad[rng.integers(len(bad))]
    fy = bad[rng.integers(len(bad))] if rng.integers(2) else 640.0
    info.k = [fx, 0.0, float(rng.choice([320.0, float("nan")])), 0.0, fy, 240.0, 0.0, 0.0, 1.0]
    info.p = [0.0] * 12
    return info


@pytest.mark.slow
def test_node_survives_bad_messages_and_processes_every_good_frame():
    import rclpy
    from builtin_interfaces.msg import Time
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import QoSProfile, qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, Image

    from pinet_ros.msg import MultiPerson3DPose

    if not SAMPLE.is_file():
        pytest.fail(f"{SAMPLE} missing: make setup fetches it")
    total_bad = int(os.environ.get("PINET_FUZZ_MESSAGES", "1500"))
    segments = 4
    per_burst = total_bad // segments
    bgr = cv2.imread(str(SAMPLE), cv2.IMREAD_COLOR)
    h, w = bgr.shape[:2]
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"pinet_fuzz_node_{os.getpid()}.log"
    log = open(log_path, "w")
    node_proc = subprocess.Popen(node_cmd("warn_throttle_s:=2.0"), stdout=log, stderr=log)
    context = rclpy.Context()
    rclpy.init(context=context)
    rng = np.random.default_rng(1234)
    received: dict[tuple[int, int], int] = {}
    diag: dict[str, float] = {}
    good_stamps = []
    sent_bad = 0
    t_start = time.monotonic()
    try:
        node = rclpy.create_node("fuzzer", context=context)
        img_pub = node.create_publisher(Image, "/image", qos_profile_sensor_data)
        info_pub = node.create_publisher(CameraInfo, "/camera_info", qos_profile_sensor_data)

        def on_poses(msg):
            received[(msg.header.stamp.sec, msg.header.stamp.nanosec)] = len(msg.persons)

        def on_diag(msg):
            for st in msg.status:
                if "pinet" in st.name:
                    diag.update({kv.key: float(kv.value) for kv in st.values})

        node.create_subscription(MultiPerson3DPose, "/pinet/poses", on_poses, QoSProfile(depth=50))
        node.create_subscription(DiagnosticArray, "/diagnostics", on_diag, QoSProfile(depth=10))
        executor = rclpy.executors.SingleThreadedExecutor(context=context)
        executor.add_node(node)

        spin_until = partial(ros_spin_until, executor, node_proc=node_proc, period_s=0.02)

        assert spin_until(lambda: bool(diag), 120), "node did not come up"

        def send_good(sec: int, frame_id: str) -> None:
            stamp = Time(sec=sec, nanosec=0)
            info = CameraInfo(width=w, height=h)
            info.header.stamp, info.header.frame_id = stamp, frame_id
            info.k = [float(w), 0.0, w / 2, 0.0, float(w), h / 2, 0.0, 0.0, 1.0]
            img = Image(height=h, width=w, encoding="bgr8", step=w * 3)
            img.header.stamp, img.header.frame_id = stamp, frame_id
            img.data = bgr.tobytes()
            for _ in range(20):  # best effort: repeat until the node has answered this stamp
                # the CameraInfo first and more than once: if it were lost, the image would pair with the
                # latest valid one, which may be a burst's odd-sized or zero-sized calibration
                for _ in range(3):
                    info_pub.publish(info)
                    executor.spin_once(timeout_sec=0.01)
                img_pub.publish(img)
                if spin_until(lambda: (sec, 0) in received, 5.0):
                    break
            good_stamps.append((sec, 0))

        # stamps go backwards between segments: 5000, 4000, 3000, ...
        for seg in range(segments + 1):
            send_good(5000 - 1000 * seg, FRAME_IDS[seg % len(FRAME_IDS)] or "cam")
            if seg == segments:
                break
            for k in range(per_burst):
                stamp = Time(sec=int(rng.integers(0, 2**31 - 1)), nanosec=int(rng.integers(0, 10**9)))
                if rng.random() < 0.75:
                    bad = _bad_image(rng, Image, stamp)
                    if rng.random() < 0.5:  # a valid CameraInfo of its size first, so the decoder sees it
                        info = CameraInfo(width=bad.width, height=bad.height)
                        info.header.stamp = stamp
                        info.k = [500.0, 0.0, bad.width / 2, 0.0, 500.0, bad.height / 2, 0.0, 0.0, 1.0]
                        info_pub.publish(info)
                    img_pub.publish(bad)
                else:
                    info_pub.publish(_bad_info(rng, CameraInfo, stamp))
                sent_bad += 1
                if k % 20 == 0:
                    executor.spin_once(timeout_sec=0.005)  # pace so that DDS delivers most of them
        spin_until(lambda: False, 2.5)  # final diagnostics
        alive = node_proc.poll() is None
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)
        stop(node_proc, sig=signal.SIGTERM, timeout_s=15)
        log.close()
    elapsed = time.monotonic() - t_start
    text = log_path.read_text(errors="replace")
    print(f"fuzz: {sent_bad} bad messages sent in {elapsed:.1f} s; node counted invalid={diag.get('invalid')}, "
          f"received={diag.get('received')}, processed={diag.get('processed')}, errors={diag.get('errors')}")
    assert alive, "the node died:\n" + text[-3000:]
    missing = [s for s in good_stamps if s not in received]
    assert not missing, f"good frames not processed: {missing}"
    assert all(received[s] == 2 for s in good_stamps), {s: received[s] for s in good_stamps}  # people per frame
    assert sent_bad == per_burst * segments
    # many bad messages reached the node (best-effort DDS drops some) and were counted, none crashed it
    assert diag.get("invalid", 0) >= 0.25 * sent_bad, (diag, sent_bad)
    assert diag.get("errors", 0) == 0, diag
    # warnings are throttled: far fewer lines than bad messages, but they do say what is wrong
    warnings = [line for line in text.splitlines() if "skipped:" in line]
    assert 1 <= len(warnings) <= 4 * (elapsed / 2.0 + 2), len(warnings)
    assert "Traceback" not in text
