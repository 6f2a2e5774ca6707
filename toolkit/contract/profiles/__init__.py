"""JSON profiles: one event, written the way a given consumer expects it.

``canonical`` is the toolkit's own contract (and the warehouse row); the others
reproduce byte for byte, or key for key where the SDK's key order is random,
what one of Snowplow's analytics SDKs gives, so a team can move its consumers
onto this toolkit without them noticing. ``docs/event-contract.md`` lists every
difference between them and why it exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from toolkit.contract.event import EnrichedEvent
from toolkit.contract.profiles import canonical, go_sdk, python_sdk, scala_sdk


class ProfileError(ValueError):
    """The event is valid, but the chosen profile's SDK could not have written it; the message says why."""


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    summary: str
    render: Callable[[EnrichedEvent], bytes]


PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile(canonical.NAME, "the toolkit's contract: warehouse columns, typed, nulls omitted, all entities kept, "
                            "lossless back to TSV", canonical.to_json),
    Profile(python_sdk.NAME, "snowplow-analytics-sdk 0.2.3 transform() + json.dumps, bugs included",
            python_sdk.to_json),
    Profile(scala_sdk.NAME, "Scala analytics SDK 3.x toJson(lossy = true): nulls, _schema_version, numeric se_value",
            scala_sdk.to_json),
    Profile(go_sdk.NAME, "Go analytics SDK 0.4.0 ToJson (no geo_location)", go_sdk.to_json),
    Profile(go_sdk.NAME_WITH_GEO, "Go analytics SDK 0.4.0 ToJsonWithGeo", go_sdk.to_json_with_geo),
)}


def profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown JSON profile {name!r}; choose one of: {', '.join(PROFILES)}") from None


def to_json(event: EnrichedEvent, profile_name: str = canonical.NAME) -> bytes:
    """The event as JSON under a profile; :class:`ProfileError` when that SDK would have rejected the event."""
    render = profile(profile_name).render
    try:
        return render(event)
    except go_sdk.GoSdkRejects as exc:
        raise ProfileError(f"{profile_name}: {exc}") from None
