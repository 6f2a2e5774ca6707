"""``make demo`` as a new user sees it: one "ready", no raw librdkafka line, reports named once, working next steps,
and the tracker leg's counts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.ci import unavailable

ROOT = Path(__file__).resolve().parents[2]


def next_steps(output: str) -> list[str]:
    """The commands under "demo: next steps", continuation lines joined."""
    _, _, tail = output.partition("demo: next steps")
    commands: list[str] = []
    joining = False
    for line in tail.splitlines()[1:]:
        if not line.startswith("    "):
            joining = False
            continue
        text = line.strip()
        if joining:
            commands[-1] += " " + text.rstrip("\\").strip()
        else:
            commands.append(text.rstrip("\\").strip())
        joining = text.endswith("\\")
    return commands


def test_make_demo_prints_each_thing_once_and_next_steps_that_work(tmp_path: Path, kafka_bootstrap: str) -> None:
    if shutil.which("make") is None:
        unavailable("make is not installed")
    out = tmp_path / "demo"
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "DEMO_EVENTS": "400", "DEMO_OUT": str(out)}
    result = subprocess.run(["make", "--no-print-directory", "demo"], cwd=ROOT, capture_output=True, text=True,
                            timeout=600, env=env)
    text = result.stdout + result.stderr
    assert result.returncode == 0, text[-3000:]
    assert text.count("setup: ready") == 1
    assert "BuildBackendWarning" not in text
    assert not re.search(r"^%\d\|", text, re.M), "a raw librdkafka log line"
    assert text.count("report.json") == 1 and text.count("html report:") == 1
    assert f"open the HTML report in a browser: file://{out / 'report.html'}" in text
    # the tracker leg: 7 events per method, the one invalid on purpose in bad
    assert "demo: tracker leg: the Python tracker sent 14 events over GET and POST through the collector: " \
           "12 enriched, 2 bad" in text

    commands = next_steps(text)
    assert len(commands) == 2 and "sptk reconcile " in commands[0] and "sptk topics plan " in commands[1]
    for command in commands:
        step = subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=300)
        if "reconcile" in command:
            assert step.returncode in (0, 1), step.stdout + step.stderr  # parity or warn, as the demo itself
            assert step.stdout.startswith("verdict: ")
        else:
            assert step.returncode == 0, step.stdout + step.stderr
            assert "4 topics: 0 to create, 4 in sync" in step.stdout
