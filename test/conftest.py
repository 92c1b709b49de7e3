"""Shared test setup: isolate every ROS 2 test run on its own DDS domain, on this host only."""

import os
import random
import sys

import pytest

# Keep concurrent test runs (and other sessions) apart: a random domain id <= 101, localhost discovery.
os.environ.setdefault("ROS_DOMAIN_ID", str(random.Random(os.getpid()).randint(1, 101)))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")

# Torch CPU threads for every test: PINET_TEST_TORCH_THREADS=N (default 1; 0 = torch's own default, which
# follows OMP_NUM_THREADS). Set again before each test, since code under test (Pipeline) may change it. Run
# the suite with 1 and 2 threads, and with ATEN_CPU_CAPABILITY=default/avx2/avx512, to check that SIMD width
# and thread count cannot flip a float comparison (README, "Tests on other machines").
TORCH_THREADS = int(os.environ.get("PINET_TEST_TORCH_THREADS", "1"))


def _apply_torch_threads() -> None:
    torch = sys.modules.get("torch")  # tests that use torch imported it at collection; don't load it for others
    if TORCH_THREADS > 0 and torch is not None and torch.get_num_threads() != TORCH_THREADS:
        torch.set_num_threads(TORCH_THREADS)


def pytest_report_header(config):
    import torch

    _apply_torch_threads()
    return (f"torch {torch.__version__}: {torch.get_num_threads()} CPU threads (PINET_TEST_TORCH_THREADS="
            f"{os.environ.get('PINET_TEST_TORCH_THREADS', '1 (default)')}), CPU capability "
            f"{torch.backends.cpu.get_cpu_capability()} (ATEN_CPU_CAPABILITY={os.environ.get('ATEN_CPU_CAPABILITY', 'unset')})")


@pytest.fixture(autouse=True)
def _torch_threads():
    _apply_torch_threads()
    yield


def _ros_available() -> bool:
    try:
        import rclpy  # noqa: F401
        from pinet_ros.msg import MultiPerson3DPose  # noqa: F401
    except ImportError:
        return False
    return True


def pytest_collection_modifyitems(config, items):
    if _ros_available():
        return
    skip = pytest.mark.skip(reason="rclpy or the built pinet_ros messages missing: run through scripts/env.sh")
    for item in items:
        if "ros" in item.keywords:
            item.add_marker(skip)
