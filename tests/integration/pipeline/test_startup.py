"""Start-up as a user meets it: a port in use, a SIGTERM before the first record, and no server nobody asked for.

Each runs the real ``sptk`` process: what counts is its exit code, its stderr, and the
sockets the kernel says it holds.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.integration.pipeline.conftest import (
    EXAMPLES,
    ROOT,
    SPTK,
    base_config,
    free_port,
    sptk,
    wait_for,
    write_config,
)
from toolkit.contract.samples import SampleSpec, generate
from toolkit.kafka.admin import describe_topics

RESOLVER = str(EXAMPLES / "resolver.json")


@contextmanager
def port_taken() -> Iterator[int]:
    """A port another process (this test) listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        yield holder.getsockname()[1]


def listening_ports(pid: int) -> set[int]:
    """The TCP ports process ``pid`` listens on, from its socket inodes and /proc/net/tcp{,6} (state 0A)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed while we looked
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for row in Path(table).read_text().splitlines()[1:]:
            cols = row.split()
            if cols[3] == "0A" and cols[9] in inodes:
                ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


def test_a_sidecar_port_in_use_stops_the_start_at_once_with_one_line_and_exit_2(
        tmp_path: Path, kafka_bootstrap: str, prefix: str) -> None:
    with port_taken() as port:
        config = write_config(tmp_path / "pipeline.yaml", base_config(
            prefix, kafka_bootstrap, source={"kind": "stdin"},
            sidecar={"host": "127.0.0.1", "port": port, "log_format": "json"}))
        result = sptk("pipeline", "run", "--config", str(config), "--create-topics")
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and result.stdout == ""
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("sptk pipeline run: ") and f"127.0.0.1:{port}" in line and "in use" in line
    assert "sidecar.port" in line  # what to change
    # the port is claimed before the slow steps: no topic was created for a run that cannot serve
    assert all(state is None for state in describe_topics(kafka_bootstrap, [f"{prefix}.raw"]).values())


def test_a_broker_that_does_not_answer_at_start_is_exit_3_not_a_config_mistake(tmp_path: Path) -> None:
    """2 is for what a person must change; a broker that is down may be back at the next start (docs/cli.md)."""
    with socket.socket() as closed:  # bound, never listening: connections are refused at once
        closed.bind(("127.0.0.1", 0))
        config = write_config(tmp_path / "pipeline.yaml", base_config(
            "test.nobroker", f"127.0.0.1:{closed.getsockname()[1]}", source={"kind": "stdin"},
            kafka={"common": {"socket.connection.setup.timeout.ms": 1000, "log_level": 0}}))
        result = sptk("pipeline", "run", "--config", str(config), "--no-serve")
    assert result.returncode == 3, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and result.stdout == ""
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("sptk pipeline run: cannot check the topics on 127.0.0.1:"), line


def test_a_kafka_load_sidecar_port_in_use_is_one_line_and_exit_2(tmp_path: Path, kafka_bootstrap: str) -> None:
    with port_taken() as port:
        result = sptk("migrate", "kafka-load", "--bootstrap", kafka_bootstrap, "--topic", "test.nothing.here",
                      "--warehouse", f"duckdb:{tmp_path / 'w.duckdb'}", "--sidecar-port", str(port))
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert f"127.0.0.1:{port}" in line and "in use" in line and "--sidecar-port" in line


def _logs(stderr: str) -> list[str]:
    messages = []
    for text in stderr.splitlines():
        try:
            messages.append(json.loads(text)["message"])
        except (ValueError, KeyError):
            messages.append(text)
    return messages


def test_one_sigterm_during_start_up_exits_the_way_a_graceful_stop_does(
        tmp_path: Path, kafka_bootstrap: str, prefix: str) -> None:
    """SIGTERM right after the topics are created (the start-up goes on: drift check, limits, producer)."""
    config = write_config(tmp_path / "pipeline.yaml", base_config(prefix, kafka_bootstrap, source={"kind": "stdin"}))
    run = subprocess.Popen([*SPTK, "pipeline", "run", "--config", str(config), "--create-topics"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert run.stderr is not None and run.stdin is not None
        seen = []
        for text in run.stderr:
            seen.append(text)
            if "created topics" in text:
                run.send_signal(signal.SIGTERM)
                break
        else:
            pytest.fail("the run never created its topics:\n" + "".join(seen)[-3000:])
        run.stdin.write("".join(line + "\n" for line in generate(SampleSpec(events=5, seed=3))))
        run.stdin.flush()  # lines that arrive after the signal are not read
        out, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    err = "".join(seen) + err
    assert run.returncode == 0, err[-3000:]
    assert "Traceback" not in err
    assert json.loads(out.strip().splitlines()[-1])["in"] == 0
    messages = _logs(err)
    received = next(i for i, m in enumerate(messages) if m.startswith("received SIGTERM"))
    started = next(i for i, m in enumerate(messages) if m.startswith("pipeline ") and "reading" in m)
    assert received < started, "the signal should have arrived during start-up"
    assert "start-up" in messages[received]


def _quick_run(tmp_path: Path, *flags: str, env: dict[str, str] | None = None) -> tuple[set[int], str]:
    """``pipeline run --input - --output files:DIR``: the ports it listens on once it has processed a line."""
    out_dir = tmp_path / "out"
    line = next(iter(generate(SampleSpec(events=1, seed=5))))
    run = subprocess.Popen([*SPTK, "pipeline", "run", "--input", "-", "--resolver", RESOLVER,
                            "--output", f"files:{out_dir}", *flags], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, **(env or {})})
    try:
        assert run.stdin is not None
        run.stdin.write(line + "\n")
        run.stdin.flush()
        raw = out_dir / "raw.tsv"
        wait_for(lambda: (raw.exists() and raw.read_text() == line + "\n") or run.poll() is not None, 60,
                 "the line in raw.tsv")
        assert run.poll() is None, run.communicate()[1][-3000:]
        ports = listening_ports(run.pid)
        _, err = run.communicate(timeout=60)  # closes stdin: the input ends
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, err[-3000:]
    return ports, err


@pytest.mark.parametrize("flags", [(), ("--no-serve",)], ids=["quick-use", "no-serve"])
def test_quick_use_opens_no_listening_socket(tmp_path: Path, flags: tuple[str, ...]) -> None:
    ports, err = _quick_run(tmp_path, *flags)
    assert ports == set()
    assert "listening" not in err


def test_serve_does_listen_where_it_says(tmp_path: Path) -> None:
    """The check above can see a listener: with --serve the run holds exactly the one it logs."""
    port = free_port()
    ports, err = _quick_run(tmp_path, "--serve", env={"SPTK_SIDECAR__PORT": str(port)})
    assert ports == {port}
    assert re.search(rf"listening on http://127\.0\.0\.1:{port}", err)


#: runs ``sptk`` in a child that sends itself SIGTERM while the command's module is being imported, i.e. before
#: any pipeline code (config, sidecar, signal handlers) has run: the earliest moment a person or orchestrator
#: can stop it once Python is up
_SIGTERM_WHILE_IMPORTING = """
import os, signal, sys
from toolkit.cli import root
real = root.LazyGroup.get_command
def get_command(self, ctx, name):
    os.kill(os.getpid(), signal.SIGTERM)
    return real(self, ctx, name)
root.LazyGroup.get_command = get_command
root.main(sys.argv[1:], prog_name="sptk")
"""


@pytest.mark.parametrize("signals", [1, 2], ids=["one-sigterm", "two-sigterms"])
def test_a_sigterm_while_the_command_is_still_importing_is_a_graceful_stop(tmp_path: Path, signals: int) -> None:
    """Before the sidecar's handlers exist the root holds the signal: one is a graceful stop, two exit at once."""
    script = _SIGTERM_WHILE_IMPORTING if signals == 1 else _SIGTERM_WHILE_IMPORTING.replace(
        "    os.kill(os.getpid(), signal.SIGTERM)\n", "    os.kill(os.getpid(), signal.SIGTERM)\n" * 2)
    lines = "".join(line + "\n" for line in generate(SampleSpec(events=5, seed=3)))
    run = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", script, "pipeline", "run", "--input", "-",
                          "--resolver", RESOLVER, "--output", f"files:{tmp_path / 'out'}"],
                         input=lines, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "Traceback" not in run.stderr
    if signals == 2:
        assert run.returncode == 128 + signal.SIGTERM, run.stderr[-3000:]
        return
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout.strip().splitlines()[-1])["in"] == 0
    assert "received SIGTERM during start-up" in run.stderr
