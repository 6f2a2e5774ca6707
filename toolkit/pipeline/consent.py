"""Consent as a state per user, on Snowplow's consent model: what an event says, and what it changes.

Snowplow's trackers capture consent in five schemas of ``com.snowplowanalytics.snowplow``
(model 1): the ``gdpr`` context (``basisForProcessing``) and the ``consent_document`` context
(``id``, ``version``) on any event, and three events: ``consent_granted``,
``consent_withdrawn`` (``all``) and ``consent_preferences`` (``eventType``,
``consentScopes``). :func:`consent_facts` reads them in one pass over the event's entities.

A user's :class:`ConsentState` holds only restrictions: every withdrawn document, a full
withdrawal, and the scopes the last ``consent_preferences`` allowed. :func:`transition` gives
the state after a consent event; ``None`` means nothing is restricted, so the pipeline's memory
and the compacted ``<prefix>.consent`` topic hold only users with a restriction in force.
The :class:`ConsentLedger` is that state in memory, keyed like the topic
(:func:`user_key`), with the suppression record each change is written as.

Everything here is pure: the pipeline feeds events in and writes the records it is given;
``connectors.pipeline_app`` reads the topic back at start (:meth:`ConsentLedger.load`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from typing import Any, NamedTuple

import orjson

from toolkit.contract.event import EnrichedEvent
from toolkit.contract.fields import BY_NAME
from toolkit.contract.native_codec import NativeEvent
from toolkit.pipeline.routing import collector_tstamp_text

log = logging.getLogger(__name__)

SNOWPLOW = "com.snowplowanalytics.snowplow"
GDPR = "gdpr"
DOCUMENT = "consent_document"
GRANTED = "consent_granted"
WITHDRAWN = "consent_withdrawn"
PREFERENCES = "consent_preferences"
_EVENTS = frozenset({GRANTED, WITHDRAWN, PREFERENCES})
#: ``consent_preferences.eventType`` values that withdraw everything, and the one that allows everything
_DENY = frozenset({"deny_all", "withdrawn", "expired"})
_ALLOW_ALL = "allow_all"
_ALLOW_SELECTED = "allow_selected"

#: ``user_id``: the first of the identifiers a suppression is keyed by (then ``domain_userid``, ``network_userid``)
_USER_ID = BY_NAME["user_id"].position

#: the keys of ``[privacy.<stream>]`` that keep events out for consent: the ``rule`` label of the metrics
CONSENT_RULES = ("require_consent", "consent_basis", "honour_withdrawals", "consent_scopes")


class ConsentFacts(NamedTuple):
    """What one event says about consent (``None``/empty where it says nothing)."""

    #: ``basisForProcessing`` of its ``gdpr`` context
    basis: str | None = None
    #: ``consent_granted``, ``consent_withdrawn`` or ``consent_preferences`` when the event is one
    change: str | None = None
    #: that event's data
    data: Any = None
    #: ``id`` of every ``consent_document`` context
    documents: tuple[str, ...] = ()


NO_FACTS = ConsentFacts()


def _may_hold_consent(text: str | None) -> bool:
    """Whether a JSON field's text can name one of the consent schemas (escaped slashes included)."""
    return text is not None and ("consent_" in text or "gdpr" in text)


def consent_facts(event: EnrichedEvent) -> ConsentFacts:
    """One pass over the custom contexts and the unstructured event (derived contexts are the pipeline's own).

    A natively parsed event has not decoded its JSON fields; most events name no consent schema,
    so their texts are searched first and decoded only when one might.
    """
    if type(event) is NativeEvent:
        native = event.native
        if not (_may_hold_consent(native.contexts) or _may_hold_consent(native.unstruct_event)):
            return NO_FACTS
    sdj = event.sdj
    basis = change = data = None
    documents: list[str] = []
    for name in ("contexts", "unstruct_event"):
        f = sdj.get(name)
        if f is None:
            continue
        for info, value in zip(f.schemas, f.datas, strict=True):
            key = info.key
            if key.vendor != SNOWPLOW or key.version.model != 1 or type(value) is not dict:
                continue
            if key.name == GDPR:
                basis = value.get("basisForProcessing")
            elif key.name == DOCUMENT:
                if isinstance(value.get("id"), str):
                    documents.append(value["id"])
            elif key.name in _EVENTS and name == "unstruct_event":
                change, data = key.name, value
    if basis is None and change is None and not documents:
        return NO_FACTS
    return ConsentFacts(basis if isinstance(basis, str) else None, change, data, tuple(documents))


class ConsentState(NamedTuple):
    """The restrictions in force for one user; a user without any has no state (``None``)."""

    #: every consent withdrawn (``consent_withdrawn`` with ``all: true``, or preferences denying everything)
    all: bool = False
    #: ids of the consent documents withdrawn one by one
    documents: frozenset[str] = frozenset()
    #: the scopes the user's last ``consent_preferences`` allowed; ``None`` when no choice restricts them
    scopes: frozenset[str] | None = None

    def header(self) -> str:
        """The ``scopes=`` part of ``sp.consent``: what this user allows."""
        if self.all:
            return "none"
        return ",".join(sorted(self.scopes)) if self.scopes is not None else "-"


def _restricting(state: ConsentState) -> ConsentState | None:
    return state if state.all or state.documents or state.scopes is not None else None


def transition(state: ConsentState | None, facts: ConsentFacts) -> ConsentState | None:
    """The user's state after the event ``facts`` describes; ``state`` itself (the same object) when unchanged.

    * ``consent_withdrawn``: ``all: true`` withdraws everything; otherwise the documents it names.
    * ``consent_granted``: lifts a full withdrawal and the documents it names (all of them when it names none).
    * ``consent_preferences``: ``deny_all``/``withdrawn``/``expired`` withdraw everything, ``allow_all`` lifts every
      restriction, ``allow_selected`` lifts a full withdrawal and allows exactly ``consentScopes``;
      ``pending``/``implicit_consent`` change nothing.
    """
    change = facts.change
    if change is None:
        return state
    before = state or ConsentState()
    data = facts.data
    if change == WITHDRAWN:
        if data.get("all") is True:
            after = before._replace(all=True)
        elif facts.documents:
            after = before._replace(documents=before.documents | frozenset(facts.documents))
        else:
            return state
    elif change == GRANTED:
        documents = before.documents - frozenset(facts.documents) if facts.documents else frozenset()
        after = before._replace(all=False, documents=documents)
    else:
        kind = data.get("eventType")
        scopes = data.get("consentScopes")
        if kind in _DENY:
            after = before._replace(all=True)
        elif kind == _ALLOW_ALL:
            after = ConsentState()
        elif kind == _ALLOW_SELECTED and isinstance(scopes, list):
            after = before._replace(all=False, scopes=frozenset(s for s in scopes if isinstance(s, str)))
        else:
            return state
    after_or_none = _restricting(after)
    return state if after_or_none == state else after_or_none


def user_key(event: EnrichedEvent) -> str | None:
    """``user_id:<v>``, else ``domain_userid:<v>``, else ``network_userid:<v>``; ``None`` for an anonymous event."""
    user = event.native.field(_USER_ID) if type(event) is NativeEvent else event.fields[_USER_ID]
    if user:
        return f"user_id:{user}"
    cookie = event.domain_userid  # the parsed properties: a native event answers without building every field
    if cookie:
        return f"domain_userid:{cookie}"
    network = event.network_userid
    return f"network_userid:{network}" if network else None


#: distinct states shared between users (combinations of documents and scopes are few in practice)
_SHARED_STATES = 4096


class LedgerFull(RuntimeError):
    """More users with a restriction than ``consent.max_users``; forgetting one would break a withdrawal."""


class ConsentLedger:
    """The suppression state of every user with a restriction, in memory, and the records that change it.

    ``states`` is read directly on the hot path (one ``dict.get`` per event). ``written`` counts the
    records produced in this run, ``suppressed`` (a restriction in force) or ``lifted``.
    """

    def __init__(self, max_users: int) -> None:
        self.max_users = max_users
        self.states: dict[str, ConsentState] = {}
        self.written: Counter[str] = Counter()
        #: one object per distinct state (nearly every user holds "all withdrawn"): memory per user is its key
        self._shared: dict[ConsentState, ConsentState] = {}

    def _put(self, user: str, state: ConsentState | None, where: str) -> None:
        if state is None:
            self.states.pop(user, None)
            return
        shared = self._shared.get(state)
        if shared is None and len(self._shared) < _SHARED_STATES:
            shared = self._shared[state] = state
        state = shared if shared is not None else state
        if user not in self.states and len(self.states) >= self.max_users:
            raise LedgerFull(f"{where}: {self.max_users} users already have a consent restriction in force, the "
                             "limit consent.max_users; raise it (about 150 bytes of memory each) and start again. "
                             "Nothing was forgotten: the record that did not fit is read again at the next start")
        self.states[user] = state

    def record(self, user: str, state: ConsentState | None, event: EnrichedEvent, facts: ConsentFacts) -> bytes:
        """Hold ``state`` for ``user`` and return the suppression record's value (see docs/privacy.md)."""
        self._put(user, state, f"the {facts.change} event {event.event_id}")
        self.written["suppressed" if state is not None else "lifted"] += 1
        s = state or ConsentState()
        stamp = collector_tstamp_text(event)
        return orjson.dumps({
            "user": user, "suppressed": state is not None, "all": s.all, "documents": sorted(s.documents),
            "scopes": sorted(s.scopes) if s.scopes is not None else None, "cause": facts.change,
            "event_id": event.event_id, "collector_tstamp": stamp.replace(" ", "T") + "Z"})

    def load(self, records: Iterable[tuple[bytes | None, bytes | None]], where: str) -> int:
        """Replay ``(key, value)`` records of the consent topic in order; the users with a state in force after.

        A tombstone (no value) or a ``suppressed: false`` record lifts the key; a record that cannot be
        read is logged and skipped (it restricts nothing, so an operator must look at it).
        """
        for key, value in records:
            if not key:
                log.warning("%s: a record without a key is not a suppression record; skipped", where)
                continue
            user = key.decode("utf-8", "replace")
            if value is None:
                self.states.pop(user, None)
                continue
            state = read_record(value)
            if state is False:
                log.warning("%s: the record for %s is not a suppression record (see docs/privacy.md, \"Consent\"); "
                            "skipped, so it restricts nothing", where, user.split(":", 1)[0])
                continue
            self._put(user, state, where)
        return len(self.states)


def read_record(value: bytes) -> ConsentState | None | bool:
    """The state a suppression record holds (``None`` when lifted), or ``False`` when it is not one."""
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError:
        return False
    if not isinstance(doc, dict) or not isinstance(doc.get("suppressed"), bool):
        return False
    if not doc["suppressed"]:
        return None
    documents, scopes = doc.get("documents") or [], doc.get("scopes")
    if not isinstance(documents, list) or not (scopes is None or isinstance(scopes, list)):
        return False
    return _restricting(ConsentState(doc.get("all") is True, frozenset(map(str, documents)),
                                     frozenset(map(str, scopes)) if scopes is not None else None)) or False


def consent_header(facts: ConsentFacts, state: ConsentState | None) -> str:
    """``sp.consent`` on what passes a stream with consent rules: ``basis=<gdpr basis>;scopes=<allowed>``."""
    return f"basis={facts.basis or '-'};scopes={state.header() if state is not None else '-'}"


def consent_rule(rule: str) -> str | None:
    """``honour_withdrawals`` for the filter rule ``privacy.<stream>.honour_withdrawals``; ``None`` for other rules."""
    if not rule.startswith("privacy."):
        return None
    name = rule.rsplit(".", 1)[1]
    return name if name in CONSENT_RULES else None
