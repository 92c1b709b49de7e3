"""Benchmarks of the running node, as separate OS processes talking over DDS.

`stream`: `pinet-ros play` at a camera rate into the node on the embedded default; measures the output rate,
latency from image stamp to arrival of the poses (the player stamps frames with the wall clock, same machine),
frames dropped by the node (from its /diagnostics), and whether latency grows (backlog).

`soak`: pushes many frames through the node at a high rate and samples the node process's resident memory,
threads and open file descriptors from /proc after warm-up and at the end.

Run: `scripts/env.sh pinet-ros bench stream` / `pinet-ros bench soak`.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pinet_ros.processes import cli_command, stop

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


@dataclass
class ProcSample:
    """Resource use of one process at one moment."""

    t_s: float
    rss_mb: float
    threads: int
    fds: int


def sample_process(pid: int, t_s: float) -> ProcSample:
    """RSS (MiB), thread count and open file descriptors of `pid`, from /proc (Linux)."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    rss_kb = float(fields["VmRSS"].split()[0])
    return ProcSample(t_s, rss_kb / 1024.0, int(fields["Threads"]), len(os.listdir(f"/proc/{pid}/fd")))


@dataclass
class Collected:
    arrivals: list[tuple[float, float]] = field(default_factory=list)  # (monotonic s, latency s)
    diagnostics: dict[str, float] = field(default_factory=dict)
    samples: list[ProcSample] = field(default_factory=list)


def _play_command(source: Path, rate: float, count: int | None) -> list[str]:
    cmd = cli_command("play", str(source), "--rate", str(rate), "--loop")
    if count is not None:
        cmd += ["--count", str(count)]
    return cmd


def run_node_session(duration_s: float, rate: float, source: Path | None = None, frames: int | None = None,
                     warmup_frames: int = 0, sample_every_s: float = 5.0, node_args: list[str] | None = None,
                     quiet: bool = False) -> Collected:
    """Start node + player, subscribe to the node's outputs, collect for `duration_s` (or until `frames`
    have been received by the node), stop everything. Returns what was collected."""
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import QoSProfile

    from pinet_ros.msg import MultiPerson3DPose

    source = source or SAMPLES / "basketball2.png"
    if not source.exists():
        raise FileNotFoundError(f"{source} missing: run scripts/get_samples.sh (or make setup)")
    env = dict(os.environ)
    env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    out = None if not quiet else subprocess.DEVNULL
    node = subprocess.Popen(cli_command("run", "--", *(node_args or [])), env=env, stdout=out, stderr=out)
    context = rclpy.Context()
    rclpy.init(context=context)
    collected = Collected()
    player = None
    try:
        sub = rclpy.create_node("pinet_bench", context=context)

        def on_poses(msg: MultiPerson3DPose) -> None:
            now = time.time()
            stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
            collected.arrivals.append((time.monotonic(), now - stamp))

        def on_diag(msg: DiagnosticArray) -> None:
            for status in msg.status:
                if "pinet" in status.name:
                    collected.diagnostics = {kv.key: float(kv.value) for kv in status.values}

        sub.create_subscription(MultiPerson3DPose, "/pinet/poses", on_poses, QoSProfile(depth=100))
        sub.create_subscription(DiagnosticArray, "/diagnostics", on_diag, QoSProfile(depth=10))
        executor = rclpy.executors.SingleThreadedExecutor(context=context)
        executor.add_node(sub)
        # wait for the node to be up (its diagnostics arrive once configured)
        deadline = time.monotonic() + 120
        while not collected.diagnostics and time.monotonic() < deadline and node.poll() is None:
            executor.spin_once(timeout_sec=0.2)
        if node.poll() is not None:
            raise RuntimeError("the node exited during start-up")
        player = subprocess.Popen(_play_command(source, rate, None), env=env, stdout=out, stderr=out)
        t0 = time.monotonic()
        next_sample = t0
        warm_done = warmup_frames == 0
        while time.monotonic() - t0 < duration_s and node.poll() is None:
            executor.spin_once(timeout_sec=0.05)
            received = collected.diagnostics.get("received", 0)
            if not warm_done and received >= warmup_frames:
                warm_done = True
                collected.samples.append(sample_process(node.pid, time.monotonic() - t0))
                next_sample = time.monotonic() + sample_every_s
            elif warm_done and time.monotonic() >= next_sample:
                collected.samples.append(sample_process(node.pid, time.monotonic() - t0))
                next_sample = time.monotonic() + sample_every_s
                if not quiet:
                    s = collected.samples[-1]
                    print(f"  t={s.t_s:6.0f} s received={received:8.0f} rss={s.rss_mb:7.1f} MiB "
                          f"threads={s.threads} fds={s.fds}", flush=True)
            if frames is not None and received >= frames:
                break
        if node.poll() is None:
            collected.samples.append(sample_process(node.pid, time.monotonic() - t0))
        # one more diagnostics period for the final counters
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.1)
        sub.destroy_node()
    finally:
        rclpy.shutdown(context=context)
        stop(player, node)
    return collected


def _p95_ms(values: list[float]) -> float:
    return float(np.percentile(np.asarray(values) * 1e3, 95)) if values else float("nan")


def run_stream(rate: float = 30.0, duration_s: float = 60.0, source: Path | None = None) -> dict[str, float]:
    """`bench stream`: print and return output rate, latency percentiles, drops and the backlog check."""
    c = run_node_session(duration_s + 5.0, rate, source, quiet=True)
    if not c.arrivals:
        raise RuntimeError("no poses arrived from the node")
    t = np.array([a[0] for a in c.arrivals])
    lat = np.array([a[1] for a in c.arrivals])
    t_rel = t - t[0]
    first = lat[t_rel <= 10.0]
    last = lat[t_rel >= t_rel[-1] - 10.0]
    d = c.diagnostics
    res = {
        "output_rate_hz": (len(t) - 1) / max(t_rel[-1], 1e-9),
        "latency_p50_ms": float(np.percentile(lat, 50) * 1e3),
        "latency_p95_ms": float(np.percentile(lat, 95) * 1e3),
        "latency_max_ms": float(lat.max() * 1e3),
        "p95_first10s_ms": _p95_ms(list(first)), "p95_last10s_ms": _p95_ms(list(last)),
        "processing_p50_ms": d.get("processing_p50_ms", float("nan")),
        "received": d.get("received", float("nan")), "processed": d.get("processed", float("nan")),
        "dropped": d.get("dropped", float("nan")),
    }
    res["backlog_ratio"] = res["p95_last10s_ms"] / res["p95_first10s_ms"]
    res["p95_over_processing"] = res["latency_p95_ms"] / res["processing_p50_ms"]
    print(f"pinet-ros bench stream: player {rate:g} Hz for {duration_s:g} s into the node (embedded default)")
    for k, v in res.items():
        print(f"  {k:22s} {v:10.2f}")
    print(f"  no backlog (p95 last 10 s within 1.2x of first 10 s): {res['backlog_ratio'] <= 1.2}; "
          f"p95 below two frame-processing times: {res['p95_over_processing'] < 2.0}")
    return res


def run_soak(frames: int = 20000, rate: float = 60.0, warmup_frames: int = 1000, source: Path | None = None,
             max_duration_s: float = 3600.0) -> dict[str, float]:
    """`bench soak`: push `frames` images through the node; print memory, threads and fds over time."""
    print(f"pinet-ros bench soak: {frames} frames at {rate:g} Hz into the node; warm-up {warmup_frames} frames")
    c = run_node_session(max_duration_s, rate, source, frames=frames, warmup_frames=warmup_frames)
    if len(c.samples) < 2:
        raise RuntimeError("the node died or produced too few samples")
    first, last = c.samples[0], c.samples[-1]
    d = c.diagnostics
    res = {"frames_received": d.get("received", float("nan")), "frames_processed": d.get("processed", float("nan")),
           "dropped": d.get("dropped", float("nan")), "errors": d.get("errors", float("nan")),
           "rss_after_warmup_mb": first.rss_mb, "rss_end_mb": last.rss_mb,
           "rss_growth_pct": 100.0 * (last.rss_mb - first.rss_mb) / first.rss_mb,
           "threads_after_warmup": first.threads, "threads_end": last.threads,
           "fds_after_warmup": first.fds, "fds_end": last.fds, "duration_s": last.t_s}
    for k, v in res.items():
        print(f"  {k:22s} {v:10.2f}")
    print(f"  memory growth < 5 %: {res['rss_growth_pct'] < 5.0}; threads stable: {last.threads <= first.threads}; "
          f"fds stable: {last.fds <= first.fds}")
    return res
