"""Privacy policy per output stream: consent, pseudonymisation (HMAC-SHA256) and IP stripping.

Consent is decided on its state (:mod:`toolkit.pipeline.consent`): the lawful basis the event
carries, and the user's suppression (withdrawals, allowed scopes) as the pipeline holds it.

Rules belong to a stream (``[privacy.enriched]``, ``[privacy.<derived name>]``), not to the
pipeline: the enriched topic may keep user ids while a stream for a marketing tool must
not. The raw and bad streams carry the input as it came and take no rules, so access to
them has to be restricted instead (docs/pipeline.md, "Privacy").

A pseudonym is the hex HMAC-SHA256 of the value's text under a key from the environment or a
file: the same value gives the same pseudonym in every stream and every run with that key, so
joins and distinct counts still work, and without the key it cannot be reversed (nor checked
against a list of candidate emails). Atomic fields are hashed from their TSV text, so the
pseudonym does not depend on the output profile.

The policy works on the profile's JSON object and never changes the event or the objects it
shares with the event: containers on the way to a pseudonymised value are copied.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from toolkit.config.field_paths import AnyIndex, FieldPath, Key, PathKind, Step
from toolkit.config.models import PrivacyConfig
from toolkit.contract.event import EnrichedEvent
from toolkit.contract.fields import BY_NAME
from toolkit.pipeline.consent import CONSENT_RULES, NO_FACTS, ConsentFacts, ConsentState, consent_facts
from toolkit.pipeline.routing import RouteError, UriMatcher, key_text, shredded_key

IP_FIELD = "user_ipaddress"
GEO_LOCATION = "geo_location"
TSV_KEY = "_tsv"  # the canonical profile's original texts: they would give a hidden value away
#: pseudonyms remembered per stream (user ids repeat a lot); cleared when full so memory stays bounded
_PSEUDONYM_CACHE = 65_536
_CONSENT_FIELDS = ("contexts", "derived_contexts", "unstruct_event")


class Pseudonymiser:
    """``text -> hex HMAC-SHA256(key, text)``, remembered for repeated values."""

    __slots__ = ("_key", "_cache")

    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("the pseudonymisation key is empty; an empty HMAC key protects nothing")
        self._key = key
        self._cache: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        out = self._cache.get(text)
        if out is None:
            out = hmac.new(self._key, text.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()
            if len(self._cache) >= _PSEUDONYM_CACHE:
                self._cache.clear()
            self._cache[text] = out
        return out


def _replace_leaves(value: Any, steps: Sequence[Step], change: Callable[[Any], Any]) -> Any:
    """A copy of ``value`` where every value the steps reach is replaced by ``change(value)``."""
    if not steps:
        return change(value) if value is not None else None
    step, rest = steps[0], steps[1:]
    if type(step) is Key:
        if type(value) is dict and step.name in value:
            copy = dict(value)
            copy[step.name] = _replace_leaves(value[step.name], rest, change)
            return copy
        return value
    if type(value) is list or type(value) is tuple:
        if type(step) is AnyIndex:
            return [_replace_leaves(item, rest, change) for item in value]
        n = step.index  # type: ignore[union-attr]
        if n < len(value):
            copy = list(value)
            copy[n] = _replace_leaves(value[n], rest, change)
            return copy
    return value


@dataclass(frozen=True, slots=True)
class _Rule:
    path: FieldPath
    position: int | None  # atomic fields: where the TSV text is


class StreamPolicy:
    """The compiled ``[privacy.<stream>]`` of one stream."""

    def __init__(self, stream: str, cfg: PrivacyConfig) -> None:
        self.require_consent = cfg.require_consent
        self.consent = UriMatcher(cfg.consent_schema)
        self.bases = frozenset(cfg.consent_basis)
        self.scopes = frozenset(cfg.consent_scopes)
        self.honour_withdrawals = cfg.honour_withdrawals
        self.documents = frozenset(cfg.consent_documents)
        #: the filter rule of each consent key, ``privacy.<stream>.<key>`` (what metrics and summaries count)
        self.rule = {name: f"privacy.{stream}.{name}" for name in CONSENT_RULES}
        #: whether the stream has a consent rule (its messages then carry ``sp.consent``)
        self.reads_consent = bool(self.require_consent or self.bases or self.scopes or self.honour_withdrawals)
        self.strip_ip = cfg.strip_ip
        rules = []
        for i, path in enumerate(cfg.pseudonymise):
            if path.kind is PathKind.SELF_DESCRIBING:
                raise RouteError(
                    f"privacy.{stream}.pseudonymise[{i}]: {path.text!r} names the raw self-describing field; name "
                    "the value by its column instead, e.g. contexts_com_acme_user_1[].email or "
                    "unstruct_event_com_acme_signup_1.email, so every copy of it is replaced")
            rules.append(_Rule(path, BY_NAME[path.root].position if path.kind is PathKind.ATOMIC else None))
        self.rules = tuple(rules)
        self.pseudonymise: Pseudonymiser | None = None
        if rules:
            if cfg.pseudonymisation_key is None:  # the loader refuses this; the guard is for hand-built configs
                raise RouteError(f"privacy.{stream}: pseudonymise lists fields but no pseudonymisation key is set")
            self.pseudonymise = Pseudonymiser(cfg.pseudonymisation_key.reveal().encode())
        hidden = {r.path.root for r in rules if r.path.kind is PathKind.ATOMIC}
        self.hides_geo = bool(hidden & {"geo_latitude", "geo_longitude"})
        self.hides_json = any(r.path.kind is not PathKind.ATOMIC for r in rules)
        #: atomic fields a message of this stream must not show (pseudonymised or stripped)
        self.hidden_atomic = frozenset(hidden | ({IP_FIELD} if self.strip_ip else set()))
        #: fields the stream removes altogether (never usable as a message key)
        self.stripped = frozenset({IP_FIELD} if self.strip_ip else ())

    @property
    def changes_values(self) -> bool:
        """True when the stream's JSON differs from the profile's (a copy must be made)."""
        return bool(self.rules) or self.strip_ip

    def admits(self, event: EnrichedEvent, state: ConsentState | None = None) -> bool:
        """Whether the event passes the stream's consent rules (the facts read from the event itself)."""
        return self.refusal(event, consent_facts(event) if self.bases else NO_FACTS, state) is None

    def refusal(self, event: EnrichedEvent, facts: ConsentFacts, state: ConsentState | None) -> str | None:
        """The rule that keeps the event out of the stream, or ``None``; the first that applies, in key order.

        ``facts`` are the event's (:func:`~toolkit.pipeline.consent.consent_facts`), ``state`` its user's after
        the event (a withdrawal covers the withdrawing event itself).
        """
        if self.require_consent and not self.consent.any_entity(event, _CONSENT_FIELDS):
            return self.rule["require_consent"]
        if self.bases and facts.basis not in self.bases:
            return self.rule["consent_basis"]
        if state is not None:
            if self.honour_withdrawals and (state.all or not self.documents.isdisjoint(state.documents)):
                return self.rule["honour_withdrawals"]
            if self.scopes and (state.all or (state.scopes is not None and not self.scopes <= state.scopes)):
                return self.rule["consent_scopes"]
        return None

    def key_transforms(self) -> dict[str, Callable[[str], str]]:
        """Path text -> pseudonymiser, for message keys built from a pseudonymised field."""
        if self.pseudonymise is None:
            return {}
        return {r.path.text: self.pseudonymise for r in self.rules}

    def apply(self, doc: dict[str, Any], event: EnrichedEvent) -> dict[str, Any]:
        """A new object with the stream's rules applied; ``doc`` and the event are left unchanged."""
        out = dict(doc)
        if self.strip_ip:
            out.pop(IP_FIELD, None)
        tsv = out.get(TSV_KEY)
        if type(tsv) is dict and (self.hidden_atomic or self.hides_json):
            kept = {k: v for k, v in tsv.items() if k not in self.hidden_atomic
                    and not (self.hides_json and k in _CONSENT_FIELDS)}
            if kept:
                out[TSV_KEY] = kept
            else:
                del out[TSV_KEY]
        if self.hides_geo:
            out.pop(GEO_LOCATION, None)
        pseudonym = self.pseudonymise
        if pseudonym is None:
            return out
        fields = event.fields
        for rule in self.rules:
            path = rule.path
            if rule.position is not None:
                text = fields[rule.position]
                if not text:
                    continue
                f = BY_NAME[path.root]
                name = path.root if path.root in out else f.sdk_name
                if name in out:
                    out[name] = pseudonym(text)
                continue
            key = shredded_key(out, path.root)
            if key is None:
                continue
            out[key] = _replace_leaves(out[key], path.steps, lambda v: pseudonym(key_text(v)))
        return out
