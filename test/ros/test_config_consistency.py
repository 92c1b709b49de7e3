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
    return doc["pinet"]["ros__parameters"]


def _launch_tree() -> ast.Module:
    return ast.parse((ROOT / "launch" / "pinet.launch.py").read_text())


def _call_name(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else getattr(f, "attr", "")


def _launch_node_parameter_names() -> set[str]:
    names = set()
    for call in ast.walk(_launch_tree()):
        if isinstance(call, ast.Call) and _call_name(call) == "Node":
            kw = {k.arg: k.value for k in call.keywords}
            if getattr(kw.get("executable"), "value", None) != "pinet_node":
                continue
            for item in kw["parameters"].elts:
                if isinstance(item, ast.Dict):
                    names |= {k.value for k in item.keys}
    return names


def _launch_arguments() -> set[str]:
    return {call.args[0].value for call in ast.walk(_launch_tree())
            if isinstance(call, ast.Call) and _call_name(call) == "DeclareLaunchArgument"}


def test_yaml_lists_every_parameter_with_its_default():
    values = _yaml_params()
    assert set(values) == set(P.SPECS), set(values) ^ set(P.SPECS)
    for name, value in values.items():
        assert value == P.SPECS[name].default and type(value) is P.SPECS[name].type, name


def test_launch_passes_only_declared_parameters_and_declares_what_it_uses():
    passed = _launch_node_parameter_names()
    assert passed == {"backend", "device"}
    assert passed <= set(P.SPECS)
    args = _launch_arguments()
    assert {"image", "camera_info", "namespace", "params_file", "backend", "device", "rviz"} <= args
    used = {node.args[0].value for node in ast.walk(_launch_tree())
            if isinstance(node, ast.Call) and _call_name(node) == "LaunchConfiguration"}
    assert used == args, used ^ args
    rviz = (ROOT / "config" / "pinet.rviz").read_text()
    assert "/pinet/markers" in rviz and "rviz_default_plugins/MarkerArray" in rviz


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
        assert d[2].read_only and "mediapipe" in d[2].additional_constraints
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)
