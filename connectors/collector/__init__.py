"""The tracker-protocol collector: requests as Snowplow trackers send them, turned into enriched events."""
