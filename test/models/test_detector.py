"""PersonDetector: loading torchvision-format weight files offline, and person-box selection."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pinet_ros.models.checkpoint import WeightLoadError
from pinet_ros.models.detector import VARIANTS, PersonDetector, build_fasterrcnn, person_boxes_from_output

SMALL = {"min_size": 320, "max_size": 320}


@pytest.fixture(scope="module")
def v1_file(tmp_path_factory):
    """A random-weight v1 state dict saved with torch.save, as torchvision publishes it."""
    torch.manual_seed(0)
    model = build_fasterrcnn("v1", **SMALL)
    path = tmp_path_factory.mktemp("w") / VARIANTS["v1"][1]
    torch.save(model.state_dict(), path)
    return path


def test_filter_keeps_person_sorted_capped_xywh():
    output = {
        "boxes": torch.tensor([[0, 0, 10, 20], [5, 5, 15, 10], [1, 2, 4, 8], [0, 0, 1, 1], [10, 10, 30, 50]],
                              dtype=torch.float32),
        "labels": torch.tensor([1, 3, 1, 1, 1]),
        "scores": torch.tensor([0.6, 0.99, 0.9, 0.3, 0.8]),
    }
    boxes, scores = person_boxes_from_output(output, score_threshold=0.5, max_persons=2)
    assert boxes.dtype == np.float32 and scores.dtype == np.float32
    np.testing.assert_allclose(scores, [0.9, 0.8], rtol=1e-6)
    np.testing.assert_allclose(boxes, [[1, 2, 3, 6], [10, 10, 20, 40]])
    boxes, scores = person_boxes_from_output(output, score_threshold=0.5, max_persons=None)
    np.testing.assert_allclose(scores, [0.9, 0.8, 0.6], rtol=1e-6)
    assert boxes.shape == (3, 4)


def test_filter_empty():
    output = {"boxes": torch.zeros((0, 4)), "labels": torch.zeros((0,), dtype=torch.int64), "scores": torch.zeros((0,))}
    boxes, scores = person_boxes_from_output(output)
    assert boxes.shape == (0, 4) and scores.shape == (0,)
    assert boxes.dtype == np.float32 and scores.dtype == np.float32


def test_load_from_path_and_detect(v1_file):
    det = PersonDetector(v1_file, variant="v1", score_threshold=0.0, max_persons=5, **SMALL)
    ref = torch.load(v1_file, weights_only=True)
    own = det.model.state_dict()
    key = "backbone.body.conv1.weight"
    assert torch.equal(own[key], ref[key])
    image = np.random.default_rng(0).integers(0, 256, size=(480, 640, 3), dtype=np.uint8)
    boxes, scores = det.detect(image)
    assert boxes.dtype == np.float32 and scores.dtype == np.float32
    assert boxes.ndim == 2 and boxes.shape[1] == 4 and scores.shape == (boxes.shape[0],)
    assert boxes.shape[0] <= 5
    assert np.all(np.diff(scores) <= 0)
    assert np.all(boxes[:, 2:] >= 0)
    with pytest.raises(ValueError):
        det.detect(image.astype(np.float32))


def test_load_from_hub_cache(v1_file, tmp_path, monkeypatch):
    hub = tmp_path / "hub"
    (hub / "checkpoints").mkdir(parents=True)
    (hub / "checkpoints" / VARIANTS["v1"][1]).symlink_to(v1_file)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    det = PersonDetector(None, variant="v1", **SMALL)
    assert det.weights_path == hub / "checkpoints" / VARIANTS["v1"][1]


def test_missing_hub_file_names_it(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(WeightLoadError, match=VARIANTS["v1"][1]):
        PersonDetector(None, variant="v1", **SMALL)


def test_v2_file_as_v1_raises(tmp_path):
    path = tmp_path / VARIANTS["v2"][1]
    torch.save(build_fasterrcnn("v2", **SMALL).state_dict(), path)
    with pytest.raises(WeightLoadError, match=path.name):
        PersonDetector(path, variant="v1", **SMALL)
