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


#: Subcommand registration functions, in help order.
SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [register_weights, register_bench]


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
