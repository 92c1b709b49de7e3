"""Clearly visible people in real sample images, counted by eye, and how to score a backend against them.

Sources (``data/samples``, Debian's opencv-doc via scripts/get_samples.sh): frames 250, 350, 450, 550, 650,
750 of ``vtest.avi`` (768x576 outdoor CCTV; the demo plays only frames 0-149), ``basketball1.png`` (640x480)
and ``messi5.jpg`` (548x342). ``basketball2.png`` is left out: the demo uses it.

How they were counted: each image was looked at whole and, where people are small or overlap, as 3-4x
enlarged crops. A person counts ("clearly visible") when at least 60 px tall in the source image and at least
half of the body is in the image and unoccluded. Boxes (x1, y1, x2, y2, source px) were first proposed by the
NanoDet detector at a low threshold (0.25), each proposal checked by eye against the picture and kept or
corrected, and people the detector missed added by hand (one: frame 350's man half hidden behind another).
People that exist but do not meet the bar (under 60 px, mostly hidden behind the sign or the lamp post,
spectators and a blurred player behind Messi) are *ignore* regions: finding them is neither a hit nor a false
positive. Non-people that the detector proposes at low scores (a traffic cone, a sign post, the ball) are not
listed: finding them is a false positive.

Counts: vtest 250: 7, 350: 5, 450: 3, 550: 5, 650: 6, 750: 7 (33 people); basketball1: 2 (the right one cut
by the border at the hips, torso visible); messi5: 1. Total 36.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class TruthImage:
    """One annotated image.

    Attributes:
        name: short name ("vtest_250", "basketball1", ...).
        file: file under data/samples.
        frame: frame index for a video (0-based, decoded in order), None for a still.
        people: clearly visible people, (x1, y1, x2, y2) source px.
        ignore: regions whose detections count neither way.
    """

    name: str
    file: str
    frame: int | None
    people: tuple[Box, ...]
    ignore: tuple[Box, ...] = ()


TRUTH: tuple[TruthImage, ...] = (
    TruthImage("vtest_250", "vtest.avi", 250, (
        (598, 253, 641, 356), (546, 189, 578, 264), (375, 232, 421, 325), (635, 121, 657, 183),
        (38, 173, 65, 244), (191, 152, 222, 224), (658, 127, 679, 186))),
    TruthImage("vtest_350", "vtest.avi", 350, (
        (671, 222, 701, 318), (471, 187, 509, 276), (694, 224, 730, 316), (384, 225, 415, 316),
        (381, 178, 405, 250)),  # the last one: behind the man at x 384-415, visible down to the thighs
        ignore=((426, 172, 448, 252),)),  # a man hidden behind the assembly-point sign
    TruthImage("vtest_450", "vtest.avi", 450, (
        (558, 243, 594, 337), (484, 182, 516, 258), (311, 209, 337, 288))),
    TruthImage("vtest_550", "vtest.avi", 550, (
        (594, 167, 630, 240), (235, 374, 289, 511), (641, 303, 672, 411), (169, 368, 225, 514),
        (125, 165, 154, 233)),
        ignore=((405, 160, 445, 250),)),  # a man behind the lamp post and the sign, waist up
    TruthImage("vtest_650", "vtest.avi", 650, (
        (642, 192, 671, 279), (467, 224, 501, 311), (331, 370, 385, 516), (318, 157, 348, 230),
        (140, 149, 163, 220), (221, 156, 241, 223))),
    TruthImage("vtest_750", "vtest.avi", 750, (
        (237, 214, 273, 301), (637, 217, 676, 318), (176, 205, 222, 282), (370, 183, 402, 258),
        (509, 177, 536, 249), (660, 117, 686, 177), (394, 206, 426, 300)),
        ignore=((736, 52, 764, 102),)),  # a small man by the parked car
    TruthImage("basketball1", "basketball1.png", None, ((34, 85, 170, 478), (425, 24, 636, 480))),
    TruthImage("messi5", "messi5.jpg", None, ((61, 65, 458, 339),),
               ignore=((0, 0, 548, 272),)),  # the stands: spectators and a blurred player, under the bar
)


def truth(name: str) -> TruthImage:
    """The truth image called `name` ("vtest_250", "basketball1", ...).

    Raises:
        KeyError: no truth image has that name.
    """
    for item in TRUTH:
        if item.name == name:
            return item
    raise KeyError(f"no truth image {name!r}; known: {', '.join(t.name for t in TRUTH)}")


def load_image(item: TruthImage, samples: Path = SAMPLES) -> np.ndarray:
    """The (H, W, 3) uint8 BGR image of `item`."""
    path = samples / item.file
    if item.frame is None:
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    else:
        img = read_video_frames(path, [item.frame])[0]
    if img is None:
        raise FileNotFoundError(f"{path} missing or unreadable: run scripts/get_samples.sh (or make setup)")
    return img


def read_video_frames(path: Path, frames: list[int]) -> list[np.ndarray]:
    """BGR frames of a video at the given 0-based indices, decoded in order (seeking is not exact in AVI)."""
    cap = cv2.VideoCapture(str(path))
    want, out, k = sorted(set(frames)), {}, 0
    try:
        while want and k <= want[-1]:
            if not cap.grab():
                break
            if k in want:
                ok, img = cap.retrieve()
                if ok:
                    out[k] = img
            k += 1
    finally:
        cap.release()
    if len(out) != len(set(frames)):
        raise FileNotFoundError(f"{path}: missing or unreadable frames {sorted(set(frames) - set(out))} "
                                "(run scripts/get_samples.sh)")
    return [out[f] for f in frames]


def iou(a: np.ndarray | Box, b: np.ndarray | Box) -> float:
    """IoU of two (x1, y1, x2, y2) boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _inside(box: np.ndarray | Box, region: Box) -> float:
    """Fraction of `box`'s area inside `region`."""
    iw = max(0.0, min(box[2], region[2]) - max(box[0], region[0]))
    ih = max(0.0, min(box[3], region[3]) - max(box[1], region[1]))
    area = (box[2] - box[0]) * (box[3] - box[1])
    return float(iw * ih / area) if area > 0 else 0.0


@dataclass(frozen=True)
class Score:
    """Detections scored against one image's truth: hits (people found), people, false positives."""

    hits: int
    people: int
    false_positives: int
    missed: tuple[int, ...]


def score_boxes(found_xyxy: np.ndarray, people: tuple[Box, ...], ignore: tuple[Box, ...] = (),
                min_iou: float = 0.4) -> Score:
    """Greedy one-to-one matching by IoU >= `min_iou` (best pairs first). An unmatched detection is a false
    positive unless half of it lies inside an ignore region or it overlaps a matched person by IoU >= 0.5
    (a duplicate is counted as a false positive: it would be published as a second person)."""
    found = [np.asarray(b, dtype=np.float64) for b in np.asarray(found_xyxy, dtype=np.float64).reshape(-1, 4)]
    pairs = sorted(((iou(f, p), i, j) for i, f in enumerate(found) for j, p in enumerate(people)), reverse=True)
    used_f: set[int] = set()
    used_p: set[int] = set()
    for v, i, j in pairs:
        if v < min_iou:
            break
        if i not in used_f and j not in used_p:
            used_f.add(i)
            used_p.add(j)
    fp = sum(1 for i, f in enumerate(found) if i not in used_f and not any(_inside(f, r) >= 0.5 for r in ignore))
    return Score(hits=len(used_p), people=len(people), false_positives=fp,
                 missed=tuple(j for j in range(len(people)) if j not in used_p))


def xywh_to_xyxy(boxes_xywh: np.ndarray) -> np.ndarray:
    b = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)


@dataclass(frozen=True)
class BorderCase:
    """One person cut by an image border: the cropped BGR image, the person's visible box in it (x1, y1, x2,
    y2 px), and which border cuts them."""

    name: str
    image: np.ndarray
    visible: Box
    side: str


def border_cases(items: tuple[TruthImage, ...] = TRUTH, samples: Path = SAMPLES, keep: float = 0.55,
                 sides: tuple[str, ...] = ("bottom", "left", "right"), min_side: int = 160) -> list[BorderCase]:
    """Every truth person cut by an image border, torso visible: the image is cropped so that only the top
    `keep` of their height remains (``bottom``: legs out; like a person close to the robot), or only `keep`
    of their width (``left`` / ``right``: that image border runs through them). Crops keep the full other
    dimension of the image; crops under `min_side` px in either dimension are left out."""
    cases = []
    for item in items:
        img = load_image(item, samples)
        h, w = img.shape[:2]
        for k, (x1, y1, x2, y2) in enumerate(item.people):
            bw, bh = x2 - x1, y2 - y1
            for side in sides:
                if side == "bottom":
                    cut = int(round(y1 + keep * bh))
                    if cut >= h - 2:
                        continue
                    cases.append(BorderCase(f"{item.name}#{k}:{side}", img[:cut], (x1, y1, x2, cut), side))
                elif side == "right":  # the image's right border runs through the person
                    cut = int(round(x1 + keep * bw))
                    cases.append(BorderCase(f"{item.name}#{k}:{side}", img[:, :cut], (x1, y1, cut, y2), side))
                elif side == "left":  # the image's left border runs through the person
                    cut = int(round(x2 - keep * bw))
                    cases.append(BorderCase(f"{item.name}#{k}:{side}", img[:, cut:], (0, y1, x2 - cut, y2), side))
            cases = [c for c in cases if c.image.shape[0] >= min_side and c.image.shape[1] >= min_side]
    return cases
