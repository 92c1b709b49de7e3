"""`pinet_ros.core` must stay importable without torch and rclpy (the house rule of DESIGN.md)."""

import subprocess
import sys


def test_core_imports_neither_torch_nor_rclpy():
    code = (
        "import sys, pinet_ros.core, pinet_ros.core.skeleton\n"
        "bad = [m for m in ('torch', 'rclpy') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"pinet_ros.core pulled in: {out.stdout.strip()}"
