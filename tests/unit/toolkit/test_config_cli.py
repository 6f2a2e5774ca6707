"""`sptk config check FILE`: validates without starting anything; 0 valid, 2 invalid with every problem listed."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from toolkit.cli.root import main

ROOT = Path(__file__).resolve().parents[3]


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["config", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_check_accepts_a_valid_config_and_says_so() -> None:
    code, out, err = _run("check", str(ROOT / "examples" / "demo" / "pipeline.yaml"))
    assert (code, err) == (0, "")
    assert "valid" in out and "demo.acme.snowplow" in out


def test_check_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "pipeline.yaml"
    bad.write_text("kafka: {bootstrap_servers: k, topic_prefix: p, producer: {acks: 0}}\n"
                   "source: {kind: file}\niglu: {resolver_config: r.json, cache_ttl_s: soon}\n"
                   "sidecar: {prot: 1}\n")
    code, out, err = _run("check", str(bad))
    assert code == 2 and out == ""
    assert f"{bad}: 4 problems" in err
    for path in ('kafka.producer."acks"', "source.file", "iglu.cache_ttl_s", "sidecar.prot"):
        assert f"  {path}: " in err
    assert "did you mean 'port'" in err and "Traceback" not in err


def test_check_reads_the_environment_like_a_run_does(tmp_path: Path) -> None:
    config = ROOT / "examples" / "demo" / "pipeline.yaml"
    code, _, err = _run("check", str(config), env={"SPTK_DELIVERY__MAX_IN_FLIGHT": "lots"})
    assert code == 2 and "set by environment variable SPTK_DELIVERY__MAX_IN_FLIGHT" in err


def test_check_of_a_missing_or_unreadable_file_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = _run("check", str(tmp_path / "nope.toml"))
    assert code == 2 and "does not exist" in err and "Traceback" not in err
    (tmp_path / "broken.toml").write_text("[kafka\n")
    code, _, err = _run("check", str(tmp_path / "broken.toml"))
    assert code == 2 and "not valid TOML" in err


def test_the_config_group_is_listed_in_sptk_help() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0 and "config" in result.stdout
