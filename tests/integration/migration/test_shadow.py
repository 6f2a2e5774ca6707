"""`sptk migrate shadow`: one generated archive through the legacy path and the real Kafka pipeline, reconciled.

The archive holds lines that do not parse, lines whose entities break their schema,
late events and natural duplicates (toolkit.contract.samples). The legacy path loads what
parses (it never validated schemas); the Kafka path's pipeline sends the schema
violations to the bad topic. So the verdict is ``warn``: those events are *rejected*
on the Kafka side, and nothing is missing, extra or modified.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
import yaml
from click.testing import CliRunner

from tests.integration.pipeline.conftest import base_config, write_config
from toolkit.cli.root import main
from toolkit.contract.samples import SampleSpec, SampleStats, generate


def test_a_shadow_run_loads_both_paths_and_explains_every_difference(kafka_bootstrap: str, tmp_path: Path) -> None:
    stats = SampleStats()
    lines = list(generate(SampleSpec(events=300, seed=11, schema_failure_ratio=0.03, duplicate_ratio=0.02), stats))
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "part-0.tsv").write_text("\n".join(lines[:150]) + "\n")
    (archive / "part-1.tsv").write_text("\n".join(lines[150:]) + "\n")
    prefix = f"test.shadow.{uuid.uuid4().hex[:8]}"
    write_config(tmp_path / "pipeline.yaml",
                 base_config(prefix, kafka_bootstrap, source={"kind": "stdin"}))
    (tmp_path / "shadow.yaml").write_text(yaml.safe_dump({
        "input": "archive",
        "pipeline": "pipeline.yaml",
        "legacy": {"warehouse": f"duckdb:{tmp_path / 'shadow.duckdb'}?schema=legacy", "dedup": "cross-batch"},
        "kafka": {"warehouse": f"duckdb:{tmp_path / 'shadow.duckdb'}?schema=kafka", "group": prefix},
        "reconcile": {"window": "1h", "lookback": "0s", "json": "report.json", "html": "report.html"},
    }))
    result = CliRunner().invoke(main, ["migrate", "shadow", "--config", str(tmp_path / "shadow.yaml")],
                                catch_exceptions=False, env={"SPTK_PROGRESS_INTERVAL_S": "0"})
    report = orjson.loads((tmp_path / "report.json").read_bytes())
    schema_failures = sum(stats.schema_failures.values())
    assert schema_failures > 0 and sum(stats.parse_failures.values()) > 0 and stats.duplicates > 0
    assert report["verdict"] == "warn", result.output
    assert result.exit_code == 1
    assert report["only_legacy"]["count"] == report["only_new"]["count"] == report["modified"]["count"] == 0
    assert report["rejected"]["count"] == schema_failures
    assert report["rejected"]["by_type"] == {"schema_violations": schema_failures}
    assert report["totals"]["legacy"]["event_ids"] == stats.expected_good + schema_failures - stats.duplicates
    assert "legacy path: 2 files" in result.output and (tmp_path / "report.html").exists()
    assert "kafka path: pipeline exit 0, in 302," in result.output
    # each long stage shows progress on stderr (not a terminal: periodic lines); stdout keeps the results
    progress = [line for line in result.stderr.splitlines() if line.startswith("[sptk] ")]
    for stage in ("legacy-load", "kafka-load", "reconcile"):
        assert any(line.startswith(f"[sptk] {stage}: done, ") for line in progress), (stage, progress)
    assert "[sptk]" not in result.stdout
