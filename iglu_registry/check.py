"""``sptk iglu check``: the CI gate for a schema pull request.

It answers "may this change to the schema repository be merged?": every new or changed
schema passes lint, each new version's compatibility classification fits its version
bump, no published version was edited or deleted (consumers cached it; editing it in
place silently changes what "1-0-0" means), and numbering has no gaps.

"Published" means "present at ``--against`` GIT_REF" (for example ``origin/main``);
without a ref every schema is checked as new.

With a governance file (:mod:`iglu_registry.governance`), every new or changed schema must
have an owner, and the report names who must approve each one, so a CI job can require
those reviewers.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from iglu_registry.compat import CompatReport, compare_schemas
from iglu_registry.governance import Governance
from iglu_registry.layout import SchemaFile, iter_schema_files, read_json, schemas_dir
from iglu_registry.lint import LintIssue, Severity, lint_file
from iglu_registry.schema_key import SchemaKey


class CheckError(RuntimeError):
    """The check itself could not run (not a git repository, unknown ref); exit code 2."""


@dataclass(frozen=True)
class Approval:
    """A new or changed schema, its owners and who must approve the change (the matching rule's)."""

    schema: str
    owners: tuple[str, ...]
    approvers: tuple[str, ...]
    rule: str

    def to_json(self) -> dict[str, object]:
        return {"schema": self.schema, "owners": list(self.owners), "approvers": list(self.approvers),
                "rule": self.rule}


@dataclass
class CheckReport:
    checked: list[str] = field(default_factory=list)
    issues: list[LintIssue] = field(default_factory=list)
    compat: list[CompatReport] = field(default_factory=list)
    approvals: list[Approval] = field(default_factory=list)

    @property
    def errors(self) -> list[LintIssue]:
        return [i for i in self.issues if i.severity is Severity.ERROR]

    def ok(self, strict: bool = False) -> bool:
        return not (self.errors or (strict and self.issues))

    def to_json(self) -> dict[str, object]:
        return {"checked": self.checked, "issues": [i.to_json() for i in self.issues],
                "compat": [c.to_json() for c in self.compat], "approvals": [a.to_json() for a in self.approvals],
                "ok": self.ok()}


def _git(cwd: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise CheckError("git is not installed, but --against needs it") from None
    if done.returncode != 0:
        raise CheckError(f"git {' '.join(args)} failed in {cwd}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def published_schemas(base: Path, ref: str) -> dict[str, object]:
    """Relative path (under ``schemas/``) -> parsed JSON of every file in ``base`` at ``ref``."""
    top = Path(_git(base, "rev-parse", "--show-toplevel").strip())
    _git(base, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    prefix = base.resolve().relative_to(top.resolve()).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    listed = _git(top, "ls-tree", "-r", "--name-only", ref, "--", prefix or ".").splitlines()
    out: dict[str, object] = {}
    for name in listed:
        if not name.startswith(prefix):
            continue
        rel = name[len(prefix):]
        text = _git(top, "show", f"{ref}:{name}")
        try:
            out[rel] = json.loads(text)
        except json.JSONDecodeError:
            out[rel] = text
    return out


def check_repository(root: Path, against: str | None = None, skip: frozenset[str] = frozenset(),
                     governance: Governance | None = None) -> CheckReport:
    base = schemas_dir(root)
    report = CheckReport()
    files = list(iter_schema_files(root))
    current = {item.relative: item for item in files}
    published = published_schemas(base, against) if against else {}
    for rel in sorted(set(published) - set(current)):
        if "/jsonschema/" in rel:
            report.issues.append(LintIssue(rel, "$", "published", Severity.ERROR,
                                           f"published version deleted (it exists at {against}); consumers may "
                                           "still send it, so published schemas stay"))
    changed: list[str] = []
    for rel, item in current.items():
        if rel not in published:
            changed.append(rel)
            continue
        try:
            now = read_json(item.path)
        except ValueError:
            now = None
        if now != published[rel]:
            changed.append(rel)
            report.issues.append(LintIssue(rel, "$", "published", Severity.ERROR,
                                           f"published version overwritten (it differs from {against}); publish the "
                                           "change as a new version instead"))
    report.checked = sorted(changed)
    for rel in report.checked:
        report.issues += lint_file(current[rel], skip)
    if governance is not None:
        _owners(report, [current[rel] for rel in report.checked], governance)
    # lineage checks: numbering gaps and compatibility of each new version with its predecessor
    lineages: dict[tuple[str, str, str], dict[SchemaKey, Path]] = {}
    for item in files:
        if item.key is not None:
            lineages.setdefault((item.key.vendor, item.key.name, item.key.format), {})[item.key] = item.path
    touched = {current[rel].key for rel in report.checked if current[rel].key is not None}
    for _, members in sorted(lineages.items(), key=lambda kv: kv[0]):
        if not any(k in touched for k in members):
            continue
        versions = {k.version for k in members}
        for key in sorted(members):
            rel = key.path
            if key in touched and not key.version.follows(versions):
                report.issues.append(LintIssue(rel, "$.self.version", "versionGap", Severity.ERROR,
                                               f"{key.version} leaves a gap: it must follow "
                                               f"{key.version.predecessors_required()}, which does not exist"))
            if key not in touched:
                continue
            older = [k for k in members if k < key]
            if not older:
                continue
            previous = max(older)
            try:
                old_schema, new_schema = read_json(members[previous]), read_json(members[key])
            except ValueError:
                continue  # already reported by lint
            if not isinstance(old_schema, dict) or not isinstance(new_schema, dict):
                continue
            compat = compare_schemas(old_schema, new_schema)
            compat = CompatReport(compat.changes, previous, key)
            report.compat.append(compat)
            if compat.problem:
                reasons = "; ".join(f"{c.path} {c.keyword}: {c.reason}" for c in compat.changes
                                    if c.effect.bump >= compat.required)[:600]
                report.issues.append(LintIssue(rel, "$.self.version", "compat", Severity.ERROR,
                                               f"{compat.problem}. Because: {reasons}"))
    return report



def _owners(report: CheckReport, changed: list[SchemaFile], governance: Governance) -> None:
    """An approval per changed schema with an owner; an error for each without one."""
    for item in changed:
        if item.key is None:
            continue  # lint reported the path already
        rule = governance.owner_of(item.key)
        if rule is None:
            report.issues.append(LintIssue(item.relative, "$", "owner", Severity.ERROR,
                                           f"nobody owns {item.key.vendor}/{item.key.name}: add an owners rule "
                                           f"matching it to {governance.origin} (a new or changed schema needs an "
                                           "owner to approve it)"))
            continue
        report.approvals.append(Approval(item.key.uri, rule.owners, rule.approvers, rule.match))
