"""pinet_ros/io/camera_yaml.py: ROS camera_calibration YAML files, good and bad."""

import pytest

from pinet_ros.io.camera_yaml import CameraYamlError, assumed_intrinsics, read_camera_yaml

GOOD = """\
image_width: 640
image_height: 480
camera_name: test_cam
camera_matrix:
  rows: 3
  cols: 3
  data: [525.5, 0, 319.25, 0, 524.0, 241.5, 0, 0, 1]
distortion_model: plumb_bob
distortion_coefficients:
  rows: 1
  cols: 5
  data: [0.1, -0.2, 0.001, 0.002, 0.0]
rectification_matrix: {rows: 3, cols: 3, data: [1, 0, 0, 0, 1, 0, 0, 0, 1]}
projection_matrix: {rows: 3, cols: 4, data: [525.5, 0, 319.25, 0, 0, 524.0, 241.5, 0, 0, 0, 1, 0]}
"""


def test_reads_a_camera_calibration_file(tmp_path):
    path = tmp_path / "cam.yaml"
    path.write_text(GOOD)
    cal = read_camera_yaml(path)
    assert (cal.intrinsics.fx, cal.intrinsics.fy, cal.intrinsics.cx, cal.intrinsics.cy) == (525.5, 524.0, 319.25, 241.5)
    assert (cal.width, cal.height) == (640, 480)
    assert cal.camera_name == "test_cam" and cal.distortion_model == "plumb_bob"
    assert cal.distortion.tolist() == [0.1, -0.2, 0.001, 0.002, 0.0]
    cal.check_size(640, 480, "x")
    with pytest.raises(CameraYamlError, match="640x480.*320x240"):
        cal.check_size(320, 240, "the video")


def test_minimal_file_without_sizes(tmp_path):
    path = tmp_path / "k.yaml"
    path.write_text("camera_matrix: {rows: 3, cols: 3, data: [100, 0, 50, 0, 110, 40, 0, 0, 1]}\n")
    cal = read_camera_yaml(path)
    assert cal.width is None and cal.intrinsics.fy == 110.0 and cal.distortion.size == 0
    cal.check_size(1, 1, "anything")  # no size stated: matches every image


@pytest.mark.parametrize("text, message", [
    ("image_width: 640\n", "no 'camera_matrix'"),
    ("- a\n- b\n", "must be a mapping"),
    ("camera_matrix: [1, 2, 3]\n", "mapping with rows, cols and data"),
    ("camera_matrix: {rows: 3, cols: 3, data: [1, 0, 0, 0, 1, 0, 0, 0]}\n", "has 8 values"),
    ("camera_matrix: {rows: 2, cols: 2, data: [1, 0, 0, 1]}\n", "must be 3x3"),
    ("camera_matrix: {rows: 3, cols: 3, data: [a, 0, 0, 0, 1, 0, 0, 0, 1]}\n", "list of numbers"),
    ("camera_matrix: {rows: 3, cols: 3, data: [0, 0, 5, 0, 100, 5, 0, 0, 1]}\n", "fx must be positive"),
    ("camera_matrix: {rows: 3, cols: 3, data: [100, 0, 5, 0, 100, 5, 0, 1, 1]}\n", "last row"),
    ("camera_matrix: {rows: 3, cols: 3, data: [.nan, 0, 5, 0, 100, 5, 0, 0, 1]}\n", "non-finite"),
    ("image_width: -3\ncamera_matrix: {rows: 3, cols: 3, data: [1, 0, 0, 0, 1, 0, 0, 0, 1]}\n", "image_width"),
    ("camera_matrix: {rows: 3, cols: 3\n", "not valid YAML"),
])
def test_bad_files_name_the_file_and_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(CameraYamlError, match=message) as info:
        read_camera_yaml(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(CameraYamlError, match="cannot read camera YAML .*nope.yaml"):
        read_camera_yaml(tmp_path / "nope.yaml")


def test_assumed_pinhole():
    k = assumed_intrinsics(640, 480)
    assert (k.fx, k.fy, k.cx, k.cy) == (640.0, 640.0, 320.0, 240.0)
