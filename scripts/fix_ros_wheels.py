"""Repair the exported CMake files of the unofficial ROS 2 PyPI wheels (run by scripts/setup.sh).

The wheels hard-code their build machine's Python include dir and numpy include dir. Rewrite them to this
interpreter's include dir and to NUMPY_INC (a link to numpy's headers outside the source tree, because
CMake refuses exported include paths inside it). Idempotent.

Usage: python scripts/fix_ros_wheels.py PREFIX NUMPY_INC
"""

import re
import sys
import sysconfig
from pathlib import Path

BUILD_PY_INCLUDE = "/opt/python/cp311-cp311/include/python3.11"
NUMPY_INCLUDE = re.compile(r"[^\";\s]*/site-packages/numpy/_?core/include")


def main() -> int:
    prefix, numpy_inc = Path(sys.argv[1]), sys.argv[2]
    py_include = sysconfig.get_paths()["include"]
    changed = 0
    for path in (prefix / "share").rglob("*.cmake"):
        text = path.read_text(errors="surrogateescape")
        if BUILD_PY_INCLUDE not in text and "numpy" not in text:
            continue
        new = NUMPY_INCLUDE.sub(numpy_inc, text.replace(BUILD_PY_INCLUDE, py_include))
        if new != text:
            path.write_text(new, errors="surrogateescape")
            changed += 1
    print(f"[setup] rewrote build-machine paths in {changed} CMake files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
