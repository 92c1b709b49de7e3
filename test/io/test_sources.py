"""pinet_ros/io/sources.py: videos, image folders and rosbag2 files (mcap and sqlite3) as Frames."""

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from pinet_ros.io.sources import (DEFAULT_FOLDER_RATE_HZ, DEFAULT_FRAME_ID, SYNTHETIC_EPOCH_NS, SourceError,
                                  open_source)

CAMERA_YAML = """\
image_width: 64
image_height: 48
camera_matrix: {rows: 3, cols: 3, data: [70.0, 0, 31.5, 0, 71.0, 23.5, 0, 0, 1]}
"""


def _pattern(i: int, w: int = 64, h: int = 48) -> np.ndarray:
    """(h, w, 3) uint8 RGB frame with a distinct colour per channel and index (survives MJPG roughly)."""
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[..., 0] = 40 + 10 * i
    rgb[..., 1] = 200
    rgb[: h // 2, :, 2] = 255
    return rgb


def write_video(path: Path, n: int, fps: float = 25.0, w: int = 64, h: int = 48) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened()
    for i in range(n):
        writer.write(cv2.cvtColor(_pattern(i, w, h), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


# ------------------------------------------------------------------------------------------------ video

def test_video_frames_stamps_and_assumed_intrinsics(tmp_path, caplog):
    path = write_video(tmp_path / "clip.avi", 7, fps=25.0)
    with caplog.at_level(logging.WARNING):
        source = open_source(path)
        frames = list(source)
    assert source.kind == "video" and len(source) == 7 and source.rate_hz == pytest.approx(25.0)
    assert len(frames) == 7
    assert [f.stamp_ns for f in frames] == [SYNTHETIC_EPOCH_NS + i * 40_000_000 for i in range(7)]
    assert all(f.rgb.shape == (48, 64, 3) and f.rgb.dtype == np.uint8 for f in frames)
    assert all(f.frame_id == DEFAULT_FRAME_ID for f in frames)
    # RGB order, not BGR: red grows with the index, green is 200 everywhere
    assert abs(int(frames[3].rgb[30, 30, 0]) - 70) <= 8 and abs(int(frames[3].rgb[30, 30, 1]) - 200) <= 8
    k = frames[0].intrinsics
    assert (k.fx, k.fy, k.cx, k.cy) == (64.0, 64.0, 32.0, 24.0)
    assert sum("assuming fx = fy = 64" in r.getMessage() for r in caplog.records) == 1  # warned once
    assert [f.stamp_ns for f in open_source(path)] == [f.stamp_ns for f in frames]  # deterministic


def test_video_with_camera_yaml_rate_and_frame_id(tmp_path):
    path = write_video(tmp_path / "clip.avi", 3)
    cam = tmp_path / "cam.yaml"
    cam.write_text(CAMERA_YAML)
    frames = list(open_source(path, camera=cam, rate=2.0, frame_id="cam_a"))
    assert [f.stamp_ns - SYNTHETIC_EPOCH_NS for f in frames] == [0, 500_000_000, 1_000_000_000]
    assert all(f.frame_id == "cam_a" for f in frames)
    assert (frames[0].intrinsics.fx, frames[0].intrinsics.cy) == (70.0, 23.5)


def test_camera_yaml_for_another_size_is_refused(tmp_path):
    path = write_video(tmp_path / "clip.avi", 2, w=80, h=48)
    cam = tmp_path / "cam.yaml"
    cam.write_text(CAMERA_YAML)
    with pytest.raises(SourceError, match="64x48 images but video .*clip.avi is 80x48"):
        list(open_source(path, camera=cam))


# ---------------------------------------------------------------------------------------------- folders

def test_image_folder_natural_order_and_stamps(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in (10, 2, 1):
        cv2.imwrite(str(folder / f"frame{i}.png"), cv2.cvtColor(_pattern(i), cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(folder / "grey3.jpg"), np.full((48, 64), 128, np.uint8))
    (folder / "notes.txt").write_text("not an image")
    source = open_source(folder)
    frames = list(source)
    assert len(source) == 4 and source.kind == "images"
    assert [p.name for p in source.files] == ["frame1.png", "frame2.png", "frame10.png", "grey3.jpg"]
    step = int(round(1e9 / DEFAULT_FOLDER_RATE_HZ))
    assert [f.stamp_ns for f in frames] == [SYNTHETIC_EPOCH_NS + i * step for i in range(4)]
    assert frames[0].rgb[30, 30].tolist() == [50, 200, 0] and frames[2].rgb[30, 30, 0] == 140  # exact for PNG
    assert frames[3].rgb.shape == (48, 64, 3) and abs(int(frames[3].rgb[5, 5, 1]) - 128) <= 2  # grey -> RGB


def test_single_image_and_errors(tmp_path):
    img = tmp_path / "one.png"
    cv2.imwrite(str(img), _pattern(0))
    assert len(open_source(img)) == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SourceError, match="no images .* in folder .*empty"):
        open_source(empty)
    with pytest.raises(SourceError, match="does not exist"):
        open_source(tmp_path / "missing.avi")
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(SourceError, match="unsupported input .*x.txt"):
        open_source(tmp_path / "x.txt")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.png").write_bytes(b"not a png")
    with pytest.raises(SourceError, match="cannot read image .*broken.png"):
        list(open_source(bad))
    with pytest.raises(SourceError, match="only apply to rosbag2"):
        open_source(img, image_topic="/image")


# ------------------------------------------------------------------------------------------------- bags

def _store():
    from rosbags.typesys import Stores, get_typestore

    return get_typestore(Stores.ROS2_JAZZY)


def _header(store, ns: int, frame_id: str):
    T = store.types
    return T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](sec=ns // 10**9, nanosec=ns % 10**9),
                                     frame_id=frame_id)


def image_msg(store, ns: int, rgb: np.ndarray, frame_id: str = "bag_cam", encoding: str = "rgb8"):
    data = rgb if encoding == "rgb8" else cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    h, w = rgb.shape[:2]
    return store.types["sensor_msgs/msg/Image"](header=_header(store, ns, frame_id), height=h, width=w,
                                                encoding=encoding, is_bigendian=0, step=3 * w,
                                                data=np.ascontiguousarray(data).reshape(-1))


def info_msg(store, ns: int, f: float, w: int = 64, h: int = 48, frame_id: str = "bag_cam"):
    T = store.types
    k = np.array([f, 0, w / 2, 0, f, h / 2, 0, 0, 1], np.float64)
    p = np.array([f, 0, w / 2, 0, 0, f, h / 2, 0, 0, 0, 1, 0], np.float64)
    roi = T["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)
    return T["sensor_msgs/msg/CameraInfo"](header=_header(store, ns, frame_id), height=h, width=w,
                                           distortion_model="plumb_bob", d=np.zeros(5), k=k, r=np.eye(3).reshape(-1),
                                           p=p, binning_x=0, binning_y=0, roi=roi)


def write_bag(path: Path, events: list, storage: str = "mcap") -> Path:
    """Write a rosbag2 at `path` (a directory). `events`: (topic, msgtype, log_time_ns, message) in order."""
    from rosbags.rosbag2 import StoragePlugin, Writer

    store = _store()
    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    with Writer(path, version=8, storage_plugin=plugin) as writer:
        conns = {}
        for topic, msgtype, t, msg in events:
            if topic not in conns:
                conns[topic] = writer.add_connection(topic, msgtype, typestore=store)
            writer.write(conns[topic], t, store.serialize_cdr(msg, msgtype))
    return path


IMG, INFO = "sensor_msgs/msg/Image", "sensor_msgs/msg/CameraInfo"
T0 = 1_700_000_000 * 10**9


def camera_bag(path: Path, storage: str = "mcap", n: int = 6, before_info: int = 2) -> Path:
    """`before_info` images with no CameraInfo at all, then per frame: image, then its CameraInfo (same stamp,
    logged just after the image, fx = 100 + i); one extra CameraInfo (fx 999) with a stamp of no image before
    the last frame; the last frame's image is bgr8."""
    store = _store()
    events = []
    for i in range(n):
        ns = T0 + i * 100_000_000
        enc = "bgr8" if i == n - 1 else "rgb8"
        if i == n - 1:
            events.append(("/cam/camera_info", INFO, ns - 1, info_msg(store, ns - 50, 999.0)))
        events.append(("/cam/image_raw", IMG, ns, image_msg(store, ns, _pattern(i), encoding=enc)))
        if i >= before_info and i != n - 2:  # frame n-2 has no own CameraInfo: it takes the latest
            events.append(("/cam/camera_info", INFO, ns + 1, info_msg(store, ns, 100.0 + i)))
    return write_bag(path, events, storage)


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_rosbag_stamps_pairing_and_skips(tmp_path, storage, caplog):
    bag = camera_bag(tmp_path / "rec", storage)
    with caplog.at_level(logging.WARNING):
        source = open_source(bag)
        frames = list(source)
    assert source.kind == "rosbag2" and source.image_topic == "/cam/image_raw"
    assert source.info_topic == "/cam/camera_info" and len(source) == 6
    assert source.skipped == {"before_camera_info": 2}
    assert any("skipped 2 image(s) of /cam/image_raw (2 before camera info)" in r.getMessage() for r in caplog.records)
    assert [f.stamp_ns for f in frames] == [T0 + i * 100_000_000 for i in range(2, 6)]
    # same stamp wins even though the CameraInfo was logged after the image; frame 4 has none -> latest (fx 103)
    assert [f.intrinsics.fx for f in frames] == [102.0, 103.0, 103.0, 105.0]
    assert all(f.frame_id == "bag_cam" for f in frames)
    for f, i in zip(frames, range(2, 6)):  # bgr8 (last frame) decoded to the same RGB as rgb8
        np.testing.assert_array_equal(f.rgb, _pattern(i))
    assert source.rate_hz == pytest.approx(10.0, rel=0.01)


@pytest.mark.parametrize("suffix", [".mcap", ".db3"])
def test_bare_storage_file_and_explicit_topics(tmp_path, suffix):
    storage = "mcap" if suffix == ".mcap" else "sqlite3"
    bag = camera_bag(tmp_path / "rec", storage)
    file = next(bag.glob(f"*{suffix}"))
    (bag / "metadata.yaml").unlink()  # a folder holding one storage file and no metadata opens too
    assert len(list(open_source(bag))) == 4
    frames = list(open_source(file, image_topic="/cam/image_raw", info_topic="/cam/camera_info", frame_id="over"))
    assert len(frames) == 4 and all(f.frame_id == "over" for f in frames)


def test_camera_yaml_replaces_camera_info(tmp_path):
    bag = camera_bag(tmp_path / "rec")
    cam = tmp_path / "cam.yaml"
    cam.write_text(CAMERA_YAML)
    source = open_source(bag, camera=cam)
    frames = list(source)
    assert len(frames) == 6 and source.skipped == {}  # no CameraInfo needed: nothing skipped
    assert {f.intrinsics.fx for f in frames} == {70.0}


def test_ambiguous_and_missing_topics(tmp_path):
    store = _store()
    ns = T0
    events = [("/left/image_raw", IMG, ns, image_msg(store, ns, _pattern(0))),
              ("/right/image_raw", IMG, ns, image_msg(store, ns, _pattern(1))),
              ("/left/camera_info", INFO, ns, info_msg(store, ns, 50.0)),
              ("/right/camera_info", INFO, ns, info_msg(store, ns, 60.0)),
              ("/other_info", INFO, ns, info_msg(store, ns, 70.0))]
    bag = write_bag(tmp_path / "stereo", events)
    with pytest.raises(SourceError, match=r"several image topics \(/left/image_raw, /right/image_raw\).*--image-topic"):
        open_source(bag)
    with pytest.raises(SourceError, match="topic /nope not in bag .*/left/image_raw"):
        open_source(bag, image_topic="/nope")
    with pytest.raises(SourceError, match="/left/camera_info .* is sensor_msgs/msg/CameraInfo, expected"):
        open_source(bag, image_topic="/left/camera_info")
    # the CameraInfo beside the chosen image topic is picked among several
    source = open_source(bag, image_topic="/right/image_raw")
    assert source.info_topic == "/right/camera_info"
    assert [f.intrinsics.fx for f in source] == [60.0]
    chosen = open_source(bag, image_topic="/right/image_raw", info_topic="/other_info")
    assert [f.intrinsics.fx for f in chosen] == [70.0]

    only_info = write_bag(tmp_path / "noimg", [("/camera_info", INFO, ns, info_msg(store, ns, 50.0))])
    with pytest.raises(SourceError, match="no sensor_msgs/Image or CompressedImage topic.*/camera_info"):
        open_source(only_info)


def test_bag_without_camera_info_uses_the_assumed_pinhole(tmp_path):
    store = _store()
    bag = write_bag(tmp_path / "noinfo", [("/image", IMG, T0 + i, image_msg(store, T0 + i, _pattern(i)))
                                          for i in range(3)])
    frames = list(open_source(bag))
    assert len(frames) == 3 and frames[0].intrinsics.fx == 64.0


def test_bad_images_and_size_mismatch_are_skipped_and_counted(tmp_path):
    store = _store()
    events = [("/camera_info", INFO, T0, info_msg(store, T0, 80.0)),
              ("/image", IMG, T0 + 1, image_msg(store, T0 + 1, _pattern(0))),
              ("/image", IMG, T0 + 2, image_msg(store, T0 + 2, _pattern(1, w=32, h=24))),  # info is 64x48
              ]
    broken = image_msg(store, T0 + 3, _pattern(2))
    broken.encoding = "32FC1"
    events.append(("/image", IMG, T0 + 3, broken))
    source = open_source(write_bag(tmp_path / "mixed", events))
    frames = list(source)
    assert [f.stamp_ns for f in frames] == [T0 + 1]
    assert source.skipped == {"size_mismatch": 1, "undecodable": 1}


def test_compressed_images(tmp_path):
    store = _store()
    ok, png = cv2.imencode(".png", cv2.cvtColor(_pattern(4), cv2.COLOR_RGB2BGR))
    assert ok
    msg = store.types["sensor_msgs/msg/CompressedImage"](header=_header(store, T0, "c"), format="png",
                                                          data=png.reshape(-1))
    bag = write_bag(tmp_path / "comp", [("/camera_info", INFO, T0, info_msg(store, T0, 80.0)),
                                        ("/image/compressed", "sensor_msgs/msg/CompressedImage", T0, msg)])
    frames = list(open_source(bag))
    assert len(frames) == 1
    np.testing.assert_array_equal(frames[0].rgb, _pattern(4))


def test_sources_import_neither_torch_nor_rclpy(tmp_path):
    import subprocess
    import sys

    clip = write_video(tmp_path / "c.avi", 2)
    code = ("import sys\nfrom pinet_ros.io import open_source\nframes = list(open_source(sys.argv[1]))\n"
            "assert len(frames) == 2\n"
            "print(','.join(m for m in ('torch', 'rclpy', 'rosbags') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code, str(clip)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"reading a video pulled in: {out.stdout.strip()}"
