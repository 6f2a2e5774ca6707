"""The package direction rule, checked on the source tree itself.

``iglu_registry`` <- ``toolkit`` <- ``connectors`` <- ``migration``: a package may
import only itself and those to its left, and only ``toolkit.kafka`` may import
``confluent_kafka``. Every import statement counts, including ones inside
functions, because a lazy import that breaks the direction still breaks it.

Inside ``toolkit`` the packages follow the flow (docs/architecture.md): the event
``contract`` imports no other toolkit package, ``config`` only the contract, the
``pipeline`` stages and the ``kafka`` adapter build on both, and nothing outside
``toolkit.cli`` imports the command line. No two modules import each other, even
through others (a cycle makes import order matter and hides which module is the base).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ORDER = ("iglu_registry", "toolkit", "connectors", "migration")
KAFKA_ADAPTER = "toolkit.kafka"
#: toolkit's own packages -> the toolkit packages each may import (besides itself); top-level modules
#: such as ``toolkit.progress`` are shared utilities any of them may use
INNER: dict[str, frozenset[str]] = {
    "contract": frozenset(),
    "config": frozenset({"contract"}),
    "pipeline": frozenset({"contract", "config", "kafka"}),
    "kafka": frozenset({"contract", "config", "pipeline"}),
    "cli": frozenset({"contract", "config", "pipeline", "kafka"}),
}


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


def _inner(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "toolkit" and parts[1] in INNER else None


def _module_name(root: Path, path: Path) -> str:
    module = ".".join(path.relative_to(root).with_suffix("").parts)
    return module[: -len(".__init__")] + ".__init__" if module.endswith(".__init__") else module


def inner_violations(root: Path) -> list[str]:
    """Imports between toolkit's packages that go against the flow, as 'file:line: why'."""
    problems: list[str] = []
    for path in sorted((root / "toolkit").rglob("*.py")):
        module = _module_name(root, path)
        mine = _inner(module)
        for line, name in _imported_modules(ast.parse(path.read_text(encoding="utf-8")), module):
            theirs = _inner(name)
            if theirs is None or theirs == mine:
                continue
            if mine is None and theirs == "cli" or mine is not None and theirs not in INNER[mine]:
                problems.append(f"{path.relative_to(root)}:{line}: toolkit.{mine or module.split('.')[-1]} imports "
                                f"{name}, against the flow contract <- config <- pipeline/kafka <- cli")
    return problems


def import_cycles(root: Path) -> list[list[str]]:
    """Groups of our modules that import each other, directly or through others (every import counts)."""
    paths = {_module_name(root, p).removesuffix(".__init__"): p
             for package in ORDER for p in (root / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        deps = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = [name for _, name in _imported_modules(tree, module)]
        names += [f"{node.module}.{alias.name}" for node in ast.walk(tree)  # from package import module
                  if isinstance(node, ast.ImportFrom) and node.module and not node.level for alias in node.names]
        for name in names:
            while name and name not in paths:
                name = name.rpartition(".")[0]
            if name and name != module and not module.startswith(name + "."):
                deps.add(name)
        graph[module] = deps
    cycles, index, low, stack, on_stack = [], {}, {}, [], set()

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in graph[node]:
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


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


def test_toolkits_packages_follow_the_flow_and_no_modules_import_each_other() -> None:
    assert inner_violations(ROOT) == []
    assert import_cycles(ROOT) == []


def test_the_inner_guard_catches_a_backward_import_and_a_cycle(tmp_path: Path) -> None:
    for package in ("toolkit", "toolkit/contract", "toolkit/pipeline", "toolkit/cli"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "toolkit" / "contract" / "tsv.py").write_text("from toolkit.pipeline import routing\n")
    (tmp_path / "toolkit" / "pipeline" / "routing.py").write_text("def f():\n    from toolkit.contract import tsv\n")
    (tmp_path / "toolkit" / "progress.py").write_text("from toolkit.cli import root\n")
    (tmp_path / "toolkit" / "cli" / "root.py").write_text("import toolkit.pipeline.routing\n")
    found = inner_violations(tmp_path)
    assert len(found) == 2, found
    assert found[0].startswith("toolkit/contract/tsv.py:1: toolkit.contract imports toolkit.pipeline")
    assert found[1].startswith("toolkit/progress.py:1: toolkit.progress imports toolkit.cli")
    assert import_cycles(tmp_path) == [["toolkit.contract.tsv", "toolkit.pipeline.routing"]]


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
    assert any(f.startswith("toolkit/pipeline.py:1: toolkit imports migration.cli") for f in found)
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
