"""Tracker: ids stable while people move a little, new ids for new people, resets on time jumps."""

import numpy as np
import pytest

from pinet_ros.core.tracking import Tracker, TrackerConfig, box_iou


def _boxes(xs):
    return np.array([[x, 100, 80, 200] for x in xs], float)


def test_box_iou_hand_computed():
    a = np.array([[0, 0, 10, 10]], float)
    b = np.array([[5, 0, 10, 10], [20, 20, 5, 5], [0, 0, 10, 10]], float)
    np.testing.assert_allclose(box_iou(a, b), [[50 / 150, 0.0, 1.0]])


def test_ids_follow_people_when_order_changes():
    tr = Tracker()
    roots = np.array([[-1.0, 0, 4], [1.0, 0, 5]])
    ids0 = tr.update(roots, _boxes([100, 400]), 0.0)
    assert list(ids0) == [1, 2]
    # next frame: same people moved 5 cm, listed in the other order
    ids1 = tr.update(roots[::-1] + [0.05, 0, 0], _boxes([405, 102]), 0.1)
    assert list(ids1) == [2, 1]


def test_new_person_gets_new_id_and_far_jump_is_not_matched():
    tr = Tracker(TrackerConfig(max_root_distance_m=0.5))
    tr.update(np.array([[0.0, 0, 4]]), _boxes([100]), 0.0)
    ids = tr.update(np.array([[0.02, 0, 4], [3.0, 0, 4]]), _boxes([101, 500]), 0.1)
    assert list(ids) == [1, 2]
    # a detection 2 m away with a non-overlapping box is someone else
    ids = tr.update(np.array([[2.0, 0, 7]]), _boxes([300]), 0.2)
    assert list(ids) == [3]


def test_tracks_expire_and_time_backwards_resets():
    tr = Tracker(TrackerConfig(max_age_s=0.5))
    tr.update(np.array([[0.0, 0, 4]]), _boxes([100]), 0.0)
    assert list(tr.update(np.array([[0.0, 0, 4]]), _boxes([100]), 1.0)) == [2]  # expired after 0.5 s
    assert list(tr.update(np.array([[0.0, 0, 4]]), _boxes([100]), 0.5)) == [3]  # time went back: reset
    assert tr.num_tracks == 1


def test_empty_frames_and_bad_shapes():
    tr = Tracker()
    assert tr.update(np.zeros((0, 3)), np.zeros((0, 4)), 0.0).shape == (0,)
    with pytest.raises(ValueError):
        tr.update(np.zeros((2, 3)), np.zeros((1, 4)), 0.0)
    with pytest.raises(ValueError):
        TrackerConfig(max_root_distance_m=0)


def test_distance_gate_grows_with_depth():
    # a 1.5 m jump with no box overlap: someone else at 3 m, but within monocular depth noise at 12 m
    near, far = Tracker(), Tracker()
    near.update(np.array([[0.0, 0, 3.0]]), _boxes([100]), 0.0)
    far.update(np.array([[0.0, 0, 12.0]]), _boxes([100]), 0.0)
    assert list(near.update(np.array([[0.0, 0, 4.5]]), _boxes([300]), 0.1)) == [2]
    assert list(far.update(np.array([[0.0, 0, 13.5]]), _boxes([300]), 0.1)) == [1]
