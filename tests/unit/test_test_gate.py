"""The test gate itself: a green CI must mean every test ran, and no test run rewrites what it checks.

Every decision to skip goes through :mod:`tests.ci`, which skips on a laptop and fails in CI. These tests
hold the tree to that (an AST scan for any other skip) and prove it end to end: small pytest subprocesses
with ``CI`` set and the shared data, or the native extension, missing must fail, not skip.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import ci

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
HELPER = TESTS / "ci.py"
#: attributes of ``pytest`` (or ``pytest.mark``) that skip a test
SKIPPING = {"skip", "skipif", "importorskip"}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _is_ci(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value == "CI"


def _reads_ci(node: ast.AST) -> bool:
    """``X.get("CI")``, ``getenv("CI")`` or ``X["CI"]`` read as a value (writing it for a subprocess is fine)."""
    if isinstance(node, ast.Call) and node.args and _is_ci(node.args[0]):
        return _dotted(node.func).rsplit(".", 1)[-1] in ("get", "getenv")
    return isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _is_ci(node.slice)


def skips_outside_the_helper(tests: Path) -> list[str]:
    """Every place under ``tests`` that skips, or reads ``CI``, other than :mod:`tests.ci`, as 'file:line: what'."""
    found = []
    for path in sorted(tests.rglob("*.py")):
        if path == tests / "ci.py":
            continue
        rel = path.relative_to(tests.parent)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Attribute) and node.attr in SKIPPING and _dotted(node.value) in (
                    "pytest", "pytest.mark"):
                found.append(f"{rel}:{node.lineno}: {_dotted(node)}")
            elif isinstance(node, ast.ImportFrom) and node.module in ("pytest", "_pytest.outcomes"):
                found += [f"{rel}:{node.lineno}: from {node.module} import {a.name}" for a in node.names
                          if a.name in SKIPPING]
            elif _reads_ci(node):
                found.append(f"{rel}:{node.lineno}: reads the CI variable itself")
    return sorted(found, key=lambda x: (x.split(":")[0], int(x.split(":")[1])))


def test_every_skip_goes_through_the_one_helper() -> None:
    assert skips_outside_the_helper(TESTS) == [], (
        "skip only through tests.ci.unavailable (it fails in CI); use tests.ci.in_ci() for 'are we in CI'")


def test_the_scan_finds_each_kind_of_skip(tmp_path: Path) -> None:
    (tmp_path / "ci.py").write_text("import pytest\npytest.skip('allowed here')\n")
    (tmp_path / "test_x.py").write_text(
        "import os\nimport pytest\nfrom pytest import importorskip\n"
        "@pytest.mark.skipif(True, reason='r')\ndef test_a():\n    pytest.skip('r')\n"
        "def test_b():\n    pytest.importorskip('x')\n    os.environ.get('CI')\n")
    assert [x.removeprefix(f"{tmp_path.name}/") for x in skips_outside_the_helper(tmp_path)] == [
        "test_x.py:3: from pytest import importorskip", "test_x.py:4: pytest.mark.skipif",
        "test_x.py:6: pytest.skip", "test_x.py:8: pytest.importorskip", "test_x.py:9: reads the CI variable itself"]


@pytest.mark.parametrize(("value", "expected"), [
    ("true", True), ("1", True), ("TRUE", True), ("yes", True), ("on", True), ("woodpecker", True),
    ("", False), ("0", False), ("false", False), ("False", False), ("no", False), ("off", False), (" ", False)])
def test_one_definition_of_in_ci(value: str, expected: bool) -> None:
    assert ci.in_ci({"CI": value}) is expected
    assert ci.in_ci({}) is False


def run_pytest(tmp_path: Path, test_source: str, **env: str) -> subprocess.CompletedProcess[str]:
    """A tiny pytest run in a subprocess, with the project's fixtures (tests/conftest.py) as a plugin."""
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.conftest"]\n')
    (tmp_path / "test_tiny.py").write_text(test_source)
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "SPTK_UPDATE_GOLDEN")}
    environ.update(env)
    environ["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
                           str(tmp_path), str(tmp_path / "test_tiny.py")],
                          cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=120)


USES_SHARED = "def test_needs_shared(shared_dir):\n    assert shared_dir.is_dir()\n"


@pytest.mark.parametrize("value", ["1", "true"])
def test_missing_shared_data_fails_in_ci(tmp_path: Path, value: str) -> None:
    result = run_pytest(tmp_path, USES_SHARED, CI=value, SPTK_SHARED_DIR=str(tmp_path / "absent"))
    assert result.returncode == 1, result.stdout
    assert "1 error" in result.stdout and "skipped" not in result.stdout, result.stdout
    assert f"{tmp_path / 'absent'} is absent" in result.stdout


def test_missing_shared_data_skips_outside_ci(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, USES_SHARED, CI="false", SPTK_SHARED_DIR=str(tmp_path / "absent"))
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout, result.stdout


@pytest.mark.parametrize("module", ["tests/unit/toolkit/test_native_parity.py",
                                   "tests/unit/toolkit/test_validate_leases.py"])
def test_a_missing_native_extension_fails_in_ci(module: str) -> None:
    """``SPTK_NATIVE=0`` is how the extension goes missing here; in CI the native cases must fail, not skip."""
    environ = {k: v for k, v in os.environ.items() if k != "CI"} | {"CI": "1", "SPTK_NATIVE": "0"}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", module, "-k",
                             "extension_object or (generated_events and native)"],
                            cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "skipped" not in result.stdout, result.stdout[-3000:]
    assert "native fast path off: SPTK_NATIVE=0" in result.stdout, result.stdout[-3000:]


def test_a_test_run_never_rewrites_golden_files(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "def test_nothing():\n    pass\n", SPTK_UPDATE_GOLDEN="1")
    assert result.returncode != 0, result.stdout
    assert "scripts/update-golden" in result.stdout + result.stderr, result.stdout + result.stderr
