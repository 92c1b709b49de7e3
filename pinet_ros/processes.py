"""The node and the player as OS processes: how to start them and how to stop them (demo, benchmarks, tests).

No rclpy and no torch here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


def node_command() -> list[str] | None:
    """The installed `pinet_node` executable (found through AMENT_PREFIX_PATH, as `ros2 run` would), run by
    this interpreter; None when it is not installed (`make setup` installs it)."""
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        exe = Path(prefix) / "lib" / "pinet_ros" / "pinet_node"
        if prefix and exe.is_file():
            return [sys.executable, str(exe)]
    return None


def cli_command(*args: str) -> list[str]:
    """`pinet-ros ARGS...` run by this interpreter (works without the console script on PATH)."""
    return [sys.executable, "-m", "pinet_ros.cli", *args]


def stop(*procs: subprocess.Popen | None, sig: int = signal.SIGINT, timeout_s: float = 20.0) -> None:
    """Send `sig` to every process still running, wait up to `timeout_s` for each, kill those that remain."""
    running = [p for p in procs if p is not None and p.poll() is None]
    for p in running:
        p.send_signal(sig)
    for p in running:
        try:
            p.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
