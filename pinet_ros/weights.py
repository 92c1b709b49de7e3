"""Registry of the weight files pinet_ros uses, where to find them locally, and safe downloading.

Nothing is downloaded implicitly: `find_weight` only looks on disk and, when a file is missing, says which file,
where it looked and how to get it. `download` streams to a temporary file next to the destination, checks its
hash, and only then renames it into place, so a partial or corrupt file never appears at the final path.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

__all__ = ["WeightSpec", "REGISTRY", "DownloadError", "get_spec", "weights_dir", "hub_checkpoints_dir", "packaged_path",
           "find_weight", "registry_name_of", "sha256_file", "expected_hash_prefix", "verify", "download"]


class DownloadError(RuntimeError):
    """A download failed (HTTP error, truncated transfer, hash mismatch) or must be done by hand."""


@dataclass(frozen=True)
class WeightSpec:
    """One weight file.

    Attributes:
        name: registry key.
        filename: file name on disk.
        url: direct download URL, or the page that links to the file when `manual` is True.
        manual: the user must download the file by hand (e.g. Google Drive links of the authors' releases).
        sha256: full hex SHA-256 of the file, None where not published.
        size_bytes: file size in bytes, None if unknown.
        licence: SPDX licence of the weights.
        format: how the file is stored, e.g. "torchvision state dict".
        description: what the network is and where it is used.
        hub_cache: also look in torch hub's cache (``torch.hub.get_dir()/checkpoints``) for it.
        packaged: the file ships inside the Python package, in ``pinet_ros/default_weights/`` (see
            `packaged_path`); nothing to download.
    """

    name: str
    filename: str
    url: str
    manual: bool
    sha256: str | None
    size_bytes: int | None
    licence: str
    format: str
    description: str
    hub_cache: bool = False
    packaged: bool = False


_AUTHORS_CKPT = "torch checkpoint {'network'} with module. prefix"

REGISTRY: dict[str, WeightSpec] = {spec.name: spec for spec in (
    WeightSpec(
        name="pinet_muco", filename="snapshot_24.pth.tar",
        url="https://github.com/GUO-W/PI-Net#readme", manual=True, sha256=None, size_bytes=None, licence="MIT",
        format="torch checkpoint {'epoch', 'network', 'optimizer'}, keys without prefix",
        description="PI-Net pose-interaction refinement network trained on MuCo-3DHP (authors' release; "
                    "download link in the README)"),
    WeightSpec(
        name="posenet_muco", filename="snapshot_24.pth.tar",
        url="https://github.com/mks0601/3DMPPE_POSENET_RELEASE#readme", manual=True, sha256=None, size_bytes=None,
        licence="MIT", format=_AUTHORS_CKPT,
        description="3DMPPE PoseNet (root-relative 3D pose) trained on MuCo-3DHP (authors' release; "
                    "download link in the README)"),
    WeightSpec(
        name="rootnet_muco", filename="snapshot_18.pth.tar",
        url="https://github.com/mks0601/3DMPPE_ROOTNET_RELEASE#readme", manual=True, sha256=None, size_bytes=None,
        licence="MIT", format=_AUTHORS_CKPT,
        description="3DMPPE RootNet (absolute root depth) trained on MuCo-3DHP (authors' release; "
                    "download link in the README)"),
    WeightSpec(
        name="fasterrcnn_resnet50_fpn", filename="fasterrcnn_resnet50_fpn_coco-258fb6c6.pth",
        url="https://download.pytorch.org/models/fasterrcnn_resnet50_fpn_coco-258fb6c6.pth", manual=False,
        sha256=None, size_bytes=None, licence="BSD-3-Clause", format="torchvision state dict",
        description="torchvision Faster R-CNN ResNet-50 FPN v1, COCO (person detector)", hub_cache=True),
    WeightSpec(
        name="fasterrcnn_resnet50_fpn_v2", filename="fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth",
        url="https://download.pytorch.org/models/fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth", manual=False,
        sha256=None, size_bytes=None, licence="BSD-3-Clause", format="torchvision state dict",
        description="torchvision Faster R-CNN ResNet-50 FPN v2, COCO (person detector)", hub_cache=True),
    WeightSpec(
        name="pinet_synthetic", filename="pinet_synthetic.safetensors",
        url="pinet_ros/default_weights/pinet_synthetic.safetensors (ships with the package)", manual=False,
        sha256="02a2bfbf4b2333988b9fe769eb228b9777eb8efa09d063818efc2def51d5a8d2", size_bytes=6821664, licence="MIT",
        format="safetensors float16 + PINetConfig metadata",
        description="PI-Net (released architecture, 3,408,896 parameters) trained by pinet_ros on synthetic "
                    "multi-person scenes (`pinet-ros synth`); how it was trained: default_weights/pinet_synthetic.json",
        packaged=True),
    WeightSpec(
        name="pinet_topdown_rendered", filename="pinet_topdown_rendered.safetensors",
        url="pinet_ros/default_weights/pinet_topdown_rendered.safetensors (ships with the package)", manual=False,
        sha256="5f582ccc073a7f64153d370a4611e12574cbd9bb818e0b1966b043092baedd2a", size_bytes=6821760,
        licence="MIT", format="safetensors float16 + PINetConfig metadata",
        description="PI-Net (released architecture and size, residual head, target normalisation) trained by "
                    "pinet_ros on the topdown backend's real errors on rendered people (`pinet-ros render`, "
                    "`pinet-ros evaluate --pairs-out`); how it was trained: "
                    "default_weights/pinet_topdown_rendered.json",
        packaged=True),
)}

DEFAULT_PINET = "pinet_topdown_rendered"
"""Registry name of the PI-Net that ships with the package and runs when `pinet_weights` is empty."""

_HASH_PREFIX = re.compile(r"-([a-f0-9]{8,})\.")
_CHUNK = 1 << 20


def registry_name_of(text: str) -> str | None:
    """`text` when it names a registry entry and no file or folder of that name exists (a path wins), else
    None: how a weights argument that takes "a file or a registry name" tells the two apart."""
    if text in REGISTRY and not Path(text).expanduser().exists():
        return text
    return None


def get_spec(name: str) -> WeightSpec:
    """The registry entry `name`. Raises KeyError listing the known names."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown weight {name!r}; known: {', '.join(sorted(REGISTRY))}") from None


def weights_dir() -> Path:
    """pinet_ros's weight directory: ``$PINET_WEIGHTS_DIR``, else ``~/.cache/pinet_ros/weights``."""
    env = os.environ.get("PINET_WEIGHTS_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "pinet_ros" / "weights"


def hub_checkpoints_dir() -> Path:
    """torch hub's checkpoint cache, ``torch.hub.get_dir()/checkpoints`` (where torchvision stores its weights)."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def packaged_path(spec: WeightSpec) -> Path:
    """Where a packaged file lives: ``<pinet_ros package>/default_weights/<filename>``."""
    return Path(__file__).resolve().parent / "default_weights" / spec.filename


def _how_to_get(spec: WeightSpec) -> str:
    if spec.packaged:
        return (f"reinstall pinet_ros (the file ships in {packaged_path(spec).parent}) or rebuild it with the "
                "commands recorded in default_weights/" + Path(spec.filename).stem + ".json")
    if spec.manual:
        return f"download it by hand from the links on {spec.url}"
    return f"run `pinet-ros weights download {spec.name}` or download {spec.url}"


def local_path(spec: WeightSpec) -> Path:
    """Where the registry keeps `spec`'s file: ``weights_dir()/<name>/<filename>``.

    One folder per entry, because the authors' PI-Net and PoseNet files share the name snapshot_24.pth.tar.
    """
    return weights_dir() / spec.name / spec.filename


def _candidates(spec: WeightSpec, path: str | os.PathLike[str] | None) -> list[Path]:
    places = []
    if path is not None:
        p = Path(path).expanduser()
        places.append(p / spec.filename if p.is_dir() else p)
        return places
    places.append(local_path(spec))
    if spec.packaged:
        places.append(packaged_path(spec))
    if spec.hub_cache:
        places.append(hub_checkpoints_dir() / spec.filename)
    return places


def find_weight(name: str, path: str | os.PathLike[str] | None = None) -> Path:
    """Locate the weight file `name` on disk; never downloads.

    Looks at `path` when given (a file, or a directory holding the file), otherwise in `weights_dir()`, then,
    for files that ship with the package, in `packaged_path`, and for torchvision files in torch hub's
    checkpoint cache.

    Raises:
        KeyError: unknown name.
        FileNotFoundError: naming the file, the places searched and how to get it.
    """
    spec = get_spec(name)
    places = _candidates(spec, path)
    for place in places:
        if place.is_file():
            return place
    raise FileNotFoundError(
        f"weight file {spec.filename} ({spec.name}) not found; looked in: "
        + ", ".join(str(p) for p in places)
        + f". To get it, {_how_to_get(spec)} and put it in {local_path(spec).parent} (or set PINET_WEIGHTS_DIR, "
          "or pass its path)")


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of the file at `path`, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def expected_hash_prefix(spec: WeightSpec) -> str | None:
    """The full sha256 if published, else torchvision's hash prefix from the file name (``name-<hex>.pth``)."""
    if spec.sha256:
        return spec.sha256.lower()
    match = _HASH_PREFIX.search(spec.filename)
    return match.group(1) if match else None


def _hash_ok(spec: WeightSpec, digest: str) -> bool:
    expected = expected_hash_prefix(spec)
    return expected is None or digest.startswith(expected)


def verify(name: str, path: str | os.PathLike[str] | None = None) -> bool:
    """Check the file of `name` (at `path`, or found by `find_weight`).

    Compares its sha256 with the published one (or torchvision's 8-hex file-name prefix); for files without a
    published hash, checks instead that it safely loads as a state dict of tensors.

    Returns:
        True if it matches / loads, False otherwise.
    Raises:
        KeyError: unknown name.  FileNotFoundError: no such file.
    """
    spec = get_spec(name)
    file = find_weight(name, path)
    if expected_hash_prefix(spec) is not None:
        if spec.size_bytes is not None and file.stat().st_size != spec.size_bytes:
            return False
        return _hash_ok(spec, sha256_file(file))
    from pinet_ros.models.checkpoint import WeightLoadError, read_state_dict

    nested = "network" if "'network'" in spec.format else None
    try:
        read_state_dict(file, expected=spec.description, nested_key=nested)
    except WeightLoadError:
        return False
    return True


def download(name: str, dest_dir: str | os.PathLike[str] | None = None, url: str | None = None,
             progress: bool = True, timeout_s: float = 60.0) -> Path:
    """Download the weight file `name` into `dest_dir` (default `weights_dir()`), verified, atomically.

    Streams to a temporary file in `dest_dir`, checks the byte count against Content-Length and the hash
    (sha256 or torchvision's file-name prefix), then renames it to ``dest_dir/<filename>``. On any error the
    temporary file is removed and nothing is written at the final path.

    Args:
        name: registry key.
        dest_dir: target directory (created if needed).
        url: overrides the registry URL (also allowed for manual entries).
        progress: show a tqdm progress bar.
        timeout_s: socket timeout in seconds.
    Returns:
        The final path.
    Raises:
        DownloadError: manual entry without `url`, HTTP/network error, truncated transfer, hash mismatch.
    """
    spec = get_spec(name)
    if spec.packaged and url is None:
        raise DownloadError(f"{spec.name} ({spec.filename}) ships with pinet_ros in {packaged_path(spec).parent}: "
                            "nothing to download")
    if spec.manual and url is None:
        raise DownloadError(
            f"{spec.name} ({spec.filename}) cannot be downloaded automatically: download it by hand from the "
            f"links on {spec.url} and put it in {weights_dir()} (or pass --url)")
    source = url or spec.url
    dest = Path(dest_dir).expanduser() if dest_dir is not None else local_path(spec).parent
    dest.mkdir(parents=True, exist_ok=True)
    final = dest / spec.filename
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.filename}.", suffix=".part", dir=dest)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            _stream(source, out, spec, progress, timeout_s)
        digest = sha256_file(tmp)
        if not _hash_ok(spec, digest):
            raise DownloadError(f"{source}: sha256 {digest} does not match the expected "
                                f"{expected_hash_prefix(spec)} for {spec.filename}; file discarded")
        if spec.size_bytes is not None and tmp.stat().st_size != spec.size_bytes:
            raise DownloadError(f"{source}: {tmp.stat().st_size} bytes, expected {spec.size_bytes}; file discarded")
        os.replace(tmp, final)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, DownloadError) or not isinstance(exc, Exception):
            raise
        raise DownloadError(f"download of {spec.filename} from {source} failed: {exc}") from exc
    return final


def _stream(source: str, out, spec: WeightSpec, progress: bool, timeout_s: float) -> None:
    """Copy the body of `source` into the open binary file `out`, checking it against Content-Length."""
    from tqdm import tqdm

    request = urllib.request.Request(source, headers={"User-Agent": "pinet_ros"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        length_header = response.headers.get("Content-Length")
        total = int(length_header) if length_header and length_header.isdigit() else None
        received = 0
        with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=spec.filename,
                  disable=not progress) as bar:
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if total is not None and received != total:
        raise DownloadError(f"{source}: truncated transfer, received {received} of {total} bytes; file discarded")
