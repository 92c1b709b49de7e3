"""Evaluation of PI-Net against its initial estimates, reported as the paper's tables.

Inputs are image groups (`pinet_ros.data.annotations.ImageGroup`) that carry the initial estimates
(`initial_cam`, camera mm), the ground truth (`gt_cam` mm, `gt_img` px) and the intrinsics:
a MuPoTS-style annotation file with `keypoints_cam_posenet` (read by `pinet_ros.data.mupots.read_mupots`)
or a synthetic scenes ``.npz`` written by ``pinet-ros synth`` (`pinet_ros.data.synthetic.load_groups`).

Methods compared ("modes"):

* ``initial``: the initial estimates as they are (the baseline, e.g. 3DMPPE PoseNet).
* ``pinet``: PI-Net refining every valid person of an image with the others as context (one batched
  forward per image; order chosen by ``order``, see `pinet_ros.models.pinet.build_orders`).
* ``alone``: the same network fed each person alone, as the sequence [i, i] (how a lone person is fed in
  training), to measure what the context of the other people brings.

Protocol (see REFERENCE.md, "MuPoTS-3D evaluation"): ground-truth boxes and roots, i.e. one estimate per
valid GT person. Only valid persons are scored and used as context (as `pinet_ros.train` does). The 2D joints
used for matching (40 px rule) are the projections of each method's own 3D joints with the image intrinsics.
3DPCK (150 mm, 14 joints, bone rescaling) under "all ground truths" and "only matched"; a sequence's value
pools all its person instances; the headline average is the unweighted mean of the sequence values.
MPJPE / PA-MPJPE: pelvis-aligned, all 17 joints, all valid GT persons (PA: rotation + translation, no scale).

Sequences: MuPoTS images are grouped by their ``TS<n>/`` folder (TS1..TS20). Synthetic scenes carry no
clip per image (a scene mixes clips of its split), so they are grouped by the number of people in the image
("1 person", "2 people", ...), which is also the axis along which the context can matter.

Tables written (Markdown + CSV, same numbers; see `evaluate_groups` and `run_ablation`):

* Table 1 ``table1_pck_sequences``: 3DPCK per sequence + average, all ground truths and only matched.
* Table 2 ``table2_mpjpe``: MPJPE and PA-MPJPE (REFERENCE.md numbers them Table 2), plus 3DPCK and AUC.
* Table 3 ``table3_pck_joint_groups``: 3DPCK per joint group (head ... ankle) + total, pooled over all images.
* Tables 4-6 (``--ablation``): ordering, attention / bidirectionality (and cell), number of layers.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from pinet_ros.data.annotations import AnnotationError, ImageGroup
from pinet_ros.metrics import (JOINT_GROUPS, PCKAccumulator, evaluate_frame, mpjpe, pa_mpjpe)

if TYPE_CHECKING:  # torch is only needed when a network runs
    from pinet_ros.models.pinet import PINet, PINetConfig

__all__ = ["MODES", "MODE_LABELS", "Table", "MethodScores", "load_eval_groups", "sequence_names",
           "predict", "score", "evaluate_groups", "AblationEntry", "ABLATION_FILES", "ablation_entries",
           "run_ablation", "write_tables", "AblationError"]

MODES = ("initial", "pinet", "alone")
MODE_LABELS = {"initial": "Initial estimates", "pinet": "PI-Net (context)", "alone": "PI-Net (each alone)"}
GROUP_NAMES = tuple(JOINT_GROUPS)
WEIGHT_SUFFIXES = (".safetensors", ".pth.tar", ".pth", ".pt")


class AblationError(ValueError):
    """An ablation spec or checkpoint is missing, malformed or does not match its configuration."""


# ------------------------------------------------------------------------------------------------ tables
@dataclass
class Table:
    """One results table: a title, a header and rows of strings / floats.

    Markdown shows floats with `digits` decimals; the CSV keeps 4 decimals (NaN written as "nan").

    Attributes:
        name: file stem (``<name>.md`` / ``<name>.csv``).
        title: Markdown heading.
        header: column names.
        rows: one list per row, len(header) cells each.
        note: text printed under the Markdown table.
        digits: decimals in Markdown.
    """

    name: str
    title: str
    header: list[str]
    rows: list[list[Any]]
    note: str = ""
    digits: int = 1

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.header):
                raise ValueError(f"table {self.name}: row {row!r} has {len(row)} cells, header has {len(self.header)}")

    @staticmethod
    def _cell(value: Any, digits: int) -> str:
        if isinstance(value, (float, np.floating)):
            return "n/a" if math.isnan(value) else f"{float(value):.{digits}f}"
        return str(value)

    def markdown(self) -> str:
        """The table as GitHub Markdown with a ``###`` heading and the note below it."""
        lines = [f"### {self.title}", "", "| " + " | ".join(self.header) + " |",
                 "|" + "|".join("---" if i == 0 else "---:" for i in range(len(self.header))) + "|"]
        lines += ["| " + " | ".join(self._cell(c, self.digits) for c in row) + " |" for row in self.rows]
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines) + "\n"

    def csv(self) -> str:
        """The table as CSV text (header row first)."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(self.header)
        for row in self.rows:
            writer.writerow([f"{float(c):.4f}" if isinstance(c, (float, np.floating)) else str(c) for c in row])
        return buf.getvalue()


def write_tables(tables: Sequence[Table], out_dir: str | Path, report_name: str = "report.md") -> Path:
    """Write each table as ``<name>.md`` and ``<name>.csv`` into `out_dir`, plus all of them in one report.

    Returns:
        the report path.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for t in tables:
        (out / f"{t.name}.md").write_text(t.markdown())
        (out / f"{t.name}.csv").write_text(t.csv())
    report = out / report_name
    report.write_text("\n".join(t.markdown() for t in tables))
    return report


# -------------------------------------------------------------------------------------------------- data
def load_eval_groups(path: str | Path) -> list[ImageGroup]:
    """Read evaluation groups: a synthetic ``.npz`` or a MuPoTS-style ``.json`` with initial estimates.

    Raises:
        FileNotFoundError: no such file.
        AnnotationError: a JSON without `keypoints_cam_posenet` in any image (names the file and key),
            or an unknown extension.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"evaluation data not found: {path}")
    if path.suffix == ".npz":
        from pinet_ros.data.synthetic import load_groups

        groups = load_groups(path)
    elif path.suffix == ".json":
        from pinet_ros.data.mupots import POSENET_KEY, read_mupots

        groups = list(read_mupots(path))
        if groups and all(g.initial_cam is None for g in groups):
            raise AnnotationError(f"{path}: no annotation carries '{POSENET_KEY}' (the initial 3D estimates, mm); "
                                  "use the PI-Net release's MuPoTS-3D_with_posenet_result.json")
    else:
        raise AnnotationError(f"{path}: unknown evaluation data format (expected .npz from `pinet-ros synth` "
                              "or a MuPoTS-style .json)")
    if not groups:
        raise AnnotationError(f"{path}: no image with people")
    return groups


def _people_label(n: int) -> str:
    return "1 person" if n == 1 else f"{n} people"


def sequence_names(groups: Sequence[ImageGroup]) -> list[str]:
    """Sequence of each group: ``TS<n>`` for MuPoTS file names (``TS7/img_000001.jpg``), else the number
    of valid people in the image (``"2 people"``)."""
    from pinet_ros.data.mupots import sequence_of

    names = []
    for g in groups:
        try:
            names.append(f"TS{sequence_of(g.file_name)}")
        except AnnotationError:
            names.append(_people_label(int(np.asarray(g.valid, bool).sum())))
    return names


def _sequence_sort_key(name: str) -> tuple[int, str]:
    digits = "".join(ch for ch in name if ch.isdigit())
    return (int(digits) if digits else 10 ** 9, name)


def _scored(g: ImageGroup) -> np.ndarray:
    """Indices of the valid persons of `g` that have an initial estimate (those are predicted and scored)."""
    valid = np.flatnonzero(np.asarray(g.valid, bool).reshape(-1))
    if g.initial_cam is None:
        return valid[:0]
    finite = np.isfinite(np.asarray(g.initial_cam)[valid]).all(axis=(1, 2))
    return valid[finite]


# ----------------------------------------------------------------------------------------- predictions
def predict(groups: Sequence[ImageGroup], mode: str, model: "PINet | None" = None, order: str = "root3d",
            seed: int = 0) -> list[np.ndarray]:
    """Predictions (n_i, 17, 3) mm for the scored persons of every group (see `_scored`), in their index order.

    Args:
        groups: image groups with `initial_cam`.
        mode: one of `MODES`.
        model: the PI-Net (required unless mode == "initial").
        order: context order for mode "pinet" (see `pinet_ros.models.pinet.build_orders`).
        seed: seed of the "random" order; image k uses seed + k.
    Returns:
        one float64 array per group ((0, 17, 3) for a group with no scored person).
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
    if mode != "initial" and model is None:
        raise ValueError(f"mode {mode!r} needs a PI-Net model")
    out = []
    for k, g in enumerate(groups):
        idx = _scored(g)
        init = np.asarray(g.initial_cam, np.float64)[idx] if idx.size else np.zeros((0, 17, 3))
        if mode == "initial" or idx.size == 0:
            out.append(init)
        elif mode == "pinet":
            boxes = np.asarray(g.boxes, np.float64)[idx] if order == "bbox2d" else None
            refined, _ = model.refine(init.astype(np.float32), order=order, boxes=boxes, seed=seed + k)
            out.append(np.asarray(refined, np.float64))
        else:
            out.append(_refine_alone(model, init))
    return out


def _refine_alone(model: "PINet", poses_mm: np.ndarray) -> np.ndarray:
    """Each of the (N, 17, 3) mm people refined from the sequence [i, i], batched -> (N, 17, 3) mm."""
    import torch

    j = model.config.num_joints
    param = model.h0
    p = torch.as_tensor(poses_mm, dtype=param.dtype, device=param.device)
    seqs = torch.cat([p, p], dim=1)  # (N, 2*17, 3): person i twice
    with torch.no_grad():
        was_training = model.training
        model.eval()
        refined = model.forward_sequence(seqs)[:, :j]
        model.train(was_training)
    return refined.cpu().numpy().astype(np.float64)


# ----------------------------------------------------------------------------------------------- scores
@dataclass
class MethodScores:
    """Everything measured for one method on one data set.

    Attributes:
        name: method label.
        sequences: sequence names in table order.
        seq_all, seq_matched: per-sequence 3DPCK accumulators ("all ground truths" / "only matched").
        pooled_all, pooled_matched: the same pooled over the whole data set.
        mpjpe_mm: pelvis-aligned MPJPE over all scored persons and 17 joints (mm).
        pa_mpjpe_mm: the same after rigid Procrustes alignment (mm).
        num_persons: scored persons; num_images: images with at least one.
    """

    name: str
    sequences: list[str]
    seq_all: dict[str, PCKAccumulator]
    seq_matched: dict[str, PCKAccumulator]
    pooled_all: PCKAccumulator
    pooled_matched: PCKAccumulator
    mpjpe_mm: float
    pa_mpjpe_mm: float
    num_persons: int
    num_images: int

    def sequence_pck(self, protocol: str) -> dict[str, float]:
        """Sequence -> 3DPCK (%) for protocol "all" or "matched"."""
        accs = self.seq_all if protocol == "all" else self.seq_matched
        return {s: accs[s].pck() for s in self.sequences}

    def mean_pck(self, protocol: str) -> float:
        """Unweighted mean of the sequence values (the papers' headline 3DPCK), NaN sequences skipped."""
        vals = [v for v in self.sequence_pck(protocol).values() if not math.isnan(v)]
        return float(np.mean(vals)) if vals else float("nan")

    def summary(self) -> dict[str, float]:
        """Headline numbers (mm and %)."""
        return {"mpjpe_mm": self.mpjpe_mm, "pa_mpjpe_mm": self.pa_mpjpe_mm,
                "pck_all": self.mean_pck("all"), "pck_matched": self.mean_pck("matched"),
                "pck_all_pooled": self.pooled_all.pck(), "auc_all_pooled": self.pooled_all.auc(),
                "num_persons": self.num_persons, "num_images": self.num_images}


def score(groups: Sequence[ImageGroup], predictions: Sequence[np.ndarray], name: str,
          sequences: Sequence[str] | None = None) -> MethodScores:
    """Score per-group predictions (from `predict`) against the ground truth.

    Args:
        groups: image groups.
        predictions: (n_i, 17, 3) mm per group, for the scored persons of `_scored(group)` in order.
        name: method label.
        sequences: sequence name per group (default `sequence_names(groups)`).
    """
    if len(predictions) != len(groups):
        raise ValueError(f"{len(predictions)} predictions for {len(groups)} groups")
    seq_of = list(sequences) if sequences is not None else sequence_names(groups)
    order = sorted(set(seq_of), key=_sequence_sort_key)
    seq_all = {s: PCKAccumulator() for s in order}
    seq_matched = {s: PCKAccumulator() for s in order}
    pooled_all, pooled_matched = PCKAccumulator(), PCKAccumulator()
    preds_cat, gts_cat = [], []
    images = 0
    for g, pred, s in zip(groups, predictions, seq_of):
        valid = np.flatnonzero(np.asarray(g.valid, bool).reshape(-1))
        if valid.size == 0:
            continue
        idx = _scored(g)
        pred = np.asarray(pred, np.float64).reshape(-1, 17, 3)
        if len(pred) != len(idx):
            raise ValueError(f"image {g.image_id}: {len(pred)} predictions for {len(idx)} scored persons")
        gt3 = np.asarray(g.gt_cam, np.float64)[valid]
        gt2 = np.asarray(g.gt_img, np.float64)[valid]
        pred2 = g.intrinsics.project(pred) if len(pred) else np.zeros((0, 17, 2))
        for acc_all, acc_matched in ((seq_all[s], seq_matched[s]), (pooled_all, pooled_matched)):
            evaluate_frame(pred, pred2, gt3, gt2, acc_all, acc_matched)
        if len(idx):
            images += 1
            preds_cat.append(pred)
            gts_cat.append(np.asarray(g.gt_cam, np.float64)[idx])
    if preds_cat:
        p, t = np.concatenate(preds_cat), np.concatenate(gts_cat)
        err, pa_err, n = mpjpe(p, t), pa_mpjpe(p, t), len(p)
    else:
        err, pa_err, n = float("nan"), float("nan"), 0
    return MethodScores(name=name, sequences=order, seq_all=seq_all, seq_matched=seq_matched,
                        pooled_all=pooled_all, pooled_matched=pooled_matched, mpjpe_mm=err, pa_mpjpe_mm=pa_err,
                        num_persons=n, num_images=images)


# ------------------------------------------------------------------------------------------ main tables
def _table1(results: Sequence[MethodScores]) -> Table:
    seqs = results[0].sequences
    header = ["Sequence"] + [f"{r.name}, {prot}" for prot in ("all GT", "matched") for r in results]
    rows: list[list[Any]] = []
    for s in seqs:
        rows.append([s] + [r.sequence_pck(p)[s] for p in ("all", "matched") for r in results])
    rows.append(["Average"] + [r.mean_pck(p) for p in ("all", "matched") for r in results])
    return Table("table1_pck_sequences", "Table 1: 3DPCK (%, 150 mm) per sequence", header, rows,
                 note="All GT: unmatched ground-truth persons count as misses. Matched: only matched persons. "
                      "Average: unweighted mean of the sequence values.")


def _table2(results: Sequence[MethodScores]) -> Table:
    header = ["Method", "MPJPE (mm)", "PA-MPJPE (mm)", "3DPCK all GT (%)", "3DPCK matched (%)", "AUC all GT (%)",
              "Persons"]
    rows = [[r.name, r.mpjpe_mm, r.pa_mpjpe_mm, r.mean_pck("all"), r.mean_pck("matched"), r.pooled_all.auc(),
             str(r.num_persons)] for r in results]
    return Table("table2_mpjpe", "Table 2: MPJPE and PA-MPJPE (pelvis-aligned, 17 joints)", header, rows,
                 note="MPJPE: pelvis-aligned mean over all 17 joints of all ground-truth persons; PA-MPJPE after "
                      "rigid alignment (rotation + translation, no scale). 3DPCK: mean of the sequence values. "
                      "AUC: 3DPCK averaged over 0, 5, ..., 150 mm, pooled over all persons.")


def _table3(results: Sequence[MethodScores]) -> Table:
    header = ["Method", "Protocol"] + list(GROUP_NAMES) + ["Total"]
    rows = []
    for prot in ("all", "matched"):
        for r in results:
            acc = r.pooled_all if prot == "all" else r.pooled_matched
            groups = acc.groups()
            rows.append([r.name, "all GT" if prot == "all" else "matched"] + [groups[g] for g in GROUP_NAMES]
                        + [acc.pck()])
    return Table("table3_pck_joint_groups", "Table 3: 3DPCK (%, 150 mm) per joint group", header, rows,
                 note="Pooled over all person instances of the data set; Total = all 14 scored joints.")


def main_tables(results: Sequence[MethodScores]) -> list[Table]:
    """Tables 1-3 for the methods in `results` (all scored on the same groups)."""
    if not results:
        raise ValueError("no results to tabulate")
    return [_table1(results), _table2(results), _table3(results)]


def evaluate_groups(groups: Sequence[ImageGroup], model: "PINet | None", order: str = "root3d",
                    alone: bool = True, seed: int = 0) -> tuple[list[MethodScores], list[Table]]:
    """Initial estimates vs PI-Net (and PI-Net fed each person alone) on `groups`.

    Args:
        groups: image groups with initial estimates.
        model: PI-Net in eval mode; None scores only the initial estimates.
        order: context order of PI-Net.
        alone: also score the network fed each person alone.
        seed: seed of the "random" order.
    Returns:
        the scores of each method (initial, pinet, alone) and Tables 1-3.
    """
    seqs = sequence_names(groups)
    modes = ["initial"] + (["pinet"] + (["alone"] if alone else []) if model is not None else [])
    results = [score(groups, predict(groups, m, model, order=order, seed=seed), MODE_LABELS[m], seqs)
               for m in modes]
    return results, main_tables(results)


# ---------------------------------------------------------------------------------------------- ablation
@dataclass(frozen=True)
class AblationEntry:
    """One configuration of the ablation tables.

    Attributes:
        table: 4 (ordering), 5 (attention / bidirectional / cell) or 6 (number of layers).
        label: row label.
        key: file stem expected in an ablation folder (e.g. "order_reverse").
        order: context order used to build the sequences.
        arch: the architecture fields this row is about (subset of PINetConfig fields), checked against
            the checkpoint's own config when it has one.
        weights: the checkpoint, or None when not found.
        config: explicit PINetConfig fields (JSON spec), overriding the checkpoint's metadata.
    """

    table: int
    label: str
    key: str
    order: str = "root3d"
    arch: Mapping[str, Any] = field(default_factory=dict)
    weights: Path | None = None
    config: Mapping[str, Any] | None = None


_FULL = {"num_layers": 3, "bidirectional": True, "attention": True, "cell": "gru"}
#: Expected checkpoint stems in an ablation folder (any of WEIGHT_SUFFIXES): table, label, order, architecture.
#: The rows marked full (order_root3d, bigru_att, layers3) are the full model and fall back to the main
#: `--weights` when their own file is absent.
ABLATION_FILES: tuple[AblationEntry, ...] = (
    AblationEntry(4, "Reverse (far to near)", "order_reverse", "reverse", _FULL),
    AblationEntry(4, "Random", "order_random", "random", _FULL),
    AblationEntry(4, "2D box distance (released code)", "order_bbox2d", "bbox2d", _FULL),
    AblationEntry(4, "Intuitive (root distance, near to far)", "order_root3d", "root3d", _FULL),
    AblationEntry(5, "GRU, w/o attention, w/o bidirectional", "gru_noatt_unidir", "root3d",
                  {**_FULL, "attention": False, "bidirectional": False}),
    AblationEntry(5, "GRU, w/o attention", "gru_noatt", "root3d", {**_FULL, "attention": False}),
    AblationEntry(5, "GRU, w/o bidirectional", "gru_unidir", "root3d", {**_FULL, "bidirectional": False}),
    AblationEntry(5, "LSTM, attention, bidirectional", "lstm", "root3d", {**_FULL, "cell": "lstm"}),
    AblationEntry(5, "GRU, attention, bidirectional (full)", "bigru_att", "root3d", _FULL),
    AblationEntry(6, "2 layers", "layers2", "root3d", {**_FULL, "num_layers": 2}),
    AblationEntry(6, "3 layers (full)", "layers3", "root3d", _FULL),
    AblationEntry(6, "4 layers", "layers4", "root3d", {**_FULL, "num_layers": 4}),
)
_FULL_KEYS = ("order_root3d", "bigru_att", "layers3")
TABLE_TITLES = {4: "Table 4: ordering of the other people", 5: "Table 5: attention, bidirectionality and cell",
                6: "Table 6: number of recurrent layers"}


def _find_checkpoint(folder: Path, key: str) -> Path | None:
    for suffix in WEIGHT_SUFFIXES:
        p = folder / f"{key}{suffix}"
        if p.is_file():
            return p
    return None


def ablation_entries(spec: str | Path, full_weights: str | Path | None = None) -> list[AblationEntry]:
    """Ablation configurations from a folder of checkpoints or a JSON spec.

    Folder: files named ``<key><suffix>`` for the keys of `ABLATION_FILES` (suffix one of
    ``.safetensors``, ``.pth.tar``, ``.pth``, ``.pt``). Missing files give entries with ``weights=None``
    (reported as "missing"), except the full-model rows, which fall back to `full_weights`.

    JSON: a list of objects ``{"table": 4|5|6, "label": str, "weights": path (relative to the JSON's
    folder), "order": str (default "root3d"), "config": {PINetConfig fields} (optional; default: the
    safetensors metadata, else the released architecture)}``.

    Raises:
        AblationError: no such folder/file, a malformed JSON (names the entry and key), or a folder holding
            none of the expected files.
    """
    spec = Path(spec)
    if spec.is_dir():
        entries = []
        for e in ABLATION_FILES:
            w = _find_checkpoint(spec, e.key)
            if w is None and e.key in _FULL_KEYS and full_weights is not None:
                w = Path(full_weights)
            entries.append(replace(e, weights=w))
        if not any(_find_checkpoint(spec, e.key) for e in ABLATION_FILES):
            expected = ", ".join(f"{e.key}.safetensors" for e in ABLATION_FILES)
            raise AblationError(f"ablation folder {spec} holds none of the expected checkpoints: {expected}")
        return entries
    if not spec.is_file():
        raise AblationError(f"ablation spec not found: {spec} (expected a folder of checkpoints or a JSON file)")
    try:
        data = json.loads(spec.read_text())
    except json.JSONDecodeError as exc:
        raise AblationError(f"{spec}: not valid JSON: {exc}") from None
    if not isinstance(data, list):
        raise AblationError(f"{spec}: expected a JSON list of {{table, label, weights, order, config}} objects")
    entries = []
    for i, item in enumerate(data):
        for key in ("table", "label", "weights"):
            if not isinstance(item, dict) or key not in item:
                raise AblationError(f"{spec}: entry {i} lacks the key '{key}'")
        if item["table"] not in TABLE_TITLES:
            raise AblationError(f"{spec}: entry {i} has table {item['table']!r}; expected 4, 5 or 6")
        w = Path(item["weights"]).expanduser()
        w = w if w.is_absolute() else spec.parent / w
        config = item.get("config")
        if config is not None and not isinstance(config, dict):
            raise AblationError(f"{spec}: entry {i} 'config' must be an object of PINetConfig fields")
        entries.append(AblationEntry(int(item["table"]), str(item["label"]), w.name, str(item.get("order", "root3d")),
                                     {}, w, config))
    return entries


def _metadata_config(path: Path) -> "PINetConfig | None":
    """The PINetConfig stored by `save_pinet` in a safetensors header ("pinet_config"), or None."""
    from safetensors import safe_open

    from pinet_ros.models.pinet import PINetConfig

    try:
        with safe_open(str(path), framework="pt") as f:
            text = (f.metadata() or {}).get("pinet_config")
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types for a bad header
        raise AblationError(f"{path}: unreadable safetensors header: {exc}") from None
    if text is None:
        return None
    try:
        return PINetConfig.from_json(text)
    except (ValueError, TypeError) as exc:
        raise AblationError(f"{path}: invalid pinet_config metadata: {exc}") from None


def _load_entry(entry: AblationEntry) -> "PINet":
    """Load the checkpoint of `entry`, with its config from the spec, the safetensors metadata or the
    released architecture + `entry.arch`; checks the metadata against `entry.arch`."""
    from pinet_ros.models.pinet import PINetConfig, load_pinet

    assert entry.weights is not None
    path = Path(entry.weights)
    if not path.is_file():
        raise AblationError(f"ablation checkpoint not found: {path} ({entry.label})")
    if entry.config is not None:
        try:
            config = PINetConfig(**dict(entry.config))
        except (TypeError, ValueError) as exc:
            raise AblationError(f"{path}: invalid config for {entry.label!r}: {exc}") from None
    else:
        meta = _metadata_config(path) if path.suffix == ".safetensors" else None
        if meta is not None:
            wrong = {k: (getattr(meta, k), v) for k, v in entry.arch.items() if getattr(meta, k) != v}
            if wrong:
                raise AblationError(f"{path}: its pinet_config metadata does not match the row {entry.label!r}: "
                                    + ", ".join(f"{k}={a!r} (expected {b!r})" for k, (a, b) in wrong.items()))
            config = meta
        else:
            config = PINetConfig(**{**json.loads(PINetConfig().to_json()), **dict(entry.arch)})
    return load_pinet(path, config=config)


def run_ablation(groups: Sequence[ImageGroup], entries: Sequence[AblationEntry], seed: int = 0,
                 baseline: MethodScores | None = None,
                 loader: Callable[[AblationEntry], "PINet"] | None = None) -> tuple[list[Table], dict[str, Any]]:
    """Score every ablation configuration on `groups` and build Tables 4-6.

    Args:
        groups: evaluation groups.
        entries: configurations (`ablation_entries`); those without weights are listed as missing.
        seed: seed of the "random" order.
        baseline: scores of the initial estimates (computed if None); first row of every table.
        loader: entry -> model (default: `_load_entry`).
    Returns:
        the tables (only those with at least one entry) and a JSON-ready dict label -> summary.
    """
    loader = loader or _load_entry
    seqs = sequence_names(groups)
    base = baseline or score(groups, predict(groups, "initial"), MODE_LABELS["initial"], seqs)
    header = ["Configuration", "Order", "MPJPE (mm)", "PA-MPJPE (mm)", "3DPCK all GT (%)", "3DPCK matched (%)",
              "Weights"]
    summaries: dict[str, Any] = {}
    tables = []
    for t in sorted({e.table for e in entries}):
        rows: list[list[Any]] = [[base.name, "-", base.mpjpe_mm, base.pa_mpjpe_mm, base.mean_pck("all"),
                                  base.mean_pck("matched"), "-"]]
        for e in (e for e in entries if e.table == t):
            if e.weights is None:
                nan = float("nan")
                rows.append([e.label, e.order, nan, nan, nan, nan, f"missing ({e.key}.safetensors)"])
                summaries[f"table{t}/{e.label}"] = None
                continue
            model = loader(e)
            r = score(groups, predict(groups, "pinet", model, order=e.order, seed=seed), e.label, seqs)
            rows.append([e.label, e.order, r.mpjpe_mm, r.pa_mpjpe_mm, r.mean_pck("all"), r.mean_pck("matched"),
                         Path(e.weights).name])
            summaries[f"table{t}/{e.label}"] = {**r.summary(), "weights": str(e.weights), "order": e.order,
                                                "config": json.loads(model.config.to_json())}
        tables.append(Table(f"table{t}_ablation", TABLE_TITLES[t], header, rows, digits=2,
                            note="MPJPE / PA-MPJPE pelvis-aligned (mm); 3DPCK: mean of the sequence values."))
    return tables, summaries


# -------------------------------------------------------------------------------------------------- runner
def results_json(results: Iterable[MethodScores]) -> dict[str, Any]:
    """JSON-ready numbers of `results`: summary, per-sequence and per-group 3DPCK for each method."""
    out = {}
    for r in results:
        out[r.name] = {**r.summary(), "sequences_all": r.sequence_pck("all"),
                       "sequences_matched": r.sequence_pck("matched"),
                       "groups_all": r.pooled_all.groups(), "groups_matched": r.pooled_matched.groups()}
    return out


def run(data: str | Path, weights: str | Path | None, out_dir: str | Path, order: str = "root3d",
        alone: bool = True, ablation: str | Path | None = None, seed: int = 0,
        config: "PINetConfig | None" = None) -> dict[str, Any]:
    """Evaluate `weights` on `data`, write Tables 1-3 (and 4-6 with `ablation`) to `out_dir`.

    Writes ``<table>.md``, ``<table>.csv``, ``report.md`` (all tables) and ``results.json`` (numbers).

    Returns:
        the content of results.json.
    """
    from pinet_ros.models.pinet import load_pinet

    groups = load_eval_groups(data)
    model = load_pinet(weights, config=config) if weights is not None else None
    results, tables = evaluate_groups(groups, model, order=order, alone=alone, seed=seed)
    record: dict[str, Any] = {"data": str(data), "weights": str(weights) if weights else None, "order": order,
                              "num_images": len(groups), "methods": results_json(results)}
    if ablation is not None:
        entries = ablation_entries(ablation, full_weights=weights)
        abl_tables, abl = run_ablation(groups, entries, seed=seed, baseline=results[0])
        tables += abl_tables
        record["ablation"] = abl
    write_tables(tables, out_dir)
    Path(out_dir, "results.json").write_text(json.dumps(record, indent=2, sort_keys=True, default=_json_default))
    record["tables"] = tables
    return record


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
