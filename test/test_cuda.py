"""CUDA checks (skipped without a GPU): the device against the CPU, float32, same random weights and inputs.

Limits: see `pinet_ros.benchmarks.gpu.device_parity` (crops within the float32 sampling-position bound, joints
within 1 mm). `bench/device_check.sh` runs this file on a GPU machine.
"""

import numpy as np
import pytest
import torch

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device (torch.cuda.is_available() "
                                                                       "is False); run bench/device_check.sh on a GPU")]


def test_device_parity_with_cpu():
    from pinet_ros.benchmarks.gpu import device_parity

    res = device_parity("cuda")
    for name, c in res["checks"].items():
        print(f"{name}: {c['value']:.4g} (limit {c['limit']:.4g})")
    assert res["ok"], res["checks"]


def test_backend_half_precision_on_cuda_runs_float16_and_stays_close():
    from pinet_ros.benchmarks.gpu import _joints, random_stack, scene
    from pinet_ros.models.dmppe_backend import DmppeBackend, DmppeConfig

    nets = random_stack("cuda", seed=2, calib_batch=2)
    rgb, boxes, scores, intr = scene(3, seed=4)
    ref = _joints(DmppeBackend.from_models(DmppeConfig("", "", device="cuda"), *nets)
                  .estimate_boxes(rgb, intr, boxes, scores))
    seen = []
    hook = nets[2].head.final_layer.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    try:
        half = DmppeBackend.from_models(DmppeConfig("", "", device="cuda", half_precision=True, channels_last=True),
                                        *nets)
        got = _joints(half.estimate_boxes(rgb, intr, boxes, scores))
    finally:
        hook.remove()
    assert seen == [torch.float16]
    assert got.shape == ref.shape == (3, 17, 3) and np.all(np.isfinite(got))
    print(f"half vs float32: max {np.abs(got - ref).max():.3f} mm (random weights: not the real networks' figure)")


def test_half_trunk_error_follows_float16_rounding():
    from pinet_ros.benchmarks.gpu import half_trunk_error, random_stack, trunk_error_bound

    _, _, posenet = random_stack("cuda", seed=3, calib_batch=2, calibrate_detector=False)
    err = half_trunk_error(posenet, torch.device("cuda"))
    print(f"PoseNet trunk, float16 vs float32: relative error {err:.2e}")
    assert err <= trunk_error_bound(2.0 ** -11)
