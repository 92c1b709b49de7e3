"""NanoDet preprocessing and decoding (pure functions, hand-checked numbers) and the converted model on real
sample images against boxes checked by eye (`pinet_ros.benchmarks.people_truth`)."""

from __future__ import annotations

import numpy as np
import pytest

from pinet_ros.benchmarks import people_truth as T
from pinet_ros.models import nanodet as nd
from pinet_ros.models import person_models as pm


def test_letterbox_places_and_maps_back() -> None:
    img = np.zeros((480, 640, 3), np.uint8)
    img[100:200, 300:340] = 255
    blob, lb = nd.letterbox(img, 416)
    assert blob.shape == (1, 3, 416, 416) and blob.dtype == np.float32
    # 640x480 -> 416x312, centred: 52 px of grey above and below
    assert lb.scale == pytest.approx(0.65) and (lb.pad_x, lb.pad_y) == (0.0, 52.0)
    pad = (nd.PAD_VALUE - nd.MEAN_BGR) / nd.STD_BGR
    np.testing.assert_allclose(blob[0, :, 10, 200], pad, rtol=1e-6)  # padding row
    white = (255 - nd.MEAN_BGR) / nd.STD_BGR
    np.testing.assert_allclose(blob[0, :, 52 + 97, int(320 * 0.65)], white, rtol=1e-6)  # inside the square
    back = lb.to_source(np.array([[300 * 0.65, 52 + 100 * 0.65, 340 * 0.65, 52 + 200 * 0.65]]), 640, 480)
    np.testing.assert_allclose(back, [[300, 100, 340, 200]], atol=1e-9)
    # clipped to the image
    np.testing.assert_allclose(lb.to_source(np.array([[-10, 0, 500, 416]]), 640, 480), [[0, 0, 640, 480]])


def test_distance_is_the_softmax_expectation_over_11_bins() -> None:
    logits = np.full((2, 44), -50.0)
    for side, k in enumerate((0, 3, 7, 10)):  # sample 0: one-hot bins
        logits[0, side * 11 + k] = 50.0
    logits[1] = 0.0  # sample 1: uniform -> expectation 5
    d = nd.distances_from_bins(logits)
    np.testing.assert_allclose(d[0], [0, 3, 7, 10], atol=1e-12)
    np.testing.assert_allclose(d[1], [5, 5, 5, 5], atol=1e-12)
    two = np.full((1, 44), -50.0)
    two[0, [2, 3]] = 50.0  # half on bin 2, half on bin 3 (first side)
    assert nd.distances_from_bins(two)[0, 0] == pytest.approx(2.5)


def test_decode_level_hand_made_cell() -> None:
    """One person cell at stride 8, row 2, column 5 of a 416 input: centre ((5 + .5) 8, (2 + .5) 8) = (44, 20);
    bins one-hot at left 2, top 3, right 4, bottom 5 -> (44 - 16, 20 - 24, 44 + 32, 20 + 40)."""
    n = 52 * 52
    scores = np.zeros((n, 80))
    scores[2 * 52 + 5, 0] = 0.9
    scores[2 * 52 + 6, 1] = 0.95  # another class: not a person
    reg = np.full((n, 44), -50.0)
    for side, k in enumerate((2, 3, 4, 5)):
        reg[2 * 52 + 5, side * 11 + k] = 50.0
    boxes, s = nd.decode_level(scores, reg, 8, 416, score_threshold=0.5)
    np.testing.assert_allclose(boxes, [[28, -4, 76, 60]], atol=1e-9)
    np.testing.assert_allclose(s, [0.9])
    with pytest.raises(ValueError, match="cells"):
        nd.decode_level(scores[:-1], reg, 8, 416)


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 100, 200], [5, 5, 105, 205], [300, 0, 350, 100]], float)
    keep = nd.nms(boxes, np.array([0.6, 0.8, 0.7]), iou_threshold=0.6)
    assert keep.tolist() == [1, 2]
    assert nd.nms(np.zeros((0, 4)), np.zeros(0)).shape == (0,)


def test_split_outputs_by_shape() -> None:
    names = ["a", "b", "c", "d", "e", "f"]
    shapes = [(1, 169, 80), (1, 169, 44), (1, 676, 80), (1, 2704, 80), (1, 676, 44), (1, 2704, 44)]
    out = nd.split_outputs(names, [np.full(s, i, float) for i, s in enumerate(shapes)], 416)
    assert {k: (v[0][0, 0], v[1][0, 0]) for k, v in out.items()} == {8: (3, 5), 16: (2, 4), 32: (0, 1)}


@pytest.fixture(scope="module")
def detector() -> nd.NanoDet:
    try:
        path = pm.verified_model_path(pm.NANODET_FILE)
    except FileNotFoundError as exc:
        pytest.fail(str(exc))
    return nd.NanoDet(path, threads=2)


def test_detector_finds_the_hand_checked_boxes(detector: nd.NanoDet) -> None:
    for name in ("basketball1", "vtest_250", "vtest_650"):
        item = T.truth(name)
        boxes, scores = detector.detect(T.load_image(item), 0.5)
        s = T.score_boxes(boxes, item.people, item.ignore, min_iou=0.6)
        assert (s.hits, s.false_positives) == (len(item.people), 0), (name, s)
        assert np.all((scores >= 0.5) & (scores <= 1.0))


def test_cell_centre_convention_is_mirror_consistent(detector: nd.NanoDet) -> None:
    """Boxes of the mirrored image, mirrored back, sit where the original ones do. With the cell origin at the
    corner instead of the centre they would be off by half a stride each way (8-32 px apart)."""
    img = T.load_image(T.truth("vtest_250"))
    boxes, _ = detector.detect(img, 0.5)
    flipped, _ = detector.detect(np.ascontiguousarray(img[:, ::-1]), 0.5)
    w = img.shape[1]
    back = np.stack([w - flipped[:, 2], flipped[:, 1], w - flipped[:, 0], flipped[:, 3]], axis=1)
    assert len(boxes) == len(back) == 7
    shifts = []
    for b in boxes:
        m = back[np.argmax([T.iou(b, c) for c in back])]
        shifts.append(0.5 * ((m[0] + m[2]) - (b[0] + b[2])))
    assert abs(float(np.mean(shifts))) < 2.0, shifts
