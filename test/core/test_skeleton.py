import numpy as np
import pytest

from pinet_ros.core.skeleton import MUCO21, MUPOTS17, MUPOTS17_PARENTS, JointSet


def test_joint_sets_match_reference():
    assert MUCO21.num_joints == 21 and MUPOTS17.num_joints == 17
    assert MUPOTS17.joint_names == MUCO21.joint_names[:17]
    assert MUCO21.joint_names[MUCO21.root] == "pelvis"
    assert len(MUCO21.bones) == 20 and len(MUPOTS17.bones) == 16
    assert len(MUPOTS17_PARENTS) == 17


def test_flip_permutation_is_an_involution():
    perm = MUCO21.flip_permutation()
    assert np.array_equal(perm[perm], np.arange(21))
    assert perm[MUCO21.index("r_wrist")] == MUCO21.index("l_wrist")


def test_out_of_range_pairs_are_rejected():
    with pytest.raises(ValueError, match="out of range"):
        JointSet(name="bad", joint_names=("a", "b"), bones=((0, 2),), flip_pairs=(), root=0)
