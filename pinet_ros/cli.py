"""The ``pinet-ros`` command line.

Subcommands are registered by functions listed in `SUBCOMMANDS`; each takes the argparse subparsers object,
adds its parser(s) and sets ``func`` (``args -> exit code``). To add a subcommand, write such a function and
append it to `SUBCOMMANDS`.

Exit codes: 0 success, 1 check failed / operation failed, 2 usage error (bad arguments, unknown weight name).
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from pinet_ros import weights


def _weights_list(args: argparse.Namespace) -> int:
    rows = [("NAME", "FORMAT", "LICENCE", "PRESENT")]
    for name, spec in sorted(weights.REGISTRY.items()):
        try:
            present = str(weights.find_weight(name))
        except FileNotFoundError:
            present = "missing (" + ("manual download" if spec.manual else "pinet-ros weights download") + ")"
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


def register_bench(subparsers: argparse._SubParsersAction) -> None:
    """``pinet-ros bench pinet``: printed figures, never asserted."""
    parser = subparsers.add_parser("bench", help="benchmarks that print figures")
    sub = parser.add_subparsers(dest="bench_command", metavar="WHAT", required=True)
    p = sub.add_parser("pinet", help="PI-Net: per-person loop of single forwards vs batched refine")
    p.add_argument("-n", type=int, nargs="+", default=[1, 2, 3, 5, 10], help="people per frame")
    p.add_argument("--repeats", type=int, default=20, help="timed repeats per case (median reported)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's own)")
    p.set_defaults(func=_bench_pinet)


def _synth(args: argparse.Namespace) -> int:
    from pinet_ros.data.synthetic import make_dataset, save_groups

    groups = make_dataset(args.split, args.scenes, seed=args.seed)
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
    p.set_defaults(func=_synth)


def _train(args: argparse.Namespace) -> int:
    from pinet_ros.data.synthetic import load_groups
    from pinet_ros.train import TrainConfig, train

    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, schedule=args.schedule,
                         seed=args.seed, device=args.device, order=args.order)
    groups_val = load_groups(args.val) if args.val else None
    record = train(load_groups(args.train), config, args.out, groups_val=groups_val, resume=args.resume,
                   progress=not args.quiet, data_description=f"train={args.train} val={args.val}")
    print(f"wrote {record['weights']} and its JSON record; final {record['final_metrics']}")
    return 0


def register_train(subparsers: argparse._SubParsersAction) -> None:
    """``pinet-ros train``: the paper's recipe by default (see pinet_ros.train.TrainConfig)."""
    p = subparsers.add_parser("train", help="train PI-Net on scenes written by `pinet-ros synth`")
    p.add_argument("--train", required=True, help="training scenes (.npz from `pinet-ros synth`)")
    p.add_argument("--val", default=None, help="validation scenes (.npz)")
    p.add_argument("--out", required=True, help="output weights (.safetensors); the JSON record goes beside it")
    p.add_argument("--epochs", type=int, default=25)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--lr", type=float, default=1e-5)
    p.add_argument("--schedule", choices=("poly", "step"), default="poly")
    p.add_argument("--order", default="root3d")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--resume", default=None, help="per-epoch checkpoint to continue from")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_train)


#: Subcommand registration functions, in help order.
SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    register_weights, register_bench, register_synth, register_train]


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
