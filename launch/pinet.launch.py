"""Launch the pinet_ros node: `ros2 launch pinet_ros pinet.launch.py image:=/camera/image_raw rviz:=true`.

Needs a full ROS 2 install (launch, launch_ros). Without it, run `pinet-ros run` or the `pinet_node`
executable with `--ros-args` instead (see README.md).

Arguments: image, camera_info, depth, depth_camera_info (topics), namespace, params_file (default:
config/pinet.yaml, keyed `/**` so it applies in any namespace), backend, device and use_depth (override the
params file only when given), rviz (true: also start rviz2, its topics under the namespace). The decisions are plain functions in
pinet_ros.launch_support, tested without `launch`. The launch ends when the node exits, with its exit code
in the log.
"""

import os
import tempfile

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import (DeclareLaunchArgument, EmitEvent, LogInfo, OpaqueFunction, RegisterEventHandler,
                            SetEnvironmentVariable)
from launch.event_handlers import OnProcessExit
from launch.events import Shutdown
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from pinet_ros.launch_support import (dds_profile_environment, namespaced_rviz_config, node_parameters,
                                      normalise_namespace, require_executable)


def _actions(context, share: str):
    arg = lambda name: LaunchConfiguration(name).perform(context)  # noqa: E731
    namespace = normalise_namespace(arg("namespace"))
    rviz = arg("rviz").lower() in ("true", "1", "yes")
    # Everything that can fail is checked before any process starts.
    rviz_exe = require_executable("rviz2", "rviz2", "install ros-$ROS_DISTRO-rviz2 or launch with rviz:=false") \
        if rviz else None
    parameters = node_parameters(arg("params_file"), {"backend": arg("backend"), "device": arg("device"),
                                                      "use_depth": arg("use_depth")})

    actions = [SetEnvironmentVariable(name, value) for name, value in
               dds_profile_environment(os.environ, os.path.join(share, "config", "fastdds.xml")).items()]
    node = Node(
        package="pinet_ros",
        executable="pinet_node",
        name="pinet",
        namespace=namespace,
        parameters=parameters,
        remappings=[("image", arg("image")), ("camera_info", arg("camera_info")),
                    ("depth", arg("depth")), ("depth_camera_info", arg("depth_camera_info"))],
        output="screen",
    )
    stop_with_node = RegisterEventHandler(OnProcessExit(target_action=node, on_exit=lambda event, _: [
        LogInfo(msg=f"pinet_node exited with code {event.returncode}; shutting the launch down"),
        EmitEvent(event=Shutdown(reason=f"pinet_node exited with code {event.returncode}"))]))
    actions += [node, stop_with_node]
    if rviz_exe:
        with open(os.path.join(share, "config", "pinet.rviz")) as f:
            text = namespaced_rviz_config(f.read(), namespace)
        config = tempfile.NamedTemporaryFile("w", prefix="pinet_", suffix=".rviz", delete=False)
        with config:
            config.write(text)
        actions.append(Node(package="rviz2", executable="rviz2", arguments=["-d", config.name], output="screen"))
    return actions


def generate_launch_description() -> LaunchDescription:
    share = get_package_share_directory("pinet_ros")
    args = [
        DeclareLaunchArgument("image", default_value="/image", description="sensor_msgs/Image topic"),
        DeclareLaunchArgument("camera_info", default_value="/camera_info", description="sensor_msgs/CameraInfo topic"),
        DeclareLaunchArgument("namespace", default_value="", description="namespace of the node"),
        DeclareLaunchArgument("params_file", default_value=os.path.join(share, "config", "pinet.yaml"),
                              description="YAML file with the node's parameters"),
        DeclareLaunchArgument("backend", default_value="",
                              description="topdown, mediapipe or 3dmppe; empty = the params file's value"),
        DeclareLaunchArgument("device", default_value="",
                              description="cpu, cuda or cuda:N; empty = the params file's value"),
        DeclareLaunchArgument("rviz", default_value="false", description="also start rviz2 with config/pinet.rviz"),
        DeclareLaunchArgument("use_depth", default_value="",
                              description="true: correct roots with a registered depth image; empty = the params file"),
        DeclareLaunchArgument("depth", default_value="/depth/image_raw",
                              description="sensor_msgs/Image depth topic (16UC1 mm or 32FC1 m), used with use_depth"),
        DeclareLaunchArgument("depth_camera_info", default_value="/depth/camera_info",
                              description="CameraInfo of the depth image"),
    ]
    return LaunchDescription(args + [OpaqueFunction(function=_actions, kwargs={"share": share})])
