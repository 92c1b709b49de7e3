"""The ``pinet-ros`` command line.

Subcommands are registered by functions listed in `SUBCOMMANDS`; each takes the argparse subparsers object,
adds its parser(s) and sets ``func`` (``args -> exit code``). To add a subcommand, write such a function and
append it to `SUBCOMMANDS`.

Exit codes: 0 success, 1 check failed / operation failed, 2 usage error (bad arguments, unknown weight name).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Sequence

from pinet_ros import weights


def _weights_list(args: argparse.Namespace) -> int:
    rows = [("NAME", "FORMAT", "LICENCE", "PRESENT")]
    for name, spec in sorted(weights.REGISTRY.items()):
        try:
            present = str(weights.find_weight(name))
        except FileNotFoundError:
            present = "missing (" + ("reinstall pinet_ros: ships with it" if spec.packaged else
                                     "manual download" if spec.manual else "pinet-ros weights download") + ")"
        rows.append((name, spec.format, spec.licence, present))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3])
    return 0


def _weights_info(args: argparse.Namespace) -> int:
    spec = weights.get_spec(args.name)
    try:
        where = str(weights.find_weight(spec.name))
    except FileNotFoundError:
        where = "not found"
    fields = [
        ("name", spec.name), ("file", spec.filename), ("description", spec.description),
        ("manual download page" if spec.manual else "url", spec.url),
        ("manual download", "yes" if spec.manual else "no"),
        ("sha256", spec.sha256 or (f"not published (file-name prefix {weights.expected_hash_prefix(spec)})"
                                   if weights.expected_hash_prefix(spec) else "not published")),
        ("size", f"{spec.size_bytes} bytes" if spec.size_bytes is not None else "unknown"),
        ("licence", spec.licence), ("format", spec.format), ("local path", where),
    ]
    width = max(len(k) for k, _ in fields)
    for key, value in fields:
        print(f"{key.ljust(width)}  {value}")
    return 0


def _weights_download(args: argparse.Namespace) -> int:
    spec = weights.get_spec(args.name)
    try:
        path = weights.download(spec.name, args.dest, url=args.url, progress=not args.quiet)
    except weights.DownloadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


def _weights_verify(args: argparse.Namespace) -> int:
    spec = weights.get_spec(args.name)
    try:
        path = weights.find_weight(spec.name, args.path)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if weights.verify(spec.name, path):
        how = "hash matches" if weights.expected_hash_prefix(spec) else "no published hash; loads as a state dict"
        print(f"OK {spec.name}: {path} ({how})")
        return 0
    print(f"FAILED {spec.name}: {path} does not match (expected sha256 "
          f"{weights.expected_hash_prefix(spec) or 'n/a: file does not load as a state dict'})", file=sys.stderr)
    return 1


def register_weights(subparsers: argparse._SubParsersAction) -> None:
    """``pinet-ros weights {list,info,download,verify}``."""
    parser = subparsers.add_parser("weights", help="list, inspect, download and verify weight files")
    sub = parser.add_subparsers(dest="weights_command", metavar="ACTION", required=True)
    p = sub.add_parser("list", help="registry entries and whether each file is present")
    p.set_defaults(func=_weights_list)
    p = sub.add_parser("info", help="everything known about one weight file")
    p.add_argument("name")
    p.set_defaults(func=_weights_info)
    p = sub.add_parser("download", help="download, verify and install one weight file")
    p.add_argument("name")
    p.add_argument("--dest", default=None, help="target directory (default: $PINET_WEIGHTS_DIR or "
                                                "~/.cache/pinet_ros/weights)")
    p.add_argument("--url", default=None, help="download from this URL instead of the registry's")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_weights_download)
    p = sub.add_parser("verify", help="check a weight file's hash (or that it loads)")
    p.add_argument("name")
    p.add_argument("--path", default=None, help="the file (or its directory); default: search as `info` does")
    p.set_defaults(func=_weights_verify)


def _bench_pinet(args: argparse.Namespace) -> int:
    from pinet_ros.benchmarks.pinet import run_bench  # torch only when benchmarking

    run_bench(ns=tuple(args.n), repeats=args.repeats, threads=args.threads)
    return 0


def _bench_pipeline(args: argparse.Namespace) -> int:
    from pinet_ros.benchmarks.pipeline import run_bench as run_pipeline_bench

    run_pipeline_bench(repeats=args.repeats, refine=not args.no_refine, small_people=args.small_people,
                       threads=args.threads, vtest_frames=args.vtest_frames)
    return 0


def _bench_stream(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pinet_ros.benchmarks.stream import run_stream

    run_stream(rate=args.rate, duration_s=args.duration, source=Path(args.source) if args.source else None)
    return 0


def _bench_soak(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pinet_ros.benchmarks.stream import run_soak

    run_soak(frames=args.frames, rate=args.rate, warmup_frames=args.warmup,
             source=Path(args.source) if args.source else None)
    return 0


def _bench_depth(args: argparse.Namespace) -> int:
    from pinet_ros.benchmarks.depth import run_depth_bench, run_rendered_bench

    if args.rendered:
        run_rendered_bench(args.rendered, max_frames=args.max_frames, seed=args.seed, backend=args.backend)
    else:
        run_depth_bench(sequences=args.sequences, frames=args.frames, seed=args.seed)
    return 0


def _bench_detect(args: argparse.Namespace) -> int:
    from pinet_ros.benchmarks.detect import run_bench as run_detect_bench

    run_detect_bench(detect_every=args.detect_every, compare=args.compare, speed=not args.no_speed,
                     threads=args.threads)
    return 0


def _bench_gpu(args: argparse.Namespace) -> int:
    from pinet_ros.benchmarks.gpu import run as run_gpu_bench

    run_gpu_bench(args.device, args.out, quick=args.quick, repeats=args.repeats, threads=args.threads,
                  posenet_weights=args.posenet_weights, rootnet_weights=args.rootnet_weights)
    return 0


def register_bench(subparsers: argparse._SubParsersAction) -> None:
    """``pinet-ros bench pinet``: printed figures, never asserted."""
    parser = subparsers.add_parser("bench", help="benchmarks that print figures")
    sub = parser.add_subparsers(dest="bench_command", metavar="WHAT", required=True)
    p = sub.add_parser("pinet", help="PI-Net: per-person loop of single forwards vs batched refine")
    p.add_argument("-n", type=int, nargs="+", default=[1, 2, 3, 5, 10], help="people per frame")
    p.add_argument("--repeats", type=int, default=20, help="timed repeats per case (median reported)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's own)")
    p.set_defaults(func=_bench_pinet)
    p = sub.add_parser("pipeline", help="per-stage latency and frames/s of the embedded default on sample images")
    p.add_argument("--repeats", type=int, default=30, help="timed runs on basketball2.png")
    p.add_argument("--vtest-frames", type=int, default=30, help="consecutive vtest.avi frames")
    p.add_argument("--no-refine", action="store_true", help="PI-Net off")
    p.add_argument("--small-people", action="store_true", help="mediapipe small-people pass on")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.set_defaults(func=_bench_pipeline)
    p = sub.add_parser("stream", help="player at a camera rate into the node: rate, latency, drops, backlog")
    p.add_argument("--rate", type=float, default=30.0, help="player rate, Hz")
    p.add_argument("--duration", type=float, default=60.0, help="seconds")
    p.add_argument("--source", default=None,
                   help="video/folder/image/bag to play (default data/samples/basketball2.png, looped)")
    p.set_defaults(func=_bench_stream)
    p = sub.add_parser("soak", help="many frames through the node: memory, threads and open files over time")
    p.add_argument("--frames", type=int, default=20000, help="frames the node must receive")
    p.add_argument("--rate", type=float, default=60.0, help="player rate, Hz")
    p.add_argument("--warmup", type=int, default=1000, help="frames before the first memory sample")
    p.add_argument("--source", default=None,
                   help="video/folder/image/bag to play (default data/samples/basketball2.png, looped)")
    p.set_defaults(func=_bench_soak)
    p = sub.add_parser("depth", help="root error and tracking with a depth image vs monocular, same scenes")
    p.add_argument("--sequences", type=int, default=24, help="sequences of 1-4 people (about half occluded)")
    p.add_argument("--frames", type=int, default=20, help="frames per sequence (10 Hz)")
    p.add_argument("--seed", type=int, default=0, help="scene (and sensor noise) seed")
    p.add_argument("--rendered", default=None, metavar="DIR",
                   help="a `pinet-ros render` output folder: real backend on rendered images instead")
    p.add_argument("--max-frames", type=int, default=0, help="with --rendered: at most this many images (0 = all)")
    p.add_argument("--backend", default="", help="with --rendered: the pose backend (default: the default one)")
    p.set_defaults(func=_bench_depth)
    p = sub.add_parser("detect", help="topdown backend: recall/false positives on people counted by eye, border "
                       "cuts, frames/s at 640x480 (single images, stream), stages, 1-8 people")
    p.add_argument("--detect-every", type=int, default=3, help="stream: detector every n-th frame (default 3)")
    p.add_argument("--compare", action="store_true", help="also score the mediapipe backend")
    p.add_argument("--no-speed", action="store_true", help="recall figures only")
    p.add_argument("--threads", type=int, default=2, help="onnxruntime threads per model (default 2)")
    p.set_defaults(func=_bench_detect)
    p = sub.add_parser("gpu", help="3dmppe stack and PI-Net on CUDA (or CPU): stage ms, frames/s, half vs float32")
    p.add_argument("--device", default="cuda", help="cuda, cuda:K or cpu (default cuda)")
    p.add_argument("--out", default=None, metavar="FILE", help="also write the figures as JSON")
    p.add_argument("--repeats", type=int, default=None, help="frames per case (default 20 on CUDA, 3 on CPU)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--quick", action="store_true", help="smoke-test sizes: checks the path, figures mean little")
    p.add_argument("--posenet-weights", default=None, help="real PoseNet file instead of random weights")
    p.add_argument("--rootnet-weights", default=None, help="real RootNet file instead of random weights")
    p.set_defaults(func=_bench_gpu)


def _synth(args: argparse.Namespace) -> int:
    from pinet_ros.data.synthetic import make_dataset, save_groups

    from pinet_ros.data.synthetic import SceneConfig

    groups = make_dataset(args.split, args.scenes, seed=args.seed, config=SceneConfig(mupots_joints=args.mupots_joints))
    save_groups(args.out, groups)
    people = sum(g.num_persons for g in groups)
    print(f"wrote {args.out}: {len(groups)} {args.split} scenes, {people} people (seed {args.seed})")
    return 0


def register_synth(subparsers: argparse._SubParsersAction) -> None:
    """``pinet-ros synth OUT.npz``: synthetic multi-person scenes from pybullet's mocap clips."""
    p = subparsers.add_parser("synth", help="compose synthetic multi-person scenes (npz)")
    p.add_argument("out", help="output .npz")
    p.add_argument("--split", choices=("train", "val", "test"), default="train", help="clip split")
    p.add_argument("--scenes", type=int, default=1000, help="number of images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mupots-joints", action="store_true",
                   help="spine half way pelvis->thorax and hips 0.21 m apart, as MuPoTS and the backends")
    p.set_defaults(func=_synth)


def _train_groups(path: str) -> list:
    """Training images from a synthetic .npz or a MuCo-3DHP .json with PoseNet estimates."""
    if path.endswith(".json"):
        from pinet_ros.data.muco import read_muco

        return list(read_muco(path))
    from pinet_ros.data.synthetic import load_groups

    return load_groups(path)


def _train(args: argparse.Namespace) -> int:
    from pinet_ros.evaluate import load_eval_groups
    from pinet_ros.train import TrainConfig, train

    from pinet_ros.models.pinet import PINetConfig

    architecture = PINetConfig(num_layers=args.layers, bidirectional=not args.unidirectional,
                               attention=not args.no_attention, cell=args.cell, residual=args.residual,
                               norm=args.norm)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, schedule=args.schedule,
                         seed=args.seed, device=args.device, order=args.order, pinet=architecture, loss=args.loss)
    groups_val = load_eval_groups(args.val) if args.val else None
    record = train(_train_groups(args.train), config, args.out, groups_val=groups_val, resume=args.resume,
                   progress=not args.quiet, data_description=f"train={args.train} val={args.val}")
    print(f"wrote {record['weights']} and its JSON record; final {record['final_metrics']}")
    return 0


def register_train(subparsers: argparse._SubParsersAction) -> None:
    """``pinet-ros train``: the paper's recipe by default (see pinet_ros.train.TrainConfig)."""
    p = subparsers.add_parser("train", help="train PI-Net on synthetic scenes or MuCo-3DHP")
    p.add_argument("--train", required=True, help="training images: .npz from `pinet-ros synth`, or MuCo-3DHP "
                                                  ".json with keypoints_cam_posenet (the PI-Net release's file)")
    p.add_argument("--val", default=None, help="validation images (.npz, or MuPoTS-3D .json with "
                                               "keypoints_cam_posenet)")
    p.add_argument("--out", required=True, help="output weights (.safetensors); the JSON record goes beside it")
    p.add_argument("--epochs", type=int, default=25)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--lr", type=float, default=1e-5)
    p.add_argument("--schedule", choices=("poly", "step"), default="poly")
    p.add_argument("--order", default="root3d", help="order of the other people (Table 4 ablation: root3d, "
                                                     "bbox2d, reverse, random)")
    p.add_argument("--layers", type=int, choices=(2, 3, 4), default=3, help="recurrent layers (Table 6 ablation)")
    p.add_argument("--cell", choices=("gru", "lstm"), default="gru", help="recurrent cell (Table 5 ablation)")
    p.add_argument("--unidirectional", action="store_true", help="one-directional encoder (Table 5 ablation)")
    p.add_argument("--loss", choices=("normalised", "mm"), default="normalised",
                   help="normalised: the paper's L1 in the sequence's normalised units; mm: per-person pelvis-aligned "
                        "L1 + pelvis L1 in millimetres (pinet_ros option)")
    p.add_argument("--norm", choices=("sequence", "target"), default="sequence",
                   help="input standardisation: over the whole sequence (paper) or the target person's own "
                        "statistics (pinet_ros option; needs --loss mm)")
    p.add_argument("--residual", action="store_true",
                   help="learn a correction of the input pose, starting from the identity (pinet_ros extension)")
    p.add_argument("--no-attention", action="store_true", help="no self-attention (Table 5 ablation)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--resume", default=None, help="per-epoch checkpoint to continue from")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_train)


def _evaluate_images(args: argparse.Namespace) -> int:
    from pinet_ros.data.annotations import AnnotationError
    from pinet_ros.evaluate_images import GroundTruthBackend, run as run_images
    from pinet_ros.pipeline import PipelineError

    oracle = GroundTruthBackend() if args.backend == "ground_truth" else None
    from pinet_ros.weights import DEFAULT_PINET

    pinet_weights = "" if args.weights == DEFAULT_PINET else args.weights
    try:
        record = run_images(args.data, args.out, image_root=args.images, backend=args.backend, weights=pinet_weights,
                            alone=not args.no_alone, refine=not args.no_pinet, max_frames=args.max_frames,
                            progress=True, backend_obj=oracle, pairs_out=args.pairs_out, matching=args.matching,
                            score_threshold=args.score_threshold)
    except (FileNotFoundError, AnnotationError, PipelineError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for table in record["tables"]:
        print(table.markdown())
    print(f"evaluated {record['frames']} frames ({record['persons']} valid persons) in {record['seconds']:.1f} s: "
          f"{record['frames_per_s']:.2f} frames/s; wrote the tables (.md, .csv), report.md, results.json and "
          f"root_error_vs_distance.png to {args.out}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pinet_ros.evaluate import run  # torch only when evaluating

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.images or Path(args.data).is_dir():
        return _evaluate_images(args)
    weights_path = None
    if not args.no_pinet:
        weights_path = Path(args.weights)
        if weights.registry_name_of(args.weights):
            try:
                weights_path = weights.find_weight(args.weights)
            except FileNotFoundError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
        elif not weights_path.is_file():
            print(f"error: PI-Net weights not found: {args.weights} (a file, or a registry name: "
                  f"{', '.join(sorted(weights.REGISTRY))})", file=sys.stderr)
            return 1
    try:
        record = run(args.data, weights_path, args.out, order=args.order, alone=not args.no_alone,
                     ablation=args.ablation, seed=args.seed)
    except (FileNotFoundError, ValueError) as exc:  # missing files, bad formats, ablation spec errors
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for table in record["tables"]:
        print(table.markdown())
    print(f"wrote the tables (.md, .csv), report.md and results.json to {args.out}")
    return 0


def register_evaluate(subparsers: argparse._SubParsersAction) -> None:
    """``pinet-ros evaluate DATA``: initial estimates vs PI-Net as the paper's Tables 1-3 (4-6 with --ablation)."""
    p = subparsers.add_parser("evaluate", help="initial estimates vs PI-Net: the paper's tables (Markdown + CSV)")
    p.add_argument("data", help="MuPoTS-style .json with keypoints_cam_posenet, or a .npz from `pinet-ros synth`")
    from pinet_ros.weights import DEFAULT_PINET

    p.add_argument("--weights", default=DEFAULT_PINET,
                   help="PI-Net weights (.safetensors or the authors' .pth.tar) or a registry name "
                        f"(default: {DEFAULT_PINET}, shipped with the package)")
    p.add_argument("--out", default="eval_out", help="output folder for the tables (default: eval_out)")
    p.add_argument("--order", default="root3d", help="context order: root3d, bbox2d, reverse, random")
    p.add_argument("--no-alone", action="store_true", help="skip the 'each person alone' run")
    p.add_argument("--no-pinet", action="store_true", help="score only the initial estimates")
    p.add_argument("--ablation", default=None, metavar="DIR_OR_SPEC",
                   help="folder of ablation checkpoints (order_reverse, order_random, order_bbox2d, order_root3d, "
                        "gru_noatt_unidir, gru_noatt, gru_unidir, lstm, bigru_att, layers2, layers3, layers4 "
                        "+ .safetensors/.pth.tar) or a JSON list of {table, label, weights, order, config}: "
                        "writes Tables 4-6")
    p.add_argument("--seed", type=int, default=0, help="seed of the random order")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--images", default=None, metavar="DIR",
                   help="run the whole pipeline (detection included) on the images under DIR and score it against "
                        "DATA's keypoints_cam; implied when DATA is a folder (a `pinet-ros render` output)")
    p.add_argument("--backend", default="topdown",
                   help="pipeline backend for image evaluation (default topdown, the embedded default; see pinet_ros.params.BACKENDS), or ground_truth "
                        "(the annotations themselves: the evaluation's own check)")
    p.add_argument("--max-frames", type=int, default=None, help="image evaluation: the first N frames only")
    p.add_argument("--matching", choices=("best", "mupots"), default="best",
                   help="image evaluation: detection-to-person assignment maximising agreeing joints (best), or the "
                        "official greedy MuPoTS rule in annotation order (mupots)")
    p.add_argument("--score-threshold", type=float, default=None,
                   help="image evaluation: the pipeline's score_threshold (default: the parameter's default)")
    p.add_argument("--pairs-out", default=None, metavar="NPZ",
                   help="image evaluation: also save each matched (ground truth, backend estimate) pair as PI-Net "
                        "training data (.npz for `pinet-ros train --train`)")
    p.set_defaults(func=_evaluate)


def _run(args: argparse.Namespace) -> int:
    from pinet_ros.node import main as node_main  # rclpy only when running the node

    argv = ["pinet_node", "--ros-args"]
    if args.params_file:
        argv += ["--params-file", args.params_file]
    for item in args.param or []:
        argv += ["-p", item]
    extra = list(args.ros_args)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    return node_main(argv + extra)


def register_run(subparsers: argparse._SubParsersAction) -> None:
    """``pinet-ros run``: the node without ``ros2 launch`` (same as the installed pinet_node executable)."""
    p = subparsers.add_parser("run", help="run the ROS 2 node (standard --ros-args accepted after `--`)")
    p.add_argument("--params-file", default=None, help="YAML parameters file (e.g. config/pinet.yaml)")
    p.add_argument("-p", "--param", action="append", metavar="NAME:=VALUE", help="set one parameter")
    p.add_argument("ros_args", nargs=argparse.REMAINDER,
                   help="extra ROS arguments after `--`, e.g. -- -r image:=/camera/image_raw")
    p.set_defaults(func=_run)


def _log_warnings() -> None:
    """Warnings of the library modules (logging) as one line each on stderr, unless logging is set up."""
    import logging

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def _process(args: argparse.Namespace) -> int:
    from pinet_ros.io import CameraYamlError, SourceError
    from pinet_ros.io.process import load_pipeline_params, process_input
    from pinet_ros.pipeline import PipelineError

    _log_warnings()
    try:
        params = load_pipeline_params(args.params_file) if args.params_file else None
        summary = process_input(
            args.input, args.out, camera=args.camera, image_topic=args.image_topic, info_topic=args.info_topic,
            params=params, backend=args.backend, refine=False if args.no_refine else None, device=args.device,
            jsonl=args.jsonl, video=args.video, bag_images=args.bag_images, max_frames=args.max_frames,
            rate=args.rate, frame_id=args.frame_id, progress=not args.quiet)
    except (SourceError, CameraYamlError, PipelineError, FileExistsError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: the files written so far are complete up to the last frame", file=sys.stderr)
        return 130
    print(summary.text())
    return 0


def register_process(subparsers: argparse._SubParsersAction) -> None:
    """``pinet-ros process INPUT``: poses of every frame of a video, image folder or rosbag2, offline."""
    p = subparsers.add_parser("process", help="run the pipeline on a video, image folder or rosbag2 and write "
                                              "poses.mcap (needs ROS) and/or poses.jsonl, annotated video")
    p.add_argument("input", help="video file, image folder or image, rosbag2 directory, or .mcap/.db3 file")
    p.add_argument("--out", default="pinet_out", help="output folder (default: pinet_out)")
    p.add_argument("--camera", default=None, metavar="YAML",
                   help="ROS camera_calibration YAML (default for videos/images: fx = fy = width, centred)")
    p.add_argument("--image-topic", default=None, help="bag image topic (default: the only one)")
    p.add_argument("--info-topic", default=None, help="bag CameraInfo topic (default: the one beside the image)")
    p.add_argument("--params-file", default=None, metavar="YAML",
                   help="pipeline parameters (the node's config/pinet.yaml or a flat mapping)")
    p.add_argument("--backend", choices=("topdown", "mediapipe", "3dmppe"), default=None,
                   help="pose backend (default: the parameters' value, topdown)")
    p.add_argument("--no-refine", action="store_true", help="skip PI-Net (write the backend's estimate)")
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:N")
    p.add_argument("--jsonl", action="store_true", help="also write poses.jsonl (one JSON object per frame)")
    p.add_argument("--video", action="store_true", help="also write annotated.mp4 (.avi without an mp4 encoder)")
    p.add_argument("--bag-images", action="store_true", help="also put the input Image + CameraInfo in poses.mcap")
    p.add_argument("--max-frames", type=int, default=None, metavar="N", help="stop after N frames")
    p.add_argument("--rate", type=float, default=None, metavar="HZ",
                   help="stamp rate of videos (default: their fps) and image folders (default: 10)")
    p.add_argument("--frame-id", default=None, help="frame id of the outputs (default: the bag's, else "
                                                    "camera_optical_frame)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_process)


def _play(args: argparse.Namespace) -> int:
    from pinet_ros.io import CameraYamlError, SourceError, open_source
    from pinet_ros.io.player import play

    _log_warnings()
    try:
        source = open_source(args.input, camera=args.camera, image_topic=args.bag_image_topic,
                             info_topic=args.bag_info_topic, frame_id=args.frame_id)
        stats = play(source, rate_hz=args.rate, loop=args.loop, image_topic=args.image_topic,
                     info_topic=args.info_topic, count=args.count, source_stamps=args.source_stamps,
                     wait_for_subscribers_s=args.wait, ros_args=["--ros-args", *args.ros_args] if args.ros_args
                     else None)
    except (SourceError, CameraYamlError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"published {stats.published} frames on {args.image_topic} + {args.info_topic} "
          f"({stats.fps:.1f} frames/s{', interrupted' if stats.interrupted else ''})")
    return 0


def register_play(subparsers: argparse._SubParsersAction) -> None:
    """``pinet-ros play INPUT``: publish a video, image folder or rosbag2 as Image + CameraInfo."""
    p = subparsers.add_parser("play", help="publish a video, image folder or rosbag2 as a camera "
                                           "(Image rgb8 + CameraInfo, same stamps, sensor-data QoS)")
    p.add_argument("input", help="video file, image folder or image, rosbag2 directory, or .mcap/.db3 file")
    p.add_argument("--rate", type=float, default=None, metavar="HZ",
                   help="frames per second (default: the source's, e.g. the video fps; 0 = as fast as possible)")
    p.add_argument("--loop", action="store_true", help="start again at the end")
    p.add_argument("--count", type=int, default=None, metavar="N", help="stop after N frames")
    p.add_argument("--image-topic", default="/image", help="Image topic to publish (default: /image)")
    p.add_argument("--info-topic", default="/camera_info", help="CameraInfo topic to publish (default: /camera_info)")
    p.add_argument("--frame-id", default=None, help="header frame id (default: the bag's, else camera_optical_frame)")
    p.add_argument("--camera", default=None, metavar="YAML", help="ROS camera_calibration YAML for the CameraInfo "
                                                                  "(default: fx = fy = width, centred)")
    p.add_argument("--source-stamps", action="store_true",
                   help="stamp with the source's stamps (bag headers; videos/folders: from 2001-09-09T01:46:40Z "
                        "at the frame rate) instead of now()")
    p.add_argument("--bag-image-topic", default=None, help="image topic to read from a bag (default: the only one)")
    p.add_argument("--bag-info-topic", default=None, help="CameraInfo topic to read from a bag")
    p.add_argument("--wait", type=float, default=0.0, metavar="S",
                   help="wait up to S seconds for a subscriber before the first frame")
    p.add_argument("--ros-args", nargs=argparse.REMAINDER, default=[], dest="ros_args",
                   help="everything after it goes to ROS, e.g. --ros-args -r __ns:=/cam (last option)")
    p.set_defaults(func=_play)


def _export(args: argparse.Namespace) -> int:
    from pinet_ros.export import NETWORKS, export_models
    from pinet_ros.models.checkpoint import WeightLoadError

    which = [w.strip() for w in args.which.split(",") if w.strip()]
    bad = [w for w in which if w not in NETWORKS]
    if bad:
        print(f"pinet-ros export: unknown network(s) {bad}; choose from {','.join(NETWORKS)}", file=sys.stderr)
        return 2
    weights = {"pinet": args.pinet_weights, "posenet": args.posenet_weights, "rootnet": args.rootnet_weights}
    for name in which:  # one at a time: what was written is reported before a later network fails
        try:
            res = export_models(args.out_dir, [name], weights=weights, random_weights=args.random_weights,
                                check=not args.no_check)[name]
        except (OSError, ValueError, WeightLoadError) as exc:
            print(f"pinet-ros export: {name}: {exc}", file=sys.stderr)
            return 1
        print(f"{name}: {res['path']}")
        for r in res["parity"]:
            print(f"  batch {r['batch']} {r['output']}: max |onnxruntime - torch| = {r['max_abs_diff']:.3g} "
                  f"(max |torch| {r['max_abs_ref']:.4g})", flush=True)
    return 0


def register_export(subparsers: argparse._SubParsersAction) -> None:
    """``pinet-ros export OUT_DIR``: ONNX files for onnxruntime / TensorRT."""
    p = subparsers.add_parser("export", help="ONNX files of PI-Net, PoseNet and RootNet (onnxruntime, TensorRT)")
    p.add_argument("out_dir", metavar="OUT_DIR", help="folder for <name>.onnx")
    p.add_argument("--which", default="pinet,posenet,rootnet", help="comma-separated subset (default: all three)")
    p.add_argument("--pinet-weights", default=None, help="PI-Net file (default: the packaged weights.DEFAULT_PINET)")
    p.add_argument("--posenet-weights", default=None, help="PoseNet file (default: the registry's posenet_muco)")
    p.add_argument("--rootnet-weights", default=None, help="RootNet file (default: the registry's rootnet_muco)")
    p.add_argument("--random-weights", action="store_true",
                   help="export the architectures with random weights (same graphs; for trying engine builds)")
    p.add_argument("--no-check", action="store_true", help="skip the onnxruntime-vs-torch check")
    p.set_defaults(func=_export)


def _models(args: argparse.Namespace) -> int:
    from pinet_ros.models.person_models import MODEL_FILES, artifact_problem, default_model_dir

    if args.action == "build":
        from pinet_ros.models.person_models_build import main as build

        return build((["--out", args.out] if args.out else []) + (["--cache", args.cache] if args.cache else []))
    out = Path(args.out) if args.out else default_model_dir()
    problems = [p for p in (artifact_problem(out, name) for name in MODEL_FILES) if p]
    for line in problems:
        print(line)
    print(f"{out}: {'ok' if not problems else 'run: pinet-ros models build'}")
    return 0 if not problems else 1


def register_models(subparsers: argparse._SubParsersAction) -> None:
    """``pinet-ros models build|verify``: the topdown backend's ONNX models (converted, never downloaded)."""
    p = subparsers.add_parser("models", help="build or verify the topdown backend's ONNX models (NanoDet, MoveNet, "
                                         "BlazePose)")
    p.add_argument("action", choices=("build", "verify"), help="build: convert what is missing or corrupt; "
                                                               "verify: check the files against their manifest")
    p.add_argument("--out", default=None, help="model folder (default: data/models in a source checkout, else "
                                               "~/.cache/pinet_ros/models; $PINET_PERSON_MODELS overrides)")
    p.add_argument("--cache", default=None, help="download/build cache (default ~/.cache/pinet_ros)")
    p.set_defaults(func=_models)


#: Subcommand registration functions, in help order.
def _render(args: argparse.Namespace) -> int:
    from pinet_ros.data.render_scenes import RenderError, render_split

    try:
        stats = render_split(args.out, args.split, args.frames, seed=args.seed, width=args.width, height=args.height,
                             seq_frames=args.seq_frames, jobs=args.jobs, job=args.job, progress=not args.quiet)
    except (RenderError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"rendered {stats['rendered']} frames ({stats['skipped']} already done) in {stats['seconds']:.1f} s "
          f"({stats['frames_per_s']:.3f} frames/s, start-up {stats['setup_seconds']:.1f} s); wrote {stats['annotation']}")
    return 0


def register_render(subparsers: argparse._SubParsersAction) -> None:
    """``pinet-ros render OUT``: rendered multi-person scenes with exact 3D ground truth (MuPoTS layout)."""
    p = subparsers.add_parser("render", help="render anny people over real backgrounds with exact 3D ground truth")
    p.add_argument("out", help="output folder (MuPoTS-3D.json, TS<n>/img_<k>.jpg, depth/...); resumable")
    p.add_argument("--split", choices=("train", "val", "test"), default="test",
                   help="clips, identities and backgrounds of this split")
    p.add_argument("--frames", type=int, default=100, help="frames 0..N-1")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--seq-frames", type=int, default=50, help="frames per TS<n> folder")
    p.add_argument("--jobs", type=int, default=1, help="processes sharing the frames (frame i goes to i %% jobs)")
    p.add_argument("--job", type=int, default=0, help="this process's index, 0..jobs-1")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_render)


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    register_run, register_weights, register_bench, register_synth, register_train, register_evaluate,
    register_process, register_play, register_export, register_render, register_models]


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(prog="pinet-ros", description="pinet_ros: multi-person 3D pose with PI-Net")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in SUBCOMMANDS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 failed, 2 usage error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse usage errors and --help
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        return int(args.func(args))
    except KeyError as exc:
        print(f"pinet-ros: error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
