"""MuCo-3DHP / MuPoTS-3D readers on small files written here in exactly the released formats."""

import json

import numpy as np
import pytest

from pinet_ros.data.annotations import AnnotationError
from pinet_ros.data.muco import read_muco
from pinet_ros.data.mupots import read_bbox_root, read_mupots, sequence_of

RNG = np.random.default_rng(3)


def _person(num_joints, image_id, ann_id, **extra):
    cam = RNG.normal(0, 400, (num_joints, 3)) + [0, 0, 4000]
    return {"id": ann_id, "image_id": image_id, "bbox": [10.0, 20.0, 100.0, 250.0],
            "keypoints_cam": cam.tolist(), "keypoints_img": RNG.uniform(0, 600, (num_joints, 2)).tolist(),
            "keypoints_vis": [1] * num_joints, **extra}


def test_muco_reader_groups_people_and_cuts_to_17_joints(tmp_path):
    anns = [_person(21, 1, 1, keypoints_cam_posenet=RNG.normal(0, 1, (17, 3)).tolist()),
            _person(21, 1, 2, keypoints_cam_posenet=RNG.normal(0, 1, (17, 3)).tolist()),
            _person(21, 2, 3, keypoints_cam_posenet=RNG.normal(0, 1, (17, 3)).tolist())]
    data = {"images": [{"id": 1, "file_name": "unaugmented_set/1/img.jpg", "width": 2048, "height": 2048,
                        "f": [1500.0, 1510.0], "c": [1024.0, 1020.0]},
                       {"id": 2, "file_name": "unaugmented_set/1/img2.jpg", "width": 2048, "height": 2048,
                        "f": [1500.0, 1510.0], "c": [1024.0, 1020.0]}],
            "annotations": anns}
    path = tmp_path / "MuCo-3DHP_with_posenet_result_filter.json"
    path.write_text(json.dumps(data))
    groups = list(read_muco(path))
    assert [g.num_persons for g in groups] == [2, 1]
    g = groups[0]
    assert g.gt_cam.shape == (2, 17, 3) and g.gt_img.shape == (2, 17, 2) and g.visible.shape == (2, 17)
    assert np.allclose(g.gt_cam[1], np.asarray(anns[1]["keypoints_cam"])[:17])
    assert np.allclose(g.initial_cam[0], anns[0]["keypoints_cam_posenet"])
    assert (g.intrinsics.fx, g.intrinsics.fy, g.intrinsics.cx, g.intrinsics.cy) == (1500.0, 1510.0, 1024.0, 1020.0)


def test_mupots_reader_valid_flags_intrinsics_and_sequence(tmp_path):
    data = {"images": [{"id": 7, "file_name": "TS12/img_000004.jpg", "width": 1920, "height": 1080,
                        "intrinsic": [1400.0, 1401.0, 960.0, 540.0]}],
            "annotations": [_person(17, 7, 1, is_valid=1), _person(17, 7, 2, is_valid=0)]}
    path = tmp_path / "MuPoTS-3D.json"
    path.write_text(json.dumps(data))
    (g,) = read_mupots(path)
    assert g.valid.tolist() == [True, False]
    assert g.initial_cam is None
    assert g.intrinsics.cy == 540.0
    assert sequence_of(g.file_name) == 12


def test_missing_key_and_missing_file_are_named(tmp_path):
    data = {"images": [{"id": 1, "file_name": "TS1/img_000000.jpg", "width": 10, "height": 10}],
            "annotations": [_person(17, 1, 1)]}
    path = tmp_path / "MuPoTS-3D.json"
    path.write_text(json.dumps(data))
    with pytest.raises(AnnotationError, match=r"MuPoTS-3D\.json.*'intrinsic'"):
        list(read_mupots(path))
    with pytest.raises(AnnotationError, match="not found.*nope.json"):
        list(read_mupots(tmp_path / "nope.json"))


def test_bbox_root_output(tmp_path):
    path = tmp_path / "bbox_root_mupots_output.json"
    path.write_text(json.dumps([
        {"image_id": 3, "root_cam": [10.0, 20.0, 4000.0], "bbox": [1, 2, 300, 300], "score": 0.9},
        {"image_id": 3, "root_cam": [500.0, 20.0, 5000.0], "bbox": [400, 2, 300, 300], "score": 0.8}]))
    roots = read_bbox_root(path)
    assert len(roots[3]) == 2 and roots[3][1].root_cam[2] == 5000.0
    path.write_text(json.dumps([{"image_id": 3, "bbox": [1, 2, 3, 4], "score": 0.9}]))
    with pytest.raises(AnnotationError, match="root_cam"):
        read_bbox_root(path)


def test_pinet_ros_train_accepts_a_muco_file(tmp_path):
    """`pinet-ros train --train MuCo.json`: the released format straight into the paper's recipe."""
    from pinet_ros.cli import main
    from pinet_ros.models.pinet import load_pinet

    anns = []
    for image_id in (1, 2, 3):
        for k in range(2):
            gt = RNG.normal(0, 300, (21, 3)) + [800 * k, 0, 4000]
            anns.append({**_person(21, image_id, 10 * image_id + k), "keypoints_cam": gt.tolist(),
                         "keypoints_cam_posenet": (gt[:17] + RNG.normal(0, 50, (17, 3))).tolist()})
    images = [{"id": i, "file_name": f"unaugmented_set/{i}/img.jpg", "width": 2048, "height": 2048,
               "f": [1500.0, 1500.0], "c": [1024.0, 1024.0]} for i in (1, 2, 3)]
    path = tmp_path / "MuCo-3DHP_with_posenet_result_filter.json"
    path.write_text(json.dumps({"images": images, "annotations": anns}))
    out = tmp_path / "pinet.safetensors"
    assert main(["train", "--train", str(path), "--out", str(out), "--epochs", "1", "--quiet"]) == 0
    assert load_pinet(out) is not None
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["config"]["lr"] == 1e-5 and record["config"]["batch_size"] == 4  # the paper's recipe
