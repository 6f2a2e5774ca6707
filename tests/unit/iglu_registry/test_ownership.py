"""Schema owners and deprecations: the governance file, its lookups, and `sptk iglu check`'s owner gate."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from iglu_registry.check import check_repository
from iglu_registry.governance import (
    DeprecationLookup,
    Governance,
    GovernanceError,
    load_governance,
    parse_governance,
)
from iglu_registry.schema_key import SchemaKey
from tests.unit.iglu_registry.test_governance import git, schema, write
from toolkit.cli.iglu import iglu

GOVERNANCE = {
    "owners": [
        {"match": "com.acme/*", "owners": ["team-platform"], "approvers": ["@platform-leads"]},
        {"match": "com.acme/checkout_*", "owners": ["team-checkout"], "approvers": ["@alice", "@bob"]},
    ],
    "deprecations": [
        {"schema": "iglu:com.acme/old_click/jsonschema/1-*-*", "deprecated": "2026-01-15", "sunset": "2026-06-30",
         "replacement": "iglu:com.acme/click/jsonschema/1-0-0", "reason": "merged into click"},
    ],
}


def key(uri: str) -> SchemaKey:
    return SchemaKey.parse(uri)


def test_the_most_specific_owner_rule_wins_whatever_the_order() -> None:
    gov = parse_governance(GOVERNANCE, "g.yml")
    assert gov.owner_of(key("iglu:com.acme/checkout_step/jsonschema/1-0-0")).owners == ("team-checkout",)
    assert gov.owner_of(key("iglu:com.acme/click/jsonschema/1-0-0")).approvers == ("@platform-leads",)
    flipped = parse_governance({"owners": list(reversed(GOVERNANCE["owners"]))}, "g.yml")
    assert flipped.owner_of(key("iglu:com.acme/checkout_step/jsonschema/1-0-0")).owners == ("team-checkout",)
    assert gov.owner_of(key("iglu:org.other/click/jsonschema/1-0-0")) is None


def test_approvers_default_to_the_owners() -> None:
    gov = parse_governance({"owners": [{"match": "com.acme/*", "owners": ["team-a"]}]}, "g.yml")
    assert gov.owners[0].approvers == ("team-a",)


@pytest.mark.parametrize(("doc", "fragment"), [
    ({"owners": [{"match": "com.acme", "owners": ["a"]}]}, "owners[0].match"),
    ({"owners": [{"match": "com.acme/*", "owners": []}]}, "owners[0].owners"),
    ({"owners": [{"match": "com.acme/*", "owners": ["a"], "approver": ["b"]}]}, "unknown key(s) approver"),
    ({"deprecations": [{"schema": "iglu:com.acme/x/jsonschema/1-0-0"}]}, "deprecations[0].deprecated: missing"),
    ({"deprecations": [{"schema": "com.acme/x", "deprecated": "2026-01-01"}]}, "deprecations[0].schema"),
    ({"deprecations": [{"schema": "iglu:com.acme/x/jsonschema/1-0-0", "deprecated": "01/02/2026"}]},
     "expected a date"),
    ({"deprecations": [{"schema": "iglu:com.acme/x/jsonschema/1-0-0", "deprecated": "2026-02-01",
                        "sunset": "2026-01-01"}]}, "before the deprecation date"),
    ({"owner": []}, "unknown key(s) owner"),
])
def test_a_bad_governance_file_says_where(doc: dict, fragment: str) -> None:
    with pytest.raises(GovernanceError, match=None) as err:
        parse_governance(doc, "g.yml")
    assert fragment in str(err.value) and "g.yml" in str(err.value)


def test_yaml_dates_and_the_deprecation_answers(tmp_path: Path) -> None:
    path = tmp_path / "governance.yml"
    path.write_text(yaml.safe_dump(GOVERNANCE).replace("'2026-01-15'", "2026-01-15"))
    gov = load_governance(path)
    d = gov.deprecation_of(key("iglu:com.acme/old_click/jsonschema/1-0-2"))
    assert d is not None and d.deprecated == date(2026, 1, 15) and d.sunset == date(2026, 6, 30)
    assert gov.deprecation_of(key("iglu:com.acme/old_click/jsonschema/2-0-0")) is None
    assert d.header_value() == ("deprecated=2026-01-15;sunset=2026-06-30;"
                                "replacement=iglu:com.acme/click/jsonschema/1-0-0")
    assert not d.past_sunset("2026-06-30 23:59:59.999") and d.past_sunset("2026-07-01 00:00:00.000")
    with pytest.raises(GovernanceError, match="does not exist"):
        load_governance(tmp_path / "missing.yml")


def test_the_lookup_matches_each_uri_once() -> None:
    asked: list[str] = []

    class Counting(Governance):
        def deprecation_of(self, k: SchemaKey):  # type: ignore[no-untyped-def]
            asked.append(k.uri)
            return super().deprecation_of(k)

    gov = parse_governance(GOVERNANCE, "g.yml")
    lookup = DeprecationLookup(Counting("g.yml", gov.owners, gov.deprecations))
    old = "iglu:com.acme/old_click/jsonschema/1-0-0"
    answers = [lookup(old) for _ in range(1000)] + [lookup("iglu:com.acme/click/jsonschema/1-0-0") for _ in range(9)]
    assert answers[0] is not None and answers[-1] is None
    assert asked == [old, "iglu:com.acme/click/jsonschema/1-0-0"]
    assert lookup(None) is None and lookup("not a uri") is None


@pytest.fixture
def governed(tmp_path: Path) -> Path:
    write(tmp_path, "1-0-0", schema("1-0-0"))
    (tmp_path / "governance.yml").write_text(yaml.safe_dump({"owners": [GOVERNANCE["owners"][1]]}))
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "published")
    return tmp_path


def test_check_refuses_a_changed_schema_nobody_owns(governed: Path) -> None:
    write(governed, "1-0-1", schema("1-0-1"))
    gov = load_governance(governed / "governance.yml")
    report = check_repository(governed, "main", governance=gov)
    owner_issues = [i for i in report.issues if i.check == "owner"]
    assert not report.ok() and len(owner_issues) == 1
    assert "com.acme/click" in str(owner_issues[0]) and "governance.yml" in str(owner_issues[0])
    assert report.approvals == []


def test_check_names_who_must_approve_each_change(governed: Path) -> None:
    write(governed, "1-0-0", {**schema("1-0-0", name="checkout_step")}, name="checkout_step")
    report = check_repository(governed, "main", governance=load_governance(governed / "governance.yml"))
    assert report.ok(), report.issues
    assert [(a.schema, a.owners, a.approvers) for a in report.approvals] == [
        ("iglu:com.acme/checkout_step/jsonschema/1-0-0", ("team-checkout",), ("@alice", "@bob"))]
    assert report.to_json()["approvals"][0]["rule"] == "com.acme/checkout_*"


def test_the_cli_reads_governance_yml_prints_approvers_and_exits_1_without_an_owner(governed: Path) -> None:
    write(governed, "1-0-0", {**schema("1-0-0", name="checkout_step")}, name="checkout_step")
    ok = CliRunner().invoke(iglu, ["check", str(governed), "--against", "main"])
    assert ok.exit_code == 0, ok.output
    assert "approval: iglu:com.acme/checkout_step/jsonschema/1-0-0 owned by team-checkout, approve: @alice, @bob" \
        in ok.output
    write(governed, "1-0-1", schema("1-0-1"))
    refused = CliRunner().invoke(iglu, ["check", str(governed), "--against", "main", "--json", "-"])
    assert refused.exit_code == 1
    assert any(i["check"] == "owner" for i in json.loads(refused.stdout)["issues"])
    bad = governed / "broken.yml"
    bad.write_text("owners: [{match: nope}]")
    unusable = CliRunner().invoke(iglu, ["check", str(governed), "--governance", str(bad)])
    assert unusable.exit_code == 2 and "owners[0].match" in unusable.output
