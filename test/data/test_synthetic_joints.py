"""The MuPoTS-like joint definitions of the synthetic scenes (opt-in, SceneConfig.mupots_joints)."""

import numpy as np


def test_mupots_joint_definitions_put_the_spine_half_way_and_widen_the_hips():
    from pinet_ros.data.synthetic import MUPOTS_HIP_WIDTH_M, SceneConfig, load_clip, make_scene, mupots_joints

    legacy = load_clip("walk")[0]
    j = mupots_joints(legacy)
    np.testing.assert_allclose(j[15], 0.5 * (j[14] + j[1]), atol=1e-12)
    assert abs(np.linalg.norm(j[11] - j[8]) - MUPOTS_HIP_WIDTH_M) < 1e-9
    np.testing.assert_allclose(0.5 * (j[8] + j[11]), 0.5 * (legacy[8] + legacy[11]), atol=1e-12)
    untouched = [k for k in range(17) if k not in (8, 11, 15)]
    np.testing.assert_array_equal(j[untouched], legacy[untouched])
    # legacy skeletons are what the issue measured: hips ~170 mm apart, spine well below half way
    assert 0.15 < np.linalg.norm(legacy[11] - legacy[8]) < 0.19
    g = make_scene("test", np.random.default_rng(0), SceneConfig(mupots_joints=True))
    np.testing.assert_allclose(g.gt_cam[:, 15], 0.5 * (g.gt_cam[:, 14] + g.gt_cam[:, 1]), atol=1e-6)
