"""The package direction rule, checked on the source tree itself.

``iglu_registry`` <- ``toolkit`` <- ``connectors`` <- ``migration``: a package may
import only itself and those to its left, and only ``toolkit.kafka`` may import
``confluent_kafka``. Every import statement counts, including ones inside
functions, because a lazy import that breaks the direction still breaks it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ORDER = ("iglu_registry", "toolkit", "connectors", "migration")
KAFKA_ADAPTER = "toolkit.kafka"


def _imported_modules(tree: ast.AST, module: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against this module's package
                base = module.split(".")[: -node.level]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((node.lineno, name))
    return found


def violations(root: Path) -> list[str]:
    """Every import in ``root``'s four packages that breaks the rules, as 'file:line: why'."""
    problems: list[str] = []
    for rank, package in enumerate(ORDER):
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root)
            module = ".".join(rel.with_suffix("").parts)
            if module.endswith(".__init__"):
                module = module[: -len(".__init__")] + ".__init__"
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for line, name in _imported_modules(tree, module):
                top = name.split(".")[0]
                if top in ORDER and ORDER.index(top) > rank:
                    problems.append(f"{rel}:{line}: {package} imports {name}, but {top} builds on "
                                    f"{package}, not the other way round")
                if top == "confluent_kafka" and not module.startswith(KAFKA_ADAPTER + "."):
                    problems.append(f"{rel}:{line}: imports confluent_kafka outside the Kafka adapter "
                                    f"({KAFKA_ADAPTER})")
    return problems


def test_the_project_respects_the_package_direction() -> None:
    assert violations(ROOT) == []


def test_the_guard_catches_a_wrong_direction_and_a_stray_kafka_import(tmp_path: Path) -> None:
    for package in ORDER:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "iglu_registry" / "resolver.py").write_text("def f():\n    from toolkit import fields\n")
    (tmp_path / "toolkit" / "pipeline.py").write_text("import migration.cli\nimport iglu_registry\n")
    (tmp_path / "connectors" / "sink.py").write_text("from confluent_kafka import Producer\n")
    (tmp_path / "connectors" / "ok.py").write_text("from toolkit import fields\nfrom . import sink\n")
    (tmp_path / "toolkit" / "kafka").mkdir()
    (tmp_path / "toolkit" / "kafka" / "client.py").write_text("import confluent_kafka\n")
    found = violations(tmp_path)
    assert len(found) == 3, found
    assert any(f.startswith("iglu_registry/resolver.py:2: iglu_registry imports toolkit") for f in found)
    assert any(f.startswith("toolkit/pipeline/fanout.py:1: toolkit imports migration.cli") for f in found)
    assert any(f.startswith("connectors/sink.py:1: imports confluent_kafka outside") for f in found)


def test_every_package_has_the_cli_group_the_composition_root_names() -> None:
    from click.testing import CliRunner

    from toolkit.cli.root import GROUPS, main

    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    for name in GROUPS:
        assert name in result.output
        sub = CliRunner().invoke(main, [name, "--help"])
        assert sub.exit_code == 0, f"sptk {name} --help failed: {sub.output}"


def test_the_iglu_library_holds_no_command_line() -> None:
    """``iglu_registry`` imports nothing of ours, so its commands could not share the CLI conventions
    (docs/adr/0006): the ``sptk iglu`` group lives with the other groups, above the library."""
    clicky = []
    for path in sorted((ROOT / "iglu_registry").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        clicky += [f"{path.relative_to(ROOT)}:{line}" for line, name in _imported_modules(tree, "iglu_registry")
                   if name.split(".")[0] == "click"]
    assert clicky == []
