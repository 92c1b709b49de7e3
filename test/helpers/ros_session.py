"""Shared by the tests that run the node as its own OS process (imported after adding this folder to sys.path)."""

import time

import pytest

from pinet_ros.processes import node_command


def node_cmd(*params: str) -> list[str]:
    """The installed pinet_node executable, with `-p NAME:=VALUE` for each of `params`; fails the test (an
    install step is missing) when it is not there."""
    cmd = node_command()
    if cmd is None:
        pytest.fail("pinet_node executable not installed (run make setup)")
    if params:
        cmd = cmd + ["--ros-args"] + [a for p in params for a in ("-p", p)]
    return cmd


def spin_until(executor, cond, timeout_s: float, node_proc=None, period_s: float = 0.05,
               require_alive: bool = False) -> bool:
    """Spin `executor` until `cond()` holds or `timeout_s` passes; returns `cond()`.

    With `node_proc`, stop early when it exits, or (`require_alive`) fail the test there."""
    end = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < end:
        executor.spin_once(timeout_sec=period_s)
        if node_proc is not None and node_proc.poll() is not None:
            assert not require_alive, "the node died"
            break
    return cond()
