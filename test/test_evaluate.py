"""Tests of pinet_ros.evaluate on small files written here in the real formats, with tiny random PI-Nets."""

from __future__ import annotations

import copy
import csv
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pinet_ros.cli import main as cli_main
from pinet_ros.core.camera import Intrinsics
from pinet_ros.data.annotations import AnnotationError, ImageGroup
from pinet_ros.data.synthetic import save_groups
from pinet_ros.evaluate import (ABLATION_FILES, AblationError, Table, ablation_entries, evaluate_groups,
                                load_eval_groups, predict, run, run_ablation, score, sequence_names)
from pinet_ros.metrics import PCKAccumulator, evaluate_frame, mpjpe, pa_mpjpe
from pinet_ros.models.pinet import PINet, PINetConfig, save_pinet

sys.path.insert(0, str(Path(__file__).resolve().parent / "helpers"))
from numerics import F32_EPS, assert_close  # noqa: E402

INTR = Intrinsics(1000.0, 1000.0, 640.0, 360.0)
# A standing person (mm, MuPoTS-17 order, pelvis 14 at the origin).
POSE = np.array([
    [0, -800, 0], [0, -550, 0], [-180, -530, 0], [-200, -280, 0], [-210, -40, 0],
    [180, -530, 0], [200, -280, 0], [210, -40, 0], [-100, 0, 0], [-110, 420, 0], [-115, 830, 0],
    [100, 0, 0], [110, 420, 0], [115, 830, 0], [0, 0, 0], [0, -250, 0], [0, -680, 0]], float)


def _tiny(seed: int = 0, **fields) -> PINet:
    torch.manual_seed(seed)
    model = PINet(PINetConfig(hidden=8, **fields)).eval()
    with torch.no_grad():  # move the output away from the input mean so refinement changes the poses
        model.linear3.weight.normal_(0.0, 0.5)
    return model


def _group(rng: np.random.Generator, n: int, image_id: int, file_name: str, noise_mm: float = 60.0) -> ImageGroup:
    roots = np.stack([np.linspace(-1500, 1500, n) if n > 1 else [0.0], rng.uniform(-100, 100, n),
                      rng.uniform(3000, 6000, n)], 1)
    gt = POSE[None] + roots[:, None] + rng.normal(0, 20, (n, 17, 3))
    init = gt + rng.normal(0, noise_mm, gt.shape)
    init[:, :, 2] += rng.normal(0, 150, (n, 1))  # depth errors
    if n > 2:  # a gross error on one person: part of the joints far off (misses, maybe unmatched)
        init[2, :9] += 900.0
    return ImageGroup(image_id=image_id, file_name=file_name, width=1280, height=720, intrinsics=INTR,
                      gt_cam=gt, gt_img=INTR.project(gt), visible=np.ones((n, 17)),
                      boxes=np.tile([100.0, 100.0, 200.0, 400.0], (n, 1)), valid=np.ones(n, bool),
                      initial_cam=init)


def _mupots_groups(seed: int = 0) -> list[ImageGroup]:
    rng = np.random.default_rng(seed)
    groups = []
    for k, (seq, n) in enumerate([(1, 2), (1, 3), (1, 1), (2, 3), (2, 2), (10, 1)]):
        groups.append(_group(rng, n, k, f"TS{seq}/img_{k:06d}.jpg"))
    groups[4].valid = np.array([True, False])  # an invalid person: neither scored nor context
    return groups


def _write_mupots_json(groups: list[ImageGroup], path, with_posenet: bool = True) -> None:
    images, anns = [], []
    for g in groups:
        i = g.intrinsics
        images.append({"id": g.image_id, "file_name": g.file_name, "width": g.width, "height": g.height,
                       "intrinsic": [i.fx, i.fy, i.cx, i.cy]})
        for p in range(g.num_persons):
            ann = {"id": len(anns), "image_id": g.image_id, "bbox": g.boxes[p].tolist(),
                   "keypoints_cam": g.gt_cam[p].tolist(), "keypoints_img": g.gt_img[p].tolist(),
                   "keypoints_vis": g.visible[p].tolist(), "is_valid": int(g.valid[p])}
            if with_posenet:
                ann["keypoints_cam_posenet"] = g.initial_cam[p].tolist()
            anns.append(ann)
    path.write_text(json.dumps({"images": images, "annotations": anns}))


def _parse_markdown(text: str) -> list[list[str]]:
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [[c.strip() for c in r.strip("|").split("|")] for i, r in enumerate(rows) if i != 1]


# -------------------------------------------------------------------------------------------- scoring
def test_sequence_pck_and_average_match_a_direct_metrics_computation(tmp_path):
    path = tmp_path / "MuPoTS-3D_with_posenet_result.json"
    _write_mupots_json(_mupots_groups(), path)
    groups = load_eval_groups(path)
    assert sequence_names(groups) == ["TS1", "TS1", "TS1", "TS2", "TS2", "TS10"]
    res = score(groups, predict(groups, "initial"), "initial")
    assert res.sequences == ["TS1", "TS2", "TS10"]  # numeric order, not string order
    # direct computation, frame by frame, with the metrics module
    direct: dict[str, tuple[PCKAccumulator, PCKAccumulator]] = {}
    for g, s in zip(groups, sequence_names(groups)):
        acc = direct.setdefault(s, (PCKAccumulator(), PCKAccumulator()))
        v = g.valid
        evaluate_frame(g.initial_cam[v], INTR.project(g.initial_cam[v]), g.gt_cam[v], g.gt_img[v], *acc)
    for s, (acc_all, acc_matched) in direct.items():
        assert res.sequence_pck("all")[s] == pytest.approx(acc_all.pck())
        assert res.sequence_pck("matched")[s] == pytest.approx(acc_matched.pck())
    assert res.mean_pck("all") == pytest.approx(np.mean([a.pck() for a, _ in direct.values()]))
    # the gross error makes some joints miss: the numbers are not trivially 100
    assert res.mean_pck("all") < 100.0
    valid = [g.valid for g in groups]
    init = np.concatenate([g.initial_cam[v] for g, v in zip(groups, valid)])
    gt = np.concatenate([g.gt_cam[v] for g, v in zip(groups, valid)])
    assert res.num_persons == len(gt) == 11
    assert res.mpjpe_mm == pytest.approx(mpjpe(init, gt))
    assert res.pa_mpjpe_mm == pytest.approx(pa_mpjpe(init, gt))


def test_ground_truth_as_prediction_scores_perfectly():
    groups = _mupots_groups()
    preds = [g.gt_cam[g.valid] for g in groups]
    res = score(groups, preds, "oracle")
    assert res.mean_pck("all") == 100.0 and res.mean_pck("matched") == 100.0
    assert res.mpjpe_mm == pytest.approx(0.0, abs=1e-9)
    assert all(v == 100.0 for v in res.pooled_all.groups().values())


# The network runs in float64 where two computations of the same prediction are compared (batched vs one by
# one): they then differ by float64 rounding, at most eps64 (2.2e-16) x reduction length (< 1e3) x magnitude
# (< 1e4 mm) x depth (~10 layers) = 2e-8 mm; TOL64_MM allows 50 times that. `refine` (and so `predict(...,
# "pinet")`) returns float32, i.e. the float64 result rounded to nearest: two such roundings of values that
# agree to TOL64_MM differ by at most one float32 ulp, <= F32_EPS x |value| (rtol=F32_EPS). A context, order or
# batching mistake moves the output by millimetres (the context effect asserted below is > 1 mm).
TOL64_MM = 1e-6


def _float32_mpjpe_tolerance(model: PINet, groups: list[ImageGroup], order: str = "root3d") -> tuple[float, np.ndarray]:
    """How far an MPJPE of float32 PI-Net predictions may be from that of the float64 ones (mm), and those.

    Float32 runs of the same network differ with SIMD width, thread count and memory alignment (MKL). Each
    prediction then lies within delta32 = max |float32 - float64| (measured here, x4 for another float32
    run's different rounding) plus one float32 ulp of the largest coordinate; a pelvis-aligned per-joint
    error moves by at most 2 sqrt(3) times a per-coordinate change, and so does their mean (MPJPE).
    """
    p32 = np.concatenate(predict(groups, "pinet", model, order=order))
    p64 = np.concatenate(predict(groups, "pinet", copy.deepcopy(model).double(), order=order))
    delta32 = float(np.abs(p32 - p64).max())
    return 2 * np.sqrt(3) * (4 * delta32 + F32_EPS * float(np.abs(p64).max())), p64


def test_context_and_alone_predictions():
    groups = _mupots_groups()
    for g in groups:  # float32-representable inputs: "pinet" (float32 in) and "alone" (float64 in) see the same
        g.initial_cam = g.initial_cam.astype(np.float32).astype(np.float64)
    model = _tiny().double()
    ctx = predict(groups, "pinet", model)
    alone = predict(groups, "alone", model)
    for g, c, a in zip(groups, ctx, alone):
        init = g.initial_cam[g.valid].astype(np.float32)  # what "pinet" feeds refine (numpy in, float32 out)
        ref, _ = model.refine(init)
        assert_close(c, ref, atol=TOL64_MM, rtol=F32_EPS, label="context = refine")
        init64 = torch.as_tensor(g.initial_cam[g.valid])  # "alone" keeps float64 input and output
        lone = torch.cat([model.refine(init64[i:i + 1])[0] for i in range(len(init64))]).numpy()
        assert_close(a, lone, atol=TOL64_MM, label="alone = refine one by one")
        if len(init) == 1:  # a lone person is fed [i, i] either way
            assert_close(c, a, atol=TOL64_MM, rtol=F32_EPS, label="lone person: context = alone")
        else:  # the context changes the output
            assert np.abs(c - a).max() > 1.0
    assert np.abs(np.concatenate(ctx) - np.concatenate([g.initial_cam[g.valid] for g in groups])).max() > 1.0


# --------------------------------------------------------------------------------------------- tables
def test_tables_structure_and_csv_markdown_agree():
    groups = _mupots_groups()
    results, tables = evaluate_groups(groups, _tiny())
    assert [r.name for r in results] == ["Initial estimates", "PI-Net (context)", "PI-Net (each alone)"]
    t1, t2, t3 = tables
    assert [row[0] for row in t1.rows] == ["TS1", "TS2", "TS10", "Average"]
    assert len(t1.header) == 1 + 2 * 3
    assert t1.rows[-1][1] == pytest.approx(results[0].mean_pck("all"))
    assert t1.rows[-1][4] == pytest.approx(results[0].mean_pck("matched"))
    assert [row[0] for row in t2.rows] == [r.name for r in results]
    assert t2.rows[1][1] == pytest.approx(results[1].mpjpe_mm)
    assert t3.header[2:] == ["head", "neck", "shoulder", "elbow", "wrist", "hip", "knee", "ankle", "Total"]
    assert len(t3.rows) == 6
    for t in tables:
        md = _parse_markdown(t.markdown())
        rows = list(csv.reader(io.StringIO(t.csv())))
        assert md[0] == rows[0] == t.header
        assert len(md) == len(rows) == len(t.rows) + 1
        for m_row, c_row in zip(md[1:], rows[1:]):
            for m, c in zip(m_row, c_row):
                try:
                    value = float(c)
                except ValueError:
                    assert m == c
                    continue
                if np.isnan(value):  # e.g. a sequence without any matched person
                    assert m == "n/a"
                    continue
                assert float(m) == pytest.approx(value, abs=0.5 * 10 ** -t.digits + 1e-9)


def test_table_rejects_ragged_rows():
    with pytest.raises(ValueError, match="cells"):
        Table("x", "x", ["a", "b"], [["only one"]])


# --------------------------------------------------------------------------------- files and the CLI
def test_cli_on_synthetic_npz_writes_all_tables(tmp_path, capsys):
    rng = np.random.default_rng(5)
    groups = [_group(rng, n, k, f"synthetic/test/{k:06d}.png") for k, n in enumerate([1, 2, 3, 2, 1])]
    data = tmp_path / "test.npz"
    save_groups(data, groups)
    weights = tmp_path / "tiny.safetensors"
    save_pinet(_tiny(), weights)
    out = tmp_path / "eval"
    assert cli_main(["evaluate", str(data), "--weights", str(weights), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Table 1" in printed and "Table 3" in printed
    for name in ("table1_pck_sequences", "table2_mpjpe", "table3_pck_joint_groups"):
        assert (out / f"{name}.md").is_file() and (out / f"{name}.csv").is_file()
    rows = list(csv.reader((out / "table1_pck_sequences.csv").open()))
    assert [r[0] for r in rows[1:]] == ["1 person", "2 people", "3 people", "Average"]
    record = json.loads((out / "results.json").read_text())
    assert set(record["methods"]) == {"Initial estimates", "PI-Net (context)", "PI-Net (each alone)"}
    # the table's MPJPE is the pelvis-aligned MPJPE of the refined poses, recomputed here
    tol, ref = _float32_mpjpe_tolerance(_tiny(), load_eval_groups(data))
    gt = np.concatenate([g.gt_cam for g in groups])
    assert_close(record["methods"]["PI-Net (context)"]["mpjpe_mm"], mpjpe(ref, gt), atol=tol, label="CLI MPJPE")


def test_missing_inputs_are_named(tmp_path):
    path = tmp_path / "MuPoTS-3D.json"
    _write_mupots_json(_mupots_groups(), path, with_posenet=False)
    with pytest.raises(AnnotationError, match="keypoints_cam_posenet"):
        load_eval_groups(path)
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_eval_groups(tmp_path / "nope.npz")
    assert cli_main(["evaluate", str(path), "--weights", str(tmp_path / "absent.safetensors"),
                     "--out", str(tmp_path / "o")]) == 1


# ----------------------------------------------------------------------------------------- ablation
def test_ablation_folder_builds_tables_4_to_6(tmp_path):
    groups = _mupots_groups()
    folder = tmp_path / "ablation"
    folder.mkdir()
    save_pinet(_tiny(1, num_layers=2), folder / "layers2.safetensors")
    save_pinet(_tiny(2), folder / "order_reverse.safetensors")
    save_pinet(_tiny(3, attention=False, bidirectional=False), folder / "gru_noatt_unidir.safetensors")
    full = tmp_path / "full.safetensors"
    save_pinet(_tiny(4), full)
    entries = ablation_entries(folder, full_weights=full)
    assert len(entries) == len(ABLATION_FILES)
    tables, summary = run_ablation(groups, entries)
    assert [t.name for t in tables] == ["table4_ablation", "table5_ablation", "table6_ablation"]
    t4, t5, t6 = tables
    rows6 = {r[0]: r for r in t6.rows}
    assert rows6["4 layers"][-1].startswith("missing") and np.isnan(rows6["4 layers"][2])
    assert rows6["2 layers"][-1] == "layers2.safetensors"
    assert rows6["3 layers (full)"][-1] == "full.safetensors"  # the full model falls back to --weights
    assert summary["table6/2 layers"]["config"]["num_layers"] == 2
    assert summary["table5/GRU, w/o attention, w/o bidirectional"]["config"]["attention"] is False
    # the reverse row runs its own network with the reverse order: its MPJPE is recomputed here
    rev = {r[0]: r for r in t4.rows}["Reverse (far to near)"]
    from pinet_ros.models.pinet import load_pinet

    tol, preds = _float32_mpjpe_tolerance(load_pinet(folder / "order_reverse.safetensors"), groups, order="reverse")
    gt = np.concatenate([g.gt_cam[g.valid] for g in groups])
    assert_close(rev[2], mpjpe(preds, gt), atol=tol, label="reverse-order MPJPE")
    assert t4.rows[0][0] == "Initial estimates"


def test_ablation_errors_name_the_problem(tmp_path):
    folder = tmp_path / "ablation"
    folder.mkdir()
    with pytest.raises(AblationError, match="none of the expected"):
        ablation_entries(folder)
    save_pinet(_tiny(num_layers=3), folder / "layers2.safetensors")  # wrong architecture for the row
    with pytest.raises(AblationError, match=r"layers2\.safetensors.*num_layers=3 \(expected 2\)"):
        run_ablation(_mupots_groups(), ablation_entries(folder))
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps([{"table": 6, "label": "two"}]))
    with pytest.raises(AblationError, match="entry 0 lacks the key 'weights'"):
        ablation_entries(spec)


def test_ablation_json_spec_with_explicit_config(tmp_path):
    save_pinet(_tiny(7, num_layers=4), tmp_path / "any_name.safetensors")
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps([{"table": 6, "label": "four", "weights": "any_name.safetensors",
                                 "config": {"hidden": 8, "num_layers": 4}}]))
    tables, summary = run_ablation(_mupots_groups(), ablation_entries(spec))
    assert [t.name for t in tables] == ["table6_ablation"]
    assert [r[0] for r in tables[0].rows] == ["Initial estimates", "four"]
    assert summary["table6/four"]["config"]["num_layers"] == 4


def test_run_writes_report_and_json(tmp_path):
    path = tmp_path / "MuPoTS-3D_with_posenet_result.json"
    _write_mupots_json(_mupots_groups(), path)
    weights = tmp_path / "tiny.safetensors"
    save_pinet(_tiny(), weights)
    record = run(path, weights, tmp_path / "out", alone=False)
    report = (tmp_path / "out" / "report.md").read_text()
    assert report.count("### Table") == 3
    assert set(record["methods"]) == {"Initial estimates", "PI-Net (context)"}
    assert record["methods"]["Initial estimates"]["sequences_all"].keys() == {"TS1", "TS2", "TS10"}
