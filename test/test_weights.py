"""Weight registry, lookup, verified atomic download from a local server, and safe loading of hostile files."""

from __future__ import annotations

import hashlib
import http.server
import os
import pickle
import threading
from pathlib import Path

import pytest
import torch

from pinet_ros import weights
from pinet_ros.models.checkpoint import WeightLoadError, read_state_dict
from pinet_ros.weights import DownloadError, WeightSpec

PAYLOAD = os.urandom(300_000)
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        if self.path == "/good":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD)
        elif self.path == "/truncated":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD) + 5000))
            self.end_headers()
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 2])
            self.wfile.flush()
            self.close_connection = True
        else:
            self.send_error(404)


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def spec(monkeypatch):
    s = WeightSpec(name="test_blob", filename="blob.bin", url="http://127.0.0.1:9/none", manual=False,
                   sha256=PAYLOAD_SHA, size_bytes=len(PAYLOAD), licence="MIT", format="raw bytes",
                   description="test payload")
    monkeypatch.setitem(weights.REGISTRY, s.name, s)
    return s


def test_registry_entries():
    for name in ("pinet_muco", "posenet_muco", "rootnet_muco", "fasterrcnn_resnet50_fpn", "fasterrcnn_resnet50_fpn_v2"):
        assert weights.get_spec(name).name == name
    assert weights.get_spec("pinet_muco").manual and "GUO-W/PI-Net" in weights.get_spec("pinet_muco").url
    tv = weights.get_spec("fasterrcnn_resnet50_fpn")
    assert not tv.manual and tv.url.endswith(tv.filename)
    assert weights.expected_hash_prefix(tv) == "258fb6c6"
    assert weights.expected_hash_prefix(weights.get_spec("fasterrcnn_resnet50_fpn_v2")) == "dd69338a"
    with pytest.raises(KeyError, match="known"):
        weights.get_spec("nope")


def test_weights_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("PINET_WEIGHTS_DIR", str(tmp_path))
    assert weights.weights_dir() == tmp_path
    monkeypatch.delenv("PINET_WEIGHTS_DIR")
    assert weights.weights_dir() == Path.home() / ".cache" / "pinet_ros" / "weights"


def test_download_ok(server, spec, tmp_path):
    path = weights.download(spec.name, tmp_path, url=server + "/good", progress=False)
    assert path == tmp_path / "blob.bin" and path.read_bytes() == PAYLOAD
    assert weights.verify(spec.name, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob.bin"]


def test_download_truncated_leaves_nothing(server, spec, tmp_path):
    with pytest.raises(DownloadError):
        weights.download(spec.name, tmp_path, url=server + "/truncated", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_download_hash_mismatch_leaves_nothing(server, monkeypatch, tmp_path):
    bad = WeightSpec(name="bad_blob", filename="bad.bin", url=server + "/good", manual=False, sha256="0" * 64,
                     size_bytes=None, licence="MIT", format="raw bytes", description="wrong hash")
    monkeypatch.setitem(weights.REGISTRY, bad.name, bad)
    with pytest.raises(DownloadError, match="sha256"):
        weights.download(bad.name, tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_download_prefix_mismatch_and_http_error(server, monkeypatch, tmp_path):
    tv = WeightSpec(name="tv_blob", filename="net_coco-deadbeef.pth", url=server + "/good", manual=False,
                    sha256=None, size_bytes=None, licence="BSD-3-Clause", format="torchvision state dict",
                    description="torchvision-style name with a wrong hash prefix")
    monkeypatch.setitem(weights.REGISTRY, tv.name, tv)
    with pytest.raises(DownloadError):
        weights.download(tv.name, tmp_path, progress=False)
    with pytest.raises(DownloadError):
        weights.download(tv.name, tmp_path, url=server + "/missing", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_manual_entry_refuses(tmp_path):
    with pytest.raises(DownloadError, match="github.com/GUO-W/PI-Net"):
        weights.download("pinet_muco", tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_find_weight(monkeypatch, tmp_path):
    wdir, hub = tmp_path / "w", tmp_path / "hub"
    wdir.mkdir()
    monkeypatch.setenv("PINET_WEIGHTS_DIR", str(wdir))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    with pytest.raises(FileNotFoundError) as info:
        weights.find_weight("fasterrcnn_resnet50_fpn")
    msg = str(info.value)
    assert "fasterrcnn_resnet50_fpn_coco-258fb6c6.pth" in msg
    assert str(wdir) in msg and str(hub / "checkpoints") in msg
    assert "https://download.pytorch.org/models/fasterrcnn_resnet50_fpn_coco-258fb6c6.pth" in msg
    with pytest.raises(FileNotFoundError, match="GUO-W/PI-Net"):
        weights.find_weight("pinet_muco")
    (hub / "checkpoints").mkdir(parents=True)
    cached = hub / "checkpoints" / "fasterrcnn_resnet50_fpn_coco-258fb6c6.pth"
    cached.write_bytes(b"x")
    assert weights.find_weight("fasterrcnn_resnet50_fpn") == cached
    own = wdir / "pinet_muco" / "snapshot_24.pth.tar"
    own.parent.mkdir()
    own.write_bytes(b"x")
    assert weights.find_weight("pinet_muco") == own
    assert weights.find_weight("pinet_muco", own.parent) == own
    # PI-Net and PoseNet releases share a file name: each registry entry has its own folder.
    with pytest.raises(FileNotFoundError):
        weights.find_weight("posenet_muco")
    assert weights.find_weight("pinet_muco", own) == own
    with pytest.raises(FileNotFoundError, match="elsewhere"):
        weights.find_weight("pinet_muco", tmp_path / "elsewhere.pth")


def test_verify_without_hash_checks_loadable(tmp_path, monkeypatch):
    good = tmp_path / "good.pth.tar"
    torch.save({"epoch": 1, "network": {"module.w": torch.zeros(2)}}, good)
    assert weights.verify("pinet_muco", good)
    bad = tmp_path / "bad.pth.tar"
    bad.write_bytes(b"not a checkpoint")
    assert not weights.verify("pinet_muco", bad)


class _Evil:
    marker = ""

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _EvilWrite:
    marker = ""

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("cls", [_Evil, _EvilWrite])
@pytest.mark.parametrize("writer", ["pickle", "torch"])
def test_malicious_pickle_is_refused(tmp_path, cls, writer):
    marker = tmp_path / "pwned"
    evil = cls()
    evil.marker = str(marker)
    path = tmp_path / "snapshot_24.pth.tar"
    obj = {"network": {"w": evil}}
    if writer == "pickle":
        with open(path, "wb") as f:
            pickle.dump(obj, f)
    else:
        torch.save(obj, path)
    assert not marker.exists()
    with pytest.raises(WeightLoadError, match="snapshot_24.pth.tar"):
        read_state_dict(path, expected="PI-Net")
    assert not marker.exists()


def test_truncated_checkpoint_names_file(tmp_path):
    path = tmp_path / "cut.pth"
    torch.save({"network": {"w": torch.randn(1000, 100)}}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightLoadError, match="cut.pth"):
        read_state_dict(path, expected="PI-Net")
