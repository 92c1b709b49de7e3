#!/usr/bin/env bash
# The pinet_ros runtime environment: .venv + (system or wheel) ROS 2 + this package's install/ space,
# with the Fast DDS profile that lets large images through shared memory.
#   . scripts/env.sh            # in an interactive shell
#   scripts/env.sh CMD ARGS...  # run one command in it
_pinet_root=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)
if [ ! -f "$_pinet_root/install/setup.sh" ]; then
  echo "pinet_ros is not built yet: run 'make setup' first" >&2
  return 1 2>/dev/null || exit 1
fi
set +u
if [ -n "${ROS_DISTRO:-}" ] && [ -d "/opt/ros/${ROS_DISTRO}" ]; then
  . "/opt/ros/${ROS_DISTRO}/setup.sh"
fi
export VIRTUAL_ENV="$_pinet_root/.venv"
export PATH="$VIRTUAL_ENV/bin:$PATH"
export AMENT_PREFIX_PATH="${AMENT_PREFIX_PATH:-$VIRTUAL_ENV}"
COLCON_CURRENT_PREFIX="$_pinet_root/install" . "$_pinet_root/install/setup.sh"
export FASTRTPS_DEFAULT_PROFILES_FILE="${FASTRTPS_DEFAULT_PROFILES_FILE:-$_pinet_root/config/fastdds.xml}"
export PYTHONUNBUFFERED=1
unset _pinet_root
if [ "${BASH_SOURCE[0]:-$0}" = "$0" ] && [ $# -gt 0 ]; then
  exec "$@"
fi
