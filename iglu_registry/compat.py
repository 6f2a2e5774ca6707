"""What a new schema version does to data that was valid under the old one.

Iglu Server only checks that versions are ordered; it never asks whether 1-0-1 rejects
events that 1-0-0 accepted. This module answers that by comparing the two schemas
keyword by keyword and classifying each difference by its effect on old data:

* ``NONE``: every instance valid under OLD stays valid (a widening) -> an ADDITION is enough;
* ``SOME``: some old instances become invalid, some stay valid -> needs a REVISION;
* ``ALL``: no instance the old schema describes stays valid -> needs a new MODEL.

"Describes" matters for one rule: an instance that only survives because it happened to
carry a property the old schema never declared does not count as surviving. So a new
*required* property the old schema did not declare is a MODEL change, while making a
declared optional property required is a REVISION. Conversely, data may legitimately hold
undeclared properties wherever the old schema allowed them, so constraining such a
property (adding it to ``properties`` when ``additionalProperties`` was not false) is a
REVISION, not an ADDITION.

An ``ALL`` effect inside something optional (a property the old schema did not require, an
array item) becomes ``SOME`` at the top: instances without it survive. Where the analysis
cannot prove a widening (a changed ``pattern``, ``oneOf``, ``not``, an unknown keyword) it
says so and assumes ``SOME``. The rules and examples are in docs/iglu.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import IntEnum

from iglu_registry.formats import CHECKS as ENFORCED_FORMATS
from iglu_registry.keywords import is_multiple_of
from iglu_registry.schema_key import Bump, SchemaKey


class Effect(IntEnum):
    NONE = 0
    SOME = 1
    ALL = 2

    @property
    def bump(self) -> Bump:
        return (Bump.ADDITION, Bump.REVISION, Bump.MODEL)[self]


@dataclass(frozen=True, slots=True)
class Change:
    path: str
    keyword: str
    effect: Effect
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "keyword": self.keyword, "requires": self.effect.bump.name, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class CompatReport:
    """The classification of OLD -> NEW and, when both keys are known, whether the bump is big enough."""

    changes: tuple[Change, ...]
    old_key: SchemaKey | None = None
    new_key: SchemaKey | None = None

    @property
    def required(self) -> Bump:
        return max((c.effect for c in self.changes), default=Effect.NONE).bump

    @property
    def actual(self) -> Bump | None:
        if self.old_key is None or self.new_key is None:
            return None
        return self.new_key.version.bump_from(self.old_key.version)

    @property
    def problem(self) -> str | None:
        """Why the version numbers do not fit the change; None when they do (or are unknown)."""
        if self.old_key is None or self.new_key is None:
            return None
        if (self.old_key.vendor, self.old_key.name, self.old_key.format) != \
                (self.new_key.vendor, self.new_key.name, self.new_key.format):
            return f"{self.old_key.uri} and {self.new_key.uri} are different schemas, not two versions of one"
        actual = self.actual
        if actual is None:
            return f"{self.new_key.version} is not newer than {self.old_key.version}"
        if actual < self.required:
            article = "an" if actual is Bump.ADDITION else "a"
            return (f"{self.old_key.version} -> {self.new_key.version} is {article} {actual.name} bump, but the change "
                    f"needs at least a {self.required.name} bump ({_suggest(self.old_key, self.required)})")
        return None

    def to_json(self) -> dict[str, object]:
        return {"old": self.old_key.uri if self.old_key else None, "new": self.new_key.uri if self.new_key else None,
                "classification": self.required.name, "bump": self.actual.name if self.actual else None,
                "ok": self.problem is None, "problem": self.problem, "changes": [c.to_json() for c in self.changes]}


def _suggest(old: SchemaKey, bump: Bump) -> str:
    """The first version a bump of at least ``bump`` gives; never ADDITION, which no change needs more of."""
    v = old.version
    if bump is Bump.MODEL:
        return f"{v.model + 1}-0-0"
    return f"{v.model}-{v.revision + 1}-0"


def compare_schemas(old: dict, new: dict) -> CompatReport:
    """Classify OLD -> NEW; keys come from the ``self`` blocks when present."""
    keys = []
    for schema in (old, new):
        try:
            keys.append(SchemaKey.from_self(schema.get("self")))
        except ValueError:
            keys.append(None)
    changes = _Differ().compare(old, new, "$", True)
    order = sorted(changes, key=lambda c: (-c.effect, c.path, c.keyword))
    return CompatReport(tuple(order), keys[0], keys[1])


# --- the keyword-by-keyword comparison ------------------------------------------------------

_ANNOTATIONS = frozenset({"description", "title", "default", "$schema", "self", "$supersededBy", "id", "examples",
                          "$comment", "definitions"})
_NUMERIC = {"integer", "number"}
_KIND_OF = {"minimum": _NUMERIC, "maximum": _NUMERIC, "multipleOf": _NUMERIC, "minLength": {"string"},
            "maxLength": {"string"}, "pattern": {"string"}, "format": {"string"}, "minItems": {"array"},
            "maxItems": {"array"}, "uniqueItems": {"array"}, "minProperties": {"object"},
            "maxProperties": {"object"}}
_BOUNDS = [("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "value"),
           ("minLength", "maxLength", None, None, "length"),
           ("minItems", "maxItems", None, None, "number of items"),
           ("minProperties", "maxProperties", None, None, "number of properties")]
_PLURAL = {"value": "values", "length": "lengths", "number of items": "numbers of items",
           "number of properties": "numbers of properties"}
_HANDLED = frozenset({"type", "enum", "properties", "required", "additionalProperties", "patternProperties",
                      "dependencies", "items", "additionalItems", "allOf", "anyOf", "oneOf", "not", "$ref",
                      "multipleOf", "pattern", "format", "uniqueItems", "exclusiveMinimum", "exclusiveMaximum"}
                     | {b for bound in _BOUNDS for b in bound[:2]}) | _ANNOTATIONS


def _canon(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _types(schema: dict) -> set[str] | None:
    t = schema.get("type")
    if t is None:
        return None
    return {t} if isinstance(t, str) else set(t)


def _covers(wide: set[str] | None, narrow: set[str] | None) -> bool:
    if wide is None:
        return True
    if narrow is None:
        return False
    return all(t in wide or (t == "integer" and "number" in wide) for t in narrow)


def _overlap(a: set[str], b: set[str]) -> bool:
    return bool(a & b) or ("integer" in a and "number" in b) or ("number" in a and "integer" in b)


class _Differ:
    def compare(self, old: object, new: object, path: str, present: bool) -> list[Change]:
        if not isinstance(old, dict) or not isinstance(new, dict):
            if _canon(old) == _canon(new):
                return []
            return [self._change(path, "schema", Effect.SOME, present,
                                 "the sub-schema is not an object; its change could not be analysed")]
        if _canon(old) == _canon(new):
            return []
        changes: list[Change] = []
        old_types = _types(old)
        changes += self._type(old, new, path, present)
        changes += self._enum(old, new, path, present)
        changes += self._bounds(old, new, path, present, old_types)
        changes += self._string_and_number_rules(old, new, path, present)
        changes += self._object(old, new, path, present)
        changes += self._array(old, new, path)
        changes += self._combinators(old, new, path, present)
        for keyword in sorted((set(old) | set(new)) - _HANDLED):
            if _canon(old.get(keyword)) != _canon(new.get(keyword)):
                changes.append(self._change(path, keyword, Effect.SOME, present,
                                            f"'{keyword}' changed; its effect on data is not analysed"))
        return changes

    @staticmethod
    def _change(path: str, keyword: str, effect: Effect, present: bool, reason: str) -> Change:
        if effect is Effect.ALL and not present:
            reason += " (only data that holds this value is affected)"
            effect = Effect.SOME
        return Change(path, keyword, effect, reason)

    def _type(self, old: dict, new: dict, path: str, present: bool) -> list[Change]:
        to, tn = _types(old), _types(new)
        if to == tn:
            return []
        if _covers(tn, to):
            return [Change(path, "type", Effect.NONE, f"type widened from {_show_types(to)} to {_show_types(tn)}")]
        if to is not None and tn is not None and not _overlap(to, tn):
            return [self._change(path, "type", Effect.ALL, present,
                                 f"type changed from {_show_types(to)} to {_show_types(tn)}: "
                                 "no old value has the new type")]
        return [self._change(path, "type", Effect.SOME, present,
                             f"type narrowed from {_show_types(to)} to {_show_types(tn)}: "
                             "values of the dropped types are rejected")]

    def _enum(self, old: dict, new: dict, path: str, present: bool) -> list[Change]:
        eo, en = old.get("enum"), new.get("enum")
        if _canon(eo) == _canon(en):
            return []
        if en is None:
            return [Change(path, "enum", Effect.NONE, "enum removed: any value of the type is accepted")]
        new_set = {_canon(v) for v in en}
        if eo is None:
            return [self._change(path, "enum", Effect.SOME, present,
                                 f"enum added: only {_short(en)} accepted")]
        old_set = {_canon(v) for v in eo}
        if old_set <= new_set:
            return [Change(path, "enum", Effect.NONE, f"enum gained {_short(_values(new_set - old_set))}")]
        if not old_set & new_set:
            return [self._change(path, "enum", Effect.ALL, present, f"enum replaced: none of {_short(eo)} "
                                 "is accepted any more")]
        return [self._change(path, "enum", Effect.SOME, present,
                             f"enum lost {_short(_values(old_set - new_set))}: data holding those values is rejected")]

    def _bounds(self, old: dict, new: dict, path: str, present: bool, old_types: set[str] | None) -> list[Change]:
        changes: list[Change] = []
        for low_kw, high_kw, excl_low, excl_high, what in _BOUNDS:
            lo_o, lo_n = _bound(old, low_kw, excl_low), _bound(new, low_kw, excl_low)
            hi_o, hi_n = _bound(old, high_kw, excl_high), _bound(new, high_kw, excl_high)
            only_kind = old_types is not None and old_types <= _KIND_OF[low_kw]
            # disjoint ranges: nothing old fits the new range
            if only_kind and ((lo_n is not None and hi_o is not None and _above(lo_n, hi_o))
                              or (hi_n is not None and lo_o is not None and _above(lo_o, hi_n))):
                changes.append(self._change(path, f"{low_kw}/{high_kw}", Effect.ALL, present,
                                            f"the allowed {what} range no longer overlaps the old one"))
                continue
            for kw, o, n, tighter in ((low_kw, lo_o, lo_n, _raises_lower), (high_kw, hi_o, hi_n, _lowers_upper)):
                if o == n:
                    continue
                if n is None:
                    changes.append(Change(path, kw, Effect.NONE, f"{kw} removed"))
                elif o is None or tighter(n, o):
                    was = "unbounded" if o is None else _show_bound(o)
                    changes.append(self._change(path, kw, Effect.SOME, present,
                                                f"{kw} tightened from {was} to {_show_bound(n)}: "
                                                f"{_PLURAL[what]} outside the new bound are rejected"))
                else:
                    changes.append(Change(path, kw, Effect.NONE, f"{kw} relaxed from {_show_bound(o)} to "
                                                                 f"{_show_bound(n)}"))
        return changes

    def _string_and_number_rules(self, old: dict, new: dict, path: str, present: bool) -> list[Change]:
        changes: list[Change] = []
        mo, mn = old.get("multipleOf"), new.get("multipleOf")
        if mo != mn:
            # every multiple of OLD stays valid exactly when OLD is a multiple of NEW (decided as validation does)
            if mn is None or (_is_number(mo) and _is_number(mn) and is_multiple_of(mo, mn)):
                changes.append(Change(path, "multipleOf", Effect.NONE, "multipleOf relaxed"))
            else:
                changes.append(self._change(path, "multipleOf", Effect.SOME, present, f"multipleOf now {mn}"))
        for kw in ("pattern", "format"):
            vo, vn = old.get(kw), new.get(kw)
            if vo == vn:
                continue
            if vn is None:
                changes.append(Change(path, kw, Effect.NONE, f"{kw} {vo!r} removed"))
            elif kw == "format" and vn not in ENFORCED_FORMATS:
                changes.append(Change(path, kw, Effect.NONE, f"format {vn!r} is not enforced by validation"))
            else:
                verb = "added" if vo is None else f"changed from {vo!r} to"
                changes.append(self._change(path, kw, Effect.SOME, present,
                                            f"{kw} {verb} {vn!r}: strings that do not match are rejected"))
        if not old.get("uniqueItems") and new.get("uniqueItems"):
            changes.append(self._change(path, "uniqueItems", Effect.SOME, present,
                                        "uniqueItems added: arrays with duplicates are rejected"))
        elif old.get("uniqueItems") and not new.get("uniqueItems"):
            changes.append(Change(path, "uniqueItems", Effect.NONE, "uniqueItems removed"))
        return changes

    def _object(self, old: dict, new: dict, path: str, present: bool) -> list[Change]:
        po, pn = old.get("properties") or {}, new.get("properties") or {}
        ro, rn = set(old.get("required") or ()), set(new.get("required") or ())
        ao, an = old.get("additionalProperties", True), new.get("additionalProperties", True)
        pato, patn = old.get("patternProperties") or {}, new.get("patternProperties") or {}
        changes: list[Change] = []
        for name in sorted(set(po) | set(pn)):
            sub = f"{path}.{name}"
            always = present and name in ro
            if name in po and name in pn:
                changes += self.compare(po[name], pn[name], sub, always)
            elif name in po:  # dropped from properties: now judged by a matching pattern, else as additional
                covering = [p for p in sorted(patn) if _matches(p, name)]
                if covering:
                    found = [c for p in covering for c in self.compare(po[name], patn[p], sub, always)]
                    changes += found or [Change(sub, "properties", Effect.NONE, f"property '{name}' now described "
                                                f"by patternProperties {_short(covering)} alone")]
                elif an is False:
                    changes.append(self._change(sub, "properties", Effect.ALL if always else Effect.SOME, present,
                                                f"property '{name}' removed while additionalProperties is false: "
                                                "data holding it is rejected"))
                elif isinstance(an, dict):
                    changes += self.compare(po[name], an, sub, always)
                else:
                    changes.append(Change(sub, "properties", Effect.NONE,
                                          f"property '{name}' no longer described (any value accepted)"))
            else:  # new property: old data could only hold it where additional properties were allowed
                if ao is False and not pato:
                    changes.append(Change(sub, "properties", Effect.NONE,
                                          f"new property '{name}' (the old schema did not allow undeclared "
                                          "properties, so no old data holds it)"))
                else:
                    before = ao if isinstance(ao, dict) else {}
                    found = self.compare(before, pn[name], sub, False)
                    if any(c.effect > Effect.NONE for c in found):
                        changes.append(Change(sub, "properties", Effect.SOME,
                                              f"new property '{name}' is constrained, but the old schema allowed "
                                              "undeclared properties: old data holding it with another shape is "
                                              "rejected (set additionalProperties to false to make additions safe)"))
                    else:
                        changes.append(Change(sub, "properties", Effect.NONE, f"new property '{name}'"))
        for name in sorted(rn - ro):
            sub = f"{path}.{name}"
            if name in po or any(_matches(pattern, name) for pattern in pato):
                changes.append(self._change(sub, "required", Effect.SOME, present,
                                            f"property '{name}' became required: data without it is rejected"))
            else:
                changes.append(self._change(sub, "required", Effect.ALL, present,
                                            f"new required property '{name}': data written for the old version "
                                            "does not carry it"))
        for name in sorted(ro - rn):
            changes.append(Change(f"{path}.{name}", "required", Effect.NONE,
                                  f"property '{name}' is no longer required"))
        if _canon(ao) != _canon(an):
            if an is True or an == {}:
                changes.append(Change(path, "additionalProperties", Effect.NONE, "undeclared properties now allowed"))
            elif an is False and ao is not False:
                changes.append(self._change(path, "additionalProperties", Effect.SOME, present,
                                            "additionalProperties set to false: data with undeclared properties "
                                            "is rejected"))
            elif ao is False:
                changes.append(Change(path, "additionalProperties", Effect.NONE,
                                      "undeclared properties now allowed (with a schema)"))
            else:
                changes += self.compare(ao if isinstance(ao, dict) else {}, an,
                                                          f"{path}.additionalProperties", False)
        for pattern in sorted(set(pato) | set(patn)):
            sub = f"{path}.patternProperties[{pattern}]"
            if pattern in pato and pattern in patn:
                changes += self.compare(pato[pattern], patn[pattern], sub, False)
            elif pattern in patn:
                changes.append(self._change(sub, "patternProperties", Effect.SOME, present,
                                            f"patternProperties '{pattern}' added: matching properties are "
                                            "now constrained"))
            elif an is True or an == {}:
                changes.append(Change(sub, "patternProperties", Effect.NONE, f"patternProperties '{pattern}' removed"))
            elif an is False:  # undeclared names matching it are now additional properties, which are refused
                changes.append(self._change(sub, "patternProperties", Effect.SOME, present,
                                            f"patternProperties '{pattern}' removed while additionalProperties is "
                                            "false: data holding matching undeclared properties is rejected"))
            else:  # matching undeclared names are now judged by the additionalProperties schema
                narrowed = any(c.effect > Effect.NONE for c in self.compare(pato[pattern], an, sub, False))
                changes.append(Change(sub, "patternProperties", Effect.SOME if narrowed else Effect.NONE,
                                      f"patternProperties '{pattern}' removed: matching undeclared properties are "
                                      "now judged by additionalProperties" + (", which rejects some of their old "
                                                                              "values" if narrowed else "")))
        changes += self._dependencies(old, new, path, present)
        return changes

    def _dependencies(self, old: dict, new: dict, path: str, present: bool) -> list[Change]:
        """Per property: a list of properties it demands (narrowed when the list grows) or a schema for the object."""
        do, dn = old.get("dependencies") or {}, new.get("dependencies") or {}
        changes: list[Change] = []
        for name in sorted(set(do) | set(dn)):
            vo, vn = do.get(name), dn.get(name)
            if _canon(vo) == _canon(vn):
                continue
            if vn is None:
                changes.append(Change(path, "dependencies", Effect.NONE, f"the dependency of '{name}' removed"))
            elif isinstance(vo, list) and isinstance(vn, list) and set(vn) <= set(vo):
                changes.append(Change(path, "dependencies", Effect.NONE,
                                      f"'{name}' no longer demands {_short(sorted(set(vo) - set(vn)))}"))
            elif isinstance(vo, dict) and isinstance(vn, dict):
                changes += self.compare(vo, vn, f"{path}.dependencies[{name}]", False)
            else:
                changes.append(self._change(path, "dependencies", Effect.SOME, present,
                                            f"the dependency of '{name}' added or changed: data holding '{name}' "
                                            "without what it now demands is rejected"))
        return changes

    def _array(self, old: dict, new: dict, path: str) -> list[Change]:
        io, inn = old.get("items"), new.get("items")
        changes: list[Change] = []
        if _canon(io) != _canon(inn):
            if isinstance(io, list) or isinstance(inn, list):
                if isinstance(io, list) and isinstance(inn, list):
                    lo, ln = io, inn
                    for i in range(max(len(lo), len(ln))):
                        o = lo[i] if i < len(lo) else (old.get("additionalItems") if isinstance(
                            old.get("additionalItems"), dict) else {})
                        n = ln[i] if i < len(ln) else (new.get("additionalItems") if isinstance(
                            new.get("additionalItems"), dict) else {})
                        changes += self.compare(o, n, f"{path}[{i}]", False)
                else:
                    changes.append(Change(path, "items", Effect.SOME, "items changed between a single schema and "
                                                                      "a tuple; treated as a REVISION"))
            else:
                changes += self.compare(io or {}, inn or {}, f"{path}[*]", False)
        ao, an = old.get("additionalItems", True), new.get("additionalItems", True)
        if _canon(ao) != _canon(an) and isinstance(new.get("items"), list):
            effect = Effect.NONE if an is True else Effect.SOME
            changes.append(Change(path, "additionalItems", effect, f"additionalItems changed to {_short(an)}"))
        return changes

    def _combinators(self, old: dict, new: dict, path: str, present: bool) -> list[Change]:
        changes: list[Change] = []
        for kw in ("allOf", "anyOf", "oneOf", "not", "$ref"):
            vo, vn = old.get(kw), new.get(kw)
            if _canon(vo) == _canon(vn):
                continue
            if vn is None:
                changes.append(Change(path, kw, Effect.NONE, f"{kw} removed"))
            elif kw == "allOf" and isinstance(vo, list) and isinstance(vn, list) and len(vo) == len(vn):
                for i, (a, b) in enumerate(zip(vo, vn, strict=True)):
                    changes += self.compare(a, b, f"{path}.allOf[{i}]", present)
            elif kw == "anyOf" and isinstance(vo, list) and isinstance(vn, list) and \
                    {_canon(b) for b in vo} <= {_canon(b) for b in vn}:
                changes.append(Change(path, kw, Effect.NONE, "anyOf gained alternatives"))
            else:
                changes.append(self._change(path, kw, Effect.SOME, present,
                                            f"{kw} changed; it could not be proven to accept all old data"))
        return changes


def _values(canonical: set[str]) -> list[object]:
    """Enum values back from their canonical JSON, in a stable order, for a reason."""
    return [json.loads(v) for v in sorted(canonical)]


def _show_types(types: set[str] | None) -> str:
    return "any type" if types is None else "/".join(sorted(types))


def _matches(pattern: str, name: str) -> bool:
    try:
        return re.search(pattern, name) is not None
    except re.error:
        return False


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _bound(schema: dict, keyword: str, exclusive_kw: str | None) -> tuple[float, bool] | None:
    value = schema.get(keyword)
    if not _is_number(value):
        return None
    return (value, bool(schema.get(exclusive_kw)) if exclusive_kw else False)


def _above(low: tuple[float, bool], high: tuple[float, bool]) -> bool:
    """Does lower bound ``low`` lie above upper bound ``high``, leaving no value between them."""
    return low[0] > high[0] or (low[0] == high[0] and (low[1] or high[1]))


def _raises_lower(new: tuple[float, bool], old: tuple[float, bool]) -> bool:
    return new[0] > old[0] or (new[0] == old[0] and new[1] and not old[1])


def _lowers_upper(new: tuple[float, bool], old: tuple[float, bool]) -> bool:
    return new[0] < old[0] or (new[0] == old[0] and new[1] and not old[1])


def _show_bound(b: tuple[float, bool]) -> str:
    value = int(b[0]) if float(b[0]).is_integer() else b[0]
    return f"{value} (exclusive)" if b[1] else str(value)


def _short(value: object) -> str:
    text = json.dumps(value, separators=(",", ":"))
    return text if len(text) <= 60 else text[:57] + "..."
