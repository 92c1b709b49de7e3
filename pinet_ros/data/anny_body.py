"""Posable, textured human bodies from the anny model (PyPI ``anny``, Apache-2.0 code, CC0 MakeHuman assets).

`BodyModel` loads anny once (its first build writes a ~0.8 GB cache, ~3-4 min on 2 cores; the cache folder
is ``$ANNY_CACHE_DIR``, default ``~/.cache/pinet_ros/anny`` set here when unset). Per identity
(`make_identity`): a phenotype (gender, age, muscle, weight, proportions) with anny's ``height`` parameter
solved by bisection so that the rest mesh is as tall as a drawn realistic height (adults 1.55-1.90 m; anny's
raw range reaches 2.45 m), and a procedural 512x512 UV texture (skin tone, painted hair, brows, eyes, lips,
shirt, trousers, shoes). Per pose (`BodyModel.pose`): anny's ``world-orient`` parameterisation, each bone
given a world rotation so that its direction follows a 17-joint MuPoTS skeleton (the DeepMimic clips of
`pinet_ros.data.synthetic`); bone lengths stay anny's own, so the ground truth is the posed anny skeleton.

Frames and units: anny's body frame, metres, z up, the body facing -y, its left side at +x.

MuPoTS-17 joints on the anny body (`joints17`), matched to MuPoTS' definitions as far as the rig allows:

    ===  ==========  ===========================================================  ===========================
    idx  MuPoTS      anny source                                                  note
    ===  ==========  ===========================================================  ===========================
    0    head_top    skinned vertex at the top of the skull (max z at rest)       surface point, as MuPoTS
    1    thorax      head of bone ``neck01`` (base of the neck)                   MuPoTS "neck"
    2/5  shoulder    head of ``upperarm01.R/L`` (gleno-humeral joint)
    3/6  elbow       head of ``lowerarm01.R/L``
    4/7  wrist       head of ``wrist.R/L``
    8/11 hip         head of ``upperleg01.R/L`` (hip joint centre)                ~0.20 m apart at rest
    9/12 knee        head of ``lowerleg01.R/L``
    10/13 ankle      head of ``foot.R/L``
    14   pelvis      midpoint of the two hip joints                               MuPoTS root
    15   spine       midpoint of pelvis and thorax                                as MuPoTS / the backends
    16   head        midpoint of anny's two ear keypoints (COCO regressor)        centre of the skull
    ===  ==========  ===========================================================  ===========================
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ANNY_CACHE_DIR = Path.home() / ".cache" / "pinet_ros" / "anny"
TEXTURE_SIZE = 512
ADULT_HEIGHT_RANGE_M = (1.55, 1.90)

# MuPoTS index -> anny bone whose head is the joint
_BONE_JOINTS = {
    1: "neck01", 2: "upperarm01.R", 3: "lowerarm01.R", 4: "wrist.R", 5: "upperarm01.L", 6: "lowerarm01.L",
    7: "wrist.L", 8: "upperleg01.R", 9: "lowerleg01.R", 10: "foot.R", 11: "upperleg01.L", 12: "lowerleg01.L",
    13: "foot.L",
}

SKIN_TONES = np.array([(247, 222, 200), (236, 199, 168), (224, 172, 130), (198, 140, 96), (160, 104, 66),
                       (112, 70, 42), (80, 50, 32)], float)
HAIR_COLOURS = np.array([(20, 16, 14), (48, 32, 22), (86, 58, 36), (150, 112, 70), (196, 170, 120),
                         (140, 136, 132), (110, 40, 20)], float)
CLOTH_COLOURS = np.array([(30, 36, 60), (25, 25, 28), (90, 90, 95), (220, 220, 215), (150, 30, 35),
                          (40, 90, 50), (190, 170, 130), (60, 90, 140), (120, 60, 110), (200, 120, 40),
                          (70, 110, 160), (160, 160, 150), (100, 70, 50), (230, 200, 60)], float)

# region codes of the texture
SKIN, HAIR, SHIRT, TROUSERS, SHOES, EYE_WHITE, IRIS, BROW, LIPS = range(9)


def _ensure_env() -> None:
    os.environ.setdefault("ANNY_CACHE_DIR", str(ANNY_CACHE_DIR))


def anny_available() -> str | None:
    """None when anny (with roma and trimesh) imports, else the reason it does not."""
    try:
        import anny  # noqa: F401
        import roma  # noqa: F401
    except ImportError as exc:
        return f"anny not installed ({exc}); make setup installs it"
    return None


def anny_cache_ready() -> bool:
    """True once anny's model cache was built in $ANNY_CACHE_DIR (a first `BodyModel()` takes minutes)."""
    _ensure_env()
    root = Path(os.environ["ANNY_CACHE_DIR"])
    return root.is_dir() and sum(f.stat().st_size for f in root.rglob("*") if f.is_file()) > 100e6


@dataclass
class Identity:
    """One body: shape, height and texture.

    Attributes:
        key: "<split>/<index>", unique.
        phenotype: anny phenotype values (0..1), `height` solved.
        height_m: standing (rest) height, metres.
        texture: (TEXTURE_SIZE, TEXTURE_SIZE, 3) uint8 RGB UV texture.
        rest: cached anny rest model tensors.
    """

    key: str
    phenotype: dict[str, float]
    height_m: float
    texture: np.ndarray
    rest: dict = field(repr=False, default_factory=dict)


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return v / n if n > 1e-12 else v


def min_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest rotation (3, 3) taking direction `a` to direction `b`."""
    a, b = _unit(a), _unit(b)
    v = np.cross(a, b)
    c = float(np.dot(a, b))
    s = np.linalg.norm(v)
    if s < 1e-9:
        if c > 0:
            return np.eye(3)
        axis = _unit(np.cross(a, [1.0, 0, 0]) if abs(a[0]) < 0.9 else np.cross(a, [0, 1.0, 0]))
        return 2 * np.outer(axis, axis) - np.eye(3)
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + k + k @ k * ((1 - c) / s ** 2)


def frame_from(x_dir: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Orthonormal frame (columns x, y, z) with x along `x_dir` and z as close to `up` as possible."""
    x = _unit(x_dir)
    z = _unit(up - np.dot(up, x) * x)
    return np.stack([x, np.cross(z, x), z], axis=1)


def _slerp(r0: np.ndarray, r1: np.ndarray, t: float) -> np.ndarray:
    from scipy.spatial.transform import Rotation, Slerp

    return Slerp([0.0, 1.0], Rotation.from_matrix(np.stack([r0, r1])))([t]).as_matrix()[0]


def canonical_skeleton(joints_yup: np.ndarray) -> np.ndarray:
    """A clip skeleton (17, 3) m in a y-up world -> anny's body frame (z up), pelvis above the origin,
    facing -y (its left hip at +x). Returns (17, 3) m."""
    j = np.asarray(joints_yup, float) @ np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]])  # (x,y,z)->(x,-z,y)
    left = j[11] - j[8]
    yaw = np.arctan2(left[1], left[0])
    c, s = np.cos(-yaw), np.sin(-yaw)
    rz = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
    j = (j - [j[14, 0], j[14, 1], 0.0]) @ rz.T
    return j


class BodyModel:
    """anny with the bone-direction posing and the MuPoTS joint definitions of the module docstring."""

    def __init__(self) -> None:
        _ensure_env()
        import torch

        import anny

        self.torch = torch
        self.model = anny.Anny(pose_parameterization="world-orient")
        m = self.model
        self.labels = list(m.bone_labels)
        self.parents = [int(p) for p in m.bone_parents]
        self.index = {b: i for i, b in enumerate(self.labels)}
        self.faces = m.faces.cpu().numpy().astype(np.int64)
        uv_idx = m.face_texture_coordinate_indices.cpu().numpy().astype(np.int64)
        uv = m.texture_coordinates.cpu().numpy()
        nv = m.template_vertices.shape[0]
        pair = self.faces * uv.shape[0] + uv_idx
        keys, inverse = np.unique(pair.reshape(-1), return_inverse=True)
        self.render_vertex = keys // uv.shape[0]  # (R,) anny vertex of each render vertex
        self.render_uv = uv[keys % uv.shape[0]].astype(np.float32)
        self.render_faces = inverse.reshape(-1, 3).astype(np.uint32)
        self.num_vertices = nv
        kp = anny.KeypointsRegressor.coco(m)
        w = kp.regression_weights.cpu().numpy()
        self.ear_weights = 0.5 * (w[kp.labels.index("left_ear")] + w[kp.labels.index("right_ear")])
        self.kp_weights = {lab: w[i] for i, lab in enumerate(kp.labels)}
        default = self._rest({})
        rv = default["rest_vertices"][0].cpu().numpy()
        self.head_top_vertex = int(np.argmax(np.where(np.abs(rv[:, 0]) < 0.02, rv[:, 2], -np.inf)))
        dominant = m.vertex_bone_indices.cpu().numpy()[np.arange(nv), m.vertex_bone_weights.cpu().numpy().argmax(1)]
        self.vertex_bone = np.asarray(dominant, np.int64)
        self._default_rest_vertices = rv

    # ------------------------------------------------------------------ shape
    def _rest(self, phenotype: dict[str, float]) -> dict:
        torch = self.torch
        m = self.model
        kw = {k: torch.tensor([v], dtype=m.dtype) for k, v in phenotype.items()}
        with torch.no_grad():
            pose, phen, local, facial = m.get_tensor_inputs(None, kw or None, None, None)
            coeffs = m._get_phenotype_blendshape_coefficients(phen, local, facial)
            return m.get_rest_model(coeffs)

    def rest_height(self, phenotype: dict[str, float]) -> float:
        v = self._rest(phenotype)["rest_vertices"][0, :, 2]
        return float(v.max() - v.min())

    def solve_height(self, phenotype: dict[str, float], height_m: float) -> tuple[float, float]:
        """anny `height` parameter (0..1) giving a rest mesh `height_m` tall (bisection), and the height reached."""
        lo, hi = 0.0, 1.0
        h_lo = self.rest_height({**phenotype, "height": lo})
        h_hi = self.rest_height({**phenotype, "height": hi})
        if height_m <= h_lo:
            return lo, h_lo
        if height_m >= h_hi:
            return hi, h_hi
        for _ in range(16):
            mid = 0.5 * (lo + hi)
            if self.rest_height({**phenotype, "height": mid}) < height_m:
                lo = mid
            else:
                hi = mid
        p = 0.5 * (lo + hi)
        return p, self.rest_height({**phenotype, "height": p})

    # ------------------------------------------------------------------ identity
    def make_identity(self, key: str, cache_dir: str | Path | None = None) -> Identity:
        """The identity named `key` ("<split>/<index>"): drawn from a seed derived from the key, so the same
        key always gives the same body and different keys (splits) never share one. Cached as .npz."""
        cache = Path(cache_dir) if cache_dir is not None else ANNY_CACHE_DIR.parent / "identities"
        digest = int(hashlib.sha256(key.encode()).hexdigest()[:16], 16)
        file = cache / f"{key.replace('/', '_')}_{digest:016x}.npz"
        if file.is_file():
            try:
                with np.load(file, allow_pickle=False) as z:
                    names = [str(n) for n in z["phen_names"]]
                    phen = dict(zip(names, z["phen_values"].tolist()))
                    ident = Identity(key, phen, float(z["height_m"]), z["texture"])
                ident.rest = self._rest(phen)
                return ident
            except Exception:  # noqa: BLE001 - a corrupt cache entry is rebuilt
                pass
        rng = np.random.default_rng(digest)
        female = rng.random() < 0.5
        height = float(np.clip(rng.normal(1.63 if female else 1.76, 0.065), *ADULT_HEIGHT_RANGE_M))
        phen = {"gender": float(rng.uniform(0.75, 1.0) if female else rng.uniform(0.0, 0.25)),
                "age": float(rng.uniform(0.62, 0.95)), "muscle": float(rng.uniform(0.25, 0.75)),
                "weight": float(rng.uniform(0.2, 0.8)), "proportions": float(rng.uniform(0.0, 0.5))}
        phen["height"], reached = self.solve_height(phen, height)
        texture = self._paint_texture(rng, female)
        try:
            cache.mkdir(parents=True, exist_ok=True)
            tmp = file.with_suffix(".tmp.npz")
            np.savez_compressed(tmp, phen_names=np.array(list(phen)), phen_values=np.array(list(phen.values())),
                                height_m=reached, texture=texture)
            tmp.replace(file)
        except OSError:
            pass
        ident = Identity(key, phen, reached, texture)
        ident.rest = self._rest(phen)
        return ident

    def _regions(self, rng: np.random.Generator, female: bool) -> np.ndarray:
        """Region code per anny vertex, from the dominant bone and rest-pose position (default shape)."""
        rv = self._default_rest_vertices
        bone = np.array(self.labels)[self.vertex_bone]
        reg = np.full(len(rv), SKIN)
        kp = {k: w @ rv for k, w in self.kp_weights.items()}
        torso = np.char.startswith(bone, "spine") | np.char.startswith(bone, "clavicle") | \
            np.char.startswith(bone, "shoulder01") | (bone == "root") | np.char.startswith(bone, "pelvis")
        hip_z = 0.5 * (kp["left_hip"][2] + kp["right_hip"][2])
        belt = hip_z + rng.uniform(0.04, 0.10)
        reg[torso & (rv[:, 2] >= belt)] = SHIRT
        reg[torso & (rv[:, 2] < belt)] = TROUSERS
        long_sleeves = rng.random() < 0.5
        arms = np.char.startswith(bone, "upperarm") | (np.char.startswith(bone, "lowerarm") & long_sleeves)
        reg[arms] = SHIRT
        shorts = rng.random() < 0.2
        legs = np.char.startswith(bone, "upperleg") | (np.char.startswith(bone, "lowerleg") & (not shorts))
        reg[legs] = TROUSERS
        reg[np.char.startswith(bone, "foot") | np.char.startswith(bone, "toe")] = SHOES
        # head: hair cap behind and above the face
        head = (bone == "head") | (bone == "neck03")
        eye_z = 0.5 * (kp["left_eye"][2] + kp["right_eye"][2])
        ear_y = 0.5 * (kp["left_ear"][1] + kp["right_ear"][1])
        nose = kp["nose"]
        hair_line = eye_z + rng.uniform(0.035, 0.055)
        long_hair = female and rng.random() < 0.7
        back = rv[:, 1] > ear_y - 0.01
        hair = head & ((rv[:, 2] > hair_line) | (back & (rv[:, 2] > eye_z - (0.10 if long_hair else 0.03))))
        if rng.random() < 0.08 and not female:
            hair = head & back & (rv[:, 2] > eye_z - 0.03) & (rv[:, 2] < eye_z + 0.04)  # balding
        reg[hair] = HAIR
        front = rv[:, 1] < nose[1] + 0.045
        for side in ("left_eye", "right_eye"):
            e = kp[side]
            brow = head & front & (np.abs(rv[:, 0] - e[0]) < 0.022) & (rv[:, 2] > e[2] + 0.012) & \
                (rv[:, 2] < e[2] + 0.024)
            reg[brow] = BROW
        for side, label in (("left_eye", "eye.L"), ("right_eye", "eye.R")):
            sel = bone == label
            if sel.any():
                centre = rv[sel].mean(0)
                reg[sel] = EYE_WHITE
                reg[sel & (rv[:, 1] < centre[1] - 0.009)] = IRIS
        lips = head & front & (np.abs(rv[:, 0] - nose[0]) < 0.024) & (rv[:, 2] < nose[2] - 0.025) & \
            (rv[:, 2] > nose[2] - 0.045) & (rv[:, 1] < nose[1] + 0.03)
        reg[lips] = LIPS
        return reg

    def _paint_texture(self, rng: np.random.Generator, female: bool) -> np.ndarray:
        """Procedural UV texture: region colours painted per triangle in UV space, with cloth patterns."""
        import cv2

        reg = self._regions(rng, female)
        skin = SKIN_TONES[rng.integers(len(SKIN_TONES))] * rng.uniform(0.93, 1.05)
        hair = HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))]
        shirt, trousers = CLOTH_COLOURS[rng.choice(len(CLOTH_COLOURS), 2, replace=False)]
        if rng.random() < 0.4:
            trousers = np.array([45, 60, 95.0]) * rng.uniform(0.7, 1.3)  # denim
        shoes = np.array([(25, 25, 25), (230, 230, 230), (90, 60, 40), (60, 60, 70)][rng.integers(4)], float)
        iris = np.array([(60, 40, 25), (90, 60, 30), (70, 100, 130), (80, 100, 60)][rng.integers(4)], float)
        colours = {SKIN: skin, HAIR: hair, SHIRT: shirt, TROUSERS: trousers, SHOES: shoes,
                   EYE_WHITE: np.array([235, 232, 225.0]), IRIS: iris, BROW: hair * 0.8,
                   LIPS: skin * np.array([0.85, 0.6, 0.6])}
        size = TEXTURE_SIZE
        tex = np.zeros((size, size, 3), np.float32)
        label = np.full((size, size), -1, np.int16)
        face_reg = reg[self.render_vertex[self.render_faces]]  # (F, 3)
        # region of a triangle: the most specific of its corners (face details win over skin)
        order = [SKIN, SHIRT, TROUSERS, SHOES, HAIR, BROW, LIPS, EYE_WHITE, IRIS]
        rank = np.argsort(order)
        tri_reg = np.array(order)[rank[face_reg].max(axis=1)]
        # pyrender uploads a texture bottom row first: texture coordinate v samples image row (1 - v) * size
        paint_uv = np.stack([self.render_uv[:, 0], 1.0 - self.render_uv[:, 1]], axis=1)
        pts = np.round(paint_uv[self.render_faces] * size * 16).astype(np.int32)  # 4 fractional bits
        for r in order:  # one polygon per call: fillPoly would XOR overlapping (mirrored) UV islands
            for tri in pts[tri_reg == r]:
                cv2.fillConvexPoly(label, tri, int(r), lineType=cv2.LINE_8, shift=4)
        # grow painted areas over the unpainted gaps (seams), then colour
        unpainted = label < 0
        if unpainted.any():
            _, idx = cv2.distanceTransformWithLabels(unpainted.astype(np.uint8), cv2.DIST_L2, 3,
                                                     labelType=cv2.DIST_LABEL_PIXEL)
            lab_of = np.zeros(idx.max() + 1, np.int16)
            lab_of[idx[~unpainted]] = label[~unpainted]
            label = lab_of[idx]
        for r, c in colours.items():
            tex[label == r] = c
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        noise = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), 3)
        noise /= noise.std() + 1e-6
        cloth = (label == SHIRT) | (label == TROUSERS)
        tex[cloth] *= (1 + 0.07 * noise[cloth])[:, None]
        if rng.random() < 0.35:  # striped shirt
            period = rng.uniform(6, 14)
            stripe = (np.sin(yy / period * 2 * np.pi) > 0.3)
            second = CLOTH_COLOURS[rng.integers(len(CLOTH_COLOURS))]
            m = (label == SHIRT) & stripe
            tex[m] = 0.5 * tex[m] + 0.5 * second
        hair_m = label == HAIR
        tex[hair_m] *= (1 + 0.12 * np.sin(xx[hair_m] * 1.7 + noise[hair_m] * 2))[:, None]
        skin_m = label == SKIN
        tex[skin_m] *= (1 + 0.025 * noise[skin_m])[:, None]
        return np.clip(tex, 0, 255).astype(np.uint8)

    # ------------------------------------------------------------------ pose
    def pose(self, ident: Identity, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pose `ident` so that its bones follow the canonical skeleton `target` (17, 3) m (`canonical_skeleton`).

        Returns:
            vertices (V, 3) m and joints17 (17, 3) m, anny body frame, as posed by anny (the root at its
            rest place; the caller moves the body onto the ground).
        """
        torch = self.torch
        m = self.model
        rest = ident.rest
        rest_poses = rest["rest_bone_poses"][0].cpu().numpy()
        R = rest_poses[:, :3, :3]
        h = rest_poses[:, :3, 3]
        ix = self.index
        t = np.asarray(target, float)
        hip_mid_rest = 0.5 * (h[ix["upperleg01.L"]] + h[ix["upperleg01.R"]])
        d_pelvis = frame_from(t[11] - t[8], t[1] - t[14]) @ frame_from(
            h[ix["upperleg01.L"]] - h[ix["upperleg01.R"]], h[ix["neck01"]] - hip_mid_rest).T
        d_chest = frame_from(t[5] - t[2], t[1] - t[15]) @ frame_from(
            h[ix["upperarm01.L"]] - h[ix["upperarm01.R"]], h[ix["neck01"]] - h[ix["spine02"]]).T
        rv_top = None
        deltas = np.zeros((len(self.labels), 3, 3))

        def aim(bone: str, rest_dir: np.ndarray, target_dir: np.ndarray) -> np.ndarray:
            base = deltas[self.parents[ix[bone]]]
            return min_rotation(base @ rest_dir, target_dir) @ base

        spine_t = {"spine05": 0.0, "spine04": 0.25, "spine03": 0.5, "spine02": 0.75, "spine01": 1.0}
        for i, b in enumerate(self.labels):
            p = self.parents[i]
            if i == 0 or b.startswith("pelvis"):
                deltas[i] = d_pelvis
            elif b in spine_t:
                deltas[i] = _slerp(d_pelvis, d_chest, spine_t[b])
            elif b in ("neck01", "neck02", "neck03", "head"):
                if rv_top is None:
                    rv_top = rest["rest_vertices"][0, self.head_top_vertex].cpu().numpy()
                deltas[i] = aim(b, rv_top - h[ix["neck01"]], t[0] - t[1])
            elif b[:-2] in ("clavicle", "shoulder01"):
                s = b[-1]
                deltas[i] = aim(b, h[ix[f"upperarm01.{s}"]] - h[ix[f"clavicle.{s}"]],
                                t[5 if s == "L" else 2] - t[1])
            elif b[:-2] in ("upperarm01", "upperarm02"):
                s = b[-1]
                sh, el = (5, 6) if s == "L" else (2, 3)
                deltas[i] = aim(b, h[ix[f"lowerarm01.{s}"]] - h[ix[f"upperarm01.{s}"]], t[el] - t[sh])
            elif b[:-2] in ("lowerarm01", "lowerarm02"):
                s = b[-1]
                el, wr = (6, 7) if s == "L" else (3, 4)
                deltas[i] = aim(b, h[ix[f"wrist.{s}"]] - h[ix[f"lowerarm01.{s}"]], t[wr] - t[el])
            elif b[:-2] in ("upperleg01", "upperleg02"):
                s = b[-1]
                hp, kn = (11, 12) if s == "L" else (8, 9)
                deltas[i] = aim(b, h[ix[f"lowerleg01.{s}"]] - h[ix[f"upperleg01.{s}"]], t[kn] - t[hp])
            elif b[:-2] in ("lowerleg01", "lowerleg02"):
                s = b[-1]
                kn, an = (12, 13) if s == "L" else (9, 10)
                deltas[i] = aim(b, h[ix[f"foot.{s}"]] - h[ix[f"lowerleg01.{s}"]], t[an] - t[kn])
            else:  # hands, fingers, feet, toes, eyes follow their parent
                deltas[i] = deltas[p]
        D = np.zeros((1, len(self.labels), 4, 4))
        D[0, :, :3, :3] = deltas @ R
        D[0, :, 3, 3] = 1.0
        D[0, 0, :3, 3] = h[0]
        with torch.no_grad():
            Dt = torch.as_tensor(D, dtype=m.dtype)
            T, W = m.get_bone_transforms(Dt, rest["rest_bone_poses"], pose_parameterization="world-orient")
            verts = m.get_skinned_vertices(rest["rest_vertices"], T)[0].cpu().numpy()
            heads = W[0, :, :3, 3].cpu().numpy()
        return verts, self.joints17(verts, heads)

    def joints17(self, verts: np.ndarray, heads: np.ndarray) -> np.ndarray:
        """MuPoTS-17 joints (17, 3) from posed vertices (V, 3) and bone heads (B, 3) (module docstring)."""
        j = np.zeros((17, 3))
        for k, b in _BONE_JOINTS.items():
            j[k] = heads[self.index[b]]
        j[0] = verts[self.head_top_vertex]
        j[14] = 0.5 * (j[8] + j[11])
        j[15] = 0.5 * (j[14] + j[1])
        j[16] = self.ear_weights @ verts
        return j
