#!/usr/bin/env python3
"""Setup's entry point for the topdown backend's model conversion (`pinet-ros models build` does the same);
see pinet_ros/models/person_models_build.py."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pinet_ros.models.person_models_build import main  # noqa: E402

sys.exit(main())
