"""pinet_ros.launch_support: the decisions of launch/pinet.launch.py, tested without the `launch` package."""

from pathlib import Path

import pytest

from pinet_ros.launch_support import (LaunchError, dds_profile_environment, namespaced_rviz_config,
                                      node_parameters, normalise_namespace, require_executable)

ROOT = Path(__file__).resolve().parents[1]


def test_launch_arguments_override_the_params_file_only_when_given(tmp_path):
    f = tmp_path / "my.yaml"
    f.write_text("/**:\n  ros__parameters:\n    backend: 3dmppe\n")
    assert node_parameters(str(f), {"backend": "", "device": ""}) == [str(f)]  # the file's backend stands
    assert node_parameters(str(f), {"backend": "", "device": "cuda"}) == [str(f), {"device": "cuda"}]
    with pytest.raises(LaunchError, match="does not exist"):
        node_parameters(str(tmp_path / "missing.yaml"), {})


def test_launch_strings_reach_the_node_with_their_parameter_types(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("/**:\n  ros__parameters: {}\n")
    assert node_parameters(str(f), {"use_depth": "True", "max_persons": "4"}) == \
        [str(f), {"use_depth": True, "max_persons": 4}]
    with pytest.raises(LaunchError, match="true or false"):
        node_parameters(str(f), {"use_depth": "yes"})
    with pytest.raises(LaunchError, match="backend must be one of"):
        node_parameters(str(f), {"backend": "yolo"})


@pytest.mark.parametrize("env,expected", [
    ({}, {"FASTRTPS_DEFAULT_PROFILES_FILE": "/pkg/fastdds.xml", "FASTDDS_DEFAULT_PROFILES_FILE": "/pkg/fastdds.xml"}),
    ({"FASTRTPS_DEFAULT_PROFILES_FILE": "/mine.xml"}, {}),
    ({"FASTDDS_DEFAULT_PROFILES_FILE": "/mine3.xml"}, {}),
    ({"FASTRTPS_DEFAULT_PROFILES_FILE": ""}, {"FASTRTPS_DEFAULT_PROFILES_FILE": "/pkg/fastdds.xml",
                                             "FASTDDS_DEFAULT_PROFILES_FILE": "/pkg/fastdds.xml"}),
])
def test_a_users_dds_profile_is_kept(env, expected):
    assert dds_profile_environment(env, "/pkg/fastdds.xml") == expected


def test_rviz_topics_follow_the_namespace():
    text = (ROOT / "config" / "pinet.rviz").read_text()
    assert namespaced_rviz_config(text, "") == text
    moved = namespaced_rviz_config(text, "cam1/")
    assert "Value: /cam1/pinet/markers" in moved and "Value: /cam1/pinet/debug_image" in moved
    assert "Value: /pinet/" not in moved
    assert "Value: /robot/cam1/pinet/markers" in namespaced_rviz_config(text, "/robot//cam1")


def test_namespaces_are_normalised_and_checked():
    assert normalise_namespace("/") == "" and normalise_namespace(" cam1 ") == "/cam1"
    with pytest.raises(LaunchError, match="valid ROS name"):
        normalise_namespace("cam-1")


def test_a_missing_rviz2_is_a_clear_error_before_anything_starts():
    with pytest.raises(LaunchError, match="rviz2_not_here is not installed.*rviz:=false"):
        require_executable("rviz2_not_here", "rviz2", "install ros-$ROS_DISTRO-rviz2 or launch with rviz:=false")


@pytest.mark.ros
def test_an_installed_executable_is_found_through_the_ament_index():
    assert require_executable("pinet_ros", "pinet_node").endswith("lib/pinet_ros/pinet_node")
    with pytest.raises(LaunchError, match="has no executable nothing_here"):
        require_executable("pinet_ros", "nothing_here")
