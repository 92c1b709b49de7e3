"""The pinet_ros ROS 2 node: a managed (lifecycle) node that stays thin.

It declares the parameters of `pinet_ros.params`, pairs each Image with its CameraInfo, hands the newest
frame to one worker thread (older unprocessed frames are dropped and counted, so there is never a backlog),
calls `pinet_ros.pipeline.Pipeline`, and publishes what `pinet_ros.ros.convert` builds.

Lifecycle (the ROS 2 managed-node convention): configure loads and warms up the networks (a missing weight
file fails the transition with one message naming the file, where it was looked for and how to get it);
activate starts processing and the lifecycle publishers; deactivate only stops them (a fast pause: the
networks stay loaded); cleanup frees the networks (and GPU memory). Start-up parameters (backend, device,
weights, ...) may change only while the node is unconfigured. With `autostart: true` (default) the node
configures and activates itself.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.executors import ExternalShutdownException
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import State, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image
from visualization_msgs.msg import MarkerArray

from pinet_ros import params as P
from pinet_ros.core.stats import StreamStats, format_value
from pinet_ros.msg import MultiPerson3DPose
from pinet_ros.ros import convert
from pinet_ros.ros.depth_tf_node import DepthTfIO

_INFO_HISTORY = 64


def descriptor(spec: P.ParamSpec) -> ParameterDescriptor:
    """The ROS parameter descriptor of one `ParamSpec` (type, description, range, read-only)."""
    description = spec.description + (" (start-up: change while the node is unconfigured)" if spec.startup else "")
    d = ParameterDescriptor(name=spec.name, description=description, read_only=spec.read_only)
    if spec.type is float and (spec.low is not None or spec.high is not None):
        d.floating_point_range = [FloatingPointRange(from_value=float(spec.low), to_value=float(spec.high),
                                                     step=0.0)]
    elif spec.type is int and (spec.low is not None or spec.high is not None):
        d.integer_range = [IntegerRange(from_value=int(spec.low), to_value=int(spec.high), step=1)]
    if spec.choices:
        d.additional_constraints = "one of: " + ", ".join(spec.choices)
    elif spec.pattern:
        d.additional_constraints = "matches " + spec.pattern
    return d


class PinetNode(LifecycleNode):
    """Subscribes `image` + `camera_info` (and `depth` + `depth_camera_info` with use_depth); publishes `~/poses`,
    `~/markers`, `~/debug_image`, `/diagnostics` and the person frames on `/tf` (publish_tf)."""

    def __init__(self, node_name: str = "pinet", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        for spec in P.ALL_PARAMS:
            self.declare_parameter(spec.name, spec.default, descriptor(spec))
        self.values: dict[str, Any] = {spec.name: self.get_parameter(spec.name).value for spec in P.ALL_PARAMS}
        reasons = P.validate(self.values)
        if reasons:
            raise ValueError("invalid parameters: " + "; ".join(reasons))
        self.add_on_set_parameters_callback(self._on_set_parameters)

        self.stats = StreamStats()
        self.pipeline = None
        self._lock = threading.Condition()
        self._pipeline_lock = threading.Lock()  # held by the worker for a frame and by live setting changes
        self._pending: tuple | None = None  # (rgb, intrinsics, stamp_ns, header, t_received)
        self._pairer = convert.CameraInfoPairer(tolerance_ns=_ns(self.values["sync_tolerance_s"]),
                                                history=_INFO_HISTORY)
        self._waiting: Image | None = None  # newest image received before any valid CameraInfo
        self._active = False
        self._worker: threading.Thread | None = None
        self._last_persons = 0
        self._reported: dict[str, int] = {}  # fault counters at the last diagnostics report
        self._warned: dict[str, tuple[float, int]] = {}

        self._configured = False
        # Lifecycle publishers: they publish only while the node is active.
        self._poses_pub = self.create_lifecycle_publisher(MultiPerson3DPose, "~/poses", QoSProfile(depth=10))
        self._markers_pub = self.create_lifecycle_publisher(MarkerArray, "~/markers", QoSProfile(depth=10))
        self._debug_pub = self.create_lifecycle_publisher(Image, "~/debug_image", qos_profile_sensor_data)
        self._diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", QoSProfile(depth=10))
        self.create_subscription(CameraInfo, "camera_info", self._on_info, qos_profile_sensor_data)
        self.create_subscription(Image, "image", self._on_image, qos_profile_sensor_data)
        self._depth_tf = DepthTfIO(self)  # `depth` + `depth_camera_info` when use_depth; /tf when publish_tf
        self._diag_timer = self.create_timer(self.values["diagnostics_period_s"], self._publish_diagnostics)

    # ------------------------------------------------------------------ parameters
    def _on_set_parameters(self, parameters: list[Parameter]) -> SetParametersResult:
        changes = {p.name: p.value for p in parameters}
        reasons = P.validate(changes)
        startup = [k for k, v in changes.items() if k in P.SPECS and P.SPECS[k].startup and v != self.values.get(k)]
        if startup and self._configured:
            reasons.append(f"{', '.join(startup)} can only change while the node is unconfigured (start-up "
                           "parameters: deactivate and clean up the node, set them, then configure)")
        if not reasons and self.pipeline is not None:
            pipeline_changes = {k: v for k, v in changes.items()
                                if k in {s.name for s in P.PIPELINE_PARAMS} and not P.SPECS[k].startup}
            if pipeline_changes:
                try:
                    with self._pipeline_lock:  # never change settings in the middle of a frame
                        self.pipeline.update(**pipeline_changes)
                except Exception as exc:  # PipelineError or a bad combination
                    reasons.append(str(exc))
        if reasons:
            reason = "; ".join(reasons)
            self.get_logger().warning(f"parameter change refused: {reason}")
            return SetParametersResult(successful=False, reason=reason)
        self.values.update(changes)
        if "sync_tolerance_s" in changes:
            with self._lock:
                self._pairer.tolerance_ns = _ns(changes["sync_tolerance_s"])
        if "diagnostics_period_s" in changes:
            self._diag_timer.cancel()
            self.destroy_timer(self._diag_timer)
            self._diag_timer = self.create_timer(changes["diagnostics_period_s"], self._publish_diagnostics)
        return SetParametersResult(successful=True)

    # ------------------------------------------------------------------ lifecycle
    def _build_pipeline(self) -> bool:
        from pinet_ros.pipeline import Pipeline, PipelineConfig, PipelineError, set_torch_threads

        try:
            config = PipelineConfig.from_params(self.values)
            set_torch_threads(config)  # the node is the application: it owns the process-wide thread count
            pipeline = Pipeline(config)
            pipeline.warmup()
        except PipelineError as exc:
            self.get_logger().error(f"cannot start: {exc}")
            return False
        except Exception as exc:  # noqa: BLE001 - e.g. a model runtime failing to initialise
            self.get_logger().error(f"cannot start: {type(exc).__name__}: {exc}")
            return False
        self.pipeline = pipeline
        self.get_logger().info(f"pipeline ready: backend={self.values['backend']} device={self.values['device']} "
                               f"refine={self.values['refine']} pinet={pipeline.pinet_path}")
        return True

    def _free_pipeline(self) -> None:
        if self.pipeline is not None:
            self.pipeline.close()
            self.pipeline = None

    def on_configure(self, state: State) -> TransitionCallbackReturn:
        if not self._build_pipeline():
            return TransitionCallbackReturn.FAILURE
        self._configured = True
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        if self.pipeline is None:  # not reachable through the lifecycle state machine; kept for safety
            self.get_logger().error("cannot activate: the node is not configured")
            return TransitionCallbackReturn.FAILURE
        with self._lock:
            self._pending = None
            self._active = True
        self._worker = threading.Thread(target=self._work, name="pinet_worker", daemon=True)
        self._worker.start()
        return super().on_activate(state)  # activates the lifecycle publishers

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        self._stop_worker()  # a pause: the networks stay loaded, so activate is immediate
        return super().on_deactivate(state)

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def _release(self) -> None:
        """Stop processing and free the networks (and GPU memory): back to unconfigured."""
        self._stop_worker()
        self._free_pipeline()
        self._configured = False

    def _stop_worker(self) -> None:
        with self._lock:
            self._active = False
            self._pending = None
            self._waiting = None
            self._lock.notify_all()
        if self._worker is not None:
            self._worker.join(timeout=30.0)
            self._worker = None

    # ------------------------------------------------------------------ input
    def _warn(self, kind: str, text: str) -> None:
        """Log `text` at most once per warn_throttle_s for each `kind`, with the count suppressed meanwhile.

        Own throttle: rclpy throttles per call site, which would let one kind of fault hide another."""
        now = time.monotonic()
        with self._lock:
            last, suppressed = self._warned.get(kind, (-1e18, 0))
            if now - last < self.values["warn_throttle_s"]:
                self._warned[kind] = (last, suppressed + 1)
                return
            self._warned[kind] = (now, 0)
        more = f" ({suppressed} more since the last warning)" if suppressed else ""
        self.get_logger().warning(text + more)

    def _guarded(self, take, msg, kind: str, what: str) -> None:
        """Run a subscription's handler; anything it raises is counted and warned, never passed on (a callback
        that raises would stop the executor)."""
        try:
            take(msg)
        except Exception as exc:  # noqa: BLE001
            self.stats.count("errors")
            self._warn(kind, f"{what} skipped: {type(exc).__name__}: {exc}")

    def _on_info(self, msg: CameraInfo) -> None:
        self._guarded(self._take_info, msg, "info_error", "CameraInfo")

    def _take_info(self, msg: CameraInfo) -> None:
        # Validated on arrival so that a broken CameraInfo never replaces a good one.
        try:
            with self._lock:
                self._pairer.add(msg)
                waiting, self._waiting = self._waiting, None
        except convert.InvalidMessage as exc:
            self.stats.count("invalid")
            self._warn("bad_info", f"bad CameraInfo skipped: {exc}")
            return
        if waiting is not None:  # the first image of a stream, which came before any CameraInfo
            self._pair_and_enqueue(waiting, convert.stamp_to_ns(waiting.header.stamp))

    def _on_image(self, msg: Image) -> None:
        self._guarded(self._take_image, msg, "image_error", "image")

    def _take_image(self, msg: Image) -> None:
        """Validate and decode at once (cheap next to the models), so a bad image never displaces a good
        pending one; the worker only ever sees frames it can process."""
        self.stats.input()
        if not self._active:
            return
        try:
            stamp_ns = convert.stamp_to_ns(msg.header.stamp)
        except convert.InvalidMessage as exc:
            self.stats.count("invalid")
            self._warn("bad_image", f"bad image skipped: {exc}")
            return
        self._pair_and_enqueue(msg, stamp_ns)

    def _pair_and_enqueue(self, msg: Image, stamp_ns: int) -> None:
        try:
            with self._lock:
                intrinsics = self._pairer.pair(convert.int_field(msg, "width"), convert.int_field(msg, "height"),
                                               stamp_ns)
            if intrinsics is None:
                # Before any CameraInfo: keep the newest image until one arrives (its CameraInfo may simply
                # have been delivered after it); the one it replaces is skipped.
                with self._lock:
                    replaced, self._waiting = self._waiting, msg
                if replaced is not None:
                    self.stats.count("no_camera_info")
                    self._warn("no_info", "no valid CameraInfo received yet on 'camera_info': image skipped")
                return
            rgb = convert.image_to_rgb(msg)
        except convert.InvalidMessage as exc:
            self.stats.count("invalid")
            self._warn("bad_image", f"bad image skipped: {exc}")
            return
        with self._lock:
            if self._pending is not None:
                self.stats.count("dropped")
            self._pending = (rgb, intrinsics, stamp_ns, msg.header, time.monotonic())
            self._lock.notify()

    # ------------------------------------------------------------------ worker
    def _work(self) -> None:
        while True:
            with self._lock:
                while self._active and self._pending is None:
                    self._lock.wait(timeout=0.5)
                if not self._active:
                    return
                frame = self._pending
                self._pending = None
            try:
                self._process(*frame)
            except Exception as exc:  # noqa: BLE001 - the node must survive anything a frame does
                if not self.context.ok():  # shutting down (Ctrl-C) while a frame was in flight
                    return
                self.stats.count("errors")
                self.get_logger().error(f"frame skipped: {type(exc).__name__}: {exc}",
                                        throttle_duration_sec=self.values["warn_throttle_s"])

    def _process(self, rgb, intrinsics, stamp_ns: int, header, t_received: float) -> None:
        pipeline = self.pipeline
        if pipeline is None:
            return
        depth = self._depth_tf.depth_for(stamp_ns)  # None unless use_depth (then people are flagged monocular)
        with self._pipeline_lock:
            result = pipeline.process(rgb, intrinsics, stamp_ns, header.frame_id, depth=depth)
        if result.lift_failures:
            self.stats.count("lift_failures", result.lift_failures)
            self._warn("lift", f"{result.lift_failures} person(s) found but not placed in 3D (failed lift) "
                               "in the last frame")
        poses = convert.frame_result_to_msg(result)
        if not self._active:
            return
        self._poses_pub.publish(poses)
        self._depth_tf.publish_tf(result)
        if self.values["publish_markers"]:
            self._markers_pub.publish(convert.frame_result_to_markers(result,
                                                                      lifetime_s=self.values["marker_lifetime_s"]))
        if self._debug_pub.get_subscription_count() > 0:
            from pinet_ros.render import draw_overlay

            self._debug_pub.publish(convert.rgb_to_image_msg(draw_overlay(rgb, result), header))
        now_ns = self.get_clock().now().nanoseconds
        self._last_persons = len(result.persons)
        self.stats.output(latency_s=(now_ns - stamp_ns) * 1e-9, processing_s=time.monotonic() - t_received)

    # ------------------------------------------------------------------ diagnostics
    def _publish_diagnostics(self) -> None:
        snap = self.stats.snapshot()
        status = DiagnosticStatus(name=f"{self.get_name()}: pose pipeline", hardware_id=self.values["device"])
        if self.pipeline is None or not self._active:
            status.level, status.message = DiagnosticStatus.WARN, "inactive"
        elif snap["input_rate_hz"] == 0:
            status.level, status.message = DiagnosticStatus.WARN, "no images"
        elif snap["output_rate_hz"] == 0:
            status.level, status.message = DiagnosticStatus.WARN, "images arrive but nothing is published"
        else:
            status.level, status.message = DiagnosticStatus.OK, "running"
        # Input refused or people lost since the last report make the status WARN, never "all is well".
        faults = {k: snap[k] - self._reported.get(k, 0) for k in ("invalid", "lift_failures", "errors")}
        self._reported = {k: snap[k] for k in faults}
        if status.level == DiagnosticStatus.OK and any(faults.values()):
            status.level = DiagnosticStatus.WARN
            status.message = "running; since the last report: " + ", ".join(
                f"{n} {k.replace('_', ' ')}" for k, n in faults.items() if n)
        snap["persons_last_frame"] = int(self._last_persons)
        status.values = [KeyValue(key=k, value=format_value(v)) for k, v in snap.items()]
        self._diag_pub.publish(DiagnosticArray(header=_header_now(self), status=[status]))


def _ns(seconds: float) -> int:
    return int(round(seconds * 1e9))


def _header_now(node: LifecycleNode):
    from std_msgs.msg import Header

    return Header(stamp=node.get_clock().now().to_msg())


def main(argv: list[str] | None = None) -> int:
    """Run the node until Ctrl-C; standard --ros-args (remappings, -p, --params-file) are accepted.

    Exit codes: 0 normal shutdown, 1 configuration failed (e.g. weights), 2 invalid parameters at start-up.
    """
    rclpy.init(args=argv if argv is not None else sys.argv)
    node = None
    code = 0
    try:
        try:
            node = PinetNode()
        except Exception as exc:  # noqa: BLE001 - rclpy raises its own types for out-of-range overrides
            print(f"pinet_node: cannot start: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 2
        if node.values["autostart"]:
            if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
                node.get_logger().fatal("configuration failed (see the error above); exiting")
                return 1
            node.trigger_activate()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node._release()
            node.destroy_node()
        rclpy.try_shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
