"""The peers' parts of the benchmark, run by `bench/run.py --peers` in the peers' environment
(bench/.peers/venv, made by bench/peers/setup), where every peer is installed beside ours.

    bench/.peers/venv/bin/python bench/peers_run.py MODE REPORT.json [peers] [suite] [load]

Writes the rows and the peers' versions to REPORT.json, for run.py to print with its own.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

from contenders.aimock import version as aimock_version
from run import Bench

PACKAGES = ("pytest-httpserver", "fakellm", "pytest-fakellm", "mockllm", "stubllm", "llmock")


def versions() -> dict[str, str]:
    found = {name: version(name) for name in PACKAGES}
    found["aimock"] = aimock_version()
    found["aimock-pytest"] = version("aimock-pytest")
    return found


def parts() -> dict[str, Callable[[Bench, Path], None]]:
    from load import load
    from side_by_side import side_by_side
    from suite import suite

    return {"peers": side_by_side, "suite": suite, "load": load}


def main(argv: list[str]) -> int:
    mode, report, *chosen = argv
    bench = Bench(mode)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # pytest-httpserver logs every request
    with tempfile.TemporaryDirectory() as tmp:
        for name, part in parts().items():
            if name in chosen:
                began = time.perf_counter()
                print(f"  (peers: {name}...)", file=sys.stderr, flush=True)
                part(bench, Path(tmp) / name)
                print(f"  (peers: {name}: {time.perf_counter() - began:.0f} s)", file=sys.stderr)
    Path(report).write_text(json.dumps({"rows": bench.rows, "versions": versions()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
