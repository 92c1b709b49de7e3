#!/usr/bin/env bash
# GPU check of pinet_ros on a bare machine: the `bench gpu` figures and the CUDA-vs-CPU parity checks.
#
# Needs only a Python with torch (CUDA), torchvision, numpy, opencv(-python-headless), safetensors, scipy,
# onnx and onnxruntime: no ROS, no mediapipe, no network, no project venv. Uses the package from this
# working tree (PYTHONPATH=.). Writes into OUT_DIR (default: $OUT, else out/device_check):
#   env.txt            python, torch, CUDA, GPU (nvidia-smi)
#   bench_gpu.json/txt `python -m pinet_ros.benchmarks.gpu` figures (stage ms, frames/s, half vs float32, ...)
#   parity.json/txt    device-vs-CPU float32 checks (crop, 3dmppe joints, PI-Net) with their limits
#   pytest_cuda.txt    the CUDA-marked tests, when pytest is installed (skipped otherwise)
#   summary.txt        one line per step and its exit status
# Exit status: 0 when every step passed. On CUDA bounded to 7.5 minutes by the step time-outs.
#
# Usage: bench/device_check.sh [--device cuda|cpu] [--quick] [OUT_DIR]
#   --device cpu runs the same steps on the CPU (to test the script without a GPU); --quick uses smoke-test
#   sizes (the figures then mean little). PYTHON=/path/to/python picks the interpreter (default python3).
set -uo pipefail
cd "$(dirname "$0")/.."

DEVICE=cuda
QUICK=()
DEST="${OUT:-out/device_check}"
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE="$2"; shift 2 ;;
    --device=*) DEVICE="${1#--device=}"; shift ;;
    --quick) QUICK=(--quick); shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "device_check: unknown option $1" >&2; exit 2 ;;
    *) DEST="$1"; shift ;;
  esac
done
PY="${PYTHON:-python3}"
# step limits (s): on a GPU the three steps fit in 7.5 minutes; on a (shared, small) CPU they may take longer
if [ "$DEVICE" = cpu ]; then LIMITS=(900 1200 300); else LIMITS=(120 270 60); fi
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
mkdir -p "$DEST"
SUMMARY="$DEST/summary.txt"
: > "$SUMMARY"
STATUS=0
START=$(date +%s)

step() {  # step NAME SECONDS LOGFILE COMMAND...
  local name="$1" limit="$2" log="$3"; shift 3
  local t0 rc
  t0=$(date +%s)
  echo "== $name (limit ${limit}s)"
  timeout --kill-after=10 "$limit" "$@" > >(tee "$log") 2>&1
  rc=$?
  echo "$name: exit $rc in $(( $(date +%s) - t0 )) s" | tee -a "$SUMMARY"
  [ "$rc" -eq 0 ] || STATUS=1
}

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(uname -a)"
  "$PY" - <<'EOF' 2>&1
import platform, torch
print("python", platform.python_version(), "torch", torch.__version__, "cuda build", torch.version.cuda)
print("cuda available", torch.cuda.is_available(), "devices", torch.cuda.device_count())
if torch.cuda.is_available():
    print("gpu", torch.cuda.get_device_name(0), "capability", torch.cuda.get_device_capability(0))
for mod in ("torchvision", "onnx", "onnxruntime", "cv2", "safetensors", "scipy", "numpy"):
    try:
        print(mod, __import__(mod).__version__)
    except Exception as exc:  # report, the steps below say what it breaks
        print(mod, "MISSING", exc)
EOF
  command -v nvidia-smi >/dev/null && nvidia-smi || echo "nvidia-smi: not found"
} > "$DEST/env.txt" 2>&1
cat "$DEST/env.txt"

step parity "${LIMITS[0]}" "$DEST/parity.txt" "$PY" -m pinet_ros.benchmarks.gpu --parity --device "$DEVICE" \
  --out "$DEST/parity.json"
step bench_gpu "${LIMITS[1]}" "$DEST/bench_gpu.txt" "$PY" -m pinet_ros.benchmarks.gpu --device "$DEVICE" \
  --out "$DEST/bench_gpu.json" "${QUICK[@]}"
if "$PY" -c "import pytest" 2>/dev/null; then
  # the CUDA tests only (they skip themselves without CUDA); ROS/mediapipe tests are not collected
  step pytest_cuda "${LIMITS[2]}" "$DEST/pytest_cuda.txt" "$PY" -m pytest -q -p no:cacheprovider -m cuda test/test_cuda.py
else
  echo "pytest_cuda: skipped (pytest not installed)" | tee -a "$SUMMARY"
fi
echo "total: $(( $(date +%s) - START )) s, status $STATUS" | tee -a "$SUMMARY"
exit "$STATUS"
