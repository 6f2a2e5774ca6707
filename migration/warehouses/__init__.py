"""Reconcile sources in a SQL warehouse reached through SQLAlchemy (``sql:URL``), in either Snowplow table layout."""
