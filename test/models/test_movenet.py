"""MoveNet MultiPose: input sizing and decoding (hand-made outputs), the converted model on real sample images
against boxes checked by eye (`pinet_ros.benchmarks.people_truth`), and its place in the topdown backend."""

from __future__ import annotations

import numpy as np
import pytest

from pinet_ros.benchmarks import people_truth as T
from pinet_ros.models import movenet as mn
from pinet_ros.models import person_models as pm


def test_input_size_keeps_the_aspect_in_multiples_of_32() -> None:
    assert mn.input_size(640, 480, 384) == (384, 288)
    assert mn.input_size(768, 576, 384) == (384, 288)
    assert mn.input_size(548, 342, 384) == (384, 224)  # 239.6 -> 224 (nearest multiple of 32)
    assert mn.input_size(480, 640, 448) == (320, 448)  # portrait
    assert mn.input_size(2000, 20, 384) == (384, 32)  # never below one stride
    with pytest.raises(ValueError):
        mn.input_size(0, 480)


def _slot(y1: float, x1: float, y2: float, x2: float, score: float, kp: tuple[float, float, float]) -> np.ndarray:
    row = np.zeros(mn.OUTPUT_WIDTH)
    row[:51] = np.tile(kp, 17)
    row[51:56] = (y1, x1, y2, x2, score)
    return row


def test_decode_hand_made_output() -> None:
    """Normalised (y, x) order and the box's (ymin, xmin, ymax, xmax) become source px (x, y); slots are sorted
    by score, and weak or empty ones are dropped; a box reaching past the image is clipped."""
    out = np.stack([
        _slot(0.1, 0.2, 0.6, 0.3, 0.30, (0.5, 0.25, 0.9)),
        _slot(0.0, 0.5, 1.2, 0.9, 0.80, (0.25, 0.75, 0.8)),  # bottom past the image: clipped
        _slot(0.5, 0.5, 0.5, 0.6, 0.90, (0.5, 0.5, 0.9)),  # zero height: dropped
        *[_slot(0, 0, 0, 0, 0.01, (0, 0, 0))] * 3,  # empty slots
    ])[None]
    r = mn.decode(out, 640, 480, score_threshold=0.1)
    np.testing.assert_allclose(r.scores, [0.8, 0.3])
    np.testing.assert_allclose(r.boxes, [[320, 0, 576, 480], [128, 48, 192, 288]])
    np.testing.assert_allclose(r.keypoints[1, 0], [0.25 * 640, 0.5 * 480, 0.9])
    np.testing.assert_allclose(r.keypoints[0, 16], [0.75 * 640, 0.25 * 480, 0.8])
    assert r.keypoints.shape == (2, 17, 3)
    assert len(mn.decode(out, 640, 480, score_threshold=0.95).scores) == 0


@pytest.fixture(scope="module")
def model() -> mn.MoveNetMultiPose:
    try:
        path = pm.verified_model_path(pm.MOVENET_FILE)
    except FileNotFoundError as exc:
        pytest.fail(str(exc))
    return mn.MoveNetMultiPose(path, threads=2)


def test_model_finds_the_hand_checked_boxes(model: mn.MoveNetMultiPose) -> None:
    """Two frames of people walking (some seen from behind, 25-55 px wide) and two players (one cut by the
    border); at 0.1 (the backend's threshold with its default scale) every person counted by eye and nothing
    else, once the model's own duplicates are merged (the cut player comes twice, IoU 0.8: the backend's
    `merge_iou` NMS does this)."""
    from pinet_ros.models.nanodet import nms

    for name in ("basketball1", "vtest_450", "vtest_650"):
        item = T.truth(name)
        r = model.detect(np.ascontiguousarray(T.load_image(item)[:, :, ::-1]), 0.1)
        keep = nms(r.boxes, r.scores, 0.5)
        s = T.score_boxes(r.boxes[keep], item.people, item.ignore, min_iou=0.5)
        assert (s.hits, s.false_positives) == (len(item.people), 0), (name, s, r.scores)


def test_keypoints_lie_inside_their_person(model: mn.MoveNetMultiPose) -> None:
    """Confident keypoints of each found player fall inside that player's hand-checked box (with a margin of
    a tenth of its size): the (y, x) order and the scaling are right on a real image. The whole player (left)
    has at least 12 of 17 confident keypoints; the one cut at the hips fewer (legs outside the image)."""
    item = T.truth("basketball1")
    r = model.detect(np.ascontiguousarray(T.load_image(item)[:, :, ::-1]), 0.1)
    for box, kp in zip(r.boxes, r.keypoints):
        truth = max(item.people, key=lambda p: T.iou(box, p))
        x1, y1, x2, y2 = truth
        mx, my = 0.1 * (x2 - x1), 0.1 * (y2 - y1)
        sure = kp[kp[:, 2] >= 0.3]
        assert len(sure) >= (12 if truth == item.people[0] else 4)
        assert np.all((sure[:, 0] >= x1 - mx) & (sure[:, 0] <= x2 + mx) & (sure[:, 1] >= y1 - my)
                      & (sure[:, 1] <= y2 + my)), (truth, sure)
