"""`sptk iglu`: the command line over the library's lint and check (a real git repository in a temp dir)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tests.unit.iglu_registry.test_governance import repo, schema, write  # noqa: F401  (repo: a fixture)
from toolkit.cli.iglu import iglu


def test_lint_cli_exits_1_on_errors_and_0_when_skipped(tmp_path: Path) -> None:
    write(tmp_path, "1-0-0", {**schema("1-0-0"), "required": ["nope"]})
    result = CliRunner().invoke(iglu, ["lint", str(tmp_path)])
    assert result.exit_code == 1 and "requiredPropertiesExist" in result.output
    result = CliRunner().invoke(iglu, ["lint", str(tmp_path), "--skip-checks", "requiredPropertiesExist"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(iglu, ["lint", str(tmp_path), "--skip-checks", "nonsense"])
    assert result.exit_code == 2 and "unknown check(s) nonsense" in result.output


def test_check_cli_and_a_bad_ref(repo: Path) -> None:  # noqa: F811  (the imported fixture)
    result = CliRunner().invoke(iglu, ["check", str(repo), "--against", "main"])
    assert result.exit_code == 0 and "0 schema(s) checked" in result.output
    result = CliRunner().invoke(iglu, ["check", str(repo), "--against", "no-such-ref"])
    assert result.exit_code == 2 and "no-such-ref" in result.output


def test_json_goes_to_stdout_alone_or_to_a_file_and_the_text_moves_out_of_its_way(tmp_path: Path) -> None:
    write(tmp_path, "1-0-0", {**schema("1-0-0"), "required": ["nope"]})
    alone = CliRunner().invoke(iglu, ["lint", str(tmp_path), "--json"])
    assert alone.exit_code == 1
    issues = json.loads(alone.stdout)
    assert "requiredPropertiesExist" in [i["check"] for i in issues]
    assert "lint: 1 error(s)" in alone.stderr  # the text is still shown, on stderr
    assert json.loads(CliRunner().invoke(iglu, ["lint", str(tmp_path), "--json", "-"]).stdout) == issues
    report = tmp_path / "out" / "lint.json"
    to_file = CliRunner().invoke(iglu, ["lint", str(tmp_path), "--json", str(report)])
    assert to_file.exit_code == 1 and json.loads(report.read_text()) == issues
    assert "lint: 1 error(s)" in to_file.stdout
    old, new = write(tmp_path, "1-0-1", schema("1-0-1")), write(tmp_path, "1-0-2", schema("1-0-2"))
    compat = CliRunner().invoke(iglu, ["compat", str(old), str(new), f"--json={tmp_path / 'compat.json'}"])
    assert compat.exit_code == 0 and "classification: " in compat.stdout
    assert json.loads((tmp_path / "compat.json").read_text())["ok"] is True


def test_json_before_an_argument_takes_it_as_its_file_so_the_argument_is_missing(tmp_path: Path) -> None:
    write(tmp_path, "1-0-0", schema("1-0-0"))
    result = CliRunner().invoke(iglu, ["lint", "--json", str(tmp_path)])
    assert result.exit_code == 2 and "Missing argument 'DIRECTORY'" in result.output
    assert list(tmp_path.iterdir()) == [tmp_path / "schemas"]  # nothing written over
