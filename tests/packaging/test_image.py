"""The Dockerfile, built by ``scripts/build-image`` and run: a pipeline inside the container writes to the real broker.

The base is ``scripts/container-base``'s Debian 12 image (made from Debian's packages): this machine
reaches no container registry, so the Dockerfile's default base is replaced, not the Dockerfile.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from tests.ci import unavailable
from tests.integration.pipeline.conftest import read_topic

ROOT = Path(__file__).resolve().parents[2]
BASE = "localhost/sptk-base:bookworm"


def engine_run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``podman run`` with the same runtime and limits scripts/build-image builds with (see there why)."""
    runtime = ["--runtime", "runc"] if shutil.which("runc") else []
    limits = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]
    return subprocess.run(["podman", *runtime, "run", "--rm", *limits, *args], capture_output=True, text=True,
                          timeout=timeout)


def script(name: str, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(["bash", str(ROOT / "scripts" / name)], cwd=ROOT, capture_output=True, text=True,
                          timeout=1200, env={**os.environ, **(env or {})})
    assert done.returncode == 0, (f"scripts/{name} exited {done.returncode}:\n{done.stdout[-2000:]}\n"
                                  f"{done.stderr[-4000:]}")


def test_the_image_builds_from_the_dockerfile_and_runs_a_pipeline_into_kafka(kafka_bootstrap: str) -> None:
    if not (shutil.which("podman") and shutil.which("mmdebstrap")):
        unavailable("podman and mmdebstrap are not installed (scripts/podman installs them as root)")
    tag = f"localhost/sptk-test:{uuid.uuid4().hex[:8]}"
    cleanup: list[Path] = []
    script("container-base")
    script("build-image", {"SPTK_IMAGE_TAG": tag, "SPTK_IMAGE_BASE": BASE, "SPTK_CONTAINER_ENGINE": "podman"})
    try:
        version = engine_run(tag, "--version")
        assert version.returncode == 0 and version.stdout.startswith("sptk, version"), version.stderr
        whoami = engine_run("--entrypoint", "id", tag, "-u")
        assert whoami.stdout.strip() == "65532"  # not root

        from toolkit.contract.samples import SampleSpec, generate

        lines = list(generate(SampleSpec(events=50, seed=5)))
        data = Path(tempfile.mkdtemp(prefix="sptk-image-"))  # pytest's tmp_path is private to root; the image's
        cleanup.append(data)                                 # user (65532) must read the mounted files
        shutil.copytree(ROOT / "examples" / "iglu", data / "iglu")
        (data / "events.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        for path in [data, *data.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        prefix = f"test.image.{uuid.uuid4().hex[:8]}"
        done = engine_run("--network", "host", "-v", f"{data}:/data:ro", tag, "pipeline", "run",
                          "--input", "/data/events.tsv", "--resolver", "/data/iglu/resolver.json",
                          "--output", f"kafka:{kafka_bootstrap}", "--topic-prefix", prefix)
        assert done.returncode == 0, done.stderr[-3000:]
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        assert summary["in"] == len(lines) and summary["enriched"] + summary["bad"] == len(lines)
        raw = read_topic(kafka_bootstrap, f"{prefix}.raw", expect=len(lines))
        assert sorted(m.value for m in raw) == sorted(line.encode() for line in lines)
    finally:
        subprocess.run(["podman", "rmi", "-f", tag], capture_output=True, timeout=120)
        for path in cleanup:
            shutil.rmtree(path, ignore_errors=True)
