"""A node started under a namespace reads the parameter file (wildcard key), as `ros2 launch ... namespace:=cam1`
starts it: the installed pinet_node process with `-r __ns:=/cam1 --params-file F`, checked over DDS."""

import signal
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
import yaml

from pinet_ros.processes import stop

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "helpers"))
from ros_session import node_cmd, spin_until as ros_spin_until  # noqa: E402

pytestmark = pytest.mark.ros

ROOT = Path(__file__).resolve().parents[2]
# values that differ from every default, so that a file silently ignored cannot pass
CHANGED = {"max_persons": 7, "score_threshold": 0.35, "ordering": "bbox2d", "small_people": True,
           "marker_lifetime_s": 1.5}


def test_namespaced_node_reads_the_shipped_file_layout(tmp_path):
    import rclpy
    from rcl_interfaces.srv import GetParameters

    from pinet_ros import params as P

    doc = yaml.safe_load((ROOT / "config" / "pinet.yaml").read_text())  # the shipped layout, values changed
    for name, value in CHANGED.items():
        assert doc["/**"]["ros__parameters"][name] == P.SPECS[name].default != value
        doc["/**"]["ros__parameters"][name] = value
    params_file = tmp_path / "cam1.yaml"
    params_file.write_text(yaml.safe_dump(doc))
    cmd = node_cmd() + ["--ros-args", "-r", "__ns:=/cam1", "-r", "image:=/cam1/image_raw",
                        "--params-file", str(params_file), "-p", "autostart:=false"]
    node_proc = subprocess.Popen(cmd)
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        node = rclpy.create_node("namespace_checker", context=context)
        client = node.create_client(GetParameters, "/cam1/pinet/get_parameters")
        executor = rclpy.executors.SingleThreadedExecutor(context=context)
        executor.add_node(node)
        spin_until = partial(ros_spin_until, executor, node_proc=node_proc, require_alive=True)
        assert spin_until(client.service_is_ready, 60), "no /cam1/pinet/get_parameters service"
        future = client.call_async(GetParameters.Request(names=list(CHANGED)))
        assert spin_until(future.done, 30)
        values = future.result().values
        got = dict(zip(CHANGED, [v.integer_value if v.type == 2 else v.double_value if v.type == 3 else
                                 v.string_value if v.type == 4 else v.bool_value for v in values]))
        assert got == CHANGED
        names = dict(node.get_topic_names_and_types())
        assert spin_until(lambda: "/cam1/pinet/poses" in dict(node.get_topic_names_and_types()), 20), names
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)
        stop(node_proc, sig=signal.SIGTERM, timeout_s=15)
