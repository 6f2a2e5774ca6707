"""benchmarks/bench_reconcile.py at a tiny size: every scenario finds exactly the planted differences.

The benchmark is not part of the verdict for its times (nothing here looks at a clock); this checks that
each scenario generates its data (Parquet by DuckDB, Delta by deltalake, a DuckDB file), reads it through
``reconcile`` and would notice a difference it missed or one it made up.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_reconcile.py"
EVENTS = 20_000


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_reconcile", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench-cache")


@pytest.mark.parametrize("scenario", ["duckdb", "parquet-vs-delta", "parquet-vs-duckdb", "out-of-core", "scoped"])
def test_each_benchmark_scenario_finds_exactly_the_planted_differences(scenario: str, cache: Path,
                                                                       tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, str(BENCH), "--scenario", scenario, "--events", str(EVENTS),
                           "--repeat", "1", "--cache", str(cache), "--json", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    [summary] = json.loads(out.read_text())
    assert summary["scenario"] == scenario and summary["events"] == EVENTS
    assert summary["found"] is True, done.stdout
    assert "PASS" in done.stdout or "MISS" in done.stdout  # each scenario prints its target and the outcome
    runs = summary["runs"].values()
    assert all(not r.get("problems") for r in runs), done.stdout


def test_the_generated_data_is_cached_by_size_and_seed_so_a_rerun_skips_generation(cache: Path) -> None:
    command = [sys.executable, str(BENCH), "--scenario", "parquet-vs-duckdb", "--events", str(EVENTS),
               "--cache", str(cache)]
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=600)
    again = subprocess.run(command, check=True, capture_output=True, text=True, timeout=600)
    assert "generated" not in again.stdout
    assert [p.name for p in cache.iterdir() if p.name.startswith("events")] == [f"events{EVENTS}-seed7-v1"]


def test_a_run_that_misses_or_invents_a_difference_is_reported() -> None:
    bench = _bench()
    wanted = {"only_legacy": ["a", "b"], "only_new": ["c"], "modified": ["d"]}
    counts = {"only_legacy": 2, "only_new": 1, "modified": 1, "null_only": 0, "pending": 0, "rejected": 0}
    exact = bench.Run(1.0, 100.0, {"error": None, "counts": counts, "found": wanted})
    assert bench.problems(exact, wanted) == []
    missed = bench.Run(1.0, 100.0, {"error": None, "counts": {**counts, "only_legacy": 1},
                                    "found": {**wanted, "only_legacy": ["a"]}})
    assert bench.problems(missed, wanted) == ["only_legacy: 1 found, 2 planted"]
    other = bench.Run(1.0, 100.0, {"error": None, "counts": counts, "found": {**wanted, "modified": ["e"]}})
    assert bench.problems(other, wanted) == ["modified: other ids than the planted ones"]
    invented = bench.Run(1.0, 100.0, {"error": None, "counts": {**counts, "pending": 3}, "found": wanted})
    assert bench.problems(invented, wanted) == ["pending: 3 found, 0 planted"]
