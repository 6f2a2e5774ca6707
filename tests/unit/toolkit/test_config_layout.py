"""The configuration layer's layout: small modules named for what they hold, one way to import each name.

A reader should find a configuration name from the tree alone (the secrets in
``toolkit/config/secrets.py``, the filter language in ``filters.py``), which holds only while
the modules stay small, every caller imports a name from the module that defines it (no
re-exports, ``toolkit/config/__init__.py`` included), and a module's private helpers stay its
own (a helper two modules share is public where it is defined).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
#: where callers live: every package, the tests and the benchmarks
CALLERS = ("iglu_registry", "toolkit", "connectors", "migration", "tests", "benchmarks")
#: a module longer than this holds more than one concern; split it by what it holds
MAX_LINES = 600


def _config_imports(root: Path) -> list[tuple[Path, int, str, str]]:
    """Every ``from toolkit.config[.module] import name`` under ``root``, as (file, line, module, name)."""
    found = []
    for package in CALLERS:
        for path in sorted((root / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and not node.level and node.module and \
                        (node.module == "toolkit.config" or node.module.startswith("toolkit.config.")):
                    found += [(path, node.lineno, node.module, alias.name) for alias in node.names]
    return found


def _defined(root: Path, module: str) -> set[str]:
    """The names ``module`` defines itself at its top level (imported names do not count)."""
    path = root.joinpath(*module.split(".")).with_suffix(".py")
    if not path.exists():
        path = root.joinpath(*module.split("."), "__init__.py")
    if not path.exists():
        return set()
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def oversized(root: Path) -> dict[str, int]:
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines())
             for p in sorted((root / "toolkit" / "config").glob("*.py"))}
    return {name: n for name, n in sizes.items() if n > MAX_LINES}


def imported_from_elsewhere(root: Path) -> list[str]:
    """Config names imported from a module that does not define them (a re-export, or a name that moved)."""
    submodules = {p.stem for p in (root / "toolkit" / "config").glob("*.py")}
    return [f"{path.relative_to(root)}:{line}: {name} is not defined in {module}"
            for path, line, module, name in _config_imports(root)
            if not (module == "toolkit.config" and name in submodules) and name not in _defined(root, module)]


def private_imports(root: Path) -> list[str]:
    return [f"{path.relative_to(root)}:{line}: imports {module}.{name}, a private helper of that module"
            for path, line, module, name in _config_imports(root) if name.startswith("_")]


def test_no_config_module_outgrows_one_concern() -> None:
    assert oversized(ROOT) == {}


def test_callers_import_each_config_name_from_the_module_that_defines_it() -> None:
    assert imported_from_elsewhere(ROOT) == []


def test_config_modules_keep_their_private_helpers_to_themselves() -> None:
    assert private_imports(ROOT) == []


def test_the_layout_checks_report_what_they_guard_against(tmp_path: Path) -> None:
    """A throw-away tree with a re-export, a private import and a long module: each is reported."""
    config = tmp_path / "toolkit" / "config"
    config.mkdir(parents=True)
    (config / "__init__.py").write_text("from toolkit.config.errors import ConfigError\n")
    (config / "errors.py").write_text("class ConfigError(ValueError):\n    pass\n\n\ndef _word() -> str:\n"
                                      "    return ''\n")
    (config / "models.py").write_text("from toolkit.config.errors import ConfigError, _word\n"
                                      + "\n" * MAX_LINES)
    (tmp_path / "connectors").mkdir()
    (tmp_path / "connectors" / "app.py").write_text("from toolkit.config import ConfigError, errors\n"
                                                    "from toolkit.config.models import ConfigError as E\n")

    assert oversized(tmp_path) == {"models.py": MAX_LINES + 1}
    assert imported_from_elsewhere(tmp_path) == [
        "connectors/app.py:1: ConfigError is not defined in toolkit.config",
        "connectors/app.py:2: ConfigError is not defined in toolkit.config.models",
    ]
    assert private_imports(tmp_path) == ["toolkit/config/models.py:1: imports toolkit.config.errors._word, "
                                         "a private helper of that module"]
