"""One way to open an ONNX file in onnxruntime on the CPU, shared by every onnxruntime user of the package
(NanoDet, the BlazePose landmarks, PI-Net, the export parity checks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["cpu_session"]


def cpu_session(path: str | Path, threads: int | None = None) -> Any:
    """An onnxruntime `InferenceSession` on the CPU execution provider.

    Args:
        path: the .onnx file.
        threads: intra-op threads (one inter-op thread then); None or 0 = onnxruntime's own choice.
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1
    # Idle worker threads sleep instead of spinning: on a loaded 2-core machine spinning doubled NanoDet's
    # CPU time (87 vs 58 ms per frame on 2 threads) and made it slower (224 vs 126 ms wall).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
