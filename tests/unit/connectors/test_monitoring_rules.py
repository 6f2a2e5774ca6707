"""`sptk monitor rules`: every alert carries its impact and a runbook that exists; objectives reach the rules."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from connectors.monitoring.alerts import ALERTS
from connectors.monitoring.rules import RULES_FILE, rules_document
from toolkit.cli.root import main
from toolkit.config.models import SloConfig

ROOT = Path(__file__).resolve().parents[3]
REQUIRED = {"SptkPipelineDown", "SptkNotReady", "SptkHighInvalidRate", "SptkFreshnessBudgetBurn",
            "SptkConsumerLagGrowing", "SptkDeliveryFailures", "SptkRegistryUnavailable", "SptkQuarantineGrowing",
            "SptkVolumeDrop", "SptkVolumeSpike"}


def _alerts(slo: SloConfig) -> list[dict]:
    return rules_document(slo)["groups"][1]["rules"]


def test_every_required_alert_is_written_with_its_impact_and_runbook() -> None:
    alerts = _alerts(SloConfig())
    assert {a["alert"] for a in alerts} >= REQUIRED
    for a in alerts:
        assert a["labels"]["impact"] in ("loss", "delay", "drift"), a["alert"]
        assert a["annotations"]["runbook_url"] == f"docs/runbooks/{a['alert']}.md"


def test_every_alert_has_a_runbook_that_names_it_and_says_what_to_check_and_do() -> None:
    for alert in ALERTS:
        page = ROOT / "docs" / "runbooks" / f"{alert.name}.md"
        assert page.is_file(), f"missing runbook {page}"
        text = page.read_text(encoding="utf-8")
        assert text.startswith(f"# {alert.name}\n")
        assert f"Impact: {alert.impact}" in text
        assert "## What to check" in text and "## What is safe to do" in text


def test_each_slo_burns_on_four_window_pairs_scaled_by_its_budget() -> None:
    burns = [a for a in _alerts(SloConfig(delivery_target=0.99)) if a["alert"] == "SptkDeliveryFailures"]
    assert [(a["labels"]["severity"], a["labels"]["window"]) for a in burns] == [
        ("page", "1h"), ("page", "6h"), ("ticket", "1d"), ("ticket", "3d")]
    assert "ratio_rate1h > 0.144 and sptk:delivery_failed:ratio_rate5m > 0.144" in burns[0]["expr"]


def test_a_stream_with_its_own_objective_gets_its_own_rules_and_leaves_the_default_ones() -> None:
    slo = SloConfig(streams={"derived.clicks.v1": {"freshness_threshold_s": 60.0}})
    text = yaml.safe_dump(rules_document(slo))
    assert 'stream="derived.clicks.v1",le="60.0"' in text
    assert 'stream!~"derived\\\\.clicks\\\\.v1",le="300.0"' in text


def test_the_command_writes_the_rule_file_from_the_config(tmp_path: Path) -> None:
    cfg = tmp_path / "pipeline.toml"
    cfg.write_text('[source]\nkind = "stdin"\n[iglu]\nresolver_config = "r.json"\n[output]\ntarget = "files:out"\n'
                   '[slo]\nselector = \'job="sptk",env="prod"\'\n')
    result = CliRunner().invoke(main, ["monitor", "rules", "--config", str(cfg), "--out", str(tmp_path / "rules")])
    assert result.exit_code == 0, result.output
    written = yaml.safe_load((tmp_path / "rules" / RULES_FILE).read_text())
    assert 'up{job="sptk",env="prod"} == 0' in [r["expr"] for r in written["groups"][1]["rules"]]


def test_a_freshness_threshold_that_is_no_bucket_bound_is_a_usage_error(tmp_path: Path) -> None:
    cfg = tmp_path / "pipeline.toml"
    cfg.write_text('[source]\nkind = "stdin"\n[iglu]\nresolver_config = "r.json"\n[output]\ntarget = "files:out"\n'
                   '[slo]\nfreshness_threshold_s = 240.0\n')
    result = CliRunner().invoke(main, ["monitor", "rules", "--config", str(cfg), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "freshness_threshold_s = 240 is not a bucket bound" in result.output
    assert not (tmp_path / RULES_FILE).exists()


def test_the_slo_example_in_operations_md_loads_and_renders(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    cfg = tmp_path / "pipeline.toml"
    cfg.write_text('[source]\nkind = "stdin"\n[iglu]\nresolver_config = "r.json"\n[output]\ntarget = "files:out"\n'
                   + example)
    result = CliRunner().invoke(main, ["monitor", "rules", "--config", str(cfg), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert 'stream="derived.clicks.v1",le="60.0"' in (tmp_path / RULES_FILE).read_text()
