"""Enriched-event model and codec, validation, routing, pipeline wiring and config.

Imports ``iglu_registry`` only; ``connectors`` and ``migration`` build on it.
"""
