"""`make demo`: the ROS 2 node on the embedded default, fed real pictures by a player process.

Three OS processes talk over DDS: the node (`pinet_node`), a player (`pinet-ros play`) and this recorder.
Two runs: basketball2.png (two men passing a ball) played as a 2 Hz camera, then the first frames of vtest.avi
(outdoor pedestrians) at their own rate (10 Hz). The node runs with the small-people pass on (vtest's
pedestrians are small); it is slower than 10 Hz then, so the node drops frames rather than queueing them, and
the vtest results cover the frames it took. The recorder keeps everything the node publishes (poses, markers,
overlay images) and writes, under the output folder:

  demo.mcap                    rosbag2 MCAP of /pinet/poses and /pinet/markers (both runs)
  basketball2_overlay.png      the node's 2D overlay (~/debug_image)
  basketball2_3d.png           all skeletons in 3D, initial (dashed) and refined (solid), front and top views
  vtest_annotated.mp4          the node's overlay of the vtest run as a video
  vtest_3d_<frame>.png         3D views of chosen vtest frames
  people_per_frame.txt         people found per frame, both runs

Run: `make demo` (sets up what is missing first), or `scripts/env.sh python -m pinet_ros.demo [--out DIR]`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from pinet_ros.processes import cli_command, node_command, stop

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"


@dataclass
class Recording:
    """What the recorder received in one run (messages in arrival order)."""

    poses: list = field(default_factory=list)
    markers: list = field(default_factory=list)
    overlays: list = field(default_factory=list)
    raw: list = field(default_factory=list)  # (kind "poses"/"markers", stamp_ns, cdr bytes)


def _node_command() -> list[str]:
    cmd = node_command()
    if cmd is None:
        raise SystemExit("pinet_node is not installed: run `make setup` (or use `make demo`)")
    return cmd


def _record_run(executor, rec: Recording, play_cmd: list[str], expected: int, timeout_s: float) -> None:
    """Start the player and spin until it has exited and either `expected` results arrived or 5 s passed."""
    player = subprocess.Popen(play_cmd)
    deadline = time.monotonic() + timeout_s
    grace_end = None
    try:
        while time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
            if player.poll() is not None:
                grace_end = grace_end or time.monotonic() + 5.0
                if len(rec.poses) >= expected or time.monotonic() > grace_end:
                    break
    finally:
        stop(player)


def _stamp_ns(header) -> int:
    return header.stamp.sec * 1_000_000_000 + header.stamp.nanosec


def _write_pictures(rec: Recording, out: Path, name: str, frames_3d: list[int], video: bool) -> list[Path]:
    from pinet_ros.render import plot_skeletons_3d
    from pinet_ros.ros.convert import frame_result_from_msg, image_to_rgb

    written = []
    overlays = {_stamp_ns(m.header): m for m in rec.overlays}
    if video and overlays:
        first = next(iter(overlays.values()))
        path = out / f"{name}_annotated.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (first.width, first.height))
        for stamp in sorted(overlays):
            writer.write(cv2.cvtColor(image_to_rgb(overlays[stamp]), cv2.COLOR_RGB2BGR))
        writer.release()
        written.append(path)
    elif overlays:
        last = overlays[max(overlays)]
        path = out / f"{name}_overlay.png"
        cv2.imwrite(str(path), cv2.cvtColor(image_to_rgb(last), cv2.COLOR_RGB2BGR))
        written.append(path)
    for k in frames_3d:
        if not rec.poses:
            break
        msg = rec.poses[min(k, len(rec.poses) - 1)]
        suffix = "" if len(frames_3d) == 1 else f"_{k:03d}"
        path = out / f"{name}_3d{suffix}.png"
        plot_skeletons_3d(frame_result_from_msg(msg), path, title=f"{name} frame {k}: {len(msg.persons)} people")
        written.append(path)
    return written


def run_demo(out: Path, vtest_frames: int = 150, node_params: list[str] | None = None) -> int:
    """Run both demo streams through the node and write the outputs; returns an exit code."""
    import rclpy
    from rclpy.qos import QoSProfile, qos_profile_sensor_data
    from rclpy.serialization import serialize_message
    from sensor_msgs.msg import Image
    from visualization_msgs.msg import MarkerArray

    from pinet_ros.io.bag_writer import PoseBagWriter
    from pinet_ros.msg import MultiPerson3DPose

    for name in ("basketball2.png", "vtest.avi"):
        if not (SAMPLES / name).is_file():
            raise SystemExit(f"{SAMPLES / name} missing: run scripts/get_samples.sh (make demo does it)")
    out.mkdir(parents=True, exist_ok=True)

    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    print(f"[demo] starting the node: {' '.join(_node_command())}", flush=True)
    # small_people: vtest's pedestrians are 60-120 px tall, below what the whole-frame pass finds
    params = ["marker_lifetime_s:=0.0", "small_people:=true", *(node_params or [])]
    node = subprocess.Popen(_node_command() + ["--ros-args"] + [a for p in params for a in ("-p", p)])
    context = rclpy.Context()
    rclpy.init(context=context)
    runs: dict[str, Recording] = {}
    current = Recording()
    try:
        sub = rclpy.create_node("pinet_demo_recorder", context=context)

        def keep(attr: str):
            def cb(msg) -> None:
                getattr(current, attr).append(msg)
                if attr == "poses":
                    current.raw.append(("poses", _stamp_ns(msg.header), serialize_message(msg)))
                elif attr == "markers" and msg.markers:
                    current.raw.append(("markers", _stamp_ns(msg.markers[0].header), serialize_message(msg)))
            return cb

        sub.create_subscription(MultiPerson3DPose, "/pinet/poses", keep("poses"), QoSProfile(depth=100))
        sub.create_subscription(MarkerArray, "/pinet/markers", keep("markers"), QoSProfile(depth=100))
        sub.create_subscription(Image, "/pinet/debug_image", keep("overlays"), qos_profile_sensor_data)
        executor = rclpy.executors.SingleThreadedExecutor(context=context)
        executor.add_node(sub)

        print("[demo] waiting for the node to load its models ...", flush=True)
        deadline = time.monotonic() + 180
        while sub.count_publishers("/pinet/poses") == 0 and time.monotonic() < deadline and node.poll() is None:
            executor.spin_once(timeout_sec=0.2)
        if node.poll() is not None:
            print("[demo] the node exited during start-up (see its message above)", file=sys.stderr)
            return 1
        time.sleep(3.0)  # the node configures (loads, warms up) after creating its publishers

        play = cli_command("play")
        print("[demo] run 1: basketball2.png as a 2 Hz camera, 10 frames", flush=True)
        current = runs.setdefault("basketball2", Recording())
        _record_run(executor, current, play + [str(SAMPLES / "basketball2.png"), "--rate", "2", "--loop",
                                               "--count", "10", "--wait", "30"], 10, 90)
        print(f"[demo] run 2: vtest.avi, first {vtest_frames} frames at 10 Hz", flush=True)
        current = runs.setdefault("vtest", Recording())
        _record_run(executor, current, play + [str(SAMPLES / "vtest.avi"), "--rate", "10", "--wait", "30",
                                               "--count", str(vtest_frames)], vtest_frames, vtest_frames / 10 * 3 + 90)
        sub.destroy_node()
    finally:
        rclpy.shutdown(context=context)
        stop(node)

    with PoseBagWriter(out / "demo.mcap", overwrite=True) as bag:
        for rec in runs.values():
            for kind, stamp_ns, cdr in sorted(rec.raw, key=lambda r: r[1]):
                bag.write_serialized(kind, stamp_ns, cdr)
    written = [out / "demo.mcap"]
    written += _write_pictures(runs["basketball2"], out, "basketball2", [len(runs["basketball2"].poses) - 1],
                               video=False)
    n = len(runs["vtest"].poses)
    written += _write_pictures(runs["vtest"], out, "vtest", sorted({n // 4, n // 2, 3 * n // 4}), video=True)
    lines = []
    for name, rec in runs.items():
        counts = [len(m.persons) for m in rec.poses]
        lines.append(f"{name}: {len(counts)} frames with results; people per frame: {counts}")
    (out / "people_per_frame.txt").write_text("\n".join(lines) + "\n")
    written.append(out / "people_per_frame.txt")
    print("\n".join(lines))
    print("[demo] wrote:")
    for path in written:
        print(f"  {path}")
    ok = all(len(rec.poses) > 0 for rec in runs.values())
    if not ok:
        print("[demo] some run produced no results", file=sys.stderr)
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="pinet_ros.demo", description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "demo_out"), help="output folder (default: demo_out/)")
    ap.add_argument("--vtest-frames", type=int, default=150, help="vtest.avi frames to play")
    ap.add_argument("-p", "--param", action="append", default=[], metavar="NAME:=VALUE",
                    help="node parameter, e.g. -p small_people:=true (repeatable)")
    args = ap.parse_args(argv)
    return run_demo(Path(args.out), vtest_frames=args.vtest_frames, node_params=args.param)


if __name__ == "__main__":
    sys.exit(main())
