"""`pinet-ros play` in its own OS process, received by subscribers in this process over DDS."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from pinet_ros.io.sources import SYNTHETIC_EPOCH_NS

pytestmark = pytest.mark.ros

FPS = 25.0


def make_clip(path: Path, n: int) -> Path:
    """640x480 MJPG clip; frame i is uniform grey level 20 + 40 * i (so frames are told apart)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (640, 480))
    assert writer.isOpened()
    for i in range(n):
        writer.write(np.full((480, 640, 3), 20 + 40 * i, np.uint8))
    writer.release()
    return path


class Receiver:
    """Image + CameraInfo subscribers (sensor-data QoS) on their own context."""

    def __init__(self, image_topic: str, info_topic: str) -> None:
        import rclpy
        from rclpy.qos import QoSProfile, QoSReliabilityPolicy
        from sensor_msgs.msg import CameraInfo, Image

        self.rclpy = rclpy
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("play_checker", context=self.context)
        qos = QoSProfile(depth=50, reliability=QoSReliabilityPolicy.BEST_EFFORT)
        self.images: list = []
        self.infos: list = []
        self.node.create_subscription(Image, image_topic, self.images.append, qos)
        self.node.create_subscription(CameraInfo, info_topic, self.infos.append, qos)
        self.executor = rclpy.executors.SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def spin_until(self, done, proc: subprocess.Popen, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not done() and time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.05)
            if proc.poll() is not None:  # drain what is still queued, then stop
                for _ in range(20):
                    self.executor.spin_once(timeout_sec=0.05)
                break

    def drain(self, quiet_s: float = 0.3, timeout_s: float = 5.0) -> None:
        """Take every message still queued: spin until nothing arrived for `quiet_s`. (The executor serves
        ready subscriptions in no guaranteed order, so a loop that stops on the n-th image can leave that
        image's CameraInfo, published first, still in its queue.)"""
        deadline = time.monotonic() + timeout_s
        last = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - last < quiet_s:
            count = len(self.images) + len(self.infos)
            self.executor.spin_once(timeout_sec=0.05)
            if len(self.images) + len(self.infos) != count:
                last = time.monotonic()

    def close(self) -> None:
        self.node.destroy_node()
        self.rclpy.shutdown(context=self.context)


def _play(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pinet_ros.cli", "play", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen, timeout_s: float = 20.0) -> str:
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"play did not exit in {timeout_s} s:\n{out}")
    return out


def _ns(stamp) -> int:
    return stamp.sec * 10**9 + stamp.nanosec


def test_play_loops_a_video_with_source_stamps(tmp_path):
    clip = make_clip(tmp_path / "clip.avi", 4)
    receiver = Receiver("/play_test/image", "/play_test/camera_info")
    proc = _play([str(clip), "--rate", "20", "--loop", "--count", "10", "--source-stamps", "--wait", "20",
                  "--image-topic", "/play_test/image", "--info-topic", "/play_test/camera_info", "--frame-id", "cam_x"])
    try:
        receiver.spin_until(lambda: len(receiver.images) >= 10 and len(receiver.infos) >= 10, proc, 40.0)
    finally:
        out = _finish(proc)
        receiver.close()
    assert proc.returncode == 0, out
    assert "published 10 frames" in out
    step = int(round(1e9 / FPS))
    # stamps continue across passes: pass k, frame i -> epoch + (4k + i) * step
    expected = [SYNTHETIC_EPOCH_NS + j * step for j in range(10)]
    got = [_ns(m.header.stamp) for m in receiver.images]
    assert len(got) >= 9 and set(got) <= set(expected) and got == sorted(got), got
    assert {_ns(m.header.stamp) for m in receiver.infos} >= set(got)  # every image has its CameraInfo
    for img in receiver.images:
        assert (img.width, img.height, img.encoding, img.step) == (640, 480, "rgb8", 1920)
        assert img.header.frame_id == "cam_x"
        i = (_ns(img.header.stamp) - SYNTHETIC_EPOCH_NS) // step % 4
        level = np.frombuffer(bytes(img.data), np.uint8)[:3000].mean()
        assert abs(level - (20 + 40 * i)) < 6
    info = receiver.infos[0]
    assert (info.width, info.height, info.header.frame_id) == (640, 480, "cam_x")
    assert list(info.k) == [640.0, 0.0, 320.0, 0.0, 640.0, 240.0, 0.0, 0.0, 1.0]


def test_play_fresh_stamps_and_sigterm(tmp_path):
    clip = make_clip(tmp_path / "clip.avi", 3)
    receiver = Receiver("/play_test2/image", "/play_test2/camera_info")
    t_start = time.time_ns()
    proc = _play([str(clip), "--loop", "--wait", "20", "--image-topic", "/play_test2/image",
                  "--info-topic", "/play_test2/camera_info", "--ros-args", "-r", "__node:=player_two"])  # 25 fps
    try:
        receiver.spin_until(lambda: len(receiver.images) >= 8, proc, 40.0)
        assert proc.poll() is None, "play exited although it loops"
        proc.send_signal(signal.SIGTERM)
        out = _finish(proc, 10.0)
        receiver.drain()
    finally:
        if proc.poll() is None:
            proc.kill()
        receiver.close()
    t_end = time.time_ns()
    assert proc.returncode == 0, out
    assert "interrupted" in out
    stamps = [_ns(m.header.stamp) for m in receiver.images]
    assert len(stamps) >= 8 and all(t_start <= s <= t_end for s in stamps)  # now(), not the synthetic epoch
    assert stamps == sorted(stamps)
    gaps = np.diff(stamps) / 1e9
    assert 0.02 < np.median(gaps) < 0.08  # paced at about 25 Hz
    assert {_ns(m.header.stamp) for m in receiver.infos} >= set(stamps)  # CameraInfo goes out first


def test_play_reports_a_bad_input(tmp_path):
    proc = _play([str(tmp_path / "missing.avi")])
    out = _finish(proc)
    assert proc.returncode == 1 and "missing.avi does not exist" in out
