"""Launch the pinet_ros node: `ros2 launch pinet_ros pinet.launch.py image:=/camera/image_raw rviz:=true`.

Needs a full ROS 2 install (launch, launch_ros). Without it, run `pinet-ros run` or the `pinet_node`
executable with `--ros-args` instead (see README.md).

Arguments: image, camera_info (topics), namespace, params_file (defaults: config/pinet.yaml), backend and
device (override the params file), rviz (true: also start rviz2 with config/pinet.rviz).
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def generate_launch_description() -> LaunchDescription:
    share = get_package_share_directory("pinet_ros")
    args = [
        DeclareLaunchArgument("image", default_value="/image", description="sensor_msgs/Image topic"),
        DeclareLaunchArgument("camera_info", default_value="/camera_info", description="sensor_msgs/CameraInfo topic"),
        DeclareLaunchArgument("namespace", default_value="", description="namespace of the node"),
        DeclareLaunchArgument("params_file", default_value=os.path.join(share, "config", "pinet.yaml"),
                              description="YAML file with the node's parameters"),
        DeclareLaunchArgument("backend", default_value="mediapipe", description="mediapipe or 3dmppe"),
        DeclareLaunchArgument("device", default_value="cpu", description="cpu, cuda or cuda:N"),
        DeclareLaunchArgument("rviz", default_value="false", description="also start rviz2 with config/pinet.rviz"),
    ]
    node = Node(
        package="pinet_ros",
        executable="pinet_node",
        name="pinet",
        namespace=LaunchConfiguration("namespace"),
        parameters=[LaunchConfiguration("params_file"),
                    {"backend": LaunchConfiguration("backend"), "device": LaunchConfiguration("device")}],
        remappings=[("image", LaunchConfiguration("image")), ("camera_info", LaunchConfiguration("camera_info"))],
        output="screen",
    )
    rviz = Node(
        package="rviz2",
        executable="rviz2",
        arguments=["-d", os.path.join(share, "config", "pinet.rviz")],
        condition=IfCondition(LaunchConfiguration("rviz")),
        output="screen",
    )
    # Large images need bigger Fast DDS shared-memory segments than the default (see config/fastdds.xml).
    fastdds = SetEnvironmentVariable("FASTRTPS_DEFAULT_PROFILES_FILE", os.path.join(share, "config", "fastdds.xml"))
    return LaunchDescription(args + [fastdds, node, rviz])
