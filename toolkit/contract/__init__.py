"""The event contract: the 131-field table, the TSV codec and its native bridge, the event model,
field values, self-describing JSON, the JSON profiles and Snowplow bad rows.

Everything a stage needs to read or write one enriched event, and nothing about where it goes.
"""
