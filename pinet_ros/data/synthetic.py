"""Synthetic multi-person scenes from the DeepMimic motion clips shipped with pybullet.

Each clip (``pybullet_data/data/motions/humanoid3d_<name>.txt``) is played through
``pybullet_data/humanoid/humanoid.urdf`` (``globalScaling=0.25``, metres, y-up) in a DIRECT client.
Link frames are mapped to the 17 MuPoTS joints, people are placed in front of a pinhole camera,
projected to pixels, and a noisy "monocular estimator" output is simulated as ``initial_cam``.

Clip frame layout (44 floats): duration, root pos (3), root quat (w,x,y,z), chest quat, neck quat,
right hip quat, right knee angle, right ankle quat, right shoulder quat, right elbow angle,
left hip quat, left knee angle, left ankle quat, left shoulder quat, left elbow angle.

Joint mapping (MuPoTS17 index <- URDF link frame origin, i.e. joint location):

    ===  ===========  ==========================================================  =============
    idx  MuPoTS      source                                                        approximated
    ===  ===========  ==========================================================  =============
    0    head_top     neck + R_neck @ (0, HEAD_TOP_OFFSET, 0)                        yes
    1    thorax       neck joint (base of the neck, top of the chest)               no
    2    r_shoulder   right_shoulder joint                                          no
    3    r_elbow      right_elbow joint                                             no
    4    r_wrist      right_wrist joint                                             no
    5    l_shoulder   left_shoulder joint                                           no
    6    l_elbow      left_elbow joint                                              no
    7    l_wrist      left_wrist joint                                              no
    8    r_hip        right_hip joint                                               no
    9    r_knee       right_knee joint                                              no
    10   r_ankle      right_ankle joint                                             no
    11   l_hip        left_hip joint                                                no
    12   l_knee       left_knee joint                                               no
    13   l_ankle      left_ankle joint                                              no
    14   pelvis       root (base) frame                                             no
    15   spine        midpoint of root and chest joint                              yes
    16   head         neck + R_neck @ (0, HEAD_OFFSET, 0)                           yes
    ===  ===========  ==========================================================  =============

R_neck is the world rotation of the neck link (its local +y points from neck to head).

These legacy definitions put the spine at about 26 % of the way from pelvis to thorax and the hips about
170 mm apart, while MuPoTS, the backends and the rendered benchmark (`pinet_ros.data.anny_body`) put the spine
half way and the hips ~0.2 m apart. ``SceneConfig(mupots_joints=True)`` (``pinet-ros synth --mupots-joints``)
applies `mupots_joints` to every sampled pose: spine = midpoint of pelvis and thorax, hips moved apart
symmetrically to `MUPOTS_HIP_WIDTH_M`. The default stays the legacy one, which the packaged PI-Net was
trained on and the README's synthetic tables were measured with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.metadata import version as _pkg_version
from pathlib import Path

import numpy as np

from pinet_ros.core.camera import Intrinsics
from pinet_ros.data.annotations import NUM_JOINTS, ImageGroup

CLIPS: tuple[str, ...] = (
    "backflip", "cartwheel", "crawl", "dance_a", "dance_b", "getup_facedown", "getup_faceup",
    "jump", "kick", "punch", "roll", "run", "spin", "spinkick", "walk",
)
# Split by clip: no test motion appears in training. Test keeps one locomotion (walk), one dance and one
# acrobatic kick; val one dance-like and one martial-arts clip.
SPLITS: dict[str, list[str]] = {
    "train": ["backflip", "cartwheel", "crawl", "dance_a", "getup_facedown", "getup_faceup",
              "jump", "roll", "run", "spin"],
    "val": ["kick", "punch"],
    "test": ["spinkick", "dance_b", "walk"],
}

HEAD_OFFSET = 0.10  # m along the neck link's +y, neck base -> head centre (approximation)
HEAD_TOP_OFFSET = 0.22  # m along the neck link's +y, neck base -> top of the head (approximation)
CACHE_DIR = Path.home() / ".cache" / "pinet_ros" / "synth"
MUPOTS_HIP_WIDTH_M = 0.21  # hip joint centres apart: anny's rest skeleton (0.20-0.21 m)

# URDF joint/link name -> MuPoTS index (direct link-frame joints).
_DIRECT = {
    "neck": 1, "right_shoulder": 2, "right_elbow": 3, "right_wrist": 4, "left_shoulder": 5,
    "left_elbow": 6, "left_wrist": 7, "right_hip": 8, "right_knee": 9, "right_ankle": 10,
    "left_hip": 11, "left_knee": 12, "left_ankle": 13,
}
# Motion-file order of the driven joints with their DoF (4 = quaternion wxyz, 1 = angle).
_MOTION_JOINTS = (
    ("chest", 4), ("neck", 4), ("right_hip", 4), ("right_knee", 1), ("right_ankle", 4),
    ("right_shoulder", 4), ("right_elbow", 1), ("left_hip", 4), ("left_knee", 1), ("left_ankle", 4),
    ("left_shoulder", 4), ("left_elbow", 1),
)


def _data_path() -> Path:
    import pybullet_data

    return Path(pybullet_data.getDataPath())


def _forward_kinematics(frames: list[list[float]]) -> np.ndarray:
    """Run FK for every motion frame. Returns (T, 17, 3) metres, y-up world frame."""
    import pybullet as p

    client = p.connect(p.DIRECT)
    try:
        body = p.loadURDF(str(_data_path() / "humanoid" / "humanoid.urdf"), globalScaling=0.25,
                          physicsClientId=client)
        index = {p.getJointInfo(body, j, physicsClientId=client)[1].decode(): j
                 for j in range(p.getNumJoints(body, physicsClientId=client))}
        out = np.zeros((len(frames), NUM_JOINTS, 3))
        for t, fr in enumerate(frames):
            w, x, y, z = fr[4:8]
            p.resetBasePositionAndOrientation(body, fr[1:4], [x, y, z, w], physicsClientId=client)
            k = 8
            for name, dof in _MOTION_JOINTS:
                j = index[name]
                if dof == 4:
                    w, x, y, z = fr[k:k + 4]
                    p.resetJointStateMultiDof(body, j, [x, y, z, w], physicsClientId=client)
                else:
                    p.resetJointState(body, j, fr[k], physicsClientId=client)
                k += dof
            states = {name: p.getLinkState(body, j, computeForwardKinematics=True, physicsClientId=client)
                      for name, j in index.items()}
            pos = {name: np.asarray(s[4]) for name, s in states.items()}
            for name, m in _DIRECT.items():
                out[t, m] = pos[name]
            root = np.asarray(p.getBasePositionAndOrientation(body, physicsClientId=client)[0])
            out[t, 14] = root
            out[t, 15] = 0.5 * (root + pos["chest"])
            r_neck = np.asarray(p.getMatrixFromQuaternion(states["neck"][5])).reshape(3, 3)
            up = r_neck[:, 1]
            out[t, 16] = pos["neck"] + HEAD_OFFSET * up
            out[t, 0] = pos["neck"] + HEAD_TOP_OFFSET * up
        return out
    finally:
        p.disconnect(client)


def load_clip(name: str, cache_dir: str | Path | None = None) -> np.ndarray:
    """Load one clip as MuPoTS17 joints.

    Args:
        name: one of CLIPS.
        cache_dir: FK cache directory (default ~/.cache/pinet_ros/synth).
    Returns:
        (T, 17, 3) float64 metres, y-DOWN, z away from the viewer (x, -y, -z of the y-up world),
        absolute positions as in the clip.
    """
    if name not in CLIPS:
        raise ValueError(f"unknown clip {name!r}; expected one of {CLIPS}")
    cache = Path(cache_dir) if cache_dir is not None else CACHE_DIR
    file = cache / f"{name}_pybullet{_pkg_version('pybullet')}.npz"
    if file.is_file():
        try:
            return np.load(file)["joints"]
        except Exception:  # corrupt cache: recompute
            pass
    with (_data_path() / "data" / "motions" / f"humanoid3d_{name}.txt").open() as f:
        frames = json.load(f)["Frames"]
    joints = _forward_kinematics(frames) * np.array([1.0, -1.0, -1.0])
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, joints=joints)
        tmp.replace(file)
    except OSError:
        pass
    return joints


@dataclass(frozen=True)
class SceneConfig:
    """Scene sampling settings.

    Attributes:
        width, height: image size (px).
        fx, fy: focal lengths (px); principal point at the image centre.
        min_people, max_people: people per scene (inclusive).
        depth_range: (near, far) root depth range (m).
        min_separation: minimum lateral (x) distance between roots (m).
        box_pad: box padding as a fraction of the joint extent.
        min_inside: minimum fraction of a person's 17 joints that must project inside the image.
        seed: default dataset seed.
        mupots_joints: apply `mupots_joints` (spine half way, hips ~0.21 m apart) to every pose.
    """

    width: int = 1280
    height: int = 720
    fx: float = 1000.0
    fy: float = 1000.0
    min_people: int = 1
    max_people: int = 4
    depth_range: tuple[float, float] = (2.0, 8.0)
    min_separation: float = 0.6
    box_pad: float = 0.1
    min_inside: float = 0.8
    seed: int = 0
    mupots_joints: bool = False

    @property
    def intrinsics(self) -> Intrinsics:
        return Intrinsics(self.fx, self.fy, self.width / 2.0, self.height / 2.0)


@dataclass(frozen=True)
class NoiseModel:
    """Errors of a simulated monocular 3D pose estimator (all mm unless stated).

    Attributes:
        depth_sigma_rel: root depth error sigma as a fraction of the true depth (sigma = rel * z).
        joint_sigma: per-joint, per-axis Gaussian noise on root-relative joints (mm).
        limb_error_prob: probability per limb (4 limbs: 2 arms, 2 legs) of a gross error.
        limb_error_range: (min, max) displacement (mm) of a wrong limb's end joints (wrist+elbow or
            ankle+knee; the elbow/knee gets half of it).
    """

    depth_sigma_rel: float = 0.05
    joint_sigma: float = 40.0
    limb_error_prob: float = 0.05
    limb_error_range: tuple[float, float] = (150.0, 300.0)

    def apply(self, gt_cam: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Noisy estimate of (n, 17, 3) mm joints: root moved along its viewing ray by the depth error,
        root-relative joints jittered, some limbs displaced. Returns (n, 17, 3) mm."""
        gt = np.asarray(gt_cam, dtype=np.float64)
        root = gt[:, 14:15]
        rel = gt - root
        rel = rel + rng.normal(0.0, self.joint_sigma, rel.shape)
        rel[:, 14] = 0.0
        for i in range(len(gt)):
            for mid, end in ((3, 4), (6, 7), (9, 10), (12, 13)):
                if rng.random() < self.limb_error_prob:
                    d = rng.normal(size=3)
                    d *= rng.uniform(*self.limb_error_range) / np.linalg.norm(d)
                    rel[i, end] += d
                    rel[i, mid] += 0.5 * d
        z = root[:, 0, 2]
        z_est = np.maximum(z + rng.normal(0.0, 1.0, z.shape) * self.depth_sigma_rel * z, 0.3 * z)
        root_est = root * (z_est / z)[:, None, None]  # along the viewing ray: same pixel
        return root_est + rel


def mupots_joints(pose: np.ndarray) -> np.ndarray:
    """(17, 3) legacy clip joints -> MuPoTS-like definitions: spine at the midpoint of pelvis (14) and thorax
    (1); hips (8, 11) moved apart along their own axis, about their midpoint, to `MUPOTS_HIP_WIDTH_M`."""
    j = np.array(pose, dtype=np.float64, copy=True)
    j[15] = 0.5 * (j[14] + j[1])
    mid, axis = 0.5 * (j[8] + j[11]), j[11] - j[8]
    width = np.linalg.norm(axis)
    if width > 1e-9:
        half = 0.5 * MUPOTS_HIP_WIDTH_M * axis / width
        j[8], j[11] = mid - half, mid + half
    return j


def _yaw(theta: float) -> np.ndarray:
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


_CLIP_CACHE: dict[str, np.ndarray] = {}


def _clip(name: str) -> np.ndarray:
    if name not in _CLIP_CACHE:
        _CLIP_CACHE[name] = load_clip(name)
    return _CLIP_CACHE[name]


def make_scene(split: str, rng: np.random.Generator, config: SceneConfig | None = None,
               noise: NoiseModel | None = None, image_id: int = 0) -> ImageGroup:
    """Sample one image's people from the clips of `split` (see module docstring); units mm / px."""
    config = config or SceneConfig()
    noise = noise or NoiseModel()
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {tuple(SPLITS)}")
    intr = config.intrinsics
    n = int(rng.integers(config.min_people, config.max_people + 1))
    people: list[np.ndarray] = []
    placed: list[np.ndarray] = []
    for _ in range(200 * n):
        if len(people) == n:
            break
        clip = _clip(SPLITS[split][int(rng.integers(len(SPLITS[split])))])
        pose = clip[int(rng.integers(len(clip)))]
        if config.mupots_joints:
            pose = mupots_joints(pose)
        pose = (pose - pose[14]) @ _yaw(rng.uniform(0, 2 * np.pi)).T
        z = rng.uniform(*config.depth_range)
        # lateral position keeping the root inside the central 80% of the image
        x = rng.uniform(-0.4, 0.4) * config.width / config.fx * z
        y = rng.uniform(-0.1, 0.15) * config.height / config.fy * z
        root = np.array([x, y, z])
        if any(abs(root[0] - q[0]) < config.min_separation and abs(root[2] - q[2]) < 1.0 for q in placed):
            continue
        joints = pose + root
        if joints[:, 2].min() <= 0.5:
            continue
        uv = intr.project(joints)
        inside = (uv[:, 0] >= 0) & (uv[:, 0] < config.width) & (uv[:, 1] >= 0) & (uv[:, 1] < config.height)
        if inside.mean() < config.min_inside:
            continue
        people.append(joints)
        placed.append(root)
    if not people:
        raise RuntimeError("could not place any person; check SceneConfig")
    gt_cam = np.stack(people) * 1000.0
    gt_img = intr.project(gt_cam)
    lo, hi = gt_img.min(axis=1), gt_img.max(axis=1)
    pad = config.box_pad * (hi - lo)
    boxes = np.concatenate([lo - pad, hi - lo + 2 * pad], axis=1)
    return ImageGroup(
        image_id=image_id, file_name=f"synthetic/{split}/{image_id:06d}.png",
        width=config.width, height=config.height, intrinsics=intr,
        gt_cam=gt_cam, gt_img=gt_img, visible=np.ones(gt_cam.shape[:2]), boxes=boxes,
        valid=np.ones(len(gt_cam), dtype=bool), initial_cam=noise.apply(gt_cam, rng),
    )


def make_dataset(split: str, num_scenes: int, seed: int, config: SceneConfig | None = None,
                 noise: NoiseModel | None = None) -> list[ImageGroup]:
    """`num_scenes` scenes of `split`, deterministic for `seed`."""
    rng = np.random.default_rng(seed)
    return [make_scene(split, rng, config, noise, image_id=i) for i in range(num_scenes)]


def save_groups(path: str | Path, groups: list[ImageGroup]) -> None:
    """Save groups to one compressed .npz (arrays concatenated over people, with per-image counts)."""
    if not groups:
        raise ValueError("no groups to save")
    cat = lambda attr: np.concatenate([getattr(g, attr) for g in groups])  # noqa: E731
    np.savez_compressed(
        path,
        counts=np.array([g.num_persons for g in groups]), image_id=np.array([g.image_id for g in groups]),
        file_name=np.array([g.file_name for g in groups]),
        size=np.array([[g.width, g.height] for g in groups]),
        intr=np.array([[g.intrinsics.fx, g.intrinsics.fy, g.intrinsics.cx, g.intrinsics.cy] for g in groups]),
        gt_cam=cat("gt_cam"), gt_img=cat("gt_img"), visible=cat("visible"), boxes=cat("boxes"),
        valid=cat("valid"),
        initial_cam=np.concatenate([g.initial_cam if g.initial_cam is not None else np.full_like(g.gt_cam, np.nan)
                                    for g in groups]),
    )


def load_groups(path: str | Path) -> list[ImageGroup]:
    """Inverse of `save_groups`."""
    # Read every array once: indexing an NpzFile decompresses the whole array again on each access, and
    # the per-image slices below would each keep their own full copy alive.
    with np.load(path) as npz:
        d = {key: npz[key] for key in npz.files}
    ends = np.cumsum(d["counts"])
    out = []
    for i, (a, b) in enumerate(zip(np.concatenate([[0], ends[:-1]]), ends)):
        init = d["initial_cam"][a:b]
        out.append(ImageGroup(
            image_id=int(d["image_id"][i]), file_name=str(d["file_name"][i]),
            width=int(d["size"][i, 0]), height=int(d["size"][i, 1]), intrinsics=Intrinsics(*d["intr"][i]),
            gt_cam=d["gt_cam"][a:b], gt_img=d["gt_img"][a:b], visible=d["visible"][a:b], boxes=d["boxes"][a:b],
            valid=d["valid"][a:b], initial_cam=None if np.isnan(init).all() else init,
        ))
    return out
