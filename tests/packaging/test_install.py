"""The toolkit as people install it: wheels built with ``python -m build``, installed into a fresh venv.

Why a test: the editable install the project's own ``.venv`` uses hides a missing package or data
file, a dependency that only the test extras bring in, and an import of the source tree. So the
two wheels (the toolkit, and ``sptk-native`` built by maturin) are built from this checkout,
installed into a new venv with nothing else, and run from a directory outside the source tree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.ci import unavailable

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "iglu"


def run(*args: str | Path, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, f"{' '.join(map(str, args))} exited {done.returncode}:\n{done.stderr[-4000:]}"
    return done


def test_the_wheels_install_into_a_fresh_venv_and_run_a_pipeline_without_the_source_tree(tmp_path: Path) -> None:
    if shutil.which("cargo") is None and not (Path.home() / ".cargo" / "bin" / "cargo").exists():
        unavailable("cargo (Rust) is not installed, so the sptk-native wheel cannot be built")
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "build", "--wheel", "--outdir", dist, ROOT, cwd=tmp_path)
    env_path = os.environ.get("PATH", "")
    os.environ["PATH"] = f"{Path.home() / '.cargo' / 'bin'}:{env_path}"
    try:
        run(sys.executable, "-m", "build", "--wheel", "--outdir", dist, ROOT / "native", cwd=tmp_path)
    finally:
        os.environ["PATH"] = env_path
    wheels = sorted(p.name for p in dist.glob("*.whl"))
    assert [w.split("-")[0] for w in wheels] == ["snowplow_kafka_toolkit", "sptk_native"], wheels

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python, sptk = venv / "bin" / "python", venv / "bin" / "sptk"
    run(python, "-m", "pip", "install", "--quiet", *sorted(dist.glob("*.whl")), cwd=tmp_path)

    work = tmp_path / "elsewhere"
    shutil.copytree(EXAMPLES, work / "iglu")
    where = run(python, "-c", "import toolkit, iglu_registry, connectors, migration, sptk_native; "
                "from toolkit.contract.native_codec import STATUS; "
                "print(toolkit.__file__); print(migration.__file__); print(STATUS)", cwd=work).stdout.splitlines()
    assert all(str(venv) in line for line in where[:2]), where  # the installed copy, not this checkout
    assert where[2].startswith("native fast path on"), where[2]
    assert "Usage: sptk" in run(sptk, "--help", cwd=work).stdout

    from toolkit.contract.samples import SampleSpec, generate

    lines = list(generate(SampleSpec(events=200, seed=3)))
    (work / "events.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = run(sptk, "pipeline", "run", "--input", "events.tsv", "--resolver", "iglu/resolver.json",
               "--output", "files:out", cwd=work)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["in"] == len(lines) and summary["enriched"] + summary["bad"] == len(lines)
    assert summary["enriched"] > 0
    written = (work / "out" / "enriched.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(written) == summary["enriched"]
