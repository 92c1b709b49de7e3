"""Rendered multi-person scenes with exact 3D ground truth, written in the MuPoTS-3D layout.

`render_split(OUT, split, frames, seed)` (``pinet-ros render``) composes scenes of 1-6 anny bodies
(`pinet_ros.data.anny_body`) posed from the DeepMimic clips of the split (`pinet_ros.data.synthetic.SPLITS`),
renders them with pyrender (headless EGL; on CPU-only machines Mesa's llvmpipe) and composites them over
people-free real photos (`pinet_ros.data.backgrounds`).

Scene model (world: metres, z up, the ground is z = 0):

* camera 1-2 m above the ground, pitched 2 deg up to 12 deg down, horizontal field of view 50-75 deg
  (fx = fy = width / (2 tan(fov / 2)), principal point near the centre);
* people stand (or lie, roll, jump as the clip does) on the ground plane, feet on z = 0 (airborne clip
  frames keep their height above the clip's own ground), root depth 1.5-12 m;
* groups of 1-3 people: pairs face each other 0.7-1.3 m apart, threes stand on a 0.6-0.9 m circle facing
  its centre, singles face anywhere; groups may overlap in the image and reach past its border, so people
  occlude each other and are cut by the border; every viewing side occurs;
* a body: an identity of the split (shape, solved height 1.55-1.90 m, procedural texture; splits never
  share one), a random frame of a clip of the split; a background of the split. Splits are disjoint by
  clip, identity and background.

Everything of frame i is drawn from ``numpy.random.default_rng([seed, split_code, i])``: a frame does not
depend on which other frames were rendered, in which order or by how many processes (``--jobs/--job``).

Output folder layout (resumable: a frame is done when its record exists; re-running skips done frames and
re-assembles the annotation file):

* ``OUT/MuPoTS-3D.json``: ``{"images": [...], "annotations": [...]}`` in the layout
  `pinet_ros.data.mupots.read_mupots` reads. Images: ``id``, ``file_name`` ``TS{n}/img_{k:06d}.jpg``
  (sequences of ``seq_frames`` frames, n from 1), ``width``, ``height``, ``intrinsic`` [fx, fy, cx, cy] px,
  plus ``ground_plane`` [nx, ny, nz, d] (camera frame, n . X + d = 0 with X in mm), ``camera_height_mm``,
  ``pitch_deg``, ``background``, ``split``, ``num_people``. Annotations (one per person with at least one
  pixel in the image): ``id``, ``image_id``, ``keypoints_cam`` (17 x 3, camera mm: x right, y down,
  z forward), ``keypoints_img`` (17 x 2 px), ``keypoints_vis`` (17, 1 = visible), ``bbox`` [x, y, w, h] px
  (the person's whole silhouette clipped to the image), ``is_valid`` (at least 9 of 17 joints in the image
  and at least 10 % of the silhouette unoccluded), plus ``keypoints_occ`` (17 codes: 0 visible,
  1 hidden by the body itself, 2 hidden by another person, 3 outside the image), ``occlusion`` (fraction
  of the person's in-image silhouette hidden by other people), ``truncation`` (fraction of joints outside
  the image), ``height`` (standing height, mm), ``bbox_visible``, ``identity``, ``clip``, ``clip_frame``,
  ``yaw_deg``.
* ``OUT/TS{n}/img_{k:06d}.jpg``: the image (JPEG quality 92, RGB).
* ``OUT/depth/TS{n}/img_{k:06d}.png``: exact depth of the rendered people, 16-bit unsigned PNG, z in camera
  millimetres (the optical-axis distance, not the ray length), 0 where no person surface is (the photo
  background is not modelled; the ground plane is given analytically by ``ground_plane``). Read it with
  ``cv2.imread(path, cv2.IMREAD_UNCHANGED)`` -> (H, W) uint16.
* ``OUT/ann/TS{n}/img_{k:06d}.json``: the frame's own record (image + annotations), written last.
* ``OUT/render.json``: split, seed, size and version; a resumed run must match it.

Joint definitions on the body: `pinet_ros.data.anny_body` (module docstring table).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pinet_ros.data import backgrounds
from pinet_ros.data.synthetic import SPLITS as CLIP_SPLITS

FORMAT_VERSION = 1
SPLIT_CODES = {"train": 1, "val": 2, "test": 3}
IDENTITIES_PER_SPLIT = {"train": 48, "val": 12, "test": 24}
DEPTH_RANGE_M = (1.5, 12.0)
SELF_OCCLUSION_M = 0.15
PEOPLE_WEIGHTS = np.array([0.18, 0.22, 0.2, 0.16, 0.13, 0.11])  # 1..6 people


class RenderError(RuntimeError):
    """The output folder belongs to another render (split/seed/size), or rendering failed."""


@dataclass
class Person:
    """One placed body of a scene (world frame, metres)."""

    identity: Any
    clip: str
    clip_frame: int
    yaw: float
    vertices: np.ndarray  # (V, 3)
    joints: np.ndarray  # (17, 3)


# ------------------------------------------------------------------------------------------------ clips
_CLIPS: dict[str, np.ndarray] = {}
_CLIP_GROUND: dict[str, float] = {}


def _clip(name: str) -> np.ndarray:
    """(T, 17, 3) metres, y-up world of the clip."""
    if name not in _CLIPS:
        from pinet_ros.data.synthetic import load_clip

        _CLIPS[name] = load_clip(name) * np.array([1.0, -1.0, -1.0])
        _CLIP_GROUND[name] = float(np.percentile(_CLIPS[name][:, :, 1].min(axis=1), 5))
    return _CLIPS[name]


# ---------------------------------------------------------------------------------------------- cameras
def camera_rotation(pitch_down: float) -> np.ndarray:
    """World (z up) -> OpenCV camera rotation for a camera looking along world +y, pitched down by
    `pitch_down` radians. Rows are the camera's x (right), y (down), z (forward) axes in world."""
    c, s = np.cos(pitch_down), np.sin(pitch_down)
    z = np.array([0.0, c, -s])
    x = np.array([1.0, 0.0, 0.0])
    y = np.cross(z, x)
    return np.stack([x, y, z])


def _rz(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


# ------------------------------------------------------------------------------------------------ scene
class SceneRenderer:
    """Samples, renders and annotates frames of one split (holds anny, pyrender and identity caches)."""

    def __init__(self, split: str, width: int = 640, height: int = 480, bg_cache: str | Path | None = None,
                 identity_cache: str | Path | None = None, max_people: int = 6) -> None:
        if split not in SPLIT_CODES:
            raise ValueError(f"unknown split {split!r}; expected one of {tuple(SPLIT_CODES)}")
        os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
        import pyrender

        from pinet_ros.data.anny_body import BodyModel

        self.pyrender = pyrender
        self.split, self.width, self.height = split, int(width), int(height)
        if not 1 <= max_people <= len(PEOPLE_WEIGHTS):
            raise ValueError(f"max_people must be in 1..{len(PEOPLE_WEIGHTS)}, got {max_people}")
        self.max_people = int(max_people)
        self.body = BodyModel()
        self.bg_cache = backgrounds.prepare_backgrounds(bg_cache)
        self.identity_cache = identity_cache
        self._identities: dict[str, Any] = {}
        self._materials: dict[str, Any] = {}
        self.renderer = pyrender.OffscreenRenderer(self.width, self.height)
        self.timings: dict[str, float] = {}

    def close(self) -> None:
        self.renderer.delete()

    # ------------------------------------------------------------------ sampling
    def identity(self, index: int) -> Any:
        key = f"{self.split}/{index}"
        if key not in self._identities:
            self._identities[key] = self.body.make_identity(key, self.identity_cache)
        return self._identities[key]

    def _place(self, rng: np.random.Generator, n: int, hfov: float) -> list[tuple[float, float, float]]:
        """Ground positions (x, y) m and facing yaw (rad) of `n` people in groups."""
        out: list[tuple[float, float, float]] = []
        sizes = []
        left = n
        while left:
            s = int(min(left, rng.choice([1, 2, 3], p=[0.35, 0.4, 0.25])))
            sizes.append(s)
            left -= s
        for size in sizes:
            for _ in range(50):
                r = float(np.exp(rng.uniform(np.log(2.0), np.log(11.0))))
                az = rng.uniform(-0.6, 0.6) * hfov
                centre = np.array([r * np.sin(az), r * np.cos(az)])
                phi = rng.uniform(0, 2 * np.pi)
                if size == 1:
                    cand = [(centre, rng.uniform(0, 2 * np.pi))]
                else:
                    radius = rng.uniform(0.35, 0.65) if size == 2 else rng.uniform(0.6, 0.9)
                    cand = []
                    for k in range(size):
                        a = phi + 2 * np.pi * k / size
                        pos = centre + radius * np.array([np.cos(a), np.sin(a)])
                        face = centre - pos
                        cand.append((pos, np.arctan2(face[0], -face[1]) + rng.normal(0, np.radians(15))))
                ok = all(DEPTH_RANGE_M[0] + 0.2 < p[1] < DEPTH_RANGE_M[1] - 0.2 for p, _ in cand) and all(
                    np.hypot(p[0] - q[0], p[1] - q[1]) > 0.5 for p, _ in cand for q in out)
                if ok:
                    out += [(float(p[0]), float(p[1]), float(yaw)) for p, yaw in cand]
                    break
        return out

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draw one scene: camera, background and placed, posed people (world frame)."""
        w, h = self.width, self.height
        weights = PEOPLE_WEIGHTS[:self.max_people]
        n = int(rng.choice(np.arange(1, self.max_people + 1), p=weights / weights.sum()))
        hfov = np.radians(rng.uniform(50, 75))
        fx = w / (2 * np.tan(hfov / 2))
        intr = [fx, fx, w / 2 + rng.normal(0, 0.01 * w), h / 2 + rng.normal(0, 0.01 * h)]
        cam_h = rng.uniform(1.0, 2.0)
        pitch = np.radians(rng.uniform(-2, 12))
        bg_name = backgrounds.SPLITS[self.split][int(rng.integers(len(backgrounds.SPLITS[self.split])))]
        clips = CLIP_SPLITS[self.split]
        ids = rng.choice(IDENTITIES_PER_SPLIT[self.split], size=n, replace=False)
        people = []
        from pinet_ros.data.anny_body import canonical_skeleton

        for (x, y, yaw), ident_index in zip(self._place(rng, n, hfov), ids):
            clip_name = clips[int(rng.integers(len(clips)))]
            clip = _clip(clip_name)
            f = int(rng.integers(len(clip)))
            ident = self.identity(int(ident_index))
            verts, joints = self.body.pose(ident, canonical_skeleton(clip[f]))
            airborne = float(np.clip(clip[f, :, 1].min() - _CLIP_GROUND[clip_name], 0.0, 1.2))
            lift = -verts[:, 2].min() + airborne
            rot = _rz(yaw)
            shift = np.array([x, y, lift])
            people.append(Person(ident, clip_name, f, float(yaw), verts @ rot.T + shift, joints @ rot.T + shift))
        light_dir = np.array([rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1.8, -0.6)])
        return {"intrinsic": intr, "cam_height": cam_h, "pitch": pitch, "background": bg_name, "people": people,
                "light_dir": light_dir / np.linalg.norm(light_dir), "light": rng.uniform(2.0, 4.5),
                "ambient": rng.uniform(0.25, 0.5), "bg_rng": rng.integers(1 << 31), "noise": rng.uniform(1, 4)}

    # ------------------------------------------------------------------ rendering
    def _material(self, ident: Any) -> Any:
        pr = self.pyrender
        if ident.key not in self._materials:
            tex = pr.Texture(source=ident.texture, source_channels="RGB")
            self._materials[ident.key] = pr.MetallicRoughnessMaterial(
                baseColorTexture=tex, metallicFactor=0.0, roughnessFactor=0.85)
        return self._materials[ident.key]

    def _mesh(self, person: Person, r_wc: np.ndarray, cam_pos: np.ndarray) -> Any:
        pr = self.pyrender
        b = self.body
        v = person.vertices[b.render_vertex]
        faces = b.render_faces
        tri = v[faces]
        fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        vn = np.zeros_like(v)
        for k in range(3):
            np.add.at(vn, faces[:, k], fn)
        vn /= np.linalg.norm(vn, axis=1, keepdims=True) + 1e-12
        prim = pr.Primitive(positions=v.astype(np.float32), normals=vn.astype(np.float32),
                            texcoord_0=b.render_uv, indices=faces, material=self._material(person.identity))
        return pr.Mesh([prim])

    def render(self, scene: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
        """Render colour over the background, the people's depth, the person index map and each person's
        own depth. Returns rgb (H, W, 3) uint8, depth (H, W) float m (0 = none), index (H, W) int
        (-1 = none) and a list of (H, W) float m depth maps, one per person alone."""
        pr = self.pyrender
        w, h = self.width, self.height
        fx, fy, cx, cy = scene["intrinsic"]
        r_wc = camera_rotation(scene["pitch"])
        cam_pos = np.array([0.0, 0.0, scene["cam_height"]])
        pose = np.eye(4)
        pose[:3, :3] = r_wc.T @ np.diag([1.0, -1.0, -1.0])  # OpenGL camera: x right, y up, looks along -z
        pose[:3, 3] = cam_pos
        sc = pr.Scene(bg_color=[0, 0, 0, 0], ambient_light=[scene["ambient"]] * 3)
        sc.add(pr.IntrinsicsCamera(fx, fy, cx, cy, znear=0.05, zfar=100.0), pose=pose)
        light_pose = np.eye(4)
        z = -scene["light_dir"]
        x = np.cross([0.0, 0.0, 1.0], z)
        x = x / (np.linalg.norm(x) + 1e-9) if np.linalg.norm(x) > 1e-6 else np.array([1.0, 0, 0])
        light_pose[:3, :3] = np.stack([x, np.cross(z, x), z], axis=1)
        sc.add(pr.DirectionalLight(color=[1.0, 0.97, 0.92], intensity=scene["light"]), pose=light_pose)
        sc.add(pr.DirectionalLight(color=[0.9, 0.95, 1.0], intensity=0.35 * scene["light"]), pose=pose)
        t0 = time.perf_counter()
        nodes = [sc.add(self._mesh(p, r_wc, cam_pos)) for p in scene["people"]]
        t1 = time.perf_counter()
        colour, depth = self.renderer.render(sc, flags=pr.RenderFlags.RGBA)
        t2 = time.perf_counter()
        own = []
        for i, node in enumerate(nodes):
            for j, other in enumerate(nodes):
                other.mesh.is_visible = i == j
            own.append(self.renderer.render(sc, flags=pr.RenderFlags.DEPTH_ONLY).astype(np.float64))
        for node in nodes:
            node.mesh.is_visible = True
        t3 = time.perf_counter()
        depth = depth.astype(np.float64)
        index = np.full((h, w), -1, np.int64)
        if own:
            stack = np.stack([np.where(d > 0, d, np.inf) for d in own])
            nearest = stack.argmin(axis=0)
            hit = np.isfinite(stack.min(axis=0))
            index[hit] = nearest[hit]
        rgb = self._composite(colour, scene)
        self.timings = {"mesh": t1 - t0, "colour": t2 - t1, "depth_passes": t3 - t2,
                        "composite": time.perf_counter() - t3}
        return rgb, depth, index, own

    def _composite(self, rgba: np.ndarray, scene: dict[str, Any]) -> np.ndarray:
        import cv2

        rng = np.random.default_rng(int(scene["bg_rng"]))
        bg = backgrounds.load_background(scene["background"], self.width, self.height, rng, self.bg_cache)
        alpha = rgba[..., 3:4].astype(np.float32) / 255.0
        soft = cv2.GaussianBlur(alpha[..., 0], (3, 3), 0.7)[..., None]
        alpha = np.where(alpha > 0, np.minimum(alpha, np.maximum(soft, 0.6)), soft * 0.5)
        fg = rgba[..., :3].astype(np.float32)
        # match the people's exposure a little to the background's
        out = fg * alpha + bg.astype(np.float32) * (1 - alpha)
        out += rng.normal(0, scene["noise"], out.shape)
        return np.clip(out, 0, 255).astype(np.uint8)

    # ------------------------------------------------------------------ ground truth
    def annotate(self, scene: dict[str, Any], depth: np.ndarray, index: np.ndarray,
                 own: list[np.ndarray]) -> list[dict[str, Any]]:
        """Ground truth of every person with a pixel in the image (module docstring), camera mm / px."""
        w, h = self.width, self.height
        fx, fy, cx, cy = scene["intrinsic"]
        r_wc = camera_rotation(scene["pitch"])
        cam_pos = np.array([0.0, 0.0, scene["cam_height"]])
        out = []
        for i, p in enumerate(scene["people"]):
            sil = own[i] > 0
            area = int(sil.sum())
            if area == 0:
                continue
            cam = (p.joints - cam_pos) @ r_wc.T  # metres, OpenCV camera
            uv = np.stack([cam[:, 0] / cam[:, 2] * fx + cx, cam[:, 1] / cam[:, 2] * fy + cy], axis=1)
            visible_px = int((index == i).sum())
            codes = np.zeros(17, int)
            for j in range(17):
                u, v = uv[j]
                if not (0 <= u < w and 0 <= v < h) or cam[j, 2] <= 0:
                    codes[j] = 3
                    continue
                ui, vi = int(u), int(v)
                y0, y1, x0, x1 = max(vi - 2, 0), min(vi + 3, h), max(ui - 2, 0), min(ui + 3, w)
                win = own[i][y0:y1, x0:x1]
                surface = own[i][vi, ui] if own[i][vi, ui] > 0 else (win[win > 0].min() if (win > 0).any() else 0.0)
                front = depth[vi, ui]
                if index[vi, ui] not in (-1, i) and front > 0 and (surface == 0 or front < surface - 0.01):
                    codes[j] = 2
                elif surface > 0 and cam[j, 2] - surface > SELF_OCCLUSION_M:
                    codes[j] = 1
            ys, xs = np.nonzero(sil)
            bbox = [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)]
            vys, vxs = np.nonzero(index == i)
            bbox_vis = [float(vxs.min()), float(vys.min()), float(vxs.max() - vxs.min() + 1),
                        float(vys.max() - vys.min() + 1)] if vxs.size else [0.0, 0.0, 0.0, 0.0]
            occlusion = 1.0 - visible_px / area
            inside = int((codes != 3).sum())
            out.append({
                "keypoints_cam": (cam * 1000.0).round(3).tolist(),
                "keypoints_img": uv.round(3).tolist(),
                "keypoints_vis": (codes == 0).astype(int).tolist(),
                "keypoints_occ": codes.tolist(),
                "bbox": bbox, "bbox_visible": bbox_vis,
                "is_valid": bool(inside >= 9 and occlusion <= 0.9),
                "occlusion": round(float(occlusion), 4), "truncation": round(float((codes == 3).mean()), 4),
                "height": round(p.identity.height_m * 1000.0, 1), "identity": p.identity.key,
                "clip": p.clip, "clip_frame": p.clip_frame, "yaw_deg": round(float(np.degrees(p.yaw)), 2),
            })
        return out


# -------------------------------------------------------------------------------------------- the split
def frame_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of frame `index` of `split` (independent of every other frame)."""
    return np.random.default_rng([int(seed), SPLIT_CODES[split], int(index)])


def frame_names(index: int, seq_frames: int) -> tuple[str, str]:
    """Frame index -> (``TS{n}/img_{k:06d}.jpg``, sequence folder)."""
    seq = index // seq_frames + 1
    return f"TS{seq}/img_{index % seq_frames:06d}.jpg", f"TS{seq}"


def render_frame(renderer: SceneRenderer, out: Path, seed: int, index: int, seq_frames: int) -> dict[str, Any]:
    """Render, annotate and write frame `index`; returns its record."""
    import cv2

    rng = frame_rng(seed, renderer.split, index)
    scene = renderer.sample(rng)
    rgb, depth, idx, own = renderer.render(scene)
    anns = renderer.annotate(scene, depth, idx, own)
    file_name, seq = frame_names(index, seq_frames)
    img_path = out / file_name
    depth_path = out / "depth" / file_name.replace(".jpg", ".png")
    for p in (img_path, depth_path):
        p.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(img_path), rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
    depth_mm = np.clip(np.round(depth * 1000.0), 0, 65535).astype(np.uint16)
    cv2.imwrite(str(depth_path), depth_mm)
    r_wc = camera_rotation(scene["pitch"])
    normal = r_wc @ np.array([0.0, 0.0, 1.0])
    image = {"id": index, "file_name": file_name, "width": renderer.width, "height": renderer.height,
             "intrinsic": [round(float(v), 4) for v in scene["intrinsic"]],
             "ground_plane": [*normal.round(6).tolist(), round(scene["cam_height"] * 1000.0, 3)],
             "camera_height_mm": round(scene["cam_height"] * 1000.0, 3),
             "pitch_deg": round(float(np.degrees(scene["pitch"])), 3), "background": scene["background"],
             "split": renderer.split, "num_people": len(anns)}
    for k, a in enumerate(anns):
        a["id"] = index * 10 + k
        a["image_id"] = index
    record = {"image": image, "annotations": anns}
    ann_path = out / "ann" / file_name.replace(".jpg", ".json")
    ann_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = ann_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    tmp.replace(ann_path)
    return record


def merge(out: str | Path) -> Path:
    """Assemble ``OUT/MuPoTS-3D.json`` from every finished frame record (atomic write)."""
    out = Path(out)
    records = [json.loads(p.read_text()) for p in sorted((out / "ann").glob("TS*/img_*.json"))]
    records.sort(key=lambda r: r["image"]["id"])
    data = {"images": [r["image"] for r in records],
            "annotations": [a for r in records for a in r["annotations"]]}
    path = out / "MuPoTS-3D.json"
    tmp = out / f".MuPoTS-3D.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(data))
    tmp.replace(path)
    return path


def _check_meta(out: Path, meta: dict[str, Any]) -> None:
    path = out / "render.json"
    if path.is_file():
        old = json.loads(path.read_text())
        diff = {k: (old.get(k), v) for k, v in meta.items() if old.get(k) != v}
        if diff:
            raise RenderError(f"{out} holds another render ({', '.join(f'{k}: {a!r} != {b!r}' for k, (a, b) in diff.items())}); "
                              "use another folder")
    else:
        out.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(meta, indent=2))
        tmp.replace(path)


def render_split(out: str | Path, split: str, frames: int, seed: int = 0, width: int = 640, height: int = 480,
                 seq_frames: int = 50, jobs: int = 1, job: int = 0, progress: bool = True,
                 max_people: int = 6) -> dict[str, Any]:
    """Render frames 0..frames-1 of `split` into `out` (those with index % jobs == job), skipping finished
    frames, then assemble ``MuPoTS-3D.json`` from all finished frames.

    Returns:
        {"rendered": frames rendered now, "skipped": already done, "seconds": wall time of the rendering,
         "frames_per_s": rendered / seconds, "annotation": path of MuPoTS-3D.json}
    """
    out = Path(out)
    if not 0 <= job < jobs:
        raise ValueError(f"job {job} is not in 0..{jobs - 1}")
    _check_meta(out, {"split": split, "seed": int(seed), "width": int(width), "height": int(height),
                      "seq_frames": int(seq_frames), "max_people": int(max_people), "version": FORMAT_VERSION})
    todo = [i for i in range(job, frames, jobs)
            if not (out / "ann" / frame_names(i, seq_frames)[0].replace(".jpg", ".json")).is_file()]
    skipped = len(range(job, frames, jobs)) - len(todo)
    t0 = time.perf_counter()
    if todo:
        renderer = SceneRenderer(split, width, height, max_people=max_people)
        setup_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        try:
            from tqdm import tqdm

            for i in tqdm(todo, desc=f"render {split}", unit="frame", disable=not progress):
                render_frame(renderer, out, seed, i, seq_frames)
        finally:
            renderer.close()
    else:
        setup_s = 0.0
    seconds = time.perf_counter() - t0
    path = merge(out)
    return {"rendered": len(todo), "skipped": skipped, "seconds": seconds, "setup_seconds": setup_s,
            "frames_per_s": len(todo) / seconds if todo and seconds > 0 else float("nan"), "annotation": str(path)}


def prepare() -> str:
    """Build what rendering needs once (idempotent, for `make setup`): anny's model cache (~0.8 GB, minutes the
    first time) and the background photos. Returns a one-line summary."""
    from pinet_ros.data.anny_body import BodyModel, anny_available, anny_cache_ready

    reason = anny_available()
    if reason:
        return f"skipped: {reason}"
    have_bg = all(backgrounds.background_path(n).is_file() for names in backgrounds.SPLITS.values() for n in names)
    if anny_cache_ready() and have_bg:
        return "anny cache and backgrounds already prepared"
    t = time.perf_counter()
    BodyModel()
    folder = backgrounds.prepare_backgrounds()
    return f"anny cache and backgrounds ({folder}) ready in {time.perf_counter() - t:.0f} s"


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["--prepare"]:
        sys.exit("usage: python -m pinet_ros.data.render_scenes --prepare   (rendering: pinet-ros render)")
    print(prepare())
