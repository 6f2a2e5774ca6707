"""`sptk reconcile history` and `sptk reconcile signoff`: the cutover gate over the reports reconcile writes.

Unlike `sptk reconcile` itself these are not verdict commands: 1 is "the gate is not met yet" (a
finding), 2 a report, a path or an option a person must change, as for every other command.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from toolkit.cli.conventions import CommandFailed, Exit, emit, json_option, write_file


@click.command("history", short_help="Reports per day, the streak of passing days, the cutover gate.")
@click.argument("reports", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--allow-warn", is_flag=True, help="Count a warn day as passing (default: parity only).")
@click.option("--require-streak", type=click.IntRange(1), default=None, metavar="N",
              help="Exit 1 until the latest N days in a row pass.")
@click.option("--require-signoff", "require_signoff", multiple=True, metavar="OWNER",
              help="Exit 1 until OWNER signed off the streak's last report (repeatable).")
@click.option("--log", "log_path", type=click.Path(path_type=Path), default=None, metavar="FILE",
              help="The sign-off log (default: signoffs.jsonl in each reports' folder).")
@json_option("the history")
@click.option("--html", "html_path", default=None, metavar="FILE",
              help="Write the history as an HTML page here (verdict per day, streak, sign-offs).")
def history_command(reports: tuple[Path, ...], allow_warn: bool, require_streak: int | None,
                    require_signoff: tuple[str, ...], log_path: Path | None, json_to: str | None,
                    html_path: str | None) -> None:
    """A table per day of reconcile reports (files, or folders of *.json), the streak of passing days, sign-offs.

    A report counts on the UTC day of its as_of; a day takes its worst verdict. Exit codes: 0, or with
    --require-streak/--require-signoff 0 when met and 1 until then; 2 when a report cannot be used.
    """
    from migration.cutover import CutoverInputError, build_history
    from migration.reports.history import history_document, render_history_json, render_history_text
    from migration.reports.history_html import render_history_html

    try:
        history = build_history(reports, allow_warn, log_path)
    except CutoverInputError as exc:
        raise CommandFailed(str(exc)) from None
    document = history_document(history, require_streak, require_signoff)
    text = render_history_text(history, require_streak, require_signoff)
    if html_path:
        write_file(html_path, render_history_html(history, require_streak, require_signoff).encode(), "HTML")
        text += f"html report: {html_path}\n"
    emit(json_to, render_history_json(document), text)
    sys.exit(Exit.OK if document["gate"]["met"] else Exit.FOUND)


@click.command("signoff", short_help="Sign off a report: its hash into an append-only log.")
@click.option("--report", "report_path", required=True, type=click.Path(path_type=Path), metavar="FILE",
              help="The JSON report signed off.")
@click.option("--owner", required=True, metavar="NAME", help="Who signs off (a consumer owner).")
@click.option("--note", default=None, metavar="TEXT", help="Why, or under which conditions.")
@click.option("--log", "log_path", type=click.Path(path_type=Path), default=None, metavar="FILE",
              help="The append-only sign-off log (default: signoffs.jsonl next to the report).")
@click.option("--force", is_flag=True, help="Sign off a fail or undecided report (needs --note).")
def signoff_command(report_path: Path, owner: str, note: str | None, log_path: Path | None, force: bool) -> None:
    """Append OWNER's sign-off of a report (its SHA-256, verdict, the UTC time, the note) to the sign-off log.

    A fail or undecided report is refused (exit 2) unless --force comes with a --note.
    """
    from migration.cutover import CutoverInputError, default_log, sign_off

    log = log_path or default_log(report_path)
    try:
        record = sign_off(report_path, owner, note, log, force)
    except CutoverInputError as exc:
        raise CommandFailed(str(exc)) from None
    except OSError as exc:
        raise CommandFailed(f"cannot append to the sign-off log {log}: {exc.strerror or exc}") from None
    forced = " (forced)" if record["forced"] else ""
    click.echo(f"signed off{forced}: {report_path} ({record['verdict']}, sha256 {record['sha256']}) by "
               f"{record['owner']} at {record['signed_at']}; recorded in {log}")

