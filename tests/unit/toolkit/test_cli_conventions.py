"""One convention across every ``sptk`` command (docs/cli.md): exit codes, errors, ``--json``, environment.

The tree of commands is walked from the root group, so a command added later is held to the
same rules without anyone remembering to list it here. Everything runs in-process: a usage or a
config mistake must stop a command before it opens a socket.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from toolkit.cli.conventions import DEBUG_ENV, Exit, VerdictCommand
from toolkit.cli.root import main

ROOT = Path(__file__).resolve().parents[3]
TRACEBACK = "Traceback (most recent call last)"


def leaves(group: click.Group = main, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    """Every command a user can run, as (words after ``sptk``, command); a group that runs alone is one too."""
    ctx = click.Context(group)
    found = [(path, group)] if path and group.invoke_without_command else []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, f"sptk {' '.join(path + (name,))} is listed but cannot be loaded"
        if isinstance(command, click.Group):
            found += leaves(command, path + (name,))
        else:
            found.append((path + (name,), command))
    return found


LEAVES = leaves()
IDS = [" ".join(words) for words, _ in LEAVES]


def usage_exit(command: click.Command) -> int:
    """2, except where 2 is a verdict (``fail``): there a mistake cannot give a verdict, so it is 3."""
    return Exit.UNDECIDED if isinstance(command, VerdictCommand) else Exit.USAGE


def takes_config(command: click.Command) -> bool:
    return any("--config" in p.opts for p in command.params)


def sptk(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def test_the_walk_sees_every_group_and_only_the_verdict_commands_keep_2_for_fail() -> None:
    assert {words[0] for words, _ in LEAVES} == {"config", "event", "iglu", "pipeline", "topics", "reconcile",
                                                 "migrate", "monitor", "micro", "sink", "audit", "privacy"}
    assert len(LEAVES) >= 19
    assert sorted(" ".join(w) for w, c in LEAVES if isinstance(c, VerdictCommand)) == ["migrate shadow", "reconcile"]


@pytest.mark.parametrize(("words", "command"), LEAVES, ids=IDS)
def test_an_unknown_option_is_a_usage_error_without_a_traceback(words: tuple[str, ...],
                                                                  command: click.Command) -> None:
    result = sptk(*words, "--no-such-option")
    assert result.exit_code == usage_exit(command), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert TRACEBACK not in result.output
    assert result.stderr.startswith(f"Usage: sptk {' '.join(words)} ") and result.stdout == ""
    assert "No such option '--no-such-option'" in result.stderr


@pytest.mark.parametrize(("words", "command"), [(w, c) for w, c in LEAVES if takes_config(c)],
                         ids=[i for i, (_, c) in zip(IDS, LEAVES, strict=True) if takes_config(c)])
def test_a_config_with_an_unknown_key_is_one_line_naming_the_command_and_the_key(
        words: tuple[str, ...], command: click.Command, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('no_such_key = 1\n')
    result = sptk(*words, "--config", str(bad))
    assert result.exit_code == usage_exit(command), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert TRACEBACK not in result.output
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"sptk {' '.join(words)}: ") and "no_such_key" in result.stderr, result.stderr


def test_config_check_takes_the_config_as_its_argument_and_follows_the_same_rule(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('no_such_key = 1\n')
    result = sptk("config", "check", str(bad))
    assert result.exit_code == Exit.USAGE and TRACEBACK not in result.output
    assert result.stderr.startswith("sptk config check: ") and "no_such_key" in result.stderr


def test_an_unexpected_error_is_one_line_naming_the_command_and_exit_3(monkeypatch: pytest.MonkeyPatch) -> None:
    import toolkit.cli.config

    def broken() -> dict[str, object]:
        raise RuntimeError("an internal check failed")

    monkeypatch.setattr(toolkit.cli.config, "config_json_schema", broken)
    result = sptk("config", "schema", env={DEBUG_ENV: ""})
    assert result.exit_code == Exit.UNDECIDED, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert TRACEBACK not in result.output and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert re.match(r"sptk config schema: unexpected RuntimeError at test_cli_conventions\.py:\d+: an internal "
                    r"check failed\. This is a bug in sptk", line), line
    assert f"{DEBUG_ENV}=1 shows the traceback" in line

    debugged = sptk("config", "schema", env={DEBUG_ENV: "1"})
    assert debugged.exit_code == Exit.UNDECIDED
    assert TRACEBACK in debugged.stderr and "RuntimeError: an internal check failed" in debugged.stderr
    assert debugged.stderr.splitlines()[-1].startswith("sptk config schema: unexpected RuntimeError")


def test_an_interruption_is_exit_3_not_click_s_1(monkeypatch: pytest.MonkeyPatch) -> None:
    import toolkit.cli.config

    def interrupted() -> dict[str, object]:
        raise KeyboardInterrupt

    monkeypatch.setattr(toolkit.cli.config, "config_json_schema", interrupted)
    result = sptk("config", "schema")
    assert result.exit_code == Exit.UNDECIDED, result.output
    assert result.stderr.splitlines()[-1].startswith("sptk config schema: interrupted")


def test_every_environment_variable_is_sptk_and_documented_once() -> None:
    from toolkit.config.sources import ENV_PREFIX
    from toolkit.contract.native_codec import ENV_SWITCH
    from toolkit.progress import INTERVAL_ENV

    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    read = {DEBUG_ENV, INTERVAL_ENV, ENV_SWITCH}
    for words, command in LEAVES:
        for param in command.params:
            names = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar or ())
            read |= {f"{name} (sptk {' '.join(words)} {param.opts[0]})" for name in names}
    for entry in sorted(read):
        name = entry.split(" ")[0]
        assert name.startswith(ENV_PREFIX), f"{entry}: every variable sptk reads starts with {ENV_PREFIX}"
        assert f"`{name}`" in doc, f"{entry} is not in docs/cli.md"
    assert "KAFKA_BOOTSTRAP_SERVERS`" in doc  # says where the un-prefixed one is read: the test suite, not sptk


def test_the_documented_exit_codes_are_the_shared_ones_and_reconcile_maps_onto_them() -> None:
    from migration.reconcile.result import EXIT_CODES

    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(\d)` \| `(\w+)` \|", doc, re.M))
    assert rows == {str(int(code)): code.name for code in Exit}
    assert (EXIT_CODES["parity"], EXIT_CODES["warn"], EXIT_CODES["undecided"]) == (Exit.OK, Exit.FOUND,
                                                                                     Exit.UNDECIDED)
    assert EXIT_CODES["fail"] == 2  # a finding that shares its number with USAGE: VerdictCommand keeps them apart


def test_kafka_load_takes_its_bootstrap_from_the_variable_a_pipeline_config_reads() -> None:
    from toolkit.cli.conventions import BOOTSTRAP_ENV
    from toolkit.config.loading import load_config

    [bootstrap] = [p for w, c in LEAVES if w == ("migrate", "kafka-load") for p in c.params if p.name == "bootstrap"]
    assert bootstrap.envvar == BOOTSTRAP_ENV
    cfg = load_config(ROOT / "examples" / "demo" / "pipeline.yaml", environ={BOOTSTRAP_ENV: "elsewhere:9092"})
    assert cfg.kafka is not None and cfg.kafka.bootstrap_servers == "elsewhere:9092"


def test_every_group_takes_its_conventions_from_the_one_module() -> None:
    import ast
    import importlib

    from toolkit.cli.root import GROUPS

    for name, (target, _) in GROUPS.items():
        module = importlib.import_module(target.split(":")[0])
        assert module.__file__ is not None
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert "toolkit.cli.conventions" in imported, f"sptk {name} ({module.__name__}) does not use the conventions"
