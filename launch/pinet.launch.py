"""Launch the pinet_ros node: `ros2 launch pinet_ros pinet.launch.py image:=/camera/image_raw ...`.

Needs a full ROS 2 install (launch, launch_ros). Without it, run `pinet-ros run` or the `pinet_node`
executable with `--ros-args` instead (see README.md).
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable
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
    ]
    node = Node(
        package="pinet_ros",
        executable="pinet_node",
        name="pinet",
        namespace=LaunchConfiguration("namespace"),
        parameters=[LaunchConfiguration("params_file")],
        remappings=[("image", LaunchConfiguration("image")), ("camera_info", LaunchConfiguration("camera_info"))],
        output="screen",
    )
    # Large images need bigger Fast DDS shared-memory segments than the default (see config/fastdds.xml).
    fastdds = SetEnvironmentVariable("FASTRTPS_DEFAULT_PROFILES_FILE", os.path.join(share, "config", "fastdds.xml"))
    return LaunchDescription(args + [fastdds, node])
