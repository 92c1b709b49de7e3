"""config/pinet.yaml, the launch file and the node's declared parameters agree, in both directions.

`launch` cannot be installed from the wheels, so the launch file is read with `ast`, not executed.
"""

import ast
from pathlib import Path

import pytest
import yaml

from pinet_ros import params as P

ROOT = Path(__file__).resolve().parents[2]


def _yaml_params() -> dict:
    doc = yaml.safe_load((ROOT / "config" / "pinet.yaml").read_text())
    assert list(doc) == ["/**"], "the file must match the node in any namespace (wildcard key)"
    return doc["/**"]["ros__parameters"]


def _launch_tree() -> ast.Module:
    return ast.parse((ROOT / "launch" / "pinet.launch.py").read_text())


def _call_name(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else getattr(f, "attr", "")


def _launch_node_parameter_names() -> set[str]:
    """Parameter names the launch file may override: the keys of the dict given to node_parameters()."""
    names = set()
    for call in ast.walk(_launch_tree()):
        if isinstance(call, ast.Call) and _call_name(call) == "node_parameters":
            names |= {k.value for k in call.args[1].keys}
    return names


def _launch_arguments() -> set[str]:
    return {call.args[0].value for call in ast.walk(_launch_tree())
            if isinstance(call, ast.Call) and _call_name(call) == "DeclareLaunchArgument"}


def test_yaml_and_readme_table_are_generated_from_the_table():
    assert P.main(["--check", "--root", str(ROOT)]) == 0, "run: python -m pinet_ros.params --write"


def test_pipeline_config_defaults_are_the_tables():
    from dataclasses import fields

    from pinet_ros.pipeline import PipelineConfig

    assert {f.name: f.default for f in fields(PipelineConfig)} == {s.name: s.default for s in P.PIPELINE_PARAMS}


def test_yaml_lists_every_parameter_with_its_default():
    values = _yaml_params()
    assert set(values) == set(P.SPECS), set(values) ^ set(P.SPECS)
    for name, value in values.items():
        assert value == P.SPECS[name].default and type(value) is P.SPECS[name].type, name


def test_launch_passes_only_declared_parameters_and_declares_what_it_uses():
    passed = _launch_node_parameter_names()
    assert passed == {"backend", "device", "use_depth"} and passed <= set(P.SPECS)
    args = _launch_arguments()
    assert {"image", "camera_info", "namespace", "params_file", "backend", "device", "rviz"} <= args
    used = {node.args[0].value for node in ast.walk(_launch_tree())
            if isinstance(node, ast.Call) and _call_name(node) in ("LaunchConfiguration", "arg")
            and node.args and isinstance(node.args[0], ast.Constant)}
    assert used == args, used ^ args
    rviz = (ROOT / "config" / "pinet.rviz").read_text()
    assert "/pinet/markers" in rviz and "rviz_default_plugins/MarkerArray" in rviz


def test_launch_file_compiles_and_uses_the_tested_helpers():
    source = (ROOT / "launch" / "pinet.launch.py").read_text()
    compile(source, "pinet.launch.py", "exec")
    called = {_call_name(c) for c in ast.walk(_launch_tree()) if isinstance(c, ast.Call)}
    assert {"node_parameters", "dds_profile_environment", "namespaced_rviz_config", "require_executable",
            "OnProcessExit", "Shutdown", "OpaqueFunction"} <= called


@pytest.mark.ros
def test_node_declares_exactly_the_table_with_descriptors():
    import rclpy
    from rcl_interfaces.msg import ParameterType

    from pinet_ros.node import PinetNode

    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        node = PinetNode(context=context)
        # use_sim_time and start_type_description_service are declared by rclpy itself
        declared = set(node._parameters) - {"use_sim_time", "start_type_description_service"}
        assert declared == set(_yaml_params())
        d = node.describe_parameters(["score_threshold", "max_persons", "backend"])
        assert d[0].floating_point_range[0].to_value == 1.0 and d[0].type == ParameterType.PARAMETER_DOUBLE
        assert d[1].integer_range[0].from_value == 1
        # start-up parameters are not ROS read-only (they may change while unconfigured); autostart is
        assert not d[2].read_only and "mediapipe" in d[2].additional_constraints
        assert node.describe_parameters(["autostart"])[0].read_only
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)
