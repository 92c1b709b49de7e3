"""`make demo`, shortened: node + player + recorder processes; every promised output is written and readable."""

import subprocess
import sys
from pathlib import Path

import cv2
import pytest

pytestmark = [pytest.mark.ros, pytest.mark.slow]


def test_short_demo_writes_pictures_video_and_a_decodable_mcap(tmp_path):
    from pinet_ros.io.bag_writer import MARKERS_TOPIC, POSES_TOPIC, read_pose_messages

    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "pinet_ros.demo", "--out", str(out), "--vtest-frames", "12"],
                          capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for name in ("demo.mcap", "basketball2_overlay.png", "basketball2_3d.png", "vtest_annotated.mp4",
                 "people_per_frame.txt"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    overlay = cv2.imread(str(out / "basketball2_overlay.png"))
    assert overlay.shape == (480, 640, 3)
    assert "basketball2: 10 frames with results; people per frame: [2, 2, 2, 2, 2, 2, 2, 2, 2, 2]" in \
        (out / "people_per_frame.txt").read_text()
    poses = read_pose_messages(out / "demo.mcap")
    assert len(poses) >= 10 and all(len(m.joint_names) == 17 for _, m in poses)
    assert len(read_pose_messages(out / "demo.mcap", MARKERS_TOPIC)) == len(poses)
    assert POSES_TOPIC == "/pinet/poses"
    assert "[demo] wrote:" in proc.stdout
