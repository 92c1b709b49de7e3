"""Player process -> node process -> this process, over DDS, on a real picture (basketball2.png).

The node is started with `pinet-ros run --params-file ...` (test_node_minimal covers the installed pinet_node
executable). Checks the node contract: poses with the image's stamp and frame id, people in metres with stable ids,
markers (DELETEALL first, bones/joints/label per person, colour fixed per id), /diagnostics, and an invalid
parameter refused with a reason while the node keeps publishing.
"""

import signal
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest

from pinet_ros.processes import cli_command, stop

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "helpers"))
from ros_session import spin_until as ros_spin_until  # noqa: E402

pytestmark = pytest.mark.ros

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "samples" / "basketball2.png"


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """Runs the node and the camera; collects what the node publishes for ~12 s after the first pose."""
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import GetParameters, SetParameters
    from rclpy.qos import QoSProfile, qos_profile_sensor_data
    from sensor_msgs.msg import Image
    from visualization_msgs.msg import MarkerArray

    from pinet_ros.msg import MultiPerson3DPose

    if not SAMPLE.is_file():
        pytest.fail(f"{SAMPLE} missing: make setup fetches it (scripts/get_samples.sh)")
    # `pinet-ros run` with a params file made from config/pinet.yaml, plus one -p override after `--`
    import yaml

    params = yaml.safe_load((ROOT / "config" / "pinet.yaml").read_text())
    params["/**"]["ros__parameters"]["max_persons"] = 5
    params_file = tmp_path_factory.mktemp("node") / "params.yaml"
    params_file.write_text(yaml.safe_dump(params))
    node_proc = subprocess.Popen(cli_command("run", "--params-file", str(params_file),
                                             "--", "-p", "marker_lifetime_s:=0.0"))
    # the product's own player: the picture looped as a 5 Hz camera, stamps from the source (whole seconds
    # from 2001-09-09, +0.2 s per frame)
    camera = subprocess.Popen(cli_command("play", str(SAMPLE), "--rate", "5", "--loop",
                                          "--source-stamps", "--frame-id", "cam_optical"))
    context = rclpy.Context()
    rclpy.init(context=context)
    got = {"poses": [], "markers": [], "diag": [], "refusal": None, "after": 0, "image_stamps": set()}
    try:
        node = rclpy.create_node("node_checker", context=context)
        node.create_subscription(MultiPerson3DPose, "/pinet/poses", got["poses"].append, QoSProfile(depth=50))
        node.create_subscription(MarkerArray, "/pinet/markers", got["markers"].append, QoSProfile(depth=50))
        node.create_subscription(DiagnosticArray, "/diagnostics", got["diag"].append, QoSProfile(depth=50))
        node.create_subscription(
            Image, "/image", lambda m: got["image_stamps"].add((m.header.stamp.sec, m.header.stamp.nanosec)),
            qos_profile_sensor_data)
        client = node.create_client(SetParameters, "/pinet/set_parameters")
        executor = rclpy.executors.SingleThreadedExecutor(context=context)
        executor.add_node(node)

        spin_until = partial(ros_spin_until, executor, node_proc=node_proc, period_s=0.1)

        spin_until(lambda: len(got["poses"]) >= 1, 90)
        spin_until(lambda: len(got["poses"]) >= 15 and len(got["diag"]) >= 3, 30)
        assert client.wait_for_service(timeout_sec=10)
        bad = Parameter(name="score_threshold",
                        value=ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=3.0))
        future = client.call_async(SetParameters.Request(parameters=[bad]))
        spin_until(future.done, 10)
        got["refusal"] = future.result().results[0] if future.done() else None
        got_params = node.create_client(GetParameters, "/pinet/get_parameters")
        future = got_params.call_async(GetParameters.Request(names=["max_persons", "marker_lifetime_s"]))
        spin_until(future.done, 10)
        got["params"] = [v.integer_value if v.type == 2 else v.double_value for v in future.result().values]
        before = len(got["poses"])
        spin_until(lambda: len(got["poses"]) >= before + 5, 20)
        got["after"] = len(got["poses"]) - before
        got["alive"] = node_proc.poll() is None
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)
        stop(camera, node_proc, sig=signal.SIGTERM, timeout_s=15)
    return got


def test_poses_carry_the_image_header_and_people_in_metres(session):
    poses = session["poses"]
    assert len(poses) >= 15
    for msg in poses:
        assert msg.header.frame_id == "cam_optical"
        assert len(msg.persons) == 2
        assert len(msg.interaction) == 4
        for p in msg.persons:
            assert 0.5 <= p.root.z <= 15.0
            assert len(p.joints) == len(p.joints_initial) == len(p.joint_confidence) == len(msg.joint_names) == 17
            assert p.bbox.width > 0 and p.bbox.height > 0
    # the same two men in every frame: same ids, left one first in the image keeps its id
    ids = [tuple(sorted(p.id for p in m.persons)) for m in poses]
    assert len(set(ids)) == 1 and 0 not in ids[0]
    stamps = [(m.header.stamp.sec, m.header.stamp.nanosec) for m in poses]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    # the header is the image's own: every published stamp is one the player sent (none replaced by now())
    # (this process may miss a few best-effort images, so "most", and none outside the player's range)
    seen = session["image_stamps"]
    assert sum(s in seen for s in stamps) >= 0.9 * len(stamps)
    assert min(seen) <= min(stamps) and max(stamps) <= (max(seen)[0] + 1, max(seen)[1])


def test_markers_start_with_deleteall_and_colour_is_fixed_per_id(session):
    from visualization_msgs.msg import Marker

    markers = session["markers"]
    assert len(markers) >= 10
    colours = {}
    for arr in markers:
        assert arr.markers[0].action == Marker.DELETEALL
        body = arr.markers[1:]
        types = sorted(m.type for m in body)
        assert types == sorted([Marker.LINE_LIST, Marker.SPHERE_LIST, Marker.TEXT_VIEW_FACING] * 2)
        for m in body:
            assert m.header.frame_id == "cam_optical"
            if m.type == Marker.LINE_LIST:
                assert len(m.points) == 2 * 16  # 16 bones of the 17-joint skeleton
                colours.setdefault(("bones", m.id), set()).add((m.color.r, m.color.g, m.color.b))
    assert all(len(c) == 1 for c in colours.values()), colours
    assert len({next(iter(c)) for c in colours.values()}) == 2  # two people, two colours


def test_diagnostics_report_rates_latency_and_drops(session):
    statuses = [s for arr in session["diag"] for s in arr.status if "pinet" in s.name]
    assert statuses
    values = {kv.key: float(kv.value) for kv in statuses[-1].values}
    for key in ("input_rate_hz", "output_rate_hz", "latency_p95_ms", "processing_p95_ms", "dropped",
                "received", "processed"):
        assert key in values
    assert values["received"] >= values["processed"] >= 10
    assert values["output_rate_hz"] > 0


def test_invalid_parameter_refused_with_reason_node_keeps_running(session):
    refusal = session["refusal"]
    assert refusal is not None and not refusal.successful
    assert "score_threshold" in refusal.reason
    assert session["alive"] and session["after"] >= 5


def test_params_file_and_overrides_reach_the_node(session):
    assert session["params"] == [5, 0.0]
