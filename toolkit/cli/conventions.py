"""What every ``sptk`` command shares: exit codes, the ``--json`` option, error lines (docs/cli.md).

Each group takes these from here instead of choosing its own, so a script or a CI job that has
learnt one ``sptk`` command can run every other the same way (docs/adr/0006).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path
from typing import IO, Any, TypeVar

import click

#: ``SPTK_DEBUG=1``: an unexpected error shows its traceback before its one line.
DEBUG_ENV = "SPTK_DEBUG"
#: the value ``--json`` takes when it is given alone: standard output
STDOUT = "-"
#: where a command that takes ``--bootstrap`` finds it otherwise: the variable that overrides a pipeline
#: config's ``kafka.bootstrap_servers``, so one setting points every command at the same cluster. Spelt
#: out rather than built from ``toolkit.config.sources`` so that a command's import stays light.
BOOTSTRAP_ENV = "SPTK_KAFKA__BOOTSTRAP_SERVERS"

F = TypeVar("F", bound=Callable[..., Any])


class Exit(IntEnum):
    """The exit codes of every ``sptk`` command.

    Verdict commands (``sptk reconcile``, ``sptk migrate shadow``) read 2 as their ``fail``
    verdict, a finding; see :class:`VerdictCommand` for how their usage errors stay apart.
    """

    OK = 0
    #: the command ran and found something: lint errors, invalid data, bad lines, drift, records left unconfirmed
    FOUND = 1
    #: a person must change the command line, the config or an input file; nothing was done
    USAGE = 2
    #: could not decide: a service did not answer (retrying can help), an interruption, or a bug in sptk
    UNDECIDED = 3


class CommandFailed(click.ClickException):
    """The command stops with one line on stderr, ``<command path>: <message>``, and an exit code of :class:`Exit`."""

    def __init__(self, message: str, code: Exit = Exit.USAGE, *, command_path: str | None = None) -> None:
        super().__init__(message)
        self.exit_code = int(code)
        if command_path is None:
            ctx = click.get_current_context(silent=True)
            command_path = ctx.command_path if ctx else "sptk"
        self.command_path = command_path

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"{self.command_path}: {self.format_message()}", file=file, err=file is None)


def _failed_command(exc: BaseException, fallback: str) -> str:
    """The path of the innermost command the exception passed through (click keeps each one's context in ``ctx``)."""
    path = fallback
    tb = exc.__traceback__
    while tb is not None:
        ctx = tb.tb_frame.f_locals.get("ctx")
        if isinstance(ctx, click.Context):
            path = ctx.command_path
        tb = tb.tb_next
    return path


def unexpected(exc: BaseException, ctx: click.Context) -> CommandFailed:
    """One line for an error no command handled (exit 3); its traceback only with ``SPTK_DEBUG=1``."""
    path = _failed_command(exc, ctx.command_path)
    if isinstance(exc, KeyboardInterrupt):
        return CommandFailed("interrupted before it finished; nothing more was done (exit 3)", Exit.UNDECIDED,
                             command_path=path)
    debug = os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no", "off")
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    hint = "" if debug else f"; {DEBUG_ENV}=1 shows the traceback"
    if isinstance(exc, OSError):  # the machine said no (a disk, a permission): not necessarily a bug
        return CommandFailed(f"{exc} (an operating-system error{where}; exit 3{hint})", Exit.UNDECIDED,
                             command_path=path)
    return CommandFailed(f"unexpected {type(exc).__name__}{where}: {exc}. This is a bug in sptk; please report it "
                         f"with this line (exit 3{hint})", Exit.UNDECIDED, command_path=path)


class VerdictCommand(click.Command):
    """A command whose exit code is a verdict: 0 parity, 1 warn, 2 fail, 3 could not decide.

    Its 2 is a finding, so a usage error (2 everywhere else) exits 3 here, as does any other
    failure before a verdict: a typo must not read as "the data differs", nor, with click's
    default of 1 for an error, as a warning that a gate accepting ``warn`` would wave through.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.ClickException as exc:
            exc.exit_code = Exit.UNDECIDED
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            exc.exit_code = Exit.UNDECIDED
            raise


def json_option(what: str) -> Callable[[F], F]:
    """``--json`` alone or ``--json -``: JSON on stdout; ``--json FILE``: in FILE. The value is ``json_to``."""
    return click.option(
        "--json", "json_to", is_flag=False, flag_value=STDOUT, default=None, metavar="[FILE]",
        help=f"Write {what} as JSON: to FILE, or to standard output with `--json` alone or `--json -` (the "
             "text then goes to standard error). Before an argument, write `--json=FILE` or `--json -`.")


def write_file(path: str | Path, data: bytes, what: str) -> None:
    """Write a report file the user named, creating its folder; a path that cannot take it is a usage error."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    except OSError as exc:
        raise CommandFailed(f"cannot write the {what} report to {path}: {exc.strerror or exc}") from None


def emit(json_to: str | None, document: bytes | str, text: str) -> None:
    """Send the JSON where ``--json`` says and the text where it fits: stdout, or stderr when the JSON takes stdout."""
    if text and not text.endswith("\n"):
        text += "\n"
    if json_to is None:
        click.echo(text, nl=False)
        return
    data = document.encode() if isinstance(document, str) else document
    if not data.endswith(b"\n"):
        data += b"\n"
    if json_to == STDOUT:
        click.echo(text, nl=False, err=True)
        click.echo(data, nl=False)  # bytes: written as they are, so a report stays byte-identical
        return
    write_file(json_to, data, "JSON")
    click.echo(text, nl=False)
