#!/usr/bin/env python3
"""Build the multi-person PoseLandmarker bundle ``data/models/pose_landmarker_multi.task`` (or PATH).

It is made from the two tflite files inside the installed ``mediapipe==0.10.21`` wheel
(``pose_detection.tflite``, ``pose_landmark_full.tflite``), with the normalisation metadata the Tasks API
needs added by mediapipe's own ``MetadataWriter``; see
``pinet_ros.models.mediapipe_backend.ensure_task_bundle``, which does the work (and which the backend also
calls lazily). Idempotent (a bundle built from the same wheel files is kept) and atomic.

Usage: python scripts/build_mediapipe_task.py [PATH]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=ROOT / "data" / "models" / "pose_landmarker_multi.task",
                        help="output .task file (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        from pinet_ros.models.mediapipe_backend import ensure_task_bundle
    except ImportError as err:
        print(f"build_mediapipe_task: cannot import pinet_ros ({err}); run it with the repo venv "
              "(.venv/bin/python) after 'pip install -e .'", file=sys.stderr)
        return 1
    try:
        path = ensure_task_bundle(args.path)
    except (ImportError, FileNotFoundError) as err:
        print(f"build_mediapipe_task: {err}", file=sys.stderr)
        return 1
    print(f"[build_mediapipe_task] {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
