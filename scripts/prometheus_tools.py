"""promtool and the prometheus server, built from Prometheus' Go module with the local Go toolchain.

Pinned to one version and cached under ``.cache/prometheus/<version>/bin/`` like the Kafka jars
(scripts/kafka_local.py): the first build downloads the modules through the Go module proxy and
compiles (several minutes on 2 cores); later calls find the binary and return at once.

Usage: scripts/prometheus-tools {promtool|prometheus|path TOOL}
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Prometheus 3.x publishes its Go module as v0.3MM.P (v0.316.0 is Prometheus 3.16.0)
PROMETHEUS_MODULE_VERSION = "v0.316.0"
CACHE = ROOT / ".cache" / "prometheus" / PROMETHEUS_MODULE_VERSION
BIN = CACHE / "bin"
TOOLS = ("promtool", "prometheus")


def ensure(tool: str) -> Path:
    """The cached binary of ``tool``, built first when it is missing; exits with a clear line when it cannot be."""
    if tool not in TOOLS:
        raise SystemExit(f"prometheus-tools: unknown tool {tool!r}; choose one of: {', '.join(TOOLS)}")
    binary = BIN / tool
    if binary.is_file():
        return binary
    go = shutil.which("go")
    if go is None:
        raise SystemExit("prometheus-tools: the Go toolchain (`go`) is not on PATH; install Go to build "
                         f"{tool} {PROMETHEUS_MODULE_VERSION}")
    BIN.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOBIN": str(BIN), "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}
    target = f"github.com/prometheus/prometheus/cmd/{tool}@{PROMETHEUS_MODULE_VERSION}"
    print(f"prometheus-tools: building {target} (first time only; minutes)", file=sys.stderr, flush=True)
    done = subprocess.run([go, "install", target], env=env, cwd=CACHE, check=False)
    if done.returncode != 0 or not binary.is_file():
        raise SystemExit(f"prometheus-tools: `go install {target}` failed (exit {done.returncode}); "
                         "see its output above")
    return binary


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "path":
        print(ensure(argv[1]))
        return 0
    if len(argv) >= 1 and argv[0] in TOOLS:
        return subprocess.run([str(ensure(argv[0])), *argv[1:]], check=False).returncode
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
