"""The managed-node convention, in-process with the real embedded backend: configure loads, activate and
deactivate only start and stop processing (the networks stay loaded), cleanup frees them, start-up parameters
change only while unconfigured, and every accepted live change reaches the pipeline.

Durations of the transitions are printed (`pytest -s`), never asserted: what is asserted is the mechanism
that makes deactivate/activate fast (the same pipeline object stays loaded).
"""

import time

import pytest

pytestmark = pytest.mark.ros


@pytest.fixture
def node():
    import rclpy
    from rclpy.parameter import Parameter

    from pinet_ros.node import PinetNode

    context = rclpy.Context()
    rclpy.init(context=context)
    n = PinetNode(context=context, parameter_overrides=[Parameter("autostart", value=False),
                                                        Parameter("refine", value=False)])
    yield n
    n._release()
    n.destroy_node()
    rclpy.shutdown(context=context)


def _set(node, **values):
    from rclpy.parameter import Parameter

    return node.set_parameters([Parameter(k, value=v) for k, v in values.items()])[0]


def _timed(transition):
    t0 = time.perf_counter()
    result = transition()
    return result, (time.perf_counter() - t0) * 1e3


def test_every_transition(node):
    from rclpy.lifecycle import TransitionCallbackReturn as R

    assert node.pipeline is None and not node._configured
    result, configure_ms = _timed(node.trigger_configure)
    assert result == R.SUCCESS and node.pipeline is not None
    loaded = node.pipeline
    result, activate_ms = _timed(node.trigger_activate)
    assert result == R.SUCCESS and node._active and node._worker.is_alive()
    assert node._poses_pub.is_activated
    result, deactivate_ms = _timed(node.trigger_deactivate)
    assert result == R.SUCCESS and not node._active and node._worker is None
    assert node.pipeline is loaded  # a pause: nothing freed
    assert not node._poses_pub.is_activated
    result, reactivate_ms = _timed(node.trigger_activate)
    assert result == R.SUCCESS and node.pipeline is loaded  # nothing reloaded
    node.trigger_deactivate()
    result, cleanup_ms = _timed(node.trigger_cleanup)
    assert result == R.SUCCESS and node.pipeline is None and loaded.backend is None  # networks freed
    print(f"\nconfigure {configure_ms:.0f} ms, activate {activate_ms:.1f} ms, deactivate {deactivate_ms:.1f} ms, "
          f"activate again {reactivate_ms:.1f} ms, cleanup {cleanup_ms:.1f} ms")


def test_start_up_parameters_change_only_while_unconfigured(node):
    assert _set(node, small_people=True).successful  # unconfigured: accepted, used at the next configure
    node.trigger_configure()
    assert node.pipeline.config.small_people is True
    refused = _set(node, backend="3dmppe")
    assert not refused.successful and "only change while the node is unconfigured" in refused.reason
    assert node.get_parameter("backend").value == "topdown"
    node.trigger_cleanup()
    assert _set(node, small_people=False, device="cpu").successful
    node.trigger_configure()
    assert node.pipeline.config.small_people is False


def test_accepted_live_changes_reach_the_backend(node):
    node.trigger_configure()
    backend = node.pipeline.backend
    assert _set(node, max_persons=30).successful  # above the start-up 10: the landmarker is rebuilt
    assert backend.config.max_people == 30 and node.pipeline.config.max_persons == 30
    assert _set(node, score_threshold=0.2).successful  # below the start-up 0.5
    assert backend.config.min_person_score == 0.2
    refused = _set(node, flip_test=True)  # a 3dmppe setting: refused with the reason, not silently kept
    assert not refused.successful and "flip_test" in refused.reason
    assert node.get_parameter("flip_test").value is False and node.pipeline.config.flip_test is False
    assert _set(node, refine=True).successful and node.pipeline.pinet is not None
