"""ONNX export of PI-Net, PoseNet and RootNet (for onnxruntime, and TensorRT engines on a Jetson).

Exported with torch's TorchScript-based exporter (``torch.onnx.export(..., dynamo=False)``): it runs offline
with only the `onnx` package and gives the same file every time. (The default since torch 2.9, the
torch.export-based exporter, needs the `onnxscript` package, which pinet_ros does not install.)

Graphs, their input/output names and dynamic axes:

- PI-Net (`PINET_INPUT`): ``sequences`` (batch, people, 17, 3) float32 mm, one person sequence per row
  (target first, then the others; `PINet.refine` builds ``batch = N`` rows of ``people = max(N, 2)``) ->
  ``refined`` (batch, 17, 3) mm, the refined target of each row, and ``attention`` (batch, people), the
  target's attention over the sequence positions (only when the model has attention). This is what inference
  uses: full-length sequences, no padding, so the packed-sequence path of training is not in the graph.
- PoseNet: ``crops`` (batch, 3, 256, 256) float32 normalised crops (`posenet.preprocess_crops`) ->
  ``coords`` (batch, J, 3) heatmap units (the soft-argmax is in the graph).
- RootNet: ``crops`` (batch, 3, 256, 256) and ``k`` (batch, 1) mm (`rootnet.rootnet_k`) ->
  ``root`` (batch, 3): x, y heatmap units, depth mm.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Iterable

import numpy as np
import torch
from torch import nn

from pinet_ros.models.pinet import PINet
from pinet_ros.models.posenet import INPUT_SIZE, PoseNet
from pinet_ros.models.rootnet import RootNet

__all__ = ["OPSET", "NETWORKS", "PINET_INPUT", "PINetSequenceGraph", "export_pinet", "export_posenet",
           "export_rootnet", "export_models", "parity_check", "onnx_session"]

OPSET = 17
NETWORKS = ("pinet", "posenet", "rootnet")
PINET_INPUT = "sequences"


class PINetSequenceGraph(nn.Module):
    """The inference path of PI-Net as a graph: (B, L, J, 3) full-length sequences -> target of each row.

    Same arithmetic as `PINet.forward_with_attention(seqs, lengths=None)` (per-sample normalisation over all
    L*J joints, GRU/LSTM over L people, attention, head), keeping position 0.
    """

    def __init__(self, model: PINet) -> None:
        super().__init__()
        self.model = model
        self.num_joints = model.config.num_joints

    def forward(self, sequences: torch.Tensor) -> tuple[torch.Tensor, ...]:
        b = sequences.shape[0]
        flat = sequences.reshape(b, -1, 3)  # (B, L*J, 3), person-major as PINet expects
        out, alpha = self.model.forward_with_attention(flat)
        refined = out[:, :self.num_joints, :]  # position 0
        if alpha is None:
            return (refined,)
        return refined, alpha[:, 0, :]


class _PoseNetGraph(nn.Module):
    def __init__(self, model: PoseNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        return self.model(crops)


def _export(module: nn.Module, args: tuple[torch.Tensor, ...], path: Path, input_names: list[str],
            output_names: list[str], dynamic_axes: dict[str, dict[int, str]],
            static_dims: dict[str, dict[int, int]] | None = None) -> Path:
    """torch.onnx.export (TorchScript path), then write `static_dims` ({output: {axis: size}}) into the outputs'
    declared shapes where the exporter's shape inference left a computed dimension unnamed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    module = module.eval()
    with warnings.catch_warnings():
        # the tracer's notes on Python-side shape checks (constant for a given rank) and the exporter's own
        # deprecation notice; the graph is checked against torch by `parity_check`
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export.*")
        warnings.filterwarnings("ignore", message=".*batch_size other than 1.*")
        with torch.no_grad():
            torch.onnx.export(module, args, str(path), dynamo=False, opset_version=OPSET, input_names=input_names,
                              output_names=output_names, dynamic_axes=dynamic_axes, do_constant_folding=True)
    import onnx

    if static_dims:
        model = onnx.load(str(path))
        for out in model.graph.output:
            for axis, size in static_dims.get(out.name, {}).items():
                dim = out.type.tensor_type.shape.dim[axis]
                dim.Clear()
                dim.dim_value = int(size)
        onnx.save(model, str(path))
    onnx.checker.check_model(str(path), full_check=True)
    return path


def export_pinet(model: PINet, path: str | Path) -> Path:
    """Write PI-Net's inference graph (`PINetSequenceGraph`) to `path`; dynamic batch and people."""
    model = model.float().cpu().eval()
    j = model.config.num_joints
    gen = torch.Generator().manual_seed(0)
    example = (torch.rand((3, 3, j, 3), generator=gen) - 0.5) * 1000.0 + torch.tensor([0.0, 0.0, 4000.0])
    outputs = ["refined", "attention"] if model.config.attention else ["refined"]
    axes = {PINET_INPUT: {0: "batch", 1: "people"}, "refined": {0: "batch"}}
    if model.config.attention:
        axes["attention"] = {0: "batch", 1: "people"}
    return _export(PINetSequenceGraph(model), (example,), Path(path), [PINET_INPUT], outputs, axes,
                   static_dims={"refined": {1: j, 2: 3}})


def export_posenet(model: PoseNet, path: str | Path) -> Path:
    """Write PoseNet (crops -> coords, soft-argmax included) to `path`; dynamic batch."""
    model = model.float().cpu().eval()
    example = torch.zeros((2, 3, INPUT_SIZE, INPUT_SIZE))
    return _export(_PoseNetGraph(model), (example,), Path(path), ["crops"], ["coords"],
                   {"crops": {0: "batch"}, "coords": {0: "batch"}},
                   static_dims={"coords": {1: model.num_joints, 2: 3}})


def export_rootnet(model: RootNet, path: str | Path) -> Path:
    """Write RootNet ((crops, k) -> root) to `path`; dynamic batch."""
    model = model.float().cpu().eval()
    example = (torch.zeros((2, 3, INPUT_SIZE, INPUT_SIZE)), torch.full((2, 1), 3000.0))
    return _export(model, example, Path(path), ["crops", "k"], ["root"],
                   {"crops": {0: "batch"}, "k": {0: "batch"}, "root": {0: "batch"}}, static_dims={"root": {1: 3}})


def onnx_session(path: str | Path, threads: int | None = None):
    """An onnxruntime CPU session for `path` (`threads` intra-op threads; None = onnxruntime's choice)."""
    from pinet_ros.models.onnx_session import cpu_session

    return cpu_session(path, threads)


def _example_inputs(name: str, model: nn.Module, batch: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    if name == "pinet":
        j = model.config.num_joints
        people = max(batch, 2)
        roots = np.stack([rng.uniform(-2000, 2000, people), rng.uniform(-500, 500, people),
                          rng.uniform(2000, 6000, people)], 1)
        poses = roots[:, None, :] + rng.uniform(-500, 500, (people, j, 3))
        seq = np.stack([np.roll(poses, -i, axis=0) for i in range(batch)])  # row i: person i first
        return {PINET_INPUT: seq.astype(np.float32)}
    crops = rng.normal(0.0, 1.0, (batch, 3, INPUT_SIZE, INPUT_SIZE)).astype(np.float32)
    if name == "rootnet":
        return {"crops": crops, "k": rng.uniform(2000.0, 8000.0, (batch, 1)).astype(np.float32)}
    return {"crops": crops}


def _torch_outputs(name: str, model: nn.Module, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    with torch.no_grad():
        if name == "pinet":
            outs = PINetSequenceGraph(model)(torch.from_numpy(inputs[PINET_INPUT]))
        elif name == "rootnet":
            outs = (model(torch.from_numpy(inputs["crops"]), torch.from_numpy(inputs["k"])),)
        else:
            outs = (model(torch.from_numpy(inputs["crops"])),)
    return [o.double().numpy() for o in outs]


def parity_check(name: str, model: nn.Module, path: str | Path, batches: Iterable[int] = (1, 2),
                 seed: int = 0) -> list[dict]:
    """Run the ONNX file with onnxruntime (CPU) and the torch model on the same random inputs.

    Returns one row per (batch, output): {"batch", "output", "max_abs_diff", "max_abs_ref"} (output units:
    mm for PI-Net's refined, probability for attention, heatmap units for PoseNet, RootNet x, y and mm
    for its depth, all in one array).
    """
    sess = onnx_session(path)
    names = [o.name for o in sess.get_outputs()]
    rows = []
    model = model.float().cpu().eval()
    for b in batches:
        inputs = _example_inputs(name, model, int(b), seed + int(b))
        got = sess.run(None, inputs)
        ref = _torch_outputs(name, model, inputs)
        for out_name, g, r in zip(names, got, ref):
            if g.shape != r.shape:
                raise AssertionError(f"{name} {out_name}: onnxruntime shape {g.shape} != torch {r.shape}")
            rows.append({"batch": int(b), "output": out_name,
                         "max_abs_diff": float(np.abs(g.astype(np.float64) - r).max()),
                         "max_abs_ref": float(np.abs(r).max())})
    return rows


def _load(name: str, weights: str | None, random_weights: bool) -> nn.Module:
    from pinet_ros import weights as registry
    from pinet_ros.models.pinet import PINetConfig, load_pinet
    from pinet_ros.models.posenet import load_posenet
    from pinet_ros.models.rootnet import load_rootnet

    if random_weights:
        torch.manual_seed(0)
        return {"pinet": lambda: PINet(PINetConfig()), "posenet": PoseNet, "rootnet": RootNet}[name]().eval()
    reg = {"pinet": registry.DEFAULT_PINET, "posenet": "posenet_muco", "rootnet": "rootnet_muco"}[name]
    path = Path(weights).expanduser() if weights else registry.find_weight(reg)
    loader = {"pinet": load_pinet, "posenet": load_posenet, "rootnet": load_rootnet}[name]
    return loader(path)


def export_models(out_dir: str | Path, which: Iterable[str] = NETWORKS, weights: dict[str, str | None] | None = None,
                  random_weights: bool = False, check: bool = True) -> dict[str, dict]:
    """Export the chosen networks to ``out_dir/<name>.onnx``.

    Args:
        which: subset of `NETWORKS`.
        weights: {name: weight file}; a missing name uses the registry (`pinet-ros weights list`): PI-Net the
            packaged default (weights.DEFAULT_PINET), PoseNet/RootNet the authors' MuCo files.
        random_weights: export the architectures with random weights instead (same graph and compute).
        check: also run `parity_check` (batch 1 and 2).
    Returns:
        {name: {"path": Path, "parity": rows or []}}.
    Raises:
        FileNotFoundError / WeightLoadError: a weight file is missing or not that network.
    """
    weights = weights or {}
    out = {}
    exporters = {"pinet": export_pinet, "posenet": export_posenet, "rootnet": export_rootnet}
    for name in which:
        if name not in NETWORKS:
            raise ValueError(f"unknown network {name!r}; choose from {NETWORKS}")
        model = _load(name, weights.get(name), random_weights)
        path = exporters[name](model, Path(out_dir) / f"{name}.onnx")
        out[name] = {"path": path, "parity": parity_check(name, model, path) if check else []}
    return out
