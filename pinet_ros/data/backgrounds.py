"""People-free real photographs used as backgrounds of the rendered scenes.

Sources (all from the Debian package ``opencv-doc``, ``usr/share/doc/opencv-doc/examples/data/``, the same
package `scripts/get_samples.sh` takes the sample images from):

* example photos that show no person (buildings, streets, still lifes, textures), listed in `PHOTOS`;
  photos with people or faces (``left*.jpg`` chessboard holders, ``baboon.jpg``, the cartoon ``graf*``) are
  left out on purpose: a detector firing on them would be counted as a false positive;
* the per-pixel temporal median of ``vtest.avi`` (outdoor CCTV, its pedestrians move, so the median over
  the whole video is the empty street) and of ``tree.avi``.

Splits are disjoint by background (`SPLITS`); the test split keeps the empty vtest street, the most
realistic one. `prepare_backgrounds` extracts the files into a cache folder once (idempotent): from a
``opencv-doc_*.deb`` already in apt's cache, else `apt-get download opencv-doc`; ``vtest.avi`` is also
found in ``data/samples``. Images are returned as (H, W, 3) uint8 RGB.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

CACHE_DIR = Path.home() / ".cache" / "pinet_ros" / "backgrounds"
DOC_DATA = "usr/share/doc/opencv-doc/examples/data"
PHOTOS: tuple[str, ...] = (
    "building.jpg", "home.jpg", "aero1.jpg", "aero3.jpg", "leuvenA.jpg", "leuvenB.jpg", "aloeL.jpg",
    "box_in_scene.png", "stuff.jpg", "board.jpg", "rubberwhale1.png", "fruits.jpg", "blox.jpg",
    "ela_original.jpg", "orange.jpg",
)
VIDEOS: tuple[str, ...] = ("vtest.avi", "tree.avi")
#: background name (photo file name, or ``<video>_median``) per split; no name is in two splits.
SPLITS: dict[str, tuple[str, ...]] = {
    "train": ("building.jpg", "leuvenA.jpg", "aero1.jpg", "tree_median", "aloeL.jpg", "board.jpg",
              "box_in_scene.png", "fruits.jpg", "orange.jpg"),
    "val": ("aero3.jpg", "blox.jpg", "ela_original.jpg"),
    "test": ("vtest_median", "leuvenB.jpg", "home.jpg", "stuff.jpg", "rubberwhale1.png"),
}
REPO_SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


class BackgroundError(RuntimeError):
    """No background image could be found or extracted; the message says what was tried."""


def _find_deb() -> Path | None:
    hits = sorted(glob.glob("/var/cache/apt/archives/opencv-doc_*.deb"))
    return Path(hits[-1]) if hits else None


def _extract(names: list[str], dest: Path) -> None:
    """Copy `names` out of the opencv-doc package into `dest` (downloads the .deb when not cached)."""
    with tempfile.TemporaryDirectory(prefix="pinet_bg.") as tmp:
        deb = _find_deb()
        if deb is None:
            try:
                subprocess.run(["apt-get", "download", "-q", "opencv-doc"], cwd=tmp, check=True,
                               capture_output=True, timeout=600)
            except (OSError, subprocess.SubprocessError) as exc:
                raise BackgroundError(f"no opencv-doc .deb in /var/cache/apt/archives and `apt-get download "
                                      f"opencv-doc` failed ({exc}); backgrounds come from that package") from None
            debs = sorted(Path(tmp).glob("opencv-doc_*.deb"))
            if not debs:
                raise BackgroundError("`apt-get download opencv-doc` produced no .deb")
            deb = debs[-1]
        subprocess.run(["dpkg-deb", "-x", str(deb), str(Path(tmp) / "x")], check=True, capture_output=True)
        src = Path(tmp) / "x" / DOC_DATA
        for name in names:
            f = src / name
            if f.is_file():
                shutil.copyfile(f, dest / (name + ".part"))
                (dest / (name + ".part")).replace(dest / name)


def _video_median(path: Path, max_frames: int = 200) -> np.ndarray:
    """Per-pixel median over up to `max_frames` frames spread over the whole video (BGR uint8)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or max_frames
    wanted = set(np.linspace(0, count - 1, min(count, max_frames)).astype(int).tolist())
    frames = []
    i = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if i in wanted:
            frames.append(frame)
        i += 1
    cap.release()
    if not frames:
        raise BackgroundError(f"{path}: no frame could be read")
    return np.median(np.stack(frames), axis=0).astype(np.uint8)


def prepare_backgrounds(cache_dir: str | Path | None = None) -> Path:
    """Make sure every background of `SPLITS` is in `cache_dir` (default ~/.cache/pinet_ros/backgrounds).

    Photos are copied as they are; videos become ``<stem>_median.png``. Idempotent.

    Returns:
        the cache folder.
    Raises:
        BackgroundError: a background could not be found or made.
    """
    import cv2

    dest = Path(cache_dir) if cache_dir is not None else CACHE_DIR
    dest.mkdir(parents=True, exist_ok=True)
    wanted = [n for names in SPLITS.values() for n in names]
    missing_photos = [n for n in wanted if not n.endswith("_median") and not (dest / n).is_file()]
    missing_videos = [n.replace("_median", ".avi") for n in wanted
                      if n.endswith("_median") and not (dest / f"{n}.png").is_file()]
    need = list(missing_photos)
    for video in missing_videos:
        if not (REPO_SAMPLES / video).is_file():
            need.append(video)
    if need:
        _extract(need, dest)
    for video in missing_videos:
        src = REPO_SAMPLES / video if (REPO_SAMPLES / video).is_file() else dest / video
        if not src.is_file():
            raise BackgroundError(f"{video} not found in {REPO_SAMPLES} nor in the opencv-doc package")
        out = dest / f"{Path(video).stem}_median.png"
        cv2.imwrite(str(out.with_suffix(".part.png")), _video_median(src))
        out.with_suffix(".part.png").replace(out)
        if src.parent == dest:
            src.unlink()
    still = [n for n in wanted if not background_path(n, dest).is_file()]
    if still:
        raise BackgroundError(f"backgrounds missing after extraction: {', '.join(still)}")
    return dest


def background_path(name: str, cache_dir: str | Path | None = None) -> Path:
    """File of background `name` in the cache folder."""
    dest = Path(cache_dir) if cache_dir is not None else CACHE_DIR
    return dest / (f"{name}.png" if name.endswith("_median") else name)


def load_background(name: str, width: int, height: int, rng: np.random.Generator,
                    cache_dir: str | Path | None = None) -> np.ndarray:
    """A random crop of background `name`, resized to cover `width` x `height`, maybe mirrored.

    Returns:
        (height, width, 3) uint8 RGB.
    """
    import cv2

    path = background_path(name, cache_dir)
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise BackgroundError(f"background not readable: {path} (run prepare_backgrounds)")
    h, w = bgr.shape[:2]
    # crop 70-100 % of the largest window of the target aspect, then resize
    aspect = width / height
    cw, ch = (w, w / aspect) if w / h < aspect else (h * aspect, h)
    s = rng.uniform(0.7, 1.0)
    cw, ch = cw * s, ch * s
    x0, y0 = rng.uniform(0, w - cw), rng.uniform(0, h - ch)
    crop = bgr[int(y0):int(y0 + ch), int(x0):int(x0 + cw)]
    crop = cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA if cw > width else cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return np.ascontiguousarray(crop[..., ::-1])
