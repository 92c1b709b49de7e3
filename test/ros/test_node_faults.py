"""Faults around the running node, each in real OS processes over DDS.

Start-up faults (weights missing, truncated, of another network, a pickle that would run code, CUDA without a
GPU) must stop the node with one clear message and a non-zero exit code. Stream faults (no CameraInfo, the
camera dying and coming back, deactivate/activate mid-stream, bad parameter updates) must never kill it.
"""

import os
import pickle
import signal
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest

from pinet_ros.processes import stop

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "helpers"))
from ros_session import node_cmd, spin_until as ros_spin_until  # noqa: E402

pytestmark = pytest.mark.ros

ROOT = Path(__file__).resolve().parents[2]
HELPERS = ROOT / "test" / "helpers"
SAMPLE = ROOT / "data" / "samples" / "basketball2.png"


def _start_failure(*params: str) -> tuple[int, str]:
    proc = subprocess.run(node_cmd(*params), capture_output=True, text=True, timeout=180)
    return proc.returncode, proc.stdout + proc.stderr


class _Boom:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_missing_weight_file_stops_start_up_naming_it(tmp_path):
    missing = tmp_path / "nowhere" / "pinet.safetensors"
    code, out = _start_failure(f"pinet_weights:={missing}")
    assert code != 0
    assert str(missing) in out and "cannot start" in out


def test_truncated_wrong_network_and_pickle_weights_are_refused(tmp_path):
    import torch

    from pinet_ros.models.pinet import PINet, save_pinet

    good = tmp_path / "good.safetensors"
    save_pinet(PINet(), good)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    wrong = tmp_path / "wrong.pth"
    torch.save({"network": {"conv1.weight": torch.zeros(64, 3, 7, 7)}}, wrong)
    marker = tmp_path / "PWNED"
    evil = tmp_path / "snapshot_24.pth.tar"
    evil.write_bytes(pickle.dumps({"network": _Boom(str(marker))}))
    for path in (truncated, wrong, evil):
        code, out = _start_failure(f"pinet_weights:={path}")
        assert code != 0, out
        assert str(path) in out, out[-2000:]
    assert not marker.exists(), "unpickling the weight file ran code"


def test_cuda_without_gpu_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    code, out = _start_failure("device:=cuda")
    assert code != 0 and "no usable CUDA" in out and "device: cpu" in out


def test_bad_parameter_at_start_is_refused_with_the_reason():
    code, out = _start_failure("max_persons:=0")
    assert code != 0 and "max_persons" in out


@pytest.mark.slow
def test_stream_faults_never_kill_the_node():
    """No CameraInfo -> images skipped; camera dies and returns; deactivate/activate; bad parameter updates."""
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import SetParameters
    from rclpy.qos import QoSProfile

    from pinet_ros.msg import MultiPerson3DPose

    if not SAMPLE.is_file():
        pytest.fail(f"{SAMPLE} missing: make setup fetches it")
    node_proc = subprocess.Popen(node_cmd())
    camera_cmd = [sys.executable, str(HELPERS / "publish_camera.py"), "--image", str(SAMPLE), "--rate", "5",
                  "--count", "100000"]
    procs = [node_proc]
    context = rclpy.Context()
    rclpy.init(context=context)
    poses: list = []
    diag: dict = {}
    try:
        node = rclpy.create_node("fault_checker", context=context)
        node.create_subscription(MultiPerson3DPose, "/pinet/poses", poses.append, QoSProfile(depth=100))

        def on_diag(msg):
            for st in msg.status:
                if "pinet" in st.name:
                    diag.update({kv.key: float(kv.value) for kv in st.values})

        node.create_subscription(DiagnosticArray, "/diagnostics", on_diag, QoSProfile(depth=10))
        change_state = node.create_client(ChangeState, "/pinet/change_state")
        set_params = node.create_client(SetParameters, "/pinet/set_parameters")
        executor = rclpy.executors.SingleThreadedExecutor(context=context)
        executor.add_node(node)

        spin_until = partial(ros_spin_until, executor, node_proc=node_proc, require_alive=True)

        def call(client, request, timeout=60):
            assert client.wait_for_service(timeout_sec=30)
            future = client.call_async(request)
            assert spin_until(future.done, timeout)
            return future.result()

        assert spin_until(lambda: bool(diag), 120)
        # 1. a camera without CameraInfo: nothing is published, images are counted as skipped
        no_info = subprocess.Popen(camera_cmd + ["--no-info"])
        procs.append(no_info)
        assert spin_until(lambda: diag.get("no_camera_info", 0) >= 3, 30)
        assert poses == []
        no_info.terminate()
        no_info.wait(timeout=10)

        # 2. a real camera: poses; then it dies; then it comes back (stamps restart: time goes backwards)
        cam = subprocess.Popen(camera_cmd + ["--start-sec", "2000"])
        procs.append(cam)
        assert spin_until(lambda: len(poses) >= 3, 60)
        cam.kill()
        cam.wait(timeout=10)
        spin_until(lambda: False, 1.5)
        n_dead = len(poses)
        spin_until(lambda: False, 1.5)
        assert len(poses) == n_dead  # nothing published while the camera is gone
        cam = subprocess.Popen(camera_cmd + ["--start-sec", "1000"])
        procs.append(cam)
        assert spin_until(lambda: len(poses) >= n_dead + 3, 60)
        assert poses[-1].header.stamp.sec < 2000 and len(poses[-1].persons) == 2

        # 3. deactivate mid-stream: output stops; activate: it resumes
        r = call(change_state, ChangeState.Request(transition=Transition(id=Transition.TRANSITION_DEACTIVATE)))
        assert r.success
        spin_until(lambda: False, 1.0)
        n_inactive = len(poses)
        spin_until(lambda: False, 2.0)
        assert len(poses) == n_inactive
        r = call(change_state, ChangeState.Request(transition=Transition(id=Transition.TRANSITION_ACTIVATE)))
        assert r.success
        assert spin_until(lambda: len(poses) >= n_inactive + 3, 60)

        # 4. invalid parameter updates are refused with a reason; valid ones are applied
        def param(name, **value):
            return Parameter(name=name, value=ParameterValue(**value))

        bad = [param("max_persons", type=ParameterType.PARAMETER_INTEGER, integer_value=0),
               param("ordering", type=ParameterType.PARAMETER_STRING, string_value="by_size"),
               param("backend", type=ParameterType.PARAMETER_STRING, string_value="3dmppe"),
               param("refine", type=ParameterType.PARAMETER_STRING, string_value="yes")]
        for p in bad:
            result = call(set_params, SetParameters.Request(parameters=[p])).results[0]
            assert not result.successful and result.reason, p.name
        ok = call(set_params, SetParameters.Request(parameters=[
            param("refine", type=ParameterType.PARAMETER_BOOL, bool_value=False)])).results[0]
        assert ok.successful, ok.reason
        n = len(poses)
        assert spin_until(lambda: len(poses) >= n + 3, 30)
        assert len(poses[-1].interaction) == 0  # refine off: no attention published
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)
        stop(*procs, sig=signal.SIGTERM, timeout_s=15)
