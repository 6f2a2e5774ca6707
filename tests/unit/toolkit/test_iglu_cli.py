"""`sptk iglu`: the command line over the library's lint and check (a real git repository in a temp dir)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.unit.iglu_registry.test_governance import git, schema, write
from toolkit.iglu_cli import iglu


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    write(tmp_path, "1-0-0", schema("1-0-0"))
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "published")
    return tmp_path


def test_lint_cli_exits_1_on_errors_and_0_when_skipped(tmp_path: Path) -> None:
    write(tmp_path, "1-0-0", {**schema("1-0-0"), "required": ["nope"]})
    result = CliRunner().invoke(iglu, ["lint", str(tmp_path)])
    assert result.exit_code == 1 and "requiredPropertiesExist" in result.output
    result = CliRunner().invoke(iglu, ["lint", str(tmp_path), "--skip-checks", "requiredPropertiesExist"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(iglu, ["lint", str(tmp_path), "--skip-checks", "nonsense"])
    assert result.exit_code == 2 and "unknown check(s) nonsense" in result.output


def test_check_cli_and_a_bad_ref(repo: Path) -> None:
    result = CliRunner().invoke(iglu, ["check", str(repo), "--against", "main"])
    assert result.exit_code == 0 and "0 schema(s) checked" in result.output
    result = CliRunner().invoke(iglu, ["check", str(repo), "--against", "no-such-ref"])
    assert result.exit_code == 2 and "no-such-ref" in result.output
