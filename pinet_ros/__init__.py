"""pinet_ros: multi-person absolute 3D human pose estimation refined with PI-Net.

Sub-packages:
  core    numpy-only geometry and skeleton logic (no torch, no rclpy)
  models  torch networks and their pre/post-processing
  ros     message conversion (no torch)
"""

from pkgutil import extend_path

# The generated `pinet_ros.msg` lives in the colcon install space; when this source tree is imported
# first (e.g. `python -c` from the repository root), extend the package path so it is still found.
__path__ = extend_path(__path__, __name__)

__version__ = "0.1.0"
